/**
 * A job an HTTP API did in part goes on as a new job of the names left: what an attacker's review
 * tried against it. A disk that fails on the new job's write, `why`, the latency metric, two lanes
 * done in part, many partial calls, and a Stop merged into such a job.
 */
import { describe, expect, it } from 'vitest';
import { RblError } from '../../src/errors.js';
import { createMetrics } from '../../src/http/metrics.js';
import { OperatorView } from '../../src/http/operator-view.js';
import { createLogger } from '../../src/log.js';
import type { QueueEvent } from '../../src/queue/events.js';
import { queueEventReporter } from '../../src/queue/report.js';
import { accountingOn, NamesFail, settledWithin, useFailingWrites } from '../helpers/failing-names.js';
import { logLineSink } from '../helpers/log-lines.js';
import { FakeBackend, useStateDir, waitUntil } from '../helpers/state-store.js';

const state = useStateDir('partly-done-edges');

const ZONE = 'rbl.example.net';
const GOOD = '10.64.3.1';
const BAD = '10.64.9.9';

const retries = (): Extract<QueueEvent, { type: 'retry-scheduled' }>[] => state.events.filter((event) => event.type === 'retry-scheduled');

describe('a partly done job and a journal write that fails', () => {
  const failJournalWrites = useFailingWrites();

  it('does not tell the waiters of a Stop done when the disk fills on the very write of the new job (state.ack: unlisted)', async () => {
    const failing = failJournalWrites();
    const api = new NamesFail('api', [ZONE], [BAD]);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let first = true;
    api.beforeAnswer = async () => {
      await gate;
      // The disk fills while the API answers: the next journal write (the new job and the drop) fails.
      if (first) failing.code = 'ENOSPC';
      first = false;
    };
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 30, maxMs: 60 }, recoveryMs: 20, requestPollMs: 20, closeGraceMs: 10 });
    const commit = store.commit({ unlist: accountingOn(GOOD, BAD) }, { trackDelivery: true });
    await commit.recorded;
    open();

    await waitUntil(() => state.events.some((event) => event.type === 'journal-error'), 3000);
    failing.code = undefined;
    await waitUntil(() => state.events.some((event) => event.type === 'journal-writable'), 3000);

    // The API still fails BAD: it is pending in the api lane (the rebuilt state has the old job).
    expect(store.jobsMatching((target) => target === BAD).flatMap(({ pending }) => pending.map((lane) => lane.backend))).toEqual(['api']);
    // ...so whoever waits for the Stop's unlist (state.ack: unlisted) must still wait.
    expect(await settledWithin(commit.done, 300)).toBe('pending');
  });
});

