/**
 * DNSBL owner names for tests, computed by the project's own naming (RFC 5782 §2.1, §2.4), and the
 * zone-file lines that list an address.
 */
import { dnsblNames } from '../../src/backends/naming.js';
import { parsePrefix } from '../../src/net/address.js';

/** The zone most tests serve. */
export const TEST_ZONE = 'rbl.test';

/** The owner name of an address or prefix in a zone, fully qualified without the trailing dot. */
export function dnsblName(address: string, zone = TEST_ZONE): string {
  return dnsblNames(parsePrefix(address), zone)[0]!;
}

/** The owner name relative to the zone (`2.0.64.10` for 10.64.0.2), for zone-file lines. */
export function relativeName(address: string, zone = TEST_ZONE): string {
  return dnsblName(address, zone).slice(0, -(zone.length + 1));
}

/** The zone-file lines that list an address: A 127.0.0.2 and a TXT reason, relative to the zone, TTL 300. */
export function listingRecords(address: string, zone = TEST_ZONE, reason = 'rate limit exceeded'): string[] {
  const name = relativeName(address, zone);
  return [`${name} 300 A 127.0.0.2`, `${name} 300 TXT "${reason}"`];
}

/** The listing lines of every address, as listingRecords makes them. */
export function listingsOf(addresses: readonly string[], zone = TEST_ZONE, reason?: string): string[] {
  return addresses.flatMap((address) => listingRecords(address, zone, reason));
}
