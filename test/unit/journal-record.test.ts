import { describe, expect, it } from 'vitest';
import { decodeRecord, encodeRecord, RECORD_HEADER_BYTES } from '../../src/queue/record.js';

const good = encodeRecord({ t: 'd', l: 'bind\nrbl.example.net', i: [1, 2, 3] });

describe('journal record framing', () => {
  it('decodes what it encodes, with the length of the whole record', () => {
    const result = decodeRecord(good, 0);
    expect(result).toEqual({ kind: 'record', payload: { t: 'd', l: 'bind\nrbl.example.net', i: [1, 2, 3] }, bytes: good.length });
  });

  it('decodes consecutive records by offset', () => {
    const second = encodeRecord({ t: 'h', v: 1, seq: 7, at: 0 });
    const buffer = Buffer.concat([good, second]);
    const first = decodeRecord(buffer, 0);
    expect(first.kind).toBe('record');
    expect(decodeRecord(buffer, good.length)).toMatchObject({ kind: 'record', payload: { seq: 7 } });
  });

  const flip = (index: number): Buffer => {
    const copy = Buffer.from(good);
    copy[index] = copy[index]! ^ 0x20;
    return copy;
  };

  it.each([
    ['an empty buffer', Buffer.alloc(0), 'incomplete'],
    ['half a header', good.subarray(0, 5), 'incomplete'],
    ['a header without its payload', good.subarray(0, RECORD_HEADER_BYTES), 'incomplete'],
    ['a payload cut short', good.subarray(0, good.length - 1), 'incomplete'],
    ['a flipped payload byte', flip(RECORD_HEADER_BYTES + 3), 'corrupt'],
    ['a flipped checksum byte', flip(5), 'corrupt'],
    ['a flipped length byte that still fits', Buffer.concat([flip(0), Buffer.alloc(64)]), 'corrupt'],
    ['an absurd length', Buffer.from([0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0]), 'corrupt'],
    ['zero bytes where a record should be', Buffer.alloc(64), 'corrupt'],
  ])('reports %s as %s', (_name, buffer, kind) => {
    expect(decodeRecord(buffer, 0).kind).toBe(kind);
  });
});
