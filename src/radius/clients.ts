/**
 * Finds the configured client a datagram comes from: the client of that transport whose address
 * (a host or CIDR prefix) holds the source address, the most specific one when several do. Pure code.
 */
import type { ClientConfig } from '../config/load.js';
import { unmappedAddressBytes, type IpPrefix } from '../net/address.js';
import type { TransportName } from './transports/types.js';

const byPrefixLength = new WeakMap<readonly ClientConfig[], readonly ClientConfig[]>();
const sourceBytes = new Map<string, Buffer | null>();
const SOURCE_CACHE_LIMIT = 4096;

/**
 * The client of `transport` whose address holds `source` (most specific prefix first), or undefined
 * for a stranger. A RadSec client's address never admits UDP: its secret ("radsec" by default) is no
 * protection without the TLS around it (RFC 6614 §2.3).
 */
export function matchClient(clients: readonly ClientConfig[], source: string, transport: TransportName = 'udp'): ClientConfig | undefined {
  const bytes = sourceAddressBytes(source);
  if (!bytes) return undefined;
  for (const client of sortedClients(clients)) {
    if ((client.transport ?? 'udp') === transport && prefixHolds(client.address, bytes)) return client;
  }
  return undefined;
}

/** The 4 or 16 octets of a socket's source address; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) counts as IPv4. */
export function sourceAddressBytes(source: string): Buffer | undefined {
  let bytes = sourceBytes.get(source);
  if (bytes === undefined) {
    bytes = unmappedAddressBytes(source) ?? null;
    // The NASes are few, so this stays small; a flood of spoofed sources only resets it.
    if (sourceBytes.size >= SOURCE_CACHE_LIMIT) sourceBytes.clear();
    sourceBytes.set(source, bytes);
  }
  return bytes ?? undefined;
}

function sortedClients(clients: readonly ClientConfig[]): readonly ClientConfig[] {
  let sorted = byPrefixLength.get(clients);
  if (!sorted) {
    // A stable sort keeps the config order among equally specific prefixes.
    sorted = [...clients].sort((a, b) => b.address.prefixLength - a.address.prefixLength);
    byPrefixLength.set(clients, sorted);
  }
  return sorted;
}

function prefixHolds(prefix: IpPrefix, address: Buffer): boolean {
  if (prefix.bytes.length !== address.length) return false;
  const whole = prefix.prefixLength >> 3;
  for (let i = 0; i < whole; i++) if (prefix.bytes[i] !== address[i]) return false;
  const rest = prefix.prefixLength & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((address[whole]! ^ prefix.bytes[whole]!) & mask) === 0;
}
