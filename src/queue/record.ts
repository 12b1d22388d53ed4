/**
 * Journal record framing, pure code. A record is an 8-byte header, then a UTF-8 JSON payload:
 *
 *     offset 0  uint32 LE  payload length in bytes
 *     offset 4  uint32 LE  CRC-32 (zlib) over the 4 length bytes and then the payload
 *     offset 8  payload
 *
 * The length bounds a torn write; the checksum catches a half-written or overwritten one. A decoder
 * stops at the first record that is incomplete or fails its checksum: everything before is good.
 */
import { crc32 } from 'node:zlib';

export const RECORD_HEADER_BYTES = 8;
/** No record is ever this big (snapshots are written in chunks), so a larger length is corruption. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

/** Frames one payload object as a record. */
export function encodeRecord(payload: unknown): Buffer {
  // The JSON text is encoded straight into the record: one allocation and no copy per record.
  const json = JSON.stringify(payload);
  const length = Buffer.byteLength(json, 'utf8');
  const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + length);
  record.writeUInt32LE(length, 0);
  record.write(json, RECORD_HEADER_BYTES, 'utf8');
  record.writeUInt32LE(crc32(record.subarray(RECORD_HEADER_BYTES), crc32(record.subarray(0, 4))), 4);
  return record;
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
