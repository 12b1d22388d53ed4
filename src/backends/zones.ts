/** The keys every backend type resolves the same way: its zones and the record types it deletes. */
import { RblError } from '../errors.js';
import type { BackendResolveContext } from './types.js';

/** Zone names lower case without the trailing dot; throws RBL_CONFIG_INVALID for one that is not a domain name. */
export function resolveZones(zones: readonly string[], context: BackendResolveContext): string[] {
  const names = zones.map((zone) => zone.toLowerCase().replace(/\.$/, ''));
  for (const zone of names) {
    if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(zone)) throw new RblError('RBL_CONFIG_INVALID', `${context.path}: ${context.key}.zones: "${zone}" is not a domain name`);
  }
  return names;
}

/**
 * The `delete` list upper case, each type once: PowerDNS refuses a PATCH naming an RRset twice
 * (`422 Duplicate RRset`), for good, so `[A, TXT, a]` would make every unlist a dead letter.
 */
export function resolveDeleteTypes(types: readonly string[]): string[] {
  return [...new Set(types.map((type) => type.toUpperCase()))];
}
