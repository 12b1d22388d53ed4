/**
 * An Accounting-On of a NAS with hundreds of thousands of sessions: too large for one journal
 * record (replay takes one past 64 MiB for corruption), it is written as several, jobs first, so a
 * write torn between them never forgets a session whose addresses no job unlists.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EVENT_PART_BYTES, eventRecords, REMOVALS_PER_EVENT_RECORD, TARGETS_PER_EVENT_RECORD } from '../../src/queue/event-records.js';
import { decodeRecord } from '../../src/queue/record.js';
import type { JobRow, JournalRecord, RemovalRow } from '../../src/queue/state.js';
import type { StateChange, StateStore } from '../../src/queue/store-api.js';
import { canonical, FakeBackend, never, useStateDir, waitUntil } from '../helpers/state-store.js';

const state = useStateDir('large-event');
const copies: string[] = [];
afterEach(() => {
  for (const dir of copies.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const SESSIONS = 2 * TARGETS_PER_EVENT_RECORD + 1;
const address = (k: number): string => `10.${k >> 16}.${(k >> 8) & 255}.${k & 255}`;
const reason = { event: 'accounting-on', client: 'ras1', nas: '192.0.2.1' };

describe('the records of one event', () => {
  it('are one record for an event that fits', () => {
    const record: Extract<JournalRecord, { t: 'c' }> = { t: 'c', r: [['ras1', 'nas1', 's1']], j: { i: 4, t: ['10.0.0.1'], r: reason, a: 1, p: ['dns\nrbl.test'] } };
    expect(eventRecords(record)).toEqual({ records: [record], jobs: [record.j] });
  });

  it.each([
    ['many rows', 2 * TARGETS_PER_EVENT_RECORD + 7, 2 * REMOVALS_PER_EVENT_RECORD + 3, (k: number) => `session-${k}`],
    // 253-octet Acct-Session-Ids of control characters: six octets each in JSON. 30,000 of them were one 45 MB record.
    ['few rows of long escaped ids', 30_000, 30_000, (k: number) => `${'\u0001'.repeat(245)}${String(k).padStart(8, '0')}`],
  ])('put a large event (%s) in parts of bounded size: its job first, in consecutive jobs, then the session changes', (_, targetCount, removalCount, sessionId) => {
    const targets = Array.from({ length: targetCount }, (_, k) => `2001:db8:${(k >> 16).toString(16)}:${(k & 0xffff).toString(16)}::/64`);
    const removals: RemovalRow[] = Array.from({ length: removalCount }, (_, k) => ['ras1', '192.0.2.1', sessionId(k)]);
    const job: JobRow = { i: 7, t: targets, r: reason, a: 1, p: ['dns\nrbl.test', 'pdns\nrbl.test'] };
    const { records, jobs } = eventRecords({ t: 'c', r: removals, j: job });
    expect(records.length).toBeGreaterThan(2);
    // Jobs first, consecutive ids from the event's own; the last part of the job rides with the
    // first session changes; then the rest of them.
    const lastJob = records.findLastIndex((record) => record.j !== undefined);
    const firstRemoval = records.findIndex((record) => record.r !== undefined);
    expect(firstRemoval).toBe(lastJob);
    for (const record of records.slice(0, lastJob)) expect(record.r).toBeUndefined();
    for (const record of records.slice(lastJob + 1)) expect(record.j).toBeUndefined();
    expect(jobs.map((part) => part.i)).toEqual(jobs.map((_, k) => 7 + k));
    expect(jobs).toEqual(records.flatMap((record) => (record.j ? [record.j] : [])));
    expect(jobs.flatMap((part) => part.t)).toEqual(targets);
    expect(records.flatMap((record) => record.r ?? [])).toEqual(removals);
    for (const part of jobs) expect(part).toMatchObject({ r: reason, a: 1, p: job.p });
    for (const record of records) {
      expect(record.j?.t.length ?? 0).toBeLessThanOrEqual(TARGETS_PER_EVENT_RECORD);
      expect(record.r?.length ?? 0).toBeLessThanOrEqual(REMOVALS_PER_EVENT_RECORD);
      expect(Buffer.byteLength(JSON.stringify(record))).toBeLessThanOrEqual(2 * EVENT_PART_BYTES);
    }
  });
});

/** The offsets where each record of a journal file ends. */
function recordEnds(file: string): number[] {
  const bytes = readFileSync(file);
  const ends: number[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    const decoded = decodeRecord(bytes, offset);
    if (decoded.kind !== 'record') throw new Error(`journal damaged at ${offset}`);
    offset += decoded.bytes;
    ends.push(offset);
  }
  return ends;
}

