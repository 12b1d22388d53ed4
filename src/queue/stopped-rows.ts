/**
 * The stopped-session memory as journal format 3 writes it: base64 of packed rows, where format 2
 * wrote JSON number triples (about 33 bytes a row, 17 MB for a full memory, rewritten at every
 * compaction). A row is its 64-bit key hash (8 bytes, big-endian; random, so nothing packs it
 * further) and its Event-Timestamp as a zigzag varint of the difference from the row before (rows
 * are oldest first, so that is a byte or two): about 12 characters a row. Pure code.
 */
import { RblError } from '../errors.js';
import type { StoppedColumns, StoppedRow } from '../sessions/table.js';

/** The base64 text of these rows given as columns (the memory's own arrays: no row is made). */
export function encodeStoppedColumns({ high, low, nasTime }: StoppedColumns): string {
  const out = Buffer.alloc(high.length * 13);
  let at = 0;
  let previous = 0;
  for (let i = 0; i < high.length; i++) {
    out.writeUInt32BE(high[i]!, at);
    out.writeUInt32BE(low[i]!, at + 4);
    at += 8;
    const time = nasTime[i]!;
    const delta = time - previous;
    previous = time;
    // Zigzag: small differences of either sign become small unsigned numbers.
    let value = delta < 0 ? -delta * 2 - 1 : delta * 2;
    while (value >= 0x80) {
      out[at++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    out[at++] = value;
  }
  return out.subarray(0, at).toString('base64');
}

/** The rows of base64 text written by {@link encodeStoppedColumns}; throws RBL_JOURNAL_CORRUPT for anything else. */
export function decodeStoppedRows(text: string): StoppedRow[] {
  const bytes = Buffer.from(text, 'base64');
  const rows: StoppedRow[] = [];
  let at = 0;
  let previous = 0;
  while (at < bytes.length) {
    if (at + 9 > bytes.length) throw corrupt();
    const high = bytes.readUInt32BE(at);
    const low = bytes.readUInt32BE(at + 4);
    at += 8;
    let value = 0;
    let scale = 1;
    for (;;) {
      // A uint32 time's zigzag difference takes at most 5 bytes.
      if (at >= bytes.length || scale > 0x80 ** 4) throw corrupt();
      const byte = bytes[at++]!;
      value += (byte & 0x7f) * scale;
      scale *= 0x80;
      if (byte < 0x80) break;
    }
    const nasTime = previous + (value % 2 === 1 ? -(value + 1) / 2 : value / 2);
    if (nasTime < 0 || nasTime > 0xffffffff) throw corrupt();
    previous = nasTime;
    rows.push([high, low, nasTime]);
  }
  return rows;
}

function corrupt(): RblError {
  return new RblError('RBL_JOURNAL_CORRUPT', 'the journal has a stopped-session snapshot record that does not decode');
}
