/**
 * DNS messages for the DNS UPDATE backend: a direct encoder for the RFC 2136 delete-only UPDATE
 * (the hot path, thousands of names a second), queries through dns2 for check and probe, and a
 * parser for what the server answers. Pure code, no I/O.
 */
import { Packet } from 'dns2';
import { RblError } from '../../errors.js';

/** RR types this backend names (RFC 1035 §3.2.2, RFC 3596, RFC 8945). */
export const RR_TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  TSIG: 250,
  ANY: 255,
} as const;

export const CLASS_IN = 1;
export const CLASS_ANY = 255;
/** RFC 2136 §1: the UPDATE opcode. */
export const OPCODE_UPDATE = 5;
export const OPCODE_QUERY = 0;

/** Response codes (RFC 1035 §4.1.1, RFC 2136 §2.2) by number, for messages. */
export const RCODE_NAMES: Readonly<Record<number, string>> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
  6: 'YXDOMAIN',
  7: 'YXRRSET',
  8: 'NXRRSET',
  9: 'NOTAUTH',
  10: 'NOTZONE',
};

/** The RR type number for a name in the `delete` config ("A", "txt", "ANY", "TYPE65534"). */
export function rrTypeNumber(text: string): number {
  const upper = text.toUpperCase();
  if (upper in RR_TYPE) return RR_TYPE[upper as keyof typeof RR_TYPE];
  const generic = /^TYPE(\d{1,5})$/.exec(upper);
  if (generic && Number(generic[1]) > 0 && Number(generic[1]) <= 0xffff) return Number(generic[1]);
  throw new RblError('RBL_CONFIG_INVALID', `"${text}" is not an RR type this backend can delete (use A, TXT, AAAA, ..., TYPEnnn or ANY)`);
}

/** The text name of an RR type number, as nsupdate writes it. */
export function rrTypeName(type: number): string {
  for (const [name, value] of Object.entries(RR_TYPE)) if (value === type) return name;
  return `TYPE${type}`;
}

/** The wire form of a domain name (RFC 1035 §3.1), lower case, uncompressed; TSIG needs it canonical (RFC 8945 §4.3.3). */
export function encodeName(name: string): Buffer {
  const out = Buffer.alloc(nameWireLength(name));
  writeLabels(out, 0, trimDot(name));
  return out;
}

