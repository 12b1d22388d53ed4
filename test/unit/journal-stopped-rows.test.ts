import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeStoppedRows, encodeStoppedRows } from '../../src/queue/stopped-rows.js';
import type { StoppedRow } from '../../src/sessions/table.js';

const uint32 = fc.integer({ min: 0, max: 0xffffffff });

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
