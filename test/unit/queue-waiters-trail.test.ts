/**
 * A waiter (state.ack: unlisted) keeps, through every move (supersede, pool narrowing, a job done
 * in part, the walk back after a rebuild), which addresses are its own and where it came from: a
 * Stop is done once its address is unlisted, never while it is still listed, and never waits for
 * another's name. Found by an attacker's review; also the latency and `why` around such jobs.
 */
import { describe, expect, it } from 'vitest';
import { RblError } from '../../src/errors.js';
import { formatPrefix } from '../../src/net/address.js';
import type { QueueEvent } from '../../src/queue/events.js';
import { accountingOn, NamesFail, settledWithin, stopOf, useFailingWrites } from '../helpers/failing-names.js';
import { createMetrics } from '../../src/http/metrics.js';
import { OperatorView } from '../../src/http/operator-view.js';
import { createLogger } from '../../src/log.js';
import { queueEventReporter } from '../../src/queue/report.js';
import { logLineSink } from '../helpers/log-lines.js';
import { FakeBackend, useStateDir, waitUntil } from '../helpers/state-store.js';

const state = useStateDir('waiters-trail');

const ZONE = 'rbl.example.net';
const GOOD = '10.64.3.1';
const BAD = '10.64.9.9';
const THIRD = '10.64.3.3';
const OUT = '10.99.0.1';

const retries = (): Extract<QueueEvent, { type: 'retry-scheduled' }>[] => state.events.filter((event) => event.type === 'retry-scheduled');
const deliveredOf = (target: string): number =>
  state.events.filter((event) => event.type === 'delivered' && event.jobs.some((job) => job.targets.includes(target))).length;

const down = (): never => {
  throw new RblError('RBL_HTTP_CONNECTION', 'api: connection refused', { transient: true });
};

describe('a Stop merged into a pending job, then moved by supersede (state.ack: unlisted)', () => {
  it('is done once its address is unlisted, though the job that superseded the one it merged into keeps failing another name', async () => {
    const api = new NamesFail('api', [ZONE], [BAD]);
    // The first call (P's) hangs until N is committed, then finds the API down.
    const release = api.firstCallDownOnRelease();
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 60, maxMs: 60 }, random: () => 1, requestPollMs: 20, closeGraceMs: 10 });
    // P unlists GOOD; a Stop for GOOD in the same tick merges into P (pending, not yet sent).
    const p = store.commit({ unlist: stopOf('s0', GOOD) }, { trackDelivery: true });
    const s = store.commit({ unlist: stopOf('s1', GOOD) }, { trackDelivery: true });
    expect(s.jobId).toBeUndefined();
    await waitUntil(() => api.calls.length === 1, 3000);
    // While P is in flight, an Accounting-On for GOOD and BAD makes a job of its own, N.
    const n = store.commit({ unlist: accountingOn(GOOD, BAD) }, { trackDelivery: true });
    expect(n.jobId).toBeDefined();
    release();
    // P's call fails: N covers all of P's targets, so P is superseded by N, and its waiters move to N.
    await waitUntil(() => retries().length >= 1, 3000);
    // N goes: the API unlists GOOD and keeps failing BAD.
    await waitUntil(() => deliveredOf(GOOD) >= 1, 3000);
    expect(api.delivered(ZONE).filter((t) => t === GOOD).length).toBeGreaterThanOrEqual(2);
    // GOOD is unlisted in the only backend: the Stop merged in for GOOD must be acknowledged.
    expect(await settledWithin(s.done, 300)).toBe('resolved');
    void p;
  });

  it("the Stop whose own job was superseded is done once its address is unlisted, not when the Accounting-On's other names are", async () => {
    const api = new NamesFail('api', [ZONE], [BAD]);
    const release = api.firstCallDownOnRelease();
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 60, maxMs: 60 }, random: () => 1, requestPollMs: 20, closeGraceMs: 10 });
    const p = store.commit({ unlist: stopOf('s0', GOOD) }, { trackDelivery: true });
    await waitUntil(() => api.calls.length === 1, 3000);
    store.commit({ unlist: accountingOn(GOOD, BAD) }, { trackDelivery: true });
    release();
    await waitUntil(() => retries().length >= 1, 3000);
    await waitUntil(() => deliveredOf(GOOD) >= 1, 3000);
    expect(await settledWithin(p.done, 300)).toBe('resolved');
  });
});

