/** The HTTP backend: the PowerDNS preset, or a generic API described by URL and body templates. */
import type { HttpBackendConfig } from './config.js';
import type { Backend } from '../types.js';
import { createGenericHttpBackend } from './generic.js';
import { createPowerDnsBackend } from './powerdns.js';

/** A Backend for one `type: http` entry of the config. */
export function createHttpBackend(config: HttpBackendConfig): Backend {
  return config.preset === 'powerdns' ? createPowerDnsBackend(config) : createGenericHttpBackend(config);
}
