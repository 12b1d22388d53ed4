import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeStoppedRows, encodeStoppedColumns } from '../../src/queue/stopped-rows.js';
import { StoppedSessions } from '../../src/sessions/stopped.js';
import type { StoppedRow } from '../../src/sessions/table.js';
import { stoppedRowsOf } from '../helpers/stopped-rows.js';

const uint32 = fc.integer({ min: 0, max: 0xffffffff });

/** The base64 text of rows, through the columns the memory hands the snapshot. */
function encodeStoppedRows(rows: readonly StoppedRow[]): string {
  return encodeStoppedColumns({ high: Uint32Array.from(rows, (row) => row[0]), low: Uint32Array.from(rows, (row) => row[1]), nasTime: Uint32Array.from(rows, (row) => row[2]) });
}

describe('stopped-session rows in a snapshot', () => {
  it('gives back any rows exactly', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(uint32, uint32, fc.oneof(uint32, fc.constant(0), fc.integer({ min: 1_800_000_000, max: 1_800_000_100 }))), { maxLength: 60 }), (rows) => {
        expect(decodeStoppedRows(encodeStoppedRows(rows as StoppedRow[]))).toEqual(rows);
      }),
    );
  });

  it.each([
    ['the extremes', [[0xffffffff, 0, 0xffffffff], [0, 0xffffffff, 0], [1, 2, 0xffffffff]]],
    ['no rows', []],
  ] as [string, StoppedRow[]][])('gives back %s', (_, rows) => {
    expect(decodeStoppedRows(encodeStoppedRows(rows))).toEqual(rows);
  });

  it('takes about 9 bytes (12 characters) a row when stops come a second or so apart', () => {
    const rows: StoppedRow[] = Array.from({ length: 1000 }, (_, i) => [(i * 2654435761) >>> 0, (i * 40503) >>> 0, 1_800_000_000 + i]);
    const text = encodeStoppedRows(rows);
    expect(text.length).toBe(Math.ceil((1000 * 9 + 4) / 3) * 4);
    expect(text.length).toBeLessThan(JSON.stringify(rows.flat()).length / 2.5);
  });

  it.each([
    ['a row cut short', Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]).toString('base64')],
    ['a time that never ends', Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80]).toString('base64')],
    ['a time before 1970', Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 1]).toString('base64')],
    ['a time past 2106', Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 0xfe, 0xff, 0xff, 0xff, 0x3f]).toString('base64')],
  ])('refuses %s as a corrupt journal', (_, text) => {
    expect(() => decodeStoppedRows(text)).toThrow(expect.objectContaining({ code: 'RBL_JOURNAL_CORRUPT' }));
  });
});

describe('stopped-session columns for a snapshot', () => {
  it.each([
    ['not yet full', 700],
    ['wrapped around', 2500],
  ])('gives the rows the memory keeps, oldest first, %s, in chunks of at most the size asked', (_, stops) => {
    const memory = new StoppedSessions(1024);
    const key = (i: number) => `client\u0000nas\u0000session-${i}`;
    for (let i = 0; i < stops; i++) memory.remember(key(i), { at: i, nasTime: 1_800_000_000 + i });
    const chunks = [...memory.columns(300)];
    expect(chunks.every((chunk) => chunk.high.length > 0 && chunk.high.length <= 300)).toBe(true);
    const rows = stoppedRowsOf(chunks);
    const first = Math.max(0, stops - 1024);
    expect(rows.map((row) => row[2])).toEqual(Array.from({ length: stops - first }, (_, i) => 1_800_000_000 + first + i));
    // The hashes are the kept keys': a memory loaded from the rows knows each kept stop and no forgotten one.
    const loaded = new StoppedSessions(1024);
    for (const [high, low, nasTime] of rows) loaded.rememberHashed(high, low, nasTime);
    for (let i = first; i < stops; i++) expect(loaded.stoppedAt(key(i))).toEqual({ nasTime: 1_800_000_000 + i });
    if (first > 0) expect(loaded.stoppedAt(key(first - 1))).toBeUndefined();
  });

  it('encodes columns as it encodes the same rows', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(uint32, uint32, uint32), { maxLength: 40 }), (rows) => {
        const columns = { high: Uint32Array.from(rows, (row) => row[0]), low: Uint32Array.from(rows, (row) => row[1]), nasTime: Uint32Array.from(rows, (row) => row[2]) };
        expect(decodeStoppedRows(encodeStoppedColumns(columns))).toEqual(rows);
        expect(encodeStoppedColumns(columns)).toBe(encodeStoppedRows(rows as StoppedRow[]));
      }),
    );
  });
});
