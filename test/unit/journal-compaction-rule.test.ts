/**
 * When the journal compacts (compaction-rule.ts): the records since the last compaction may reach a
 * quarter of its snapshot, and at least a floor, so the file stays within 1.25 times its snapshot
 * (plus the floor) without a big state rewriting its snapshot every few megabytes.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { COMPACT_FLOOR_BYTES, compactionDue } from '../../src/queue/compaction-rule.js';
import { Journal } from '../../src/queue/journal.js';
import { readJournal } from '../../src/queue/journal-read.js';
import type { JournalRecord, SessionRow } from '../../src/queue/state.js';
import { tempDir } from '../helpers/peers.js';

const MB = 1_000_000;

describe('the compaction rule', () => {
  it.each([
    // [what, appended bytes, snapshot bytes, due]
    ['a small state waits for the 1 MiB floor', COMPACT_FLOOR_BYTES, 10_000, false],
    ['a small state compacts just past the floor', COMPACT_FLOOR_BYTES + 1, 10_000, true],
    ['a 4 MiB snapshot still waits for the floor', COMPACT_FLOOR_BYTES, 4 * COMPACT_FLOOR_BYTES, false],
    ['a 6.8 MB backlog snapshot waits for a quarter of it', 1.7 * MB, 6.8 * MB, false],
    ['a 6.8 MB backlog snapshot compacts past a quarter of it', 1.7 * MB + 1, 6.8 * MB, true],
    ['a 6.8 MB backlog snapshot compacts long before the records match it', 3.4 * MB, 6.8 * MB, true],
    ['a 100 MB snapshot is not rewritten after a few MB of records', 4 * MB, 100 * MB, false],
    ['a 100 MB snapshot waits for 25 MB of records', 25 * MB, 100 * MB, false],
    ['a 100 MB snapshot compacts past 25 MB of records', 25 * MB + 1, 100 * MB, true],
  ] as const)('%s', (_what, appended, snapshot, due) => {
    expect(compactionDue(appended, snapshot)).toBe(due);
  });

  it('keeps the journal of the 500,000-Stop backlog (a 6.8 MB snapshot) under 10 MB', () => {
    const snapshot = 6.8 * MB;
    let appended = 0;
    while (!compactionDue(appended, snapshot)) appended += 81;
    expect(snapshot + appended).toBeLessThan(8.6 * MB);
  });

  it('takes a larger floor as given, and never compacts with an infinite one', () => {
    expect(compactionDue(2 * MB, 10_000, 4 * MB)).toBe(false);
    expect(compactionDue(4 * MB + 1, 10_000, 4 * MB)).toBe(true);
    expect(compactionDue(1e15, 1e9, Number.MAX_SAFE_INTEGER)).toBe(false);
  });
});

describe('a journal over a large snapshot', () => {
  let cleanup: (() => void) | undefined;
  afterEach(() => cleanup?.());

  /** About 150 KB of sessions as a snapshot writes them. */
  function* snapshot(): Generator<JournalRecord> {
    yield { t: 'h', v: 3, seq: 1, at: 0 };
    for (let chunk = 0; chunk < 32; chunk++) {
      const rows: SessionRow[] = [];
      for (let i = 0; i < 100; i++) rows.push(['ras1', 'nas1', `s-${chunk}-${i}`, [`10.1.${chunk}.${i}`], 1, 1, 0]);
      yield { t: 's', s: rows };
    }
  }

  it('compacts once the records reach a quarter of the snapshot, so the file never nears twice its size', async () => {
    const { dir, remove } = tempDir('journal-rule');
    cleanup = remove;
    const file = join(dir, 'journal');
    const compacted: number[] = [];
    const journal = await Journal.open(file, { snapshot, compactBytes: 16 * 1024, onCompacted: (result) => compacted.push(result.afterBytes) });
    const snapshotBytes = journal.bytes;
    expect(snapshotBytes).toBeGreaterThan(100_000);
    let peak = 0;
    let stop = 0;
    // Stops of unknown sessions: about 80 bytes each, in bursts as the listener hands them over.
    for (let burst = 0; burst < 60; burst++) {
      const recorded: Promise<void>[] = [];
      for (let i = 0; i < 40; i++, stop++) recorded.push(journal.append({ t: 'c', r: [['ras1', 'nas1', `gone-${stop}`, 1_800_000_000 + stop]] }));
      await Promise.all(recorded);
      peak = Math.max(peak, statSync(file).size);
    }
    await journal.close();
    expect(compacted.length).toBeGreaterThanOrEqual(2);
    // The old rule (compact once the records outgrow the snapshot) let it reach twice the snapshot.
    expect(peak).toBeLessThan(snapshotBytes * 1.25 + 16 * 1024);
    let stops = 0;
    await readJournal(file, (record) => (stops += record.t === 'c' ? 1 : 0), { repair: false });
    expect(stops).toBeGreaterThan(0);
    expect(stops).toBeLessThan(stop);
  });

  it('judges the records by the snapshot the file starts with after a restart too, so restarts between compactions do not let it grow', async () => {
    const { dir, remove } = tempDir('journal-rule-restart');
    cleanup = remove;
    const file = join(dir, 'journal');
    const compacted: number[] = [];
    const options = { snapshot, compactBytes: 1024, onCompacted: (result: { afterBytes: number }) => compacted.push(result.afterBytes) };
    let journal = await Journal.open(file, options);
    const snapshotBytes = journal.bytes;
    let stop = 0;
    const append = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++, stop++) await journal.append({ t: 'c', r: [['ras1', 'nas1', `gone-${stop}`, 1_800_000_000 + stop]] });
    };
    // Each run of the service appends a fifth of the snapshot, less than the quarter that compacts, then restarts.
    for (let restart = 0; restart < 3 && compacted.length === 0; restart++) {
      while (journal.bytes - (snapshotBytes + restart * (snapshotBytes / 5)) < snapshotBytes / 5 && compacted.length === 0) await append(10);
      await journal.close();
      const read = await readJournal(file, () => undefined, { repair: true });
      expect(read.snapshotBytes).toBe(snapshotBytes);
      journal = await Journal.open(file, options, read.snapshotBytes);
    }
    await append(10);
    await journal.close();
    // The second run's records pass the quarter of the snapshot: it compacts, as without the restarts.
    expect(compacted.length).toBeGreaterThanOrEqual(1);
    expect(statSync(file).size).toBeLessThan(snapshotBytes * 1.25 + 1024 * 4);
  });
});
