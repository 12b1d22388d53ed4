/**
 * The HTTP backend as the backend list holds it. One type with a preset rather than two: a
 * PowerDNS entry is an HTTP entry (same keys, `type: http`) whose defaults and requests the preset fills in.
 */
import type { BackendPlugin } from '../types.js';
import { createHttpBackend } from './backend.js';
import { httpSummary, resolveHttpConfig, type HttpBackendConfig } from './config.js';
import { httpSchema } from './schema.js';

export type { HttpBackendConfig } from './config.js';

export const httpBackend: BackendPlugin<typeof httpSchema, HttpBackendConfig> = {
  type: 'http',
  schema: httpSchema,
  resolve: resolveHttpConfig,
  create: createHttpBackend,
  summary: httpSummary,
};
