/**
 * Every backend type, in the one list config and the daemon use: each folder exports its schema,
 * its config resolution, its factory and its readiness (the backend's probe). Adding a backend
 * type is adding its folder and its entry here.
 */
import { dnsUpdateBackend } from './dns-update/index.js';
import { httpBackend } from './http/index.js';
import { createBackendRegistry, type BackendConfigOf } from './registry.js';
import type { Backend } from './types.js';

export type { Backend, BackendConfigBase, BackendPlugin, BackendResolveContext, BackendSummary, Listing } from './types.js';
export { createBackendRegistry, type BackendRegistry } from './registry.js';

/** The backend types of the product. */
export const BACKENDS = createBackendRegistry([dnsUpdateBackend, httpBackend]);

/** A resolved `backends[]` entry of any listed type. */
export type BackendConfig = BackendConfigOf<typeof BACKENDS.plugins>;

/** One Backend for one backends[] entry of the config. */
export function createBackend(config: BackendConfig): Backend {
  return BACKENDS.create(config);
}
