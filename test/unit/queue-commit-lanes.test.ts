/**
 * Which lanes (backend, zone) a committed unlist goes to: every lane, unless a lane already has a
 * pending, unsent delivery of all its targets, which it then merges into.
 */
import { describe, expect, it } from 'vitest';
import { RblError } from '../../src/errors.js';
import { FakeBackend, useStateDir, waitUntil } from '../helpers/state-store.js';

const state = useStateDir('commit-lanes');

function unlist(targets: string[]) {
  return { targets, reason: { event: 'stop', client: 'ras1', nas: '192.0.2.10', sessionId: 's1' }, createdAt: Date.now() };
}

describe('a committed unlist', () => {
  it('goes only to the lanes without a pending delivery of its targets, and to every lane of a new target', async () => {
    const backend = new FakeBackend('bind', ['a.test', 'b.test', 'c.test']);
    // Zone b.test fails (the lane pauses for a minute), the others succeed.
    backend.behaviour = (zone) => {
      if (zone === 'b.test') throw new RblError('RBL_DNS_TIMEOUT', 'no answer', { transient: true });
    };
    const store = await state.open({ backends: [backend], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 60_000, maxMs: 60_000 } });
    const first = store.commit({ unlist: unlist(['10.64.1.1']) });
    await waitUntil(() => state.events.some((event) => event.type === 'retry-scheduled'), 5000);
    expect(store.deliveryAttempts().map((attempt) => [String(attempt.id), attempt.lane.split('\n')[1]])).toEqual([[first.jobId, 'b.test']]);

    const lanesOf = (jobId: string | undefined) =>
      store.jobsMatching(() => true).find((job) => job.job.id === jobId)?.pending.map((lane) => lane.zone);
    const again = store.commit({ unlist: unlist(['10.64.1.1', '10.64.1.1']) });
    // b.test merges the repeat into its pending delivery; the other lanes had none to merge into.
    expect(lanesOf(again.jobId)).toEqual(['a.test', 'c.test']);
    expect(store.jobsMatching(() => true).find((job) => job.job.id === again.jobId)?.job.targets).toEqual(['10.64.1.1']);
    const both = store.commit({ unlist: unlist(['10.64.1.1', '10.64.1.2']) });
    expect(lanesOf(both.jobId)).toEqual(['a.test', 'b.test', 'c.test']);
    const fresh = store.commit({ unlist: unlist(['10.64.1.3']) });
    expect(lanesOf(fresh.jobId)).toEqual(['a.test', 'b.test', 'c.test']);
    await waitUntil(() => backend.delivered('c.test').includes('10.64.1.3'), 5000);
  });
});
