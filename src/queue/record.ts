/**
 * Journal record framing, pure code. A record is an 8-byte header, then a UTF-8 JSON payload:
 *
 *     offset 0  uint32 LE  payload length in bytes
 *     offset 4  uint32 LE  CRC-32 (zlib) over the 4 length bytes and then the payload
 *     offset 8  payload
 *
 * The length bounds a torn write; the checksum catches a half-written or overwritten one. A decoder
 * stops at the first record that is incomplete or fails its checksum: everything before is good.
 * Every payload is an object whose first key is the record's type, `{"t":"`, which is how replay
 * finds the records after a corrupt one (nextRecordCandidate).
 */
import { crc32 } from 'node:zlib';

export const RECORD_HEADER_BYTES = 8;
/** No record is ever this big (snapshots are written in chunks), so a larger length is corruption. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

/** Frames one payload object as a record. */
export function encodeRecord(payload: unknown): Buffer {
  return frameRecords([JSON.stringify(payload)]);
}

/**
 * Frames payloads already turned into JSON text as consecutive records, in one buffer: a group
 * commit writes hundreds of records at once, and one allocation for all of them (the text encoded
 * straight into place, no copy) costs less than one per record and a concatenation.
 */
export function frameRecords(jsons: readonly string[]): Buffer {
  let size = 0;
  const lengths = new Array<number>(jsons.length);
  for (let i = 0; i < jsons.length; i++) {
    lengths[i] = Buffer.byteLength(jsons[i]!, 'utf8');
    size += RECORD_HEADER_BYTES + lengths[i]!;
  }
  const out = Buffer.allocUnsafe(size);
  let offset = 0;
  for (let i = 0; i < jsons.length; i++) {
    const length = lengths[i]!;
    const body = offset + RECORD_HEADER_BYTES;
    out.writeUInt32LE(length, offset);
    out.write(jsons[i]!, body, length, 'utf8');
    out.writeUInt32LE(crc32(out.subarray(body, body + length), crc32(out.subarray(offset, offset + 4))), offset + 4);
    offset = body + length;
  }
  return out;
}

/** How every record's payload begins: JSON.stringify writes the type `t`, each record's first key, first. */
const PAYLOAD_START = Buffer.from('{"t":"', 'latin1');

/** Bytes a candidate needs before its payload's start can be recognised: the header and that start. */
export const CANDIDATE_BYTES = RECORD_HEADER_BYTES + PAYLOAD_START.length;

/**
 * Where a record may start at or after `from`: the first offset whose payload begins as every
 * record's does, or -1 when no such offset lies wholly within the buffer. After a corrupt record,
 * replay looks there for the records that follow it; a candidate still has to decode (checksum and
 * JSON) to count, so bytes that merely look like a start are passed over.
 */
export function nextRecordCandidate(buffer: Buffer, from: number): number {
  const payload = buffer.indexOf(PAYLOAD_START, from + RECORD_HEADER_BYTES);
  return payload < 0 ? -1 : payload - RECORD_HEADER_BYTES;
}

/** What decodeRecord found at an offset. */
export type DecodeResult =
  | { readonly kind: 'record'; readonly payload: unknown; readonly bytes: number }
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'corrupt'; readonly why: string };

/** Decodes the record at `offset`; 'incomplete' when the buffer ends inside it. */
export function decodeRecord(buffer: Buffer, offset: number): DecodeResult {
  if (buffer.length - offset < RECORD_HEADER_BYTES) return { kind: 'incomplete' };
  const length = buffer.readUInt32LE(offset);
  if (length > MAX_RECORD_BYTES) return { kind: 'corrupt', why: `a record length of ${length} bytes` };
  const end = offset + RECORD_HEADER_BYTES + length;
  if (end > buffer.length) return { kind: 'incomplete' };
  const body = buffer.subarray(offset + RECORD_HEADER_BYTES, end);
  const expected = buffer.readUInt32LE(offset + 4);
  if (crc32(body, crc32(buffer.subarray(offset, offset + 4))) !== expected) return { kind: 'corrupt', why: 'a checksum mismatch' };
  try {
    return { kind: 'record', payload: JSON.parse(body.toString('utf8')), bytes: end - offset };
  } catch {
    return { kind: 'corrupt', why: 'a payload that is not JSON' };
  }
}
