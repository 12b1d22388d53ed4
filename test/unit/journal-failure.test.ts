/**
 * A journal that cannot be written: nothing is acknowledged that is not on disk, the state in memory
 * is rebuilt from what is, so a retransmitted event is processed afresh (never twice), and the store
 * writes again by itself once the disk works. Also: every acknowledged record was written to a
 * journal opened with O_DSYNC, whose write returns once the data is on disk.
 * Failures are injected through the FileHandle the journal writes with (EIO, ENOSPC), as a failing
 * disk would return them.
 */
import { constants, fstatSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RblError } from '../../src/errors.js';
import type { StateChange } from '../../src/queue/store-open.js';
import { canonical, FakeBackend, never, useStateDir, waitUntil } from '../helpers/state-store.js';
import { fileHandlePrototype, holdWrites, openFlags } from '../helpers/disk.js';
import { failWrites } from '../helpers/failing-names.js';

const state = useStateDir('journal-failure');
let fileHandle: FileHandle;

beforeAll(async () => {
  fileHandle = await fileHandlePrototype();
});
afterEach(() => vi.restoreAllMocks());


const start = (k: number): StateChange => {
  const now = Date.now();
  return { upsert: [{ nas: 'nas1', sessionId: `s${k}`, client: 'ras1', addresses: [canonical(`10.64.${1 + (k >> 8)}.${k & 255}`)], updatedAt: now, eventAt: now }] };
};
/** A Stop without addresses: it finds them in the session it removes. */
const stop = (k: number): StateChange => ({
  remove: [{ client: 'ras1', nas: 'nas1', sessionId: `s${k}` }],
  unlist: { targets: [`10.64.1.${k}`], reason: { event: 'stop', client: 'ras1', nas: 'nas1', sessionId: `s${k}` }, createdAt: Date.now() },
});

