/**
 * Replay past a corrupt stretch in the middle of the journal (src/queue/journal-read.ts readJournal):
 * the records after it are read, not dropped, wherever the stretch lies in the file and whatever
 * it holds, and repair saves exactly the skipped bytes and cuts only a tail.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readJournal } from '../../src/queue/journal-read.js';
import { encodeRecord, RECORD_HEADER_BYTES } from '../../src/queue/record.js';
import type { JournalRecord } from '../../src/queue/state.js';

/** The size of replay's read chunks (journal-read.ts READ_CHUNK_BYTES). */
const CHUNK = 4 * 1024 * 1024;

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rbl-unlist-resync-'));
  file = join(dir, 'journal');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const header = (): Buffer => encodeRecord({ t: 'h', v: 4, seq: 1, at: 0 });
/** A delivery record numbered k: small, and its number says which it was. */
const record = (k: number): Buffer => encodeRecord({ t: 'd', l: 'bind\nrbl.example.net', i: [k] });
const numbers = (records: JournalRecord[]): number[] => records.flatMap((r) => (r.t === 'd' ? r.i : []));

async function replay(repair: boolean) {
  const records: JournalRecord[] = [];
  const read = await readJournal(file, (r) => records.push(r), { repair });
  return { read, records, numbers: numbers(records) };
}

/** A record's bytes with one payload byte flipped, so its checksum fails. */
function damaged(bytes: Buffer): Buffer {
  const copy = Buffer.from(bytes);
  copy[RECORD_HEADER_BYTES + 10] = copy[RECORD_HEADER_BYTES + 10]! ^ 0x55;
  return copy;
}

