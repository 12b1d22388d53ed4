/**
 * Journal format 3 (the stopped-session memory packed in snapshots) reads what 0.1.0 wrote (format
 * 1) and what 0.2.0 wrote (format 2: sessions scoped by client, with event times and the
 * stopped-session memory as number triples), and what it writes itself survives a compaction's snapshot.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJournal } from '../../src/queue/journal-read.js';
import { encodeRecord } from '../../src/queue/record.js';
import { QueueState, removalRow, sessionRow, type JournalRecord } from '../../src/queue/state.js';
import { PROJECT_ROOT } from '../helpers/service.js';
import { stoppedRowsOf } from '../helpers/stopped-rows.js';

const FIXTURE = join(PROJECT_ROOT, 'test/fixtures/state-0.1/journal');

async function stateOf(records: Iterable<JournalRecord>): Promise<QueueState> {
  const state = new QueueState();
  for (const record of records) state.apply(record);
  return state;
}

describe('journal format upgrade', () => {
  it('reads the sessions and pending unlists 0.1.0 left, each session with its record time as event time', async () => {
    const state = new QueueState();
    const read = await readJournal(FIXTURE, (record) => state.apply(record), { repair: false });
    expect(read.skippedBytes).toBe(0);
    const sessions = [...state.sessions.entries()];
    expect(sessions.map((s) => [s.client, s.nas, s.sessionId, s.addresses])).toEqual([
      ['nas1', '192.0.2.1', 'fx-open-1', ['10.64.0.11']],
      ['nas1', '192.0.2.1', 'fx-open-2', ['10.64.0.12', '2001:db8:100:1200::/56']],
      ['nas1', '192.0.2.2/bras2', 'fx-open-3', ['10.64.0.13']],
    ]);
    for (const session of sessions) expect(session.eventAt).toBe(session.updatedAt);
    // The format 1 removal of fx-done-1 (keyed by NAS and session only) found its session.
    expect(state.sessions.get('nas1', '192.0.2.1', 'fx-done-1')).toBeUndefined();
    expect([...state.jobs.values()].map((job) => job.targets)).toEqual([['10.64.0.21'], ['10.64.0.22'], ['10.64.0.23', '2001:db8:100:2300::/56']]);
    expect(state.pendingCount).toBe(3);
  });

  it('reads the state.dir 0.2.0 left: its sessions, its stopped sessions by the key hashes it wrote, its jobs as rows', async () => {
    const state = new QueueState();
    const read = await readJournal(join(PROJECT_ROOT, 'test/fixtures/state-0.2/journal'), (record) => state.apply(record), { repair: false });
    expect(read.skippedBytes).toBe(0);
    expect([...state.sessions.entries()].map((s) => [s.client, s.nas, s.sessionId, s.addresses, s.nasTime])).toEqual([
      ['nas1', '192.0.2.1', 'fx-open-1', ['10.64.0.11'], undefined],
      ['nas1', '192.0.2.1', 'fx-open-2', ['10.64.0.12', '2001:db8:100:1200::/56'], undefined],
      ['nas1', '192.0.2.2/bras2', 'fx-open-3', ['10.64.0.13'], 1764400000],
    ]);
    // From the snapshot's 'st' number triples (0.2.0's SHA-256 key hashes), then from a record after it.
    expect(state.sessions.stoppedAt('nas1', '192.0.2.1', 'fx-done-1')).toEqual({ nasTime: 1764403600 });
    expect(state.sessions.stoppedAt('nas1', '192.0.2.2/bras2', 'fx-done-2')).toEqual({ nasTime: undefined });
    expect(state.sessions.stoppedAt('nas1', '192.0.2.1', 'fx-done-3')).toEqual({ nasTime: undefined });
    expect(state.sessions.stoppedAt('nas1', '192.0.2.1', 'fx-open-1')).toBeUndefined();
    expect([...state.jobs.values()].map((job) => job.targets)).toEqual([['10.64.0.21'], ['10.64.0.22', '2001:db8:100:2200::/56'], ['10.64.0.23']]);
    expect(state.pendingCount).toBe(3);
  });

  it('goes on with format 2 records after format 1 ones in the same file', async () => {
    const state = await stateOf([
      { t: 'h', v: 1, seq: 1, at: 0 },
      { t: 'c', u: [['nas-a', 's1', 'ras1', ['10.64.0.1'], 5000]] },
      { t: 'c', u: [['ras1', 'nas-a', 's2', ['10.64.0.2'], 6000, 5500, 1_800_000_000]] },
      { t: 'c', r: [['ras1', 'nas-a', 's1', 7000, 0]] },
    ]);
    expect(state.sessions.get('ras1', 'nas-a', 's2')).toMatchObject({ eventAt: 5500, nasTime: 1_800_000_000 });
    expect(state.sessions.get('ras1', 'nas-a', 's1')).toBeUndefined();
    expect(state.sessions.stoppedAt('ras1', 'nas-a', 's1')).toEqual({ nasTime: undefined });
  });

  it('keeps sessions, event times and stopped sessions through a snapshot', async () => {
    const first = await stateOf([
      { t: 'h', v: 2, seq: 1, at: 0 },
      { t: 'c', u: [sessionRow({ client: 'ras1', nas: 'n', sessionId: 'open', addresses: ['10.64.0.1'], updatedAt: 9000, eventAt: 4000, nasTime: 1_800_000_123 })] },
      { t: 'c', u: [sessionRow({ client: 'ras1', nas: 'n', sessionId: 'gone', addresses: ['10.64.0.2'], updatedAt: 9000, eventAt: 9000 })] },
      { t: 'c', r: [removalRow({ client: 'ras1', nas: 'n', sessionId: 'gone', stoppedAt: { at: 9500, nasTime: 1_800_000_200 } })] },
    ]);
    const snapshot = [...first.snapshot()];
    expect(snapshot[0]).toMatchObject({ t: 'h', v: 3 });
    expect(snapshot.filter((record) => record.t === 'st')).toEqual([{ t: 'st', b: expect.any(String) as unknown }]);
    const second = await stateOf(snapshot);
    expect([...second.sessions.entries()]).toEqual([...first.sessions.entries()]);
    expect(second.sessions.get('ras1', 'n', 'open')).toMatchObject({ eventAt: 4000, nasTime: 1_800_000_123 });
    expect(second.sessions.stoppedAt('ras1', 'n', 'gone')).toEqual({ nasTime: 1_800_000_200 });
    expect(second.sessions.stoppedAt('ras2', 'n', 'gone')).toBeUndefined();
  });

  it('reads the stopped sessions a format 2 snapshot wrote as number triples, and writes them packed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rbl-journal-v2-'));
    try {
      // What 0.2.0's compaction wrote for two stopped sessions (the second without an Event-Timestamp) and one open one.
      const made = new QueueState();
      made.sessions.stop({ client: 'ras1', nas: 'n', sessionId: 'gone-1' }, { at: 1, nasTime: 1_800_000_000 });
      made.sessions.stop({ client: 'ras1', nas: 'n', sessionId: 'gone-2' }, { at: 2, nasTime: undefined });
      const triples = stoppedRowsOf(made.sessions.stoppedColumns(1024)).flat();
      const file = join(dir, 'journal');
      const v2: JournalRecord[] = [
        { t: 'h', v: 2, seq: 7, at: 0 },
        { t: 's', s: [['ras1', 'n', 'open', ['10.64.0.1'], 9000, 8000, 1_800_000_100]] },
        { t: 'st', k: triples },
        { t: 'c', r: [['ras1', 'n', 'open', 9500, 1_800_000_200]] },
      ];
      writeFileSync(file, Buffer.concat(v2.map((record) => encodeRecord(record))));
      const state = new QueueState();
      const read = await readJournal(file, (record) => state.apply(record), { repair: false });
      expect(read).toMatchObject({ records: 4, skippedBytes: 0 });
      expect(state.sessions.stoppedAt('ras1', 'n', 'gone-1')).toEqual({ nasTime: 1_800_000_000 });
      expect(state.sessions.stoppedAt('ras1', 'n', 'gone-2')).toEqual({ nasTime: undefined });
      expect(state.sessions.stoppedAt('ras1', 'n', 'open')).toEqual({ nasTime: 1_800_000_200 });
      expect(state.sessions.stoppedAt('ras1', 'n', 'other')).toBeUndefined();
      // The next compaction writes format 3, which keeps the same memory.
      const again = await stateOf(state.snapshot());
      expect(stoppedRowsOf(again.sessions.stoppedColumns(1024))).toEqual(stoppedRowsOf(state.sessions.stoppedColumns(1024)));
      expect(again.sessions.stoppedAt('ras1', 'n', 'gone-1')).toEqual({ nasTime: 1_800_000_000 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a journal from a newer format, naming both versions', async () => {
    await expect(stateOf([{ t: 'h', v: 4, seq: 1, at: 0 }])).rejects.toThrow(/format version 4; this rbl-unlist reads versions 1 to 3/);
  });
});