async function recordSessions(store: StateStore): Promise<void> {
  const now = Date.now();
  let recorded: Promise<void> = Promise.resolve();
  for (let from = 0; from < SESSIONS; from += 1000) {
    const upsert: StateChange['upsert'] = Array.from({ length: Math.min(1000, SESSIONS - from) }, (_, i) => ({
      client: 'ras1',
      nas: '192.0.2.1',
      sessionId: `s${from + i}`,
      addresses: [canonical(address(from + i))],
      updatedAt: now,
      eventAt: now,
    }));
    recorded = store.commit({ upsert }).recorded;
  }
  await recorded;
}

const accountingOn = (): StateChange => ({
  remove: Array.from({ length: SESSIONS }, (_, k) => ({ client: 'ras1', nas: '192.0.2.1', sessionId: `s${k}` })),
  unlist: { targets: Array.from({ length: SESSIONS }, (_, k) => address(k)), reason, createdAt: Date.now() },
});

describe('an Accounting-On that forgets 200,001 sessions', () => {
  it('is journaled in parts; cut after any of them, a restart holds every session whose address no job unlists yet', async () => {
    const backend = new FakeBackend('bind', ['rbl.test']);
    backend.behaviour = never;
    const store = await state.open({ backends: [backend], maxSessionAgeMs: 86_400_000 });
    await recordSessions(store);
    const journal = join(state.dir, 'journal');
    const before = recordEnds(journal).length;
    await store.commit(accountingOn()).recorded;
    expect(store.jobsMatching(() => true).map(({ job }) => job.targets.length)).toEqual([TARGETS_PER_EVENT_RECORD, TARGETS_PER_EVENT_RECORD, 1]);
    expect(store.sessions.size).toBe(0);
    const ends = recordEnds(journal);
    const whole = readFileSync(journal);
    expect(ends.length - before).toBe(5);

    for (let cut = 1; cut <= 5; cut++) {
      const dir = mkdtempSync(join(tmpdir(), 'rbl-unlist-large-event-cut-'));
      copies.push(dir);
      writeFileSync(join(dir, 'journal'), whole.subarray(0, ends[before + cut - 1]));
      const again = await state.open({ dir, backends: [Object.assign(new FakeBackend('bind', ['rbl.test']), { behaviour: never })], maxSessionAgeMs: 86_400_000 });
      const unlisted = new Set(again.jobsMatching(() => true).flatMap(({ job }) => job.targets));
      const held = new Set<string>();
      for (let k = 0; k < SESSIONS; k++) if (again.sessions.get('ras1', '192.0.2.1', `s${k}`)) held.add(address(k));
      for (let k = 0; k < SESSIONS; k++) {
        const a = address(k);
        // Forgotten only once a job unlists it.
        if (!held.has(a)) expect(unlisted.has(a), `${a} after ${cut} of 5 records`).toBe(true);
      }
      expect(unlisted.size, `after ${cut} of 5 records`).toBe(Math.min(cut, 3) === 3 ? SESSIONS : cut * TARGETS_PER_EVENT_RECORD);
      expect(held.size, `after ${cut} of 5 records`).toBe([SESSIONS, SESSIONS, SESSIONS - REMOVALS_PER_EVENT_RECORD, 1, 0][cut - 1]);
      await again.close();
    }
  }, 120_000);

  it('is acknowledged under state.ack unlisted only once every part is delivered', async () => {
    const backend = new FakeBackend('bind', ['rbl.test']);
    let open = true;
    backend.behaviour = async (_zone, targets) => {
      // The last part waits until the test lets it go.
      if (targets.includes(address(SESSIONS - 1))) await waitUntil(() => !open, 60_000);
    };
    const store = await state.open({ backends: [backend], maxSessionAgeMs: 86_400_000 });
    await recordSessions(store);
    let done = false;
    const commit = store.commit(accountingOn());
    void commit.done.then(() => (done = true));
    await waitUntil(() => backend.delivered('rbl.test').length >= 2 * TARGETS_PER_EVENT_RECORD, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(done).toBe(false);
    open = false;
    await commit.done;
    expect(new Set(backend.delivered('rbl.test')).size).toBe(SESSIONS);
  }, 120_000);
});