describe('a Stop merged into a job whose continuation never reached the disk', () => {
  const failJournalWrites = useFailingWrites();

  it('is still done for its own address alone after the rebuild gives it back to the job it merged into', async () => {
    const disk = failJournalWrites();
    const api = new NamesFail('api', [ZONE], [BAD]);
    api.beforeAnswer = (call) => {
      // 1: the API is down. 2: it takes THIRD, fails GOOD and BAD, and the disk fills on the
      // continuation's write. 3 on: it takes GOOD (and THIRD), keeps failing BAD.
      if (call === 1) down();
      if (call === 2) {
        api.failing.add(GOOD);
        disk.code = 'ENOSPC';
      }
      if (call >= 3) api.failing.delete(GOOD);
    };
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 100, maxMs: 100 }, random: () => 1, recoveryMs: 20, requestPollMs: 20, closeGraceMs: 10 });
    store.commit({ unlist: accountingOn(GOOD, BAD, THIRD) }, { trackDelivery: true });
    await waitUntil(() => retries().length === 1, 3000);
    const s = store.commit({ unlist: stopOf('s1', GOOD) }, { trackDelivery: true });
    expect(s.jobId).toBeUndefined();
    await s.recorded;

    await waitUntil(() => state.events.some((event) => event.type === 'journal-error'), 3000);
    disk.code = undefined;
    await waitUntil(() => state.events.some((event) => event.type === 'journal-writable'), 3000);
    // The rebuilt state has the Accounting-On's job whole; its next call unlists GOOD.
    await waitUntil(() => deliveredOf(GOOD) >= 1, 3000);
    expect(store.jobsMatching((target) => target === GOOD).flatMap(({ pending }) => pending)).toEqual([]);
    expect(await settledWithin(s.done, 300)).toBe('resolved');
  });
  it("a Stop's own job superseded by a job whose record never reached the disk: its ack waits for its address, not done", async () => {
    const disk = failJournalWrites();
    const api = new NamesFail('api', [ZONE], [BAD]);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    api.beforeAnswer = async (call) => {
      // The API is down all along; the first call (P's) hangs until N's write failed.
      if (call === 1) await gate;
      down();
    };
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 60, maxMs: 60 }, random: () => 1, recoveryMs: 20, requestPollMs: 20, closeGraceMs: 10 });
    // The Stop's job P reaches the disk and goes out.
    const p = store.commit({ unlist: stopOf('s0', GOOD) }, { trackDelivery: true });
    await p.recorded;
    await waitUntil(() => api.calls.length === 1, 3000);
    // While P is in flight, an Accounting-On for GOOD and BAD makes its own job N; the disk fills on its write.
    disk.code = 'ENOSPC';
    const n = store.commit({ unlist: accountingOn(GOOD, BAD) }, { trackDelivery: true });
    await expect(n.recorded).rejects.toThrow();
    // P's call fails: N (in memory) covers GOOD, so P is superseded by N and the Stop waits for N.
    release();
    await waitUntil(() => retries().length >= 1, 3000);
    disk.code = undefined;
    await waitUntil(() => state.events.some((event) => event.type === 'journal-writable'), 3000);
    // The rebuilt state knows P (pending: its drop never reached the disk) and no N; GOOD is still listed.
    expect(store.jobsMatching((target) => target === GOOD).map(({ job, pending }) => [job.id, pending.map((lane) => lane.backend)])).toEqual([[p.jobId, ['api']]]);
    expect(deliveredOf(GOOD)).toBe(0);
    // ...so the Stop's acknowledgement (state.ack: unlisted) must still wait.
    expect(await settledWithin(p.done, 300)).toBe('pending');
  });
});

