/**
 * IP addresses and prefixes as bytes: parsing, canonical text (RFC 5952 for IPv6), containment.
 * Pure code, no I/O. Every address that may be unlisted becomes an {@link IpPrefix} here.
 */
import { RblError } from '../errors.js';

/** An IPv4 or IPv6 network: the address bytes (4 or 16, host bits zero) and the prefix length. */
export interface IpPrefix {
  readonly family: 4 | 6;
  readonly bytes: Buffer;
  readonly prefixLength: number;
  /** Its canonical text, when made once by {@link canonicalPrefix}; formatPrefix then returns it. */
  readonly text?: string;
}

/** An IpPrefix whose canonical text is computed once and carried along. */
export type CanonicalPrefix = IpPrefix & { readonly text: string };

/**
 * Parses a dotted-quad IPv4 address into 4 bytes, or returns undefined. Four decimal octets, no
 * leading zeros (as node's isIPv4): a character loop, as this runs several times per Stop.
 */
export function parseIPv4Bytes(text: string): Buffer | undefined {
  if (text.length < 7 || text.length > 15) return undefined;
  const bytes = Buffer.allocUnsafe(4);
  let octet = 0;
  let digits = 0;
  let index = 0;
  for (let i = 0; i <= text.length; i++) {
    const code = i < text.length ? text.charCodeAt(i) : 46; // a final '.' closes the last octet
    if (code >= 48 && code <= 57) {
      if (digits === 1 && octet === 0) return undefined; // leading zero
      octet = octet * 10 + (code - 48);
      if (++digits > 3 || octet > 255) return undefined;
    } else if (code === 46 && digits > 0 && index < 4) {
      bytes[index++] = octet;
      octet = 0;
      digits = 0;
    } else {
      return undefined;
    }
  }
  return index === 4 ? bytes : undefined;
}

/** Parses an IPv6 address (with :: and an optional embedded IPv4 tail) into 16 bytes, or returns undefined. */
export function parseIPv6Bytes(input: string): Buffer | undefined {
  let text = input;
  const zone = text.indexOf('%');
  if (zone !== -1) text = text.slice(0, zone);
  if (text.length < 2 || text.length > 45 || !/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const groups: number[] = [];
  let tail = text;
  // An embedded IPv4 address stands for the last two groups (RFC 4291 §2.2 form 3).
  const lastColon = text.lastIndexOf(':');
  const dottedPart = text.slice(lastColon + 1);
  let v4: Buffer | undefined;
  if (dottedPart.includes('.')) {
    v4 = parseIPv4Bytes(dottedPart);
    if (!v4) return undefined;
    tail = text.slice(0, lastColon + 1);
    if (tail.endsWith(':') && !tail.endsWith('::')) tail = tail.slice(0, -1);
  }
  const halves = tail.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    for (const group of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
      out.push(parseInt(group, 16));
    }
    return out;
  };
  const head = parseGroups(halves[0] ?? '');
  const rest = halves.length === 2 ? parseGroups(halves[1] ?? '') : [];
  if (!head || !rest) return undefined;
  const needed = v4 ? 6 : 8;
  const present = head.length + rest.length;
  if (halves.length === 1 && present !== needed) return undefined;
  if (halves.length === 2 && present > needed - 1) return undefined;
  groups.push(...head, ...new Array<number>(needed - present).fill(0), ...rest);
  const bytes = Buffer.alloc(16);
  groups.forEach((group, index) => bytes.writeUInt16BE(group, index * 2));
  if (v4) v4.copy(bytes, 12);
  return bytes;
}

/**
 * The dotted quad of the four octets at `start`, read in place: a packet's address attribute needs
 * no Buffer view of its own to be written out.
 */
export function ipv4TextAt(bytes: Uint8Array, start: number): string {
  return `${bytes[start]!}.${bytes[start + 1]!}.${bytes[start + 2]!}.${bytes[start + 3]!}`;
}

/** Formats 4 or 16 address bytes as dotted quad or RFC 5952 canonical IPv6 text. */
export function formatAddressBytes(bytes: Uint8Array): string {
  if (bytes.length === 4) return ipv4TextAt(bytes, 0);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  // RFC 5952 §4.2: the longest run of two or more zero groups, the first one on a tie, becomes "::".
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** Parses "a.b.c.d", an IPv6 address, or either with "/len"; throws RBL_ADDRESS_INVALID naming the input. */
export function parsePrefix(text: string): IpPrefix {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const addressText = slash === -1 ? trimmed : trimmed.slice(0, slash);
  const v4 = parseIPv4Bytes(addressText);
  const bytes = v4 ?? parseIPv6Bytes(addressText);
  if (!bytes) {
    throw new RblError('RBL_ADDRESS_INVALID', `"${text}" is not an IPv4 or IPv6 address or prefix`);
  }
  const family: 4 | 6 = v4 ? 4 : 6;
  const maxLength = family === 4 ? 32 : 128;
  let prefixLength = maxLength;
  if (slash !== -1) {
    const lengthText = trimmed.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lengthText) || Number(lengthText) > maxLength) {
      throw new RblError('RBL_ADDRESS_INVALID', `"${text}" has a bad prefix length (0 to ${maxLength})`);
    }
    prefixLength = Number(lengthText);
  }
  return { family, bytes: maskBytes(bytes, prefixLength), prefixLength };
}