describe("`why` (the address history) for a job done in part", () => {
  it("keeps every backend's outcome of the failing name's last unlist", async () => {
    const bind = new FakeBackend('bind', [ZONE]);
    const api = new NamesFail('api', [ZONE], [BAD]);
    const view = new OperatorView({ sessionTable: () => undefined, jobsMatching: () => [] } as never);
    const store = await state.open({
      backends: [bind, api],
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
    store.commit({ unlist: accountingOn(GOOD, BAD) }, { trackDelivery: true });
    await waitUntil(() => retries().length === 1 && state.events.filter((event) => event.type === 'delivered').length === 2, 3000);

    // bind unlisted both; api unlisted GOOD and retries BAD. Both outcomes are BAD's last unlist.
    const good = view.history.lastUnlist(GOOD)!;
    expect(good.deliveries.map((note) => `${note.backend} ${note.outcome}`).sort()).toEqual(['api unlisted', 'bind unlisted']);
    const bad = view.history.lastUnlist(BAD)!;
    expect(bad.deliveries.map((note) => `${note.backend} ${note.outcome}`).sort()).toEqual(['api retrying', 'bind unlisted']);
  });
});

describe('metrics of a job done in part', () => {
  it('observes the unlist latency once per backend and zone (README: rbl_unlist_unlist_latency_seconds)', async () => {
    const api = new NamesFail('api', [ZONE], [BAD]);
    const metrics = createMetrics();
    const lines: { msg: string }[] = [];
    const report = queueEventReporter(createLogger('info', logLineSink(lines)).child({ component: 'queue' }), metrics);
    const store = await state.open({
      backends: [api],
      maxSessionAgeMs: 86_400_000,
      backoff: { baseMs: 20, maxMs: 20 },
      requestPollMs: 20,
      closeGraceMs: 10,
      onEvent: (event) => {
        state.events.push(event);
        report(event);
      },
    });
    const commit = store.commit({ unlist: accountingOn(GOOD, BAD) }, { trackDelivery: true });
    await waitUntil(() => retries().length >= 1, 3000);
    api.failing.clear();
    await commit.done;
    const text = await metrics.registry.metrics();
    // One event, one backend and zone: one observation.
    expect(text.match(/^rbl_unlist_unlist_latency_seconds_count (\d+)$/m)?.[1]).toBe('1');
  });
});

describe('a job done in part, in two lanes and over many calls', () => {
  it('two HTTP lanes of one job, both done in part, each go on with their own names; a compaction and a restart keep them', async () => {
    const api1 = new NamesFail('api1', [ZONE], [BAD]);
    const api2 = new NamesFail('api2', [ZONE], [BAD]);
    api2.failing.clear();
    api2.failing.add(GOOD);
    const store = await state.open({ backends: [api1, api2], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 60_000, maxMs: 60_000 }, requestPollMs: 20, closeGraceMs: 10 });
    const commit = store.commit({ unlist: accountingOn(GOOD, BAD, '10.64.3.3') }, { trackDelivery: true });
    await waitUntil(() => retries().length === 2, 3000);
    const view = () =>
      store
        .jobsMatching(() => true)
        .map(({ job, pending }) => [job.targets, pending.map((lane) => lane.backend)])
        .sort((a, b) => String(a[1]).localeCompare(String(b[1])));
    expect(view()).toEqual([
      [[BAD], ['api1']],
      [[GOOD], ['api2']],
    ]);
    await store.compact();
    await store.committed();
    await store.close();
    const reopened = await state.open({ backends: [api1, api2], maxSessionAgeMs: 86_400_000, requestPollMs: 20, closeGraceMs: 10 });
    api1.failing.clear();
    api2.failing.clear();
    await waitUntil(() => reopened.depth() === 0, 3000);
    expect(reopened.deadLetterCount()).toBe(0);
    void commit;
  });

  it('many partial calls leave no attempts or held ids behind', async () => {
    const api = new NamesFail('api', [ZONE], [BAD]);
    const names = Array.from({ length: 20 }, (_, i) => `10.64.9.${i + 10}`);
    for (const name of names) api.failing.add(name);
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 5, maxMs: 10 }, requestPollMs: 20, closeGraceMs: 10, maxTargetsPerCall: 500 });
    const commit = store.commit({ unlist: accountingOn(GOOD, ...names) }, { trackDelivery: true });
    // Let the API take one failing name per held try.
    for (const name of names) {
      const before = api.calls.length;
      await waitUntil(() => api.calls.length > before, 3000);
      api.failing.delete(name);
    }
    await commit.done;
    expect(store.depth()).toBe(0);
    expect(store.deliveryAttempts()).toEqual([]);
    const sent = api.calls.flatMap((call) => call.targets);
    expect(sent.filter((target) => target === GOOD)).toHaveLength(1);
  });
});

describe('a Stop merged into a job that is then done in part', () => {
  it('is done once its own address is unlisted, not when the names of the job it merged into are', async () => {
    const api = new NamesFail('api', [ZONE], [BAD]);
    let down = true;
    const answer = api.beforeAnswer;
    api.beforeAnswer = (call) => {
      // The first call finds the API down: the job goes back, not in flight, and the lane pauses.
      if (down) {
        down = false;
        throw new RblError('RBL_HTTP_CONNECTION', 'api: connection refused', { transient: true });
      }
      return answer(call);
    };
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 100, maxMs: 100 }, random: () => 1, requestPollMs: 20, closeGraceMs: 10 });
    store.commit({ unlist: accountingOn(GOOD, BAD) }, { trackDelivery: true });
    await waitUntil(() => retries().length === 1, 3000);
    // A Stop for GOOD alone merges into the pending Accounting-On job.
    const stop = store.commit({ unlist: { targets: [GOOD], reason: { event: 'stop', client: 'ras1', nas: '192.0.2.10', sessionId: 's1' }, createdAt: Date.now() } }, { trackDelivery: true });
    expect(stop.jobId).toBeUndefined();
    await waitUntil(() => state.events.some((event) => event.type === 'delivered' && event.jobs.some((job) => job.targets.includes(GOOD))), 3000);
    // GOOD is unlisted in the only backend; BAD keeps failing.
    expect(await settledWithin(stop.done, 300)).toBe('resolved');
  });
});

describe('a job one name of which is refused for good and another failing for now', () => {
  it('is held, not a dead letter, while a name of it may still go; then only the name refused is a dead letter', async () => {
    const OTHER = '10.64.9.10';
    const api = new NamesFail('api', [ZONE], [OTHER]);
    api.refused.add(BAD);
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 20, maxMs: 20 }, random: () => 1, requestPollMs: 20, closeGraceMs: 10 });
    // BAD comes first in the job: its refusal is the first failure the call reports.
    store.commit({ unlist: accountingOn(GOOD, BAD, OTHER) });
    await waitUntil(() => retries().length >= 1, 3000);
    expect(store.deadLetterCount()).toBe(0);
    api.failing.clear();
    await waitUntil(() => store.deadLetterCount() === 1, 3000);
    const dead = state.events.filter((event) => event.type === 'dead-lettered');
    expect(dead.map((event) => event.job.targets)).toEqual([[BAD]]);
    expect(api.delivered(ZONE)).toEqual(expect.arrayContaining([GOOD, OTHER]));
  });
});