describe('a Stop merged into a job that the pools then narrow', () => {
  it('is done once its own address is unlisted, not when the narrowed job is', async () => {
    const api = new NamesFail('api', [ZONE], [BAD]);
    let first = true;
    api.beforeAnswer = () => {
      if (first) {
        first = false;
        down();
      }
    };
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 100, maxMs: 100 }, random: () => 1, requestPollMs: 20, closeGraceMs: 10 });
    store.commit({ unlist: accountingOn(GOOD, BAD, OUT) }, { trackDelivery: true });
    await waitUntil(() => retries().length === 1, 3000);
    const s = store.commit({ unlist: stopOf('s1', GOOD) }, { trackDelivery: true });
    expect(s.jobId).toBeUndefined();
    // A reload narrows the pools: OUT is no longer in them, the job goes on as one of GOOD and BAD.
    store.setMayUnlist((target) => formatPrefix(target) !== OUT);
    expect(state.events.some((event) => event.type === 'pending-outside-pools')).toBe(true);
    await waitUntil(() => deliveredOf(GOOD) >= 1, 3000);
    expect(await settledWithin(s.done, 300)).toBe('resolved');
  });
});

describe('latency and `why` around a continued job', () => {
  it('does not observe the unlist latency of a request whose part left became a dead letter, as of one dead-lettered whole (README)', async () => {
    // The API refuses BAD for good (its answer for that name is no passing failure), takes GOOD.
    const api = new NamesFail('api', [ZONE], [BAD]);
    api.transient = false;
    const metrics = createMetrics();
    const report = queueEventReporter(createLogger('info', logLineSink([])).child({ component: 'queue' }), metrics);
    const store = await state.open({
      backends: [api],
      maxSessionAgeMs: 86_400_000,
      requestPollMs: 20,
      closeGraceMs: 10,
      onEvent: (event) => {
        state.events.push(event);
        report(event);
      },
    });
    store.commit({ unlist: accountingOn(GOOD, BAD) }, { trackDelivery: true });
    await waitUntil(() => store.deadLetterCount() === 1, 3000);
    const text = await metrics.registry.metrics();
    // GOOD was unlisted in api/rbl.example.net: one success counted...
    expect(text).toMatch(/^rbl_unlist_backend_unlists_total\{backend="api",outcome="success"\} 1$/m);
    // ...but the latency is that of a request's addresses all unlisted: BAD never was.
    expect(text.match(/^rbl_unlist_unlist_latency_seconds_count (\d+)$/m)?.[1]).toBe('0');
  });

  it('`why` does not keep a retrying outcome of a backend that left once the job handed over from it is unlisted', async () => {
    const old = new FakeBackend('bind-old', [ZONE]);
    old.behaviour = () => {
      throw new RblError('RBL_DNS_TIMEOUT', 'bind-old: no answer', { transient: true });
    };
    const next = new FakeBackend('bind-new', [ZONE]);
    const view = new OperatorView({ sessionTable: () => undefined, jobsMatching: () => [] } as never);
    const store = await state.open({
      backends: [old],
      maxSessionAgeMs: 86_400_000,
      backoff: { baseMs: 5000, maxMs: 5000 },
      random: () => 1,
      requestPollMs: 20,
      closeGraceMs: 10,
      onEvent: (event) => {
        state.events.push(event);
        view.onQueueEvent(event);
      },
    });
    store.commit({ unlist: stopOf('s1', GOOD) }, { trackDelivery: true });
    await waitUntil(() => retries().length === 1, 3000);
    // The operator moves the zone to another primary: the pending unlist is handed over and done there.
    store.setBackends([next]);
    await waitUntil(() => deliveredOf(GOOD) === 1, 3000);
    expect(store.depth()).toBe(0);
    const last = view.history.lastUnlist(GOOD)!;
    expect(last.deliveries.map((note) => `${note.backend} ${note.outcome}`)).toEqual(['bind-new unlisted']);
  });
});