describe('a journal write that fails', () => {
  it.each(['EIO', 'ENOSPC', 'EROFS'])('(%s) is not acknowledged, and the state is rebuilt from the disk so a retransmission makes exactly one job', async (code) => {
    const failing = failWrites(fileHandle);
    const backend = new FakeBackend();
    backend.behaviour = never;
    const store = await state.open({ backends: [backend], maxSessionAgeMs: 86_400_000, recoveryMs: 20, closeGraceMs: 10 });
    await store.commit(start(1)).recorded;

    failing.code = code;
    const lost = store.commit(stop(1));
    await expect(lost.recorded).rejects.toMatchObject({ code: 'RBL_STATE_DIR', message: expect.stringContaining(code) });
    expect(store.health()).toMatchObject({ writable: false, error: expect.stringContaining(code) });
    // Nothing more is taken while the journal is down.
    expect(() => store.commit(stop(1))).toThrow(/not recorded: the journal cannot be written/);
    expect(state.events).toContainEqual(expect.objectContaining({ type: 'journal-error', writable: false }));

    failing.code = undefined;
    await waitUntil(() => store.health().writable, 5000);
    expect(state.events).toContainEqual(expect.objectContaining({ type: 'journal-writable' }));
    // The Stop never happened: its session is back and no job is pending.
    expect(store.sessions.get('ras1', 'nas1', 's1')?.addresses).toEqual(['10.64.1.1']);
    expect(store.depth()).toBe(0);

    const retransmitted = store.commit(stop(1));
    await retransmitted.recorded;
    expect(store.depth()).toBe(1);
    expect(store.sessions.get('ras1', 'nas1', 's1')).toBeUndefined();
    await store.close();

    const reopened = await state.open({ backends: [backend], maxSessionAgeMs: 86_400_000 });
    expect(reopened.depth()).toBe(1);
    expect(reopened.sessions.get('ras1', 'nas1', 's1')).toBeUndefined();
  });

  it('also refuses the changes queued behind it, though the disk works again before their turn', async () => {
    const original = fileHandle.write;
    let release: (() => void) | undefined;
    let failNext = false;
    vi.spyOn(fileHandle, 'write').mockImplementation(async function (this: FileHandle, ...args: unknown[]) {
      if (failNext) {
        failNext = false;
        await new Promise<void>((resolve) => (release = resolve));
        throw Object.assign(new Error('EIO: injected failure, write'), { code: 'EIO' });
      }
      return (original as (...a: unknown[]) => Promise<unknown>).apply(this, args);
    } as typeof fileHandle.write);
    const store = await state.open({ backends: [new FakeBackend()], maxSessionAgeMs: 86_400_000, recoveryMs: 20 });
    failNext = true;
    const first = store.commit(start(2));
    await waitUntil(() => release !== undefined, 2000);
    // Made while the first is being written: it assumed the first.
    const behind = store.commit(stop(2));
    release!();
    await expect(first.recorded).rejects.toMatchObject({ code: 'RBL_STATE_DIR' });
    await expect(behind.recorded).rejects.toMatchObject({ code: 'RBL_STATE_DIR' });
    await waitUntil(() => store.health().writable, 5000);
    expect(store.sessions.size).toBe(0);
    expect(store.depth()).toBe(0);
  });

  it('answers the waiters of a merged unlist once the delivery that covers its target succeeds after recovery', async () => {
    const failing = failWrites(fileHandle);
    const backend = new FakeBackend();
    // Calls hang until the DNS server "times out", then fail transiently; afterwards they succeed.
    let timeOut: () => void = () => undefined;
    const timedOut = new Promise<void>((resolve) => (timeOut = resolve));
    let up = false;
    backend.behaviour = async () => {
      if (up) return;
      await timedOut;
      throw new RblError('RBL_DNS_TIMEOUT', 'no answer', { transient: true });
    };
    const store = await state.open({ backends: [backend], maxSessionAgeMs: 86_400_000, recoveryMs: 20, backoff: { baseMs: 10, maxMs: 20 } });
    const unlist = (k: number): StateChange => ({ unlist: { targets: ['10.64.2.1'], reason: { event: 'stop', client: 'ras1', nas: 'nas1', sessionId: `m${k}` }, createdAt: Date.now() } });
    // The first call hangs, so the second unlist of the same target makes its own job; the third merges into it.
    const first = store.commit(unlist(1));
    await waitUntil(() => backend.calls.length === 1, 2000);
    const second = store.commit(unlist(2));
    const third = store.commit(unlist(3));
    expect(third.jobId).toBeUndefined();
    await Promise.all([first.recorded, second.recorded, third.recorded]);
    failing.code = 'ENOSPC';
    await expect(store.commit(unlist(4)).recorded).rejects.toMatchObject({ code: 'RBL_STATE_DIR' });
    failing.code = undefined;
    await waitUntil(() => store.health().writable, 5000);
    up = true;
    timeOut();
    await expect(first.done).resolves.toBeUndefined();
    await expect(third.done).resolves.toBeUndefined();
    await expect(second.done).resolves.toBeUndefined();
    expect(backend.delivered('rbl.example.net')).toContain('10.64.2.1');
    expect(store.depth()).toBe(0);
  });
});

describe('a compaction that fails', () => {
  it('leaves the journal writable and is not tried again on every write', async () => {
    const store = await state.open({ backends: [new FakeBackend()], maxSessionAgeMs: 86_400_000, compactBytes: 2048 });
    // A folder where the compacted file goes: every compaction fails (EISDIR), as on a full disk.
    mkdirSync(join(state.dir, 'journal.compact'));
    for (let burst = 0; burst < 20; burst++) {
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.commit(start(burst * 20 + i)).recorded));
    }
    expect(store.stats().journalBytes).toBeGreaterThan(4 * 2048);
    const failures = state.events.filter((event) => event.type === 'journal-error');
    expect(failures.map((event) => (event as { error: Error }).error.message)).toHaveLength(1);
    expect(failures[0]).toMatchObject({ writable: true, error: { message: expect.stringContaining('cannot compact the journal') } });
    expect(store.health()).toEqual({ writable: true });
  });
});

