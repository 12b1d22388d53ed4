/**
 * What waits for the disk: the store counts the appends and answers waiting for the journal's
 * synchronized write (what state.max_unwritten caps), and reports a write that has not returned for
 * STALLED_WRITE_MS as a journal that cannot be written. The disk is held through the FileHandle the
 * journal writes with (its file is open with O_DSYNC, so a hung disk holds the write;
 * test/integration/hung-disk.test.ts freezes a real file system).
 */
import type { FileHandle } from 'node:fs/promises';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { STALLED_WRITE_MS } from '../../src/queue/store.js';
import type { StateChange } from '../../src/queue/store-open.js';
import { canonical, FakeBackend, never, useStateDir, waitUntil } from '../helpers/state-store.js';
import { fileHandlePrototype, holdWrites } from '../helpers/disk.js';

const state = useStateDir('journal-waiting');
let fileHandle: FileHandle;

beforeAll(async () => {
  fileHandle = await fileHandlePrototype();
});
afterEach(() => vi.restoreAllMocks());

const start = (k: number): StateChange => {
  const now = Date.now();
  return { upsert: [{ nas: 'nas1', sessionId: `s${k}`, client: 'ras1', addresses: [canonical(`10.64.1.${k}`)], updatedAt: now, eventAt: now }] };
};

describe('requests waiting for the disk', () => {
  it('are counted from the append (or the wait for it) until their write is durable', async () => {
    const backend = new FakeBackend();
    backend.behaviour = never;
    const store = await state.open({ backends: [backend], maxSessionAgeMs: 86_400_000 });
    expect(store.waitingForDisk()).toBe(0);
    const disk = holdWrites(fileHandle);

    const first = store.commit(start(1)).recorded;
    const second = store.commit(start(2)).recorded;
    const answer = store.committed();
    expect(store.waitingForDisk()).toBe(3);
    await waitUntil(() => disk.started() === 1, 2000);
    // Held in the write: still waiting, and a commit meanwhile joins the next write.
    const third = store.commit(start(3)).recorded;
    expect(store.waitingForDisk()).toBe(4);

    disk.release();
    await Promise.all([first, second, answer, third]);
    expect(store.waitingForDisk()).toBe(0);
    // Once everything is written, a wait for it waits for nothing and counts as nothing.
    await store.committed();
    expect(store.waitingForDisk()).toBe(0);
    await store.close();
  });

  it('stop being counted when their write fails (they are refused, not left waiting)', async () => {
    const backend = new FakeBackend();
    backend.behaviour = never;
    const store = await state.open({ backends: [backend], maxSessionAgeMs: 86_400_000, recoveryMs: 20 });
    const disk = holdWrites(fileHandle);
    const recorded = store.commit(start(1)).recorded;
    const answer = store.committed();
    await waitUntil(() => disk.started() === 1, 2000);
    expect(store.waitingForDisk()).toBe(2);

    disk.release('EIO');
    await expect(recorded).rejects.toMatchObject({ code: 'RBL_STATE_DIR' });
    await expect(answer).rejects.toMatchObject({ code: 'RBL_STATE_DIR' });
    expect(store.waitingForDisk()).toBe(0);
    await store.close();
  });

  it('make the journal unhealthy once a write has waited STALLED_WRITE_MS, and healthy again when it returns', async () => {
    const backend = new FakeBackend();
    backend.behaviour = never;
    const store = await state.open({ backends: [backend], maxSessionAgeMs: 86_400_000 });
    const disk = holdWrites(fileHandle);
    const recorded = store.commit(start(1)).recorded;
    await waitUntil(() => disk.started() === 1, 2000);
    const heldSince = Date.now();
    expect(store.health()).toEqual({ writable: true });

    // The clock moves on while the write is held: just short of the limit it is still a slow disk.
    const now = vi.spyOn(Date, 'now').mockReturnValue(heldSince + STALLED_WRITE_MS - 100);
    expect(store.health()).toEqual({ writable: true });
    now.mockReturnValue(heldSince + STALLED_WRITE_MS + 2500);
    const health = store.health();
    expect(health).toMatchObject({ writable: false, error: expect.stringMatching(/^a write to the journal .*journal has waited 1[2-3] s for the disk$/) });
    expect(health.since).toBeLessThanOrEqual(heldSince);
    now.mockRestore();

    disk.release();
    await recorded;
    expect(store.health()).toEqual({ writable: true });
    await store.close();
  });
});
