/** The DNS UPDATE backend as the backend list holds it. */
import type { BackendPlugin } from '../types.js';
import { createDnsUpdateBackend } from './backend.js';
import { dnsUpdateSummary, resolveDnsUpdateConfig, type DnsUpdateBackendConfig } from './config.js';
import { dnsUpdateSchema } from './schema.js';

export type { DnsUpdateBackendConfig } from './config.js';

export const dnsUpdateBackend: BackendPlugin<typeof dnsUpdateSchema, DnsUpdateBackendConfig> = {
  type: 'dns-update',
  schema: dnsUpdateSchema,
  resolve: resolveDnsUpdateConfig,
  create: createDnsUpdateBackend,
  summary: dnsUpdateSummary,
};
