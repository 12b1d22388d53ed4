/**
 * A waiter after a rebuild and through supersede (state.ack: unlisted), as an attacker's review
 * tried them: two deliveries moved into one job that never reached the disk, and a job superseded
 * by two newer ones, one per address. A Stop is never acknowledged while an address of it is
 * listed, and never waits for another's name.
 */
import { describe, expect, it } from 'vitest';
import { RblError } from '../../src/errors.js';
import type { QueueEvent } from '../../src/queue/events.js';
import { deliveryKey, DeliveryWaiters, type RebuiltDelivery } from '../../src/queue/waiters.js';
import { accountingOn, NamesFail, settledWithin, stopOf, useFailingWrites } from '../helpers/failing-names.js';
import { useStateDir, waitUntil } from '../helpers/state-store.js';

const state = useStateDir('waiters-rebuild');

const ZONE = 'rbl.example.net';
const A = '10.64.9.9';
const B = '10.64.3.1';

const retries = (): Extract<QueueEvent, { type: 'retry-scheduled' }>[] => state.events.filter((event) => event.type === 'retry-scheduled');
const deliveredOf = (target: string): number =>
  state.events.filter((event) => event.type === 'delivered' && !event.partial && event.jobs.some((job) => job.targets.includes(target))).length;

const settled = async (promise: Promise<void>): Promise<string> =>
  Promise.race([promise.then(() => 'resolved', (error: Error) => `rejected ${error.message}`), new Promise<string>((resolve) => setImmediate(() => resolve('pending')))]);

const down = (): never => {
  throw new RblError('RBL_HTTP_CONNECTION', 'api: connection refused', { transient: true });
};

describe('DeliveryWaiters: two deliveries moved into one that never reached the disk', () => {
  it('after the rebuild waits again on both deliveries it came from, not on the last one alone', async () => {
    const waiters = new DeliveryWaiters();
    const k1 = deliveryKey(1, 'api');
    const k2 = deliveryKey(2, 'api');
    const n = deliveryKey(3, 'api');
    // A Stop for A and B merged into K1 (pending for A) and K2 (pending for B).
    const stopped = waiters.wait(new Map([[k1, [A]], [k2, [B]]]));
    // Both fail; N (an Accounting-On for A and B, in memory only) supersedes them.
    const both = new Set([A, B]);
    waiters.moved(k1, new Map([[n, both]]));
    waiters.moved(k2, new Map([[n, both]]));
    // The rebuilt state has K1 and K2 pending, and no N.
    const judge = (key: string): RebuiltDelivery => (key === n ? 'lost' : 'pending');
    waiters.rebuilt(judge, (_key, target) => (target === A ? [k1] : [k2]));
    // K2 unlists B; A (K1) is still listed.
    waiters.done(k2);
    expect(await settled(stopped)).toBe('pending');
  });
});

describe('a Stop merged into two pending jobs, both superseded by one that never reached the disk', () => {
  const failJournalWrites = useFailingWrites();

  it('is not acknowledged while one of its addresses is still listed', async () => {
    const disk = failJournalWrites();
    const api = new NamesFail('api', [ZONE]);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let writable = false;
    api.beforeAnswer = async (call) => {
      // Call 1 (K1 and K2) hangs until N's write failed, then the API is down. Until the journal
      // is writable again the API stays down; then it takes B and keeps failing A.
      if (call === 1) await gate;
      if (!writable) down();
    };
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 60, maxMs: 60 }, random: () => 1, recoveryMs: 20, requestPollMs: 20, closeGraceMs: 10 });
    // K1 (a Stop for A) and K2 (a Stop for B), then a Stop S for A and B, all in one tick: S merges into both.
    const k1 = store.commit({ unlist: stopOf('s1', A) }, { trackDelivery: true });
    const k2 = store.commit({ unlist: stopOf('s2', B) }, { trackDelivery: true });
    const s = store.commit({ unlist: stopOf('s3', A, B) }, { trackDelivery: true });
    expect(k1.jobId).toBeDefined();
    expect(k2.jobId).toBeDefined();
    expect(s.jobId).toBeUndefined();
    await s.recorded;
    await waitUntil(() => api.calls.length === 1, 3000);
    expect(api.calls[0]!.targets).toEqual([A, B]);
    // While K1 and K2 are in flight, an Accounting-On for A and B makes its own job N; the disk fills on its write.
    disk.code = 'ENOSPC';
    const n = store.commit({ unlist: accountingOn(A, B) }, { trackDelivery: true });
    await expect(n.recorded).rejects.toThrow();
    // The call fails: N covers both, so K1 and K2 are superseded by N (in memory), S follows to N.
    release();
    await waitUntil(() => retries().length >= 1, 3000);
    api.failing.add(A);
    disk.code = undefined;
    await waitUntil(() => state.events.some((event) => event.type === 'journal-writable'), 3000);
    writable = true;
    // The rebuilt state has K1 (A) and K2 (B) pending. The API takes B and keeps failing A.
    await waitUntil(() => deliveredOf(B) >= 1, 3000);
    expect(store.jobsMatching((target) => target === A).flatMap(({ pending }) => pending.map((lane) => lane.backend))).toEqual(['api']);
    // A is still listed: S's acknowledgement (state.ack: unlisted) must wait.
    expect(await settledWithin(s.done, 300)).toBe('pending');
  });
});

describe('a Stop merged into a job that is superseded by two newer jobs, one per address', () => {
  it('is done once its own address is unlisted, not held by the other job failing another name', async () => {
    const api = new NamesFail('api', [ZONE]);
    api.failing.add(B);
    // Call 1 (K) hangs until N1 and N2 are committed, then finds the API down.
    const release = api.firstCallDownOnRelease();
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 60, maxMs: 60 }, random: () => 1, requestPollMs: 20, closeGraceMs: 10 });
    // K: an Accounting-On for A and B; a Stop S for A merges into it in the same tick.
    const k = store.commit({ unlist: accountingOn(A, B) }, { trackDelivery: true });
    const s = store.commit({ unlist: stopOf('s1', A) }, { trackDelivery: true });
    expect(s.jobId).toBeUndefined();
    await waitUntil(() => api.calls.length === 1, 3000);
    // While K is in flight: a Stop for A (N1) and a Stop for B (N2), each its own job.
    const n1 = store.commit({ unlist: stopOf('s2', A) }, { trackDelivery: true });
    const n2 = store.commit({ unlist: stopOf('s3', B) }, { trackDelivery: true });
    expect(n1.jobId).toBeDefined();
    expect(n2.jobId).toBeDefined();
    release();
    // K fails: N1 covers A, N2 covers B, so K is superseded by both.
    await waitUntil(() => retries().length >= 1, 3000);
    // The API takes A (N1 delivered) and keeps failing B (N2 held).
    await waitUntil(() => deliveredOf(A) >= 1, 3000);
    expect(await settledWithin(n1.done, 300)).toBe('resolved');
    expect(store.jobsMatching((target) => target === A).flatMap(({ pending }) => pending)).toEqual([]);
    // A, S's only address, is unlisted: S's acknowledgement must not wait for B.
    expect(await settledWithin(s.done, 300)).toBe('resolved');
    void k;
  });
});
