/**
 * The addresses of a session as the session table stores them: the canonical text, the uint32 of
 * an IPv4 host address (its column) or the 16 bytes and length of an IPv6 address or prefix (its
 * pool), parsed once before the table changes anything, so a session whose text does not parse
 * leaves the table as it was. Pure code.
 */
import { formatPrefix, parsePrefix, type CanonicalPrefix } from '../net/address.js';
import { ipv4Number } from '../collections/slot-index.js';

/** An address of a session, in the forms the table's columns and indexes take. */
export interface TableAddress {
  readonly text: string;
  /** The uint32 of an IPv4 host address, else -1. */
  readonly v4: number;
  /** The 16 bytes of an IPv6 address or prefix, else undefined. */
  readonly v6: Uint8Array | undefined;
  readonly prefixLength: number;
}

/** De-duplicated addresses: canonical values as they are, text parsed (throws RBL_ADDRESS_INVALID for text that does not parse). */
export function tableAddresses(addresses: readonly (CanonicalPrefix | string)[]): TableAddress[] {
  const out: TableAddress[] = [];
  for (const address of addresses) {
    const entry = typeof address === 'string' ? parsedAddress(address) : canonicalAddress(address);
    if (out.some((seen) => seen.text === entry.text)) continue;
    out.push(entry);
  }
  return out;
}

function canonicalAddress(prefix: CanonicalPrefix): TableAddress {
  const v4 = prefix.family === 4 && prefix.prefixLength === 32 ? prefix.bytes.readUInt32BE(0) : -1;
  return { text: prefix.text, v4, v6: prefix.family === 6 ? prefix.bytes : undefined, prefixLength: prefix.prefixLength };
}

function parsedAddress(text: string): TableAddress {
  // Canonical dotted-quad text (what the journal holds for almost every session) needs no parser.
  const v4 = ipv4Number(text);
  if (v4 >= 0) return { text, v4, v6: undefined, prefixLength: 32 };
  const prefix = parsePrefix(text);
  return canonicalAddress({ ...prefix, text: formatPrefix(prefix) });
}
