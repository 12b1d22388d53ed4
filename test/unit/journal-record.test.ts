import { describe, expect, it } from 'vitest';
import { crc32 } from 'node:zlib';
import { CANDIDATE_BYTES, decodeRecord, encodeRecord, frameRecords, MAX_RECORD_BYTES, nextRecordCandidate, RECORD_HEADER_BYTES } from '../../src/queue/record.js';

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

  /** A header for `length` payload bytes with the checksum of these bytes, then the payload. */
  const framed = (length: number, payload: Buffer): Buffer => {
    const header = Buffer.alloc(RECORD_HEADER_BYTES);
    header.writeUInt32LE(length, 0);
    header.writeUInt32LE(crc32(payload, crc32(header.subarray(0, 4))), 4);
    return Buffer.concat([header, payload]);
  };

  it.each([
    ['an absurd length', Buffer.from([0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0]), 'a record length of 2147483647 bytes'],
    ['one byte past the largest record', framed(MAX_RECORD_BYTES + 1, Buffer.alloc(0)), `a record length of ${MAX_RECORD_BYTES + 1} bytes`],
    ['a flipped payload byte', flip(RECORD_HEADER_BYTES + 3), 'a checksum mismatch'],
    ['a well-framed payload that is not JSON', framed(3, Buffer.from('{no')), 'a payload that is not JSON'],
    ['a well-framed empty payload', framed(0, Buffer.alloc(0)), 'a payload that is not JSON'],
  ])('says why %s is corrupt', (_name, buffer, why) => {
    expect(decodeRecord(buffer, 0)).toEqual({ kind: 'corrupt', why });
  });

  it('waits for more bytes when a record of the largest length has not all arrived', () => {
    expect(decodeRecord(framed(MAX_RECORD_BYTES, Buffer.alloc(0)), 0)).toEqual({ kind: 'incomplete' });
  });

  it('decodes a record at an offset, counting only its own bytes', () => {
    const second = encodeRecord({ seq: 8 });
    const buffer = Buffer.concat([good, second, Buffer.alloc(3)]);
    expect(decodeRecord(buffer, good.length)).toEqual({ kind: 'record', payload: { seq: 8 }, bytes: second.length });
    // The header is read at the offset, not at the start: a bad byte before it changes nothing.
    const spoiledFirst = Buffer.concat([flip(RECORD_HEADER_BYTES + 3), second]);
    expect(decodeRecord(spoiledFirst, good.length)).toEqual({ kind: 'record', payload: { seq: 8 }, bytes: second.length });
  });

  it.each([2, RECORD_HEADER_BYTES - 1])('needs a whole header at the offset before it reads a length (%i bytes there)', (present) => {
    const buffer = Buffer.concat([good, encodeRecord({ seq: 9 }).subarray(0, present)]);
    expect(decodeRecord(buffer, good.length)).toEqual({ kind: 'incomplete' });
  });

  it('frames the payload as UTF-8 JSON behind its length and checksum', () => {
    const record = encodeRecord({ name: 'é' });
    const body = Buffer.from('{"name":"é"}', 'utf8');
    expect(record.readUInt32LE(0)).toBe(body.length);
    expect(record.subarray(RECORD_HEADER_BYTES)).toEqual(body);
    expect(record.readUInt32LE(4)).toBe(crc32(body, crc32(record.subarray(0, 4))));
  });

  it('frames a group of JSON texts as the records encodeRecord makes, one after another, each decodable in turn', () => {
    const payloads = [{ t: 'c', r: [['ras1', 'nas-é', 's-1', 5, 0]] }, { t: 'd', l: 'bind\nrbl.test', i: [1] }, { name: '€𝄞' }, {}];
    const framed = frameRecords(payloads.map((payload) => JSON.stringify(payload)));
    expect(framed).toEqual(Buffer.concat(payloads.map((payload) => encodeRecord(payload))));
    let offset = 0;
    for (const payload of payloads) {
      const result = decodeRecord(framed, offset);
      expect(result).toMatchObject({ kind: 'record', payload });
      offset += (result as { bytes: number }).bytes;
    }
    expect(offset).toBe(framed.length);
  });

  it('frames no texts as no bytes', () => {
    expect(frameRecords([])).toEqual(Buffer.alloc(0));
  });

  it('finds where the next record may start: a payload beginning {"t":", with its 8-byte header before it', () => {
    const records = Buffer.concat([encodeRecord({ t: 'd', l: 'x', i: [1] }), encodeRecord({ t: 'g', d: [] })]);
    const second = encodeRecord({ t: 'd', l: 'x', i: [1] }).length;
    expect(CANDIDATE_BYTES).toBe(RECORD_HEADER_BYTES + 6);
    expect(nextRecordCandidate(records, 0)).toBe(0);
    expect(nextRecordCandidate(records, 1)).toBe(second);
    expect(nextRecordCandidate(records, second)).toBe(second);
    expect(nextRecordCandidate(records, second + 1)).toBe(-1);
    // Garbage in front: the candidate is the record's start, not the payload's.
    const behind = Buffer.concat([Buffer.alloc(37, 0xab), records]);
    expect(nextRecordCandidate(behind, 0)).toBe(37);
  });

  it('finds no candidate whose header would begin before `from` or whose payload start is cut off by the end', () => {
    const record = encodeRecord({ t: 'd', l: 'x', i: [1] });
    // A payload start 3 bytes into the buffer has no room for its header there.
    const early = Buffer.concat([Buffer.from('abc'), record.subarray(RECORD_HEADER_BYTES)]);
    expect(nextRecordCandidate(early, 0)).toBe(-1);
    // Cut in the middle of `{"t":"`: not yet a candidate (replay reads on and looks again).
    expect(nextRecordCandidate(record.subarray(0, CANDIDATE_BYTES - 1), 0)).toBe(-1);
    expect(nextRecordCandidate(record.subarray(0, CANDIDATE_BYTES), 0)).toBe(0);
    // Quotes inside a payload's strings are escaped, so a session id cannot fake a start.
    const hostile = encodeRecord({ t: 'c', r: [['ras1', 'nas1', '{"t":"c"}']] });
    expect(nextRecordCandidate(hostile, 1)).toBe(-1);
  });
});

