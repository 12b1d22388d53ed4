/** The keys every backend type resolves the same way: its zones and the record types it deletes. */
import { RblError } from '../errors.js';
import type { BackendResolveContext } from './types.js';

/** RFC 1035 §2.3.4: a label is at most 63 octets, a name at most 255 on the wire. */
const MAX_LABEL_OCTETS = 63;
const MAX_NAME_OCTETS = 255;

/**
 * The most octets dnsblNames (naming.ts) writes above a zone: the wildcard below an IPv6 /125 to
 * /127, "*" and 32 nibble labels, each one character and its length octet. Any zone may be sent an
 * IPv6 target (no key ties a zone to IPv4, and `unlist --force` passes the pools), so each must have
 * room for it; an IPv4 name needs less.
 */
const LONGEST_LABELS_ABOVE_ZONE = 33 * 2;

/** The longest zone, in characters without the trailing dot: its wire form is its text and 2 octets (first length, root). */
const MAX_ZONE_CHARACTERS = MAX_NAME_OCTETS - LONGEST_LABELS_ABOVE_ZONE - 2;

/** Zone names lower case without the trailing dot; throws RBL_CONFIG_INVALID naming `backends.N.zones.M` for one that cannot hold DNSBL names. */
export function resolveZones(zones: readonly string[], context: BackendResolveContext): string[] {
  const names = zones.map((zone) => zone.toLowerCase().replace(/\.$/, ''));
  names.forEach((zone, index) => {
    const problem = zoneProblem(zone);
    if (problem) throw new RblError('RBL_CONFIG_INVALID', `${context.path}: ${context.key}.zones.${index}: ${problem}`);
  });
  return names;
}

/**
 * Why a zone (lower case, without the trailing dot) cannot hold the DNSBL names of every target, or
 * undefined when it can. A name past the limits can never be deleted: better refused at config load
 * than found at the first unlist of an IPv6 address.
 */
export function zoneProblem(zone: string): string | undefined {
  if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(zone)) return `"${zone}" is not a domain name`;
  const longLabel = zone.split('.').find((label) => label.length > MAX_LABEL_OCTETS);
  if (longLabel !== undefined) {
    return `"${zone}" has a label of ${longLabel.length} octets, past the ${MAX_LABEL_OCTETS} a label may have (RFC 1035 §2.3.4)`;
  }
  if (zone.length > MAX_ZONE_CHARACTERS) {
    const longest = LONGEST_LABELS_ABOVE_ZONE + zone.length + 2;
    return (
      `"${zone}" is too long: the longest owner name under it, the wildcard below an IPv6 /127 (* and 32 nibble labels), ` +
      `would be ${longest} octets, past the ${MAX_NAME_OCTETS} a domain name may have (RFC 1035 §2.3.4); use a zone of at most ${MAX_ZONE_CHARACTERS} characters`
    );
  }
  return undefined;
}

/**
 * The `delete` list upper case, each type once: PowerDNS refuses a PATCH naming an RRset twice
 * (`422 Duplicate RRset`), for good, so `[A, TXT, a]` would make every unlist a dead letter.
 */
export function resolveDeleteTypes(types: readonly string[]): string[] {
  return [...new Set(types.map((type) => type.toUpperCase()))];
}
