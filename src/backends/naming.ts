/**
 * DNSBL owner names (RFC 5782 §2.1, §2.4): IPv4 octets and IPv6 nibbles in reverse order under the zone.
 * Pure code.
 */
import type { IpPrefix } from '../net/address.js';

/** The owner names to delete for a target in a zone, fully qualified without the trailing dot. */
export function dnsblNames(target: IpPrefix, zone: string): string[] {
  const zoneName = zone.replace(/\.$/, '').toLowerCase();
  const labelBits = target.family === 4 ? 8 : 4;
  const fullBits = target.family === 4 ? 32 : 128;
  if (target.prefixLength === fullBits) return [hostName(target, zoneName)];
  // A prefix is its labels down to the first label boundary at or past its length: the name itself
  // (an entry for the whole prefix) and the wildcard below it. A length between boundaries
  // (an IPv6 /62) stands for every label-aligned prefix inside it, so nothing outside is touched.
  const alignedLength = Math.ceil(target.prefixLength / labelBits) * labelBits;
  const variants = 1 << (alignedLength - target.prefixLength);
  const names: string[] = [];
  for (let variant = 0; variant < variants; variant++) {
    const bytes = Buffer.from(target.bytes);
    for (let bit = 0; bit < alignedLength - target.prefixLength; bit++) {
      if ((variant >> bit) & 1) {
        const position = alignedLength - 1 - bit;
        const index = position >> 3;
        bytes[index] = (bytes[index] ?? 0) | (0x80 >> (position & 7));
      }
    }
    const labels = reversedLabels(bytes, alignedLength / labelBits, labelBits);
    const name = labels === '' ? zoneName : `${labels}.${zoneName}`;
    names.push(name, `*.${name}`);
  }
  return names;
}

/**
 * The name of one host address. An IPv4 host is what nearly every Stop unlists: its four labels
 * are written straight out, without the list of labels the general way builds.
 */
function hostName(target: IpPrefix, zoneName: string): string {
  const bytes = target.bytes;
  if (target.family === 4) return `${bytes[3]}.${bytes[2]}.${bytes[1]}.${bytes[0]}.${zoneName}`;
  return `${reversedLabels(bytes, 32, 4)}.${zoneName}`;
}

/** The first `count` octets (labelBits 8) or nibbles (labelBits 4) of the bytes, reversed, dot-joined. */
function reversedLabels(bytes: Uint8Array, count: number, labelBits: 4 | 8): string {
  const labels: string[] = [];
  for (let i = 0; i < count; i++) {
    if (labelBits === 8) labels.push(String(bytes[i] ?? 0));
    else {
      const byte = bytes[i >> 1] ?? 0;
      labels.push(((i & 1) === 0 ? byte >> 4 : byte & 0x0f).toString(16));
    }
  }
  return labels.reverse().join('.');
}
