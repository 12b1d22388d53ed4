/**
 * A waiter (state.ack: unlisted) after a rebuild whose job is held: the Stop waits on the held job,
 * which sends its address again after now, never on a newer call in flight that may have gone out
 * before the Stop came. Found by an attacker's review.
 */
import { describe, expect, it } from 'vitest';
import { TargetFailures } from '../../src/backends/target-failures.js';
import { RblError } from '../../src/errors.js';
import { formatPrefix, type IpPrefix } from '../../src/net/address.js';
import type { QueueEvent } from '../../src/queue/events.js';
import { accountingOn, settledWithin, stopOf, useFailingWrites } from '../helpers/failing-names.js';
import { FakeBackend, useStateDir, waitUntil } from '../helpers/state-store.js';

const state = useStateDir('waiters-held');

const ZONE = 'rbl.example.net';
const A = '10.64.3.1';
const B = '10.64.3.2';

const retries = (): Extract<QueueEvent, { type: 'retry-scheduled' }>[] => state.events.filter((event) => event.type === 'retry-scheduled');

const failJournalWrites = useFailingWrites();

/** A backend whose every call does what `script` says for its number (from 1). */
class Scripted extends FakeBackend {
  script: (call: number, targets: readonly IpPrefix[]) => Promise<void> | void = () => undefined;
  override async unlist(zone: string, targets: readonly IpPrefix[]): Promise<void> {
    this.calls.push({ zone, targets: targets.map(formatPrefix) });
    await this.script(this.calls.length, targets);
  }
}

describe('the rebuild cover falling back to the newest delivery in flight', () => {
  it('does not acknowledge a Stop on a call sent before it while the job it merged into is held', async () => {
    const disk = failJournalWrites();
    const api = new Scripted('api', [ZONE]);
    let failFirst!: () => void;
    const first = new Promise<void>((resolve) => (failFirst = resolve));
    let releaseP!: () => void;
    const pCall = new Promise<void>((resolve) => (releaseP = resolve));
    api.script = async (call, targets) => {
      if (call === 1) {
        // K's first call: the server times out, and asks for a second's pause.
        await first;
        throw new RblError('RBL_HTTP_CONNECTION', 'api: no answer', { transient: true, retryAfterMs: 1000 });
      }
      // P's call: sent before the Stop S arrives, answered only when the test says.
      if (call === 2) return pCall;
      if (call === 3) {
        // K again (after S merged into it): A fails for itself; K is held for 10 s.
        const error = new RblError('RBL_HTTP_STATUS', `api: unexpected status 500 for ${A}`, { transient: true, retryAfterMs: 10_000 });
        throw new TargetFailures(error, [], new Map(targets.map((target) => [target, error])), undefined);
      }
      return new Promise<void>(() => undefined);
    };
    const store = await state.open({
      backends: [api],
      maxSessionAgeMs: 86_400_000,
      maxTargetsPerCall: 1,
      backoff: { baseMs: 20, maxMs: 10_000 },
      random: () => 1,
      recoveryMs: 20,
      requestPollMs: 20,
      closeGraceMs: 10,
    });
    // K: a Stop for A; its call goes out and hangs.
    const k = store.commit({ unlist: stopOf('s0', A) }, { trackDelivery: true });
    await k.recorded;
    await waitUntil(() => api.calls.length === 1, 3000);
    // P: a later Stop for A, its own job (K is in flight); its call goes out at once and hangs.
    const p = store.commit({ unlist: stopOf('s1', A) }, { trackDelivery: true });
    expect(p.jobId).toBeDefined();
    await waitUntil(() => api.calls.length === 2, 3000);
    // K's call fails: K is pending again, not in flight, and the lane pauses for a second.
    failFirst();
    await waitUntil(() => retries().length === 1, 3000);
    // The Stop S for A arrives now: P's call is under way (sent before S), so S merges into K.
    const s = store.commit({ unlist: stopOf('s2', A) }, { trackDelivery: true });
    expect(s.jobId).toBeUndefined();
    await s.recorded;
    // The disk fills: an Accounting-On for A and B makes its own job L, which never reaches the disk.
    disk.code = 'ENOSPC';
    const l = store.commit({ unlist: accountingOn(A, B) }, { trackDelivery: true });
    await expect(l.recorded).rejects.toThrow();
    await waitUntil(() => state.events.some((event) => event.type === 'journal-error'), 3000);
    // After the pause K goes again and A fails for itself: K is held, and L (in memory) supersedes it.
    await waitUntil(() => api.calls.length >= 3 && retries().length >= 2, 5000);
    expect(api.calls[2]!.targets).toEqual([A]);
    // The disk has room again: the rebuilt state has K and P pending for A, and no L.
    disk.code = undefined;
    await waitUntil(() => state.events.some((event) => event.type === 'journal-writable'), 8000);
    expect(await settledWithin(s.done, 100)).toBe('pending');
    // P's call, sent before S arrived, now succeeds.
    const sentBeforeS = 2;
    releaseP();
    await waitUntil(() => state.events.some((event) => event.type === 'delivered' && event.jobs.some((job) => job.id === p.jobId)), 3000);
    // No call that carried A has succeeded since S arrived: K, the job S merged into, is still
    // pending (held, failing A)...
    expect(store.jobsMatching((target) => target === A).map(({ job, pending }) => [job.id, pending.map((lane) => lane.backend)])).toEqual([[k.jobId, ['api']]]);
    // (the only call since S that carried A is K's, and it failed A)
    expect(api.calls.slice(sentBeforeS).filter((call) => call.targets.includes(A))).toEqual([{ zone: ZONE, targets: [A] }]);
    // ...so S's acknowledgement (state.ack: unlisted) must still wait.
    expect(await settledWithin(s.done, 300)).toBe('pending');
  });
});