describe('a journal write that lands after another process broke the lock', () => {
  it('is not acknowledged, and the service records nothing more, without waiting for a refresh to notice', async () => {
    const store = await state.open({ backends: [new FakeBackend()], maxSessionAgeMs: 86_400_000, recoveryMs: 20 });
    await store.commit(start(1)).recorded;
    // Broken as a process that found it unrefreshed would (this one was frozen): the file unlinked.
    unlinkSync(join(state.dir, 'lock'));
    await expect(store.commit(start(2)).recorded).rejects.toMatchObject({ code: 'RBL_STATE_DIR', message: expect.stringContaining('was taken by another rbl-unlist') });
    expect(() => store.commit(start(3))).toThrow(/not recorded/);
    expect(state.events.filter((event) => event.type === 'lock-lost')).toHaveLength(1);
    // A lock lost is no disk to wait for: no rebuild, no error line about writing again.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(state.events.some((event) => event.type === 'journal-error' || event.type === 'journal-writable')).toBe(false);
    await store.close();
  });

  it('in a compaction, does not put the compacted file in place of a journal that may be the other process\'s now, nor touch its journal.compact', async () => {
    const store = await state.open({ backends: [new FakeBackend()], maxSessionAgeMs: 86_400_000 });
    await store.commit(start(1)).recorded;
    const journal = join(state.dir, 'journal');
    const { ino } = statSync(journal);
    unlinkSync(join(state.dir, 'lock'));
    // The new holder's compaction under way.
    writeFileSync(join(state.dir, 'journal.compact'), 'theirs');
    await store.compact();
    expect(statSync(journal).ino).toBe(ino);
    expect(readFileSync(join(state.dir, 'journal.compact'), 'utf8')).toBe('theirs');
    expect(state.events.some((event) => event.type === 'journal-compacted')).toBe(false);
    expect(state.events.filter((event) => event.type === 'lock-lost')).toHaveLength(1);
    await store.close();
  });
});