/** Parses an address without a prefix length; throws RBL_ADDRESS_INVALID otherwise. */
export function parseAddress(text: string): IpPrefix {
  const prefix = parsePrefix(text);
  if (text.includes('/')) throw new RblError('RBL_ADDRESS_INVALID', `"${text}" is a prefix where an address is expected`);
  return prefix;
}

/** A copy of the bytes with every bit past prefixLength cleared. */
export function maskBytes(bytes: Uint8Array, prefixLength: number): Buffer {
  const out = Buffer.from(bytes);
  for (let bit = prefixLength; bit < out.length * 8; bit++) {
    const index = bit >> 3;
    out[index] = (out[index] ?? 0) & ~(0x80 >> (bit & 7));
  }
  return out;
}

/** Whether `inner` lies wholly inside `outer` (same family, at least as long a prefix, same leading bits). */
export function prefixContains(outer: IpPrefix, inner: IpPrefix): boolean {
  if (outer.family !== inner.family || inner.prefixLength < outer.prefixLength) return false;
  return maskBytes(inner.bytes, outer.prefixLength).equals(outer.bytes);
}

/** Whether two prefixes share at least one address. */
export function prefixesOverlap(a: IpPrefix, b: IpPrefix): boolean {
  return prefixContains(a, b) || prefixContains(b, a);
}

/** Canonical text: the address alone for a host (/32, /128), else "address/len". */
export function formatPrefix(prefix: IpPrefix): string {
  if (prefix.text !== undefined) return prefix.text;
  const address = formatAddressBytes(prefix.bytes);
  const hostLength = prefix.family === 4 ? 32 : 128;
  return prefix.prefixLength === hostLength ? address : `${address}/${prefix.prefixLength}`;
}

/**
 * The prefix with its canonical text made now, frozen: an address read from a packet becomes one
 * of these once, and every later stage (plan, policy, journal, backends) reads its text instead of
 * formatting or parsing it again.
 */
export function canonicalPrefix(prefix: IpPrefix): CanonicalPrefix {
  const { family, bytes, prefixLength } = prefix;
  return Object.freeze({ family, bytes, prefixLength, text: formatPrefix({ family, bytes, prefixLength }) });
}

/**
 * The canonical /32 of a dotted-quad IPv4 address, or undefined for any other text. Four decimal
 * octets without leading zeros are already the canonical text, so the text is kept and the bytes
 * made once: a Stop's Framed-IP-Address comes this way, and the general path (parse, mask, copy,
 * format again) made three buffers and two strings of it.
 */
export function canonicalIPv4Host(text: string): CanonicalPrefix | undefined {
  const bytes = parseIPv4Bytes(text);
  return bytes && Object.freeze({ family: 4 as const, bytes, prefixLength: 32, text });
}

/** A host prefix (/32 or /128) for 4 or 16 address bytes. */
export function hostPrefix(bytes: Uint8Array): IpPrefix {
  const family: 4 | 6 = bytes.length === 4 ? 4 : 6;
  return { family, bytes: Buffer.from(bytes), prefixLength: family === 4 ? 32 : 128 };
}

/**
 * Whether two address texts name the same host, compared as bytes: every spelling of an IPv6
 * address is one host, and an IPv4-mapped IPv6 address (RFC 4291 §2.5.5.2), as a udp6 socket
 * reports an IPv4 peer, is its IPv4 address. A zone index is ignored; text that is no address
 * is no host.
 */
export function sameAddress(a: string, b: string): boolean {
  const bytesA = unmappedAddressBytes(a);
  const bytesB = unmappedAddressBytes(b);
  return bytesA !== undefined && bytesB !== undefined && bytesA.equals(bytesB);
}

/** RFC 4291 §2.5.5.2: ::ffff:0:0/96. */
const IPV4_MAPPED_PREFIX = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);

/**
 * The 4 or 16 bytes of an address text, an IPv4-mapped IPv6 address (::ffff:a.b.c.d, as a
 * dual-stack socket names an IPv4 peer) as its own 4 IPv4 bytes; undefined for text that is no
 * address.
 */
export function unmappedAddressBytes(text: string): Buffer | undefined {
  const bytes = parseIPv4Bytes(text) ?? parseIPv6Bytes(text);
  if (bytes?.length === 16 && bytes.subarray(0, 12).equals(IPV4_MAPPED_PREFIX)) return Buffer.from(bytes.subarray(12));
  return bytes;
}
