/** Builds the configured backends. */
import type { BackendConfig } from '../config/load.js';
import { createDnsUpdateBackend } from './dns-update/backend.js';
import { createHttpBackend } from './http/backend.js';
import type { Backend } from './types.js';

export type { Backend, Listing } from './types.js';

/** One Backend for one backends[] entry of the config. */
export function createBackend(config: BackendConfig): Backend {
  return config.type === 'dns-update' ? createDnsUpdateBackend(config) : createHttpBackend(config);
}