describe('journal replay past a corrupt stretch', () => {
  it('replays the records after a record whose checksum fails, and saves exactly that record aside', async () => {
    const bad = damaged(record(3));
    writeFileSync(file, Buffer.concat([header(), record(1), record(2), bad, record(4), record(5)]));
    const size = statSync(file).size;
    const { read, numbers: replayed } = await replay(true);
    expect(replayed).toEqual([1, 2, 4, 5]);
    expect(read).toMatchObject({ records: 5, skippedBytes: bad.length, goodBytes: size - bad.length, stretches: 1, reason: 'a checksum mismatch' });
    expect(readFileSync(read.savedAs!)).toEqual(bad);
    // Nothing is cut: the stretch stays until the store's compaction writes the file anew.
    expect(statSync(file).size).toBe(size);
  });

  it('passes over garbage that looks like a record start, one claiming more bytes than the file has left included', async () => {
    const fakeStart = (length: number): Buffer => {
      const fake = Buffer.alloc(RECORD_HEADER_BYTES);
      fake.writeUInt32LE(length, 0);
      return Buffer.concat([fake, Buffer.from('{"t":"c","r":[]}')]);
    };
    const garbage = Buffer.concat([Buffer.alloc(50, 0xab), fakeStart(20), Buffer.alloc(9, 0), fakeStart(10_000_000), Buffer.alloc(30, 0xcd)]);
    writeFileSync(file, Buffer.concat([header(), record(1), garbage, record(2), record(3)]));
    const { read, numbers: replayed } = await replay(false);
    expect(replayed).toEqual([1, 2, 3]);
    expect(read).toMatchObject({ skippedBytes: garbage.length, stretches: 1 });
    expect(read.savedAs).toBeUndefined();
  });

  it('finds a record whose start straddles the end of a read chunk after a stretch longer than what was read', async () => {
    const parts: Buffer[] = [header()];
    let size = parts[0]!.length;
    let k = 1;
    while (size < CHUNK - 200_000) {
      const next = record(k++);
      parts.push(next);
      size += next.length;
    }
    const before = k - 1;
    // Garbage up to 10 bytes before the chunk's end: the next record's `{"t":"` is cut by it.
    const garbage = Buffer.alloc(CHUNK - 10 - size, 0xab);
    parts.push(garbage, record(k), record(k + 1));
    writeFileSync(file, Buffer.concat(parts));
    const { read, numbers: replayed } = await replay(true);
    expect(replayed).toHaveLength(before + 2);
    expect(replayed.slice(-3)).toEqual([before, k, k + 1]);
    expect(read).toMatchObject({ skippedBytes: garbage.length, stretches: 1 });
    expect(readFileSync(read.savedAs!).length).toBe(garbage.length);
  });

  it('skips two stretches and cuts a torn tail, saving the three one after another', async () => {
    const first = damaged(record(2));
    const second = Buffer.alloc(77, 0x11);
    const tail = record(6).subarray(0, 15);
    writeFileSync(file, Buffer.concat([header(), record(1), first, record(3), record(4), second, record(5), tail]));
    const goodEnd = statSync(file).size - tail.length;
    const { read, numbers: replayed } = await replay(true);
    expect(replayed).toEqual([1, 3, 4, 5]);
    expect(read).toMatchObject({ stretches: 2, skippedBytes: first.length + second.length + tail.length, reason: 'a checksum mismatch' });
    expect(readFileSync(read.savedAs!)).toEqual(Buffer.concat([first, second, tail]));
    expect(statSync(file).size).toBe(goodEnd);
  });

  it('treats a corrupt stretch that no good record follows as the tail: cut off, nothing to replay past', async () => {
    const bad = damaged(record(3));
    const rest = Buffer.alloc(40, 0xee);
    writeFileSync(file, Buffer.concat([header(), record(1), record(2), bad, rest]));
    const goodEnd = statSync(file).size - bad.length - rest.length;
    const { read, numbers: replayed } = await replay(true);
    expect(replayed).toEqual([1, 2]);
    expect(read).toMatchObject({ stretches: 0, goodBytes: goodEnd, skippedBytes: bad.length + rest.length, reason: 'a checksum mismatch' });
    expect(statSync(file).size).toBe(goodEnd);
    // Read again, the file has nothing to skip.
    expect((await replay(true)).read).toMatchObject({ skippedBytes: 0, stretches: 0 });
  });

  it('replays the records after a damaged header, which only a journal has, and counts the header as a stretch for the compaction to rewrite', async () => {
    const bad = damaged(encodeRecord({ t: 'h', v: 3, seq: 1, at: 0 }));
    writeFileSync(file, Buffer.concat([bad, record(1), record(2)]));
    const { read, numbers: replayed } = await replay(true);
    expect(replayed).toEqual([1, 2]);
    expect(read).toMatchObject({ records: 2, skippedBytes: bad.length, stretches: 1, reason: 'a checksum mismatch' });
    expect(readFileSync(read.savedAs!)).toEqual(bad);
  });

  it('replays the records after a header whose length was damaged to claim more than the file holds', async () => {
    const bad = encodeRecord({ t: 'h', v: 3, seq: 1, at: 0 });
    bad.writeUInt32LE(1_000_000, 0);
    writeFileSync(file, Buffer.concat([bad, record(1), record(2)]));
    const { read, numbers: replayed } = await replay(false);
    expect(replayed).toEqual([1, 2]);
    expect(read).toMatchObject({ records: 2, skippedBytes: bad.length, stretches: 1 });
  });

  it.each([
    ['a damaged header with no good record after it', () => Buffer.concat([damaged(header()), Buffer.alloc(64, 0x41)])],
    ['a file of text', () => Buffer.from('{"t":"h","v":3}\nnot a journal, though it names a header\n'.repeat(20))],
    ['a good record of a kind no journal has, first', () => Buffer.concat([encodeRecord({ t: 'zz' }), record(1)])],
    ['a record that is not the header, first, with the header nowhere damaged', () => Buffer.concat([record(1), header()])],
    [
      'a damaged header of a newer format (a downgrade), though good records follow',
      () => {
        const newer = encodeRecord({ t: 'h', v: 9, seq: 1, at: 0 });
        newer[5] = newer[5]! ^ 0x01; // its checksum
        return Buffer.concat([newer, record(1)]);
      },
    ],
  ])('still refuses %s: it may not be a journal at all', async (_case, bytes) => {
    writeFileSync(file, bytes());
    await expect(replay(true)).rejects.toMatchObject({ code: 'RBL_JOURNAL_CORRUPT' });
  });

  it('loses exactly the records a byte was damaged in, wherever in them (length, checksum or payload) and however many', async () => {
    // Records of any size and text; then some of them (never the header) get one byte changed.
    const records = fc.array(fc.record({ l: fc.string({ unit: 'binary', maxLength: 300 }), i: fc.array(fc.nat(), { maxLength: 20 }) }), { minLength: 2, maxLength: 25 });
    const damage = fc.array(fc.record({ which: fc.nat(), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }), { minLength: 1, maxLength: 4 });
    await fc.assert(
      fc.asyncProperty(records, damage, async (payloads, hits) => {
        const framed = payloads.map(({ l, i }, k) => encodeRecord({ t: 'd', l, i: [k, ...i] }));
        const pristine = framed.map((bytes) => Buffer.from(bytes));
        for (const { which, at, mask } of hits) {
          const bytes = framed[which % framed.length]!;
          bytes[at % bytes.length] = bytes[at % bytes.length]! ^ mask;
        }
        // Two hits on one byte may cancel out (the same mask twice): such a record is whole again.
        const damaged = new Set(framed.flatMap((bytes, k) => (bytes.equals(pristine[k]!) ? [] : [k])));
        writeFileSync(file, Buffer.concat([header(), ...framed]));
        const { read, records: replayed } = await replay(false);
        const kept = payloads.map((_, k) => k).filter((k) => !damaged.has(k));
        expect(replayed.slice(1).map((record) => (record.t === 'd' ? record.i[0] : -1))).toEqual(kept);
        expect(read.skippedBytes).toBe([...damaged].reduce((sum, k) => sum + framed[k]!.length, 0));
        // A stretch counts when a good record follows it: runs of damaged records before a kept one.
        const stretches = kept.filter((k) => damaged.has(k - 1)).length;
        expect(read.stretches).toBe(stretches);
      }),
      // Always among the runs: two hits that cancel out, beside one that does not.
      { numRuns: 300, examples: [[[{ l: 'a', i: [] }, { l: 'b', i: [] }, { l: 'c', i: [] }], [{ which: 1, at: 3, mask: 7 }, { which: 1, at: 3, mask: 7 }, { which: 2, at: 12, mask: 1 }]]] },
    );
  });
});