function trimDot(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/** Bytes of a name's labels plus the root label; "" and "." are the root (1 byte). */
function nameWireLength(name: string): number {
  const trimmed = trimDot(name);
  return trimmed === '' ? 1 : trimmed.length + 2;
}

/** Writes "a.b.c" as length-prefixed lower-case labels and the root label; returns the end offset. */
function writeLabels(out: Buffer, offset: number, name: string, terminate = true): number {
  let at = offset;
  if (name !== '') {
    let start = 0;
    while (start <= name.length) {
      let end = name.indexOf('.', start);
      if (end === -1) end = name.length;
      const length = end - start;
      if (length === 0 || length > 63) throw new RblError('RBL_CONFIG_INVALID', `"${name}" is not a domain name (empty or over-long label)`);
      out[at++] = length;
      for (let i = start; i < end; i++) {
        const code = name.charCodeAt(i);
        // RFC 4343: compare case-insensitively; we send lower case so the names are canonical.
        out[at++] = code >= 65 && code <= 90 ? code + 32 : code;
      }
      start = end + 1;
    }
  }
  if (terminate) out[at++] = 0;
  return at;
}

/** What one delete-only UPDATE message holds. */
export interface DeleteUpdate {
  readonly id: number;
  /** The zone, without the trailing dot. */
  readonly zone: string;
  /** Owner names, fully qualified without the trailing dot; normally all inside the zone. */
  readonly names: readonly string[];
  /** RR types deleted at each name; RR_TYPE.ANY deletes every RRset (RFC 2136 §2.5.3). */
  readonly types: readonly number[];
}

const HEADER_BYTES = 12;
/** TYPE, CLASS, TTL, RDLENGTH of one RR (RFC 1035 §4.1.3). */
const RR_FIXED_BYTES = 10;
/** The zone name sits right after the header, so every name below the zone ends in a pointer to offset 12. */
const ZONE_POINTER = 0xc000 | HEADER_BYTES;
/** Compression pointers have 14 bits (RFC 1035 §4.1.4). */
const MAX_POINTER = 0x4000;

/** How many bytes a name costs in the update section (its first occurrence), compressed against the zone. */
function ownerBytes(name: string, zone: string): number {
  const relative = relativeToZone(name, zone);
  if (relative === undefined) return nameWireLength(name);
  return relative === '' ? 2 : relative.length + 1 + 2;
}

/** The labels of `name` before `zone` ("4.3.2.1" for 4.3.2.1.<zone>), "" for the apex, undefined outside the zone. */
function relativeToZone(name: string, zone: string): string | undefined {
  const bare = trimDot(name).toLowerCase();
  if (bare === zone) return '';
  if (bare.length > zone.length && bare.endsWith(zone) && bare.charCodeAt(bare.length - zone.length - 1) === 46) {
    return bare.slice(0, bare.length - zone.length - 1);
  }
  return undefined;
}

/** The encoded size of a delete UPDATE before signing. */
export function deleteUpdateSize(zone: string, names: readonly string[], types: readonly number[]): number {
  const zoneName = trimDot(zone).toLowerCase();
  let size = HEADER_BYTES + nameWireLength(zoneName) + 4;
  for (const name of names) size += deleteNameBytes(name, zoneName, types.length, size);
  return size;
}

/** Bytes one name's delete RRs take when they start at `offset`. */
function deleteNameBytes(name: string, zone: string, typeCount: number, offset: number): number {
  const owner = ownerBytes(name, zone);
  // Each further RR points back at the first owner name (2 bytes), which a 14-bit pointer can
  // only reach in the first 16 KiB (RFC 1035 §4.1.4); past that the name is written again.
  const repeat = offset < MAX_POINTER ? 2 : owner;
  return owner + RR_FIXED_BYTES + (typeCount - 1) * (repeat + RR_FIXED_BYTES);
}

/** Splits names into runs whose delete UPDATE stays within maxBytes (before the TSIG RR is added). */
export function batchDeleteNames(zone: string, names: readonly string[], types: readonly number[], maxBytes: number): string[][] {
  const zoneName = trimDot(zone).toLowerCase();
  const fixed = HEADER_BYTES + nameWireLength(zoneName) + 4;
  const batches: string[][] = [];
  let current: string[] = [];
  let size = fixed;
  for (const name of names) {
    let bytes = deleteNameBytes(name, zoneName, types.length, size);
    if (current.length > 0 && (size + bytes > maxBytes || current.length * types.length + types.length > 0xffff)) {
      batches.push(current);
      current = [];
      size = fixed;
      bytes = deleteNameBytes(name, zoneName, types.length, size);
    }
    current.push(name);
    size += bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * Encodes an RFC 2136 UPDATE that deletes the given RRsets: the zone section is the zone's SOA
 * (class IN, §2.3); each update RR is class ANY, TTL 0, RDLENGTH 0 (§2.5.2, or type ANY §2.5.3).
 * A TTL other than 0 is a FORMERR (§3.4.1.3), which is why this does not go through dns2.
 */
export function buildDeleteUpdate(update: DeleteUpdate): Buffer {
  const zone = trimDot(update.zone).toLowerCase();
  const types = update.types;
  if (types.length === 0) throw new RblError('RBL_CONFIG_INVALID', 'a delete UPDATE needs at least one RR type');
  const out = Buffer.allocUnsafe(deleteUpdateSize(zone, update.names, types));
  const updateCount = update.names.length * types.length;
  if (updateCount > 0xffff) throw new RblError('RBL_CONFIG_INVALID', `${updateCount} update RRs do not fit one message; batch the names`);
  out.writeUInt16BE(update.id & 0xffff, 0);
  out.writeUInt16BE(OPCODE_UPDATE << 11, 2);
  out.writeUInt16BE(1, 4); // ZOCOUNT
  out.writeUInt16BE(0, 6); // PRCOUNT
  out.writeUInt16BE(updateCount, 8); // UPCOUNT
  out.writeUInt16BE(0, 10); // ADCOUNT
  let at = writeLabels(out, HEADER_BYTES, zone);
  out.writeUInt16BE(RR_TYPE.SOA, at);
  out.writeUInt16BE(CLASS_IN, at + 2);
  at += 4;
  for (const name of update.names) {
    const ownerOffset = at;
    const relative = relativeToZone(name, zone);
    for (let i = 0; i < types.length; i++) {
      if (i > 0 && ownerOffset < MAX_POINTER) {
        out.writeUInt16BE(0xc000 | ownerOffset, at);
        at += 2;
      } else if (relative === undefined) {
        at = writeLabels(out, at, trimDot(name));
      } else {
        if (relative !== '') at = writeLabels(out, at, relative, false);
        out.writeUInt16BE(ZONE_POINTER, at);
        at += 2;
      }
      out.writeUInt16BE(types[i]!, at);
      out.writeUInt16BE(CLASS_ANY, at + 2);
      out.writeUInt32BE(0, at + 4); // TTL 0
      out.writeUInt16BE(0, at + 8); // RDLENGTH 0
      at += RR_FIXED_BYTES;
    }
  }
  return out;
}

/** Encodes a plain query (RD clear: authoritative servers only) for one name and type. */
export function buildQuery(id: number, name: string, type: number): Buffer {
  const packet = new Packet(new Packet.Header({ id: id & 0xffff, opcode: OPCODE_QUERY, rd: 0 }));
  packet.questions.push(new Packet.Question(trimDot(name).toLowerCase(), type, CLASS_IN));
  return packet.toBuffer();
}
