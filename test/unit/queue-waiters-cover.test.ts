/**
 * A waiter (state.ack: unlisted) after a rebuild and through supersede, as an attacker's review
 * tried them: a handover made in memory while the journal failed, and a call in flight since before
 * the Stop that would have superseded the job it merged into. The Stop is never acknowledged while
 * its address is listed, and its unlist is never dropped on the strength of a delete sent before it.
 */
import { describe, expect, it } from 'vitest';
import { RblError } from '../../src/errors.js';
import type { QueueEvent } from '../../src/queue/events.js';
import { settledWithin, stopOf, useFailingWrites } from '../helpers/failing-names.js';
import { FakeBackend, never, useStateDir, waitUntil } from '../helpers/state-store.js';

const state = useStateDir('waiters-cover');

const ZONE = 'rbl.example.net';
const A = '10.64.3.1';

const retries = (): Extract<QueueEvent, { type: 'retry-scheduled' }>[] => state.events.filter((event) => event.type === 'retry-scheduled');

const failJournalWrites = useFailingWrites();

describe('a handover whose new job never reached the disk', () => {
  it('keeps the Stop waiting after the rebuild: the address is still listed, pending in the heir lane', async () => {
    const disk = failJournalWrites();
    const old = new FakeBackend('bind-old', [ZONE]);
    old.behaviour = () => {
      throw new RblError('RBL_DNS_TIMEOUT', 'bind-old: no answer', { transient: true });
    };
    // The new primary never answers: the address stays listed there.
    const next = new FakeBackend('bind-new', [ZONE]);
    next.behaviour = never;
    const store = await state.open({ backends: [old], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 5000, maxMs: 5000 }, random: () => 1, recoveryMs: 20, requestPollMs: 20, closeGraceMs: 10 });
    const s = store.commit({ unlist: stopOf('s1', A) }, { trackDelivery: true });
    await s.recorded;
    await waitUntil(() => retries().length === 1, 3000);
    // The operator moves the zone to another primary while the disk is full: the handover's new job never reaches the disk.
    disk.code = 'ENOSPC';
    store.setBackends([next]);
    await waitUntil(() => state.events.some((event) => event.type === 'journal-error'), 3000);
    disk.code = undefined;
    await waitUntil(() => state.events.some((event) => event.type === 'journal-writable'), 3000);
    // The rebuilt state hands the Stop's job over again: A is pending in bind-new, never unlisted.
    expect(store.jobsMatching((target) => target === A).flatMap(({ pending }) => pending.map((lane) => lane.backend))).toEqual(['bind-new']);
    expect(next.calls.length).toBeLessThanOrEqual(1);
    // ...so the Stop's acknowledgement (state.ack: unlisted) must still wait.
    expect(await settledWithin(s.done, 300)).toBe('pending');
  });
});

describe('a Stop merged into a re-driven dead letter that a call in flight since before the Stop then supersedes', () => {
  it('is not acknowledged, nor its unlist dropped, on the strength of a delete sent before the Stop arrived', async () => {
    const T = A;
    const api = new FakeBackend('api', [ZONE]);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    api.behaviour = (_zone, targets) => {
      const call = api.calls.length;
      // 1: J (T) refused for good: a dead letter. 2: N (T) hangs, in flight. 3: J again (re-driven), with X: the server times out.
      if (call === 1) throw new RblError('RBL_DNS_REFUSED', 'api: REFUSED', { transient: false });
      if (call === 2) return gate;
      if (call === 3) throw new RblError('RBL_DNS_TIMEOUT', 'api: no answer', { transient: true });
      void targets;
      return undefined;
    };
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, maxTargetsPerCall: 4, backoff: { baseMs: 5000, maxMs: 5000 }, random: () => 1, requestPollMs: 20, closeGraceMs: 10 });
    const j = store.commit({ unlist: stopOf('s0', T) }, { trackDelivery: true });
    await waitUntil(() => store.deadLetterCount() === 1, 3000);
    // A later Stop for T: J is dead, so N is its own job; its call goes out and hangs.
    const n = store.commit({ unlist: stopOf('s1', T) }, { trackDelivery: true });
    expect(n.jobId).toBeDefined();
    await waitUntil(() => api.calls.length === 2, 3000);
    // The operator re-drives J (`queue retry`): pending, queued, not yet sent.
    await store.applyAdmin({ action: 'retry', ids: [j.jobId!] });
    expect(api.calls.length).toBe(2);
    // The Stop W for T arrives now: it merges into J (pending, not in flight), the newest it may merge into.
    const w = store.commit({ unlist: stopOf('s2', T) }, { trackDelivery: true });
    expect(w.jobId).toBeUndefined();
    const sentBeforeW = api.calls.length;
    // Another Stop makes the backlog half a batch: a second call [J, X] goes out and times out.
    store.commit({ unlist: stopOf('s3', '10.64.5.5', '10.64.5.6') }, { trackDelivery: true });
    await waitUntil(() => retries().length >= 1, 3000);
    // N's call (sent before W) now succeeds.
    release();
    await waitUntil(() => state.events.some((event) => event.type === 'delivered' && event.jobs.some((job) => job.id === n.jobId)), 3000);
    // The calls after W: only [J, X] carried T, and it failed. No delete of T has succeeded since W arrived.
    expect(api.calls.slice(sentBeforeW).filter((call) => call.targets.includes(T))).toEqual([{ zone: ZONE, targets: [T, '10.64.5.5', '10.64.5.6'] }]);
    // So T must still be queued, and W's acknowledgement (state.ack: unlisted) must wait.
    expect(await settledWithin(w.done, 300)).toBe('pending');
    expect(store.jobsMatching((target) => target === T).flatMap(({ pending }) => pending.map((lane) => lane.backend))).toEqual(['api']);
  });
});