describe('a service rebuilding after a failed write when another process breaks its lock', () => {
  it('stops rebuilding: no rebuild reads, repairs or writes the journal that is the new holder\'s now', async () => {
    const failing = failWrites(fileHandle);
    const store = await state.open({ backends: [new FakeBackend()], maxSessionAgeMs: 86_400_000, recoveryMs: 20, closeGraceMs: 10 });
    await store.commit(start(1)).recorded;
    failing.code = 'EIO';
    await expect(store.commit(start(2)).recorded).rejects.toMatchObject({ code: 'RBL_STATE_DIR' });
    // Rebuilds fail while the disk fails; meanwhile another process breaks the lock and takes the journal.
    await waitUntil(() => state.events.filter((event) => event.type === 'journal-error').length >= 3, 5000);
    unlinkSync(join(state.dir, 'lock'));
    // The journal under the name is the new holder's now (here, the same bytes).
    const journal = join(state.dir, 'journal');
    const theirs = readFileSync(journal);
    failing.code = undefined;
    await waitUntil(() => state.events.some((event) => event.type === 'lock-lost'), 5000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(readFileSync(journal).equals(theirs)).toBe(true);
    expect(state.events.some((event) => event.type === 'journal-writable')).toBe(false);
    expect(readdirSync(state.dir).filter((name) => name.startsWith('journal.corrupt'))).toEqual([]);
    await store.close();
  });
});

describe('a compaction whose folder sync fails after the rename', () => {
  it.each(['EIO', 'EMFILE'])('(%s) acknowledges nothing more until the renamed journal is durable, and then writes there, losing nothing', async (code) => {
    const backend = new FakeBackend();
    backend.behaviour = never;
    const store = await state.open({ backends: [backend], maxSessionAgeMs: 86_400_000, recoveryMs: 20, closeGraceMs: 10 });
    await store.commit(start(1)).recorded;
    // Only a folder sync calls FileHandle.sync (the journal itself uses datasync).
    let failing = true;
    const originalSync = fileHandle.sync;
    const folderSyncs = vi.spyOn(fileHandle, 'sync').mockImplementation(function (this: FileHandle) {
      if (failing) return Promise.reject(Object.assign(new Error(`${code}: injected failure, fsync`), { code }));
      return originalSync.call(this);
    });
    await store.compact();
    expect(store.health()).toMatchObject({ writable: false, error: expect.stringContaining('cannot make the compacted journal') });
    expect(() => store.commit(start(2))).toThrow(/not recorded: the journal cannot be written/);

    failing = false;
    await waitUntil(() => store.health().writable, 5000);
    // The rebuild synced the folder before acknowledging again.
    expect(folderSyncs.mock.calls.length).toBeGreaterThanOrEqual(2);
    await store.commit(start(2)).recorded;
    await store.commit(start(3)).recorded;
    await store.commit(stop(3)).recorded;
    expect(store.depth()).toBe(1);
    await store.close();

    const reopened = await state.open({ backends: [backend], maxSessionAgeMs: 86_400_000, closeGraceMs: 10 });
    expect(reopened.sessions.get('ras1', 'nas1', 's1')).toBeDefined();
    expect(reopened.sessions.get('ras1', 'nas1', 's2')).toBeDefined();
    expect(reopened.sessions.get('ras1', 'nas1', 's3')).toBeUndefined();
    expect(reopened.depth()).toBe(1);
  });
});

describe('a durable write', () => {
  it('acknowledges a record only after the write holding it returned, to a journal opened with O_DSYNC, also after a compaction', async () => {
    const store = await state.open({ backends: [new FakeBackend()], maxSessionAgeMs: 86_400_000 });
    await store.commit(start(1)).recorded;
    const journal = join(state.dir, 'journal');
    // The write's file descriptor, its open flags and its file, seen as the write starts.
    const writes: { flags: number; inode: number }[] = [];
    const original = fileHandle.write;
    let release: () => void = () => undefined;
    let gate = new Promise<void>((resolve) => (release = resolve));
    vi.spyOn(fileHandle, 'write').mockImplementation(async function (this: FileHandle, ...args: unknown[]) {
      writes.push({ flags: openFlags(this.fd), inode: fstatSync(this.fd).ino });
      await gate;
      return (original as (...a: unknown[]) => Promise<unknown>).apply(this, args);
    } as typeof fileHandle.write);

    for (const [k, when] of [[2, 'before'], [3, 'after']] as const) {
      writes.length = 0;
      let acknowledged = false;
      const commit = store.commit(start(k));
      void commit.recorded.then(() => (acknowledged = true));
      await waitUntil(() => writes.length > 0, 2000);
      await new Promise((resolve) => setTimeout(resolve, 30));
      const heldBack = !acknowledged;
      release();
      // O_DSYNC: the write returns once its data is on disk, as a write and fdatasync would.
      expect(writes[0]!.flags & constants.O_DSYNC, `the journal's write ${when} a compaction`).toBe(constants.O_DSYNC);
      expect(writes[0]!.inode, `the journal's write ${when} a compaction`).toBe(statSync(journal).ino);
      expect(heldBack).toBe(true);
      await commit.recorded;
      expect(acknowledged).toBe(true);
      if (when === 'before') {
        // The compaction writes the new file through a handle of its own (synced once); appends
        // then go to the new file, through a handle opened with O_DSYNC too.
        await store.compact();
        gate = new Promise<void>((resolve) => (release = resolve));
      }
    }
    expect(store.stats().compactions).toBe(1);
    await store.close();
  });

  it('says everything committed is on disk only once the write of the last commit returned, and refuses while the journal is down', async () => {
    const store = await state.open({ backends: [new FakeBackend()], maxSessionAgeMs: 86_400_000, recoveryMs: 60_000 });
    await store.commit(start(1)).recorded;
    await store.committed();
    const disk = holdWrites(fileHandle);
    const commit = store.commit(start(2));
    let durable = false;
    void store.committed().then(() => (durable = true));
    await waitUntil(() => disk.started() === 1, 2000);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(durable).toBe(false);
    disk.release();
    await commit.recorded;
    await waitUntil(() => durable, 2000);
    vi.restoreAllMocks();

    const failing = failWrites(fileHandle);
    failing.code = 'ENOSPC';
    await expect(store.commit(start(3)).recorded).rejects.toMatchObject({ code: 'RBL_STATE_DIR' });
    await expect(store.committed()).rejects.toMatchObject({ code: 'RBL_STATE_DIR', message: expect.stringContaining('ENOSPC') });
    failing.code = undefined;
  });
});
