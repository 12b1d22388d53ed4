import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/types.js';
import { RblError } from '../../src/errors.js';
import { dropDeadLetters, listQueue, retryDeadLetters } from '../../src/queue/admin.js';
import type { StateStore, StateStoreOptions } from '../../src/queue/store-open.js';
import { canonical, FakeBackend, never, useStateDir, waitUntil } from '../helpers/state-store.js';

const transient = () => new RblError('RBL_DNS_SERVFAIL', 'SERVFAIL from 127.0.0.1:53', { transient: true });
const refused = () => new RblError('RBL_DNS_REFUSED', 'REFUSED by 127.0.0.1:53');

const waitFor = (condition: () => boolean, timeoutMs = 5000): Promise<void> => waitUntil(condition, timeoutMs);

function unlist(address: string, createdAt = Date.now()) {
  return { targets: [address], reason: { event: 'stop', client: 'ras1', nas: '192.0.2.10', sessionId: `s-${address}` }, createdAt };
}

const state = useStateDir('queue');

async function open(backends: Backend[], options: Partial<StateStoreOptions> = {}): Promise<StateStore> {
  return state.open({ backends, maxSessionAgeMs: 7 * 86_400_000, backoff: { baseMs: 20, maxMs: 80 }, requestPollMs: 20, ...options });
}

/**
 * A lane with two calls allowed and 10 targets a call, one call in flight that hangs until
 * `release`: what a second call waits for.
 */
async function laneWithOneCallInFlight() {
  const bind = new FakeBackend('bind', ['rbl.example.net']);
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  bind.behaviour = () => gate;
  const store = await open([bind], { concurrency: 2, maxTargetsPerCall: 10 });
  const first = store.commit({ unlist: unlist('10.64.0.1') });
  await waitFor(() => bind.calls.length === 1);
  return { bind, store, first, release };
}

describe('queue delivery', () => {
  it('unlists a job in every backend and zone, then resolves done', async () => {
    const bind = new FakeBackend('bind', ['rbl.example.net', 'rbl2.example.net']);
    const pdns = new FakeBackend('pdns', ['rbl.example.net']);
    const store = await open([bind, pdns]);
    const commit = store.commit({ unlist: unlist('10.64.1.2') });
    await commit.recorded;
    await commit.done;
    expect(bind.delivered('rbl.example.net')).toEqual(['10.64.1.2']);
    expect(bind.delivered('rbl2.example.net')).toEqual(['10.64.1.2']);
    expect(pdns.delivered('rbl.example.net')).toEqual(['10.64.1.2']);
    expect(store.depth()).toBe(0);
    const delivered = state.events.filter((event) => event.type === 'delivered');
    expect(delivered).toHaveLength(3);
    expect(delivered[0]).toMatchObject({ jobs: [{ id: commit.jobId, targets: ['10.64.1.2'], reason: { client: 'ras1' } }] });
  });

  it('retries transient failures with growing, jittered backoff, then succeeds', async () => {
    const bind = new FakeBackend('bind', ['rbl.example.net']);
    let failures = 2;
    bind.behaviour = () => {
      if (failures-- > 0) throw transient();
    };
    const store = await open([bind], { random: () => 1 });
    const commit = store.commit({ unlist: unlist('10.64.1.3') });
    await commit.done;
    expect(bind.calls).toHaveLength(3);
    const retries = state.events.filter((event) => event.type === 'retry-scheduled');
    expect(retries.map((event) => [event.attempt, event.delayMs])).toEqual([
      [1, 20],
      [2, 40],
    ]);
    expect(retries[0]).toMatchObject({ backend: 'bind', zone: 'rbl.example.net', targets: ['10.64.1.3'], error: { code: 'RBL_DNS_SERVFAIL' } });
  });

  it('retries what a backend throws that is not its own error (a bug), with a URL password in its text REDACTED', async () => {
    const bind = new FakeBackend('bind', ['rbl.example.net']);
    let failures = 1;
    bind.behaviour = () => {
      // What a slip in a backend could throw: Node's own error quoting the request URL.
      if (failures-- > 0) throw new TypeError('Failed to parse URL from http://ops:s3cret-pw@api.example/v1/x?token=t0k-1');
    };
    const store = await open([bind]);
    await store.commit({ unlist: unlist('10.64.1.4') }).done;
    const retries = state.events.filter((event) => event.type === 'retry-scheduled');
    expect(retries).toHaveLength(1);
    expect(retries[0]!.error.message).toBe('Failed to parse URL from http://ops:REDACTED@api.example/v1/x?token=REDACTED');
  });

  it('batches what piles up while the backend is busy, at most maxTargetsPerCall per call', async () => {
    const bind = new FakeBackend('bind', ['rbl.example.net']);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    bind.behaviour = () => gate;
    const store = await open([bind], { concurrency: 1 });
    const first = store.commit({ unlist: unlist('10.64.0.1') });
    await waitFor(() => bind.calls.length === 1);
    const commits = Array.from({ length: 1200 }, (_, i) => store.commit({ unlist: unlist(`10.65.${i >> 8}.${i & 255}`) }));
    release();
    await Promise.all([first.done, ...commits.map((commit) => commit.done)]);
    expect(bind.calls.map((call) => call.targets.length)).toEqual([1, 500, 500, 200]);
    expect(new Set(bind.calls.flatMap((call) => call.targets)).size).toBe(1201);
  });

  it('starts a second call while one is in flight only for a backlog of half a batch', async () => {
    const { bind, store, first, release } = await laneWithOneCallInFlight();
    const few = Array.from({ length: 4 }, (_, i) => store.commit({ unlist: unlist(`10.66.0.${i}`) }));
    await Promise.all(few.map((commit) => commit.recorded));
    await new Promise((resolve) => setTimeout(resolve, 30));
    // Four waiting, under half of 10: they wait for the call under way.
    expect(bind.calls).toHaveLength(1);
    const fifth = store.commit({ unlist: unlist('10.66.0.4') });
    await waitFor(() => bind.calls.length === 2);
    expect(bind.calls[1]!.targets).toEqual(['10.66.0.0', '10.66.0.1', '10.66.0.2', '10.66.0.3', '10.66.0.4']);
    release();
    await Promise.all([first.done, fifth.done, ...few.map((commit) => commit.done)]);
    expect(bind.calls.map((call) => call.targets.length)).toEqual([1, 5]);
    // Once the lane is idle again, a single unlist goes out at once.
    const alone = store.commit({ unlist: unlist('10.66.1.1') });
    await alone.done;
    expect(bind.calls.map((call) => call.targets.length)).toEqual([1, 5, 1]);
  });

  it('sends what waited for the call in flight as soon as that call returns', async () => {
    const { bind, store, first, release } = await laneWithOneCallInFlight();
    const waiting = [store.commit({ unlist: unlist('10.66.2.1') }), store.commit({ unlist: unlist('10.66.2.2') })];
    await Promise.all(waiting.map((commit) => commit.recorded));
    expect(bind.calls).toHaveLength(1);
    release();
    await Promise.all([first.done, ...waiting.map((commit) => commit.done)]);
    expect(bind.calls.map((call) => call.targets)).toEqual([['10.64.0.1'], ['10.66.2.1', '10.66.2.2']]);
    expect(store.depth()).toBe(0);
  });

  it('sends a backlog put back by a failure two calls at a time', async () => {
    const bind = new FakeBackend('bind', ['rbl.example.net']);
    let down = true;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    bind.behaviour = async () => {
      if (down) throw transient();
      await gate;
    };
    const store = await open([bind], { concurrency: 2, maxTargetsPerCall: 10, backoff: { baseMs: 50, maxMs: 50 }, random: () => 1 });
    const commits = Array.from({ length: 20 }, (_, i) => store.commit({ unlist: unlist(`10.66.3.${i}`) }));
    await waitFor(() => state.events.filter((event) => event.type === 'retry-scheduled').length === 2);
    down = false;
    const failedCalls = bind.calls.length;
    // All 20 are back in front of the lane, none new: the retry takes 10 and, with 10 still waiting, 10 more at once.
    await waitFor(() => bind.calls.length === failedCalls + 2);
    expect(bind.calls.slice(failedCalls).map((call) => call.targets.length)).toEqual([10, 10]);
    release();
    await Promise.all(commits.map((commit) => commit.done));
    expect(store.depth()).toBe(0);
  });

  it('keeps delivering to one zone while another zone keeps failing', async () => {
    const bind = new FakeBackend('bind', ['down.example.net', 'up.example.net']);
    bind.behaviour = (zone) => {
      if (zone === 'down.example.net') throw transient();
    };
    const store = await open([bind]);
    let settled = false;
    const commit = store.commit({ unlist: unlist('10.64.1.4') });
    void commit.done.finally(() => (settled = true));
    await waitFor(() => state.events.some((event) => event.type === 'delivered'));
    for (let i = 0; i < 5; i++) store.commit({ unlist: unlist(`10.64.2.${i}`) });
    await waitFor(() => bind.delivered('up.example.net').length === 6);
    expect(store.depth()).toBe(6);
    expect(settled).toBe(false);
  });

  it('dead-letters only the job a batch was refused for, and rejects its done with the error', async () => {
    const bind = new FakeBackend('bind', ['rbl.example.net']);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    bind.behaviour = async (_zone, targets) => {
      await gate;
      if (targets.includes('10.64.9.9')) throw refused();
    };
    const store = await open([bind], { concurrency: 1 });
    const first = store.commit({ unlist: unlist('10.64.0.1') });
    await waitFor(() => bind.calls.length === 1);
    const good = Array.from({ length: 20 }, (_, i) => store.commit({ unlist: unlist(`10.64.3.${i}`) }));
    const bad = store.commit({ unlist: unlist('10.64.9.9') });
    release();
    await Promise.all([first.done, ...good.map((commit) => commit.done)]);
    await expect(bad.done).rejects.toMatchObject({ code: 'RBL_DNS_REFUSED' });
    expect(store.deadLetterCount()).toBe(1);
    expect(store.depth()).toBe(0);
    expect(state.events.filter((event) => event.type === 'dead-lettered')).toMatchObject([{ job: { id: bad.jobId }, error: { code: 'RBL_DNS_REFUSED' } }]);
  });

  it('lists, re-drives and drops dead letters while the service runs', async () => {
    const bind = new FakeBackend('bind', ['rbl.example.net']);
    bind.behaviour = () => {
      throw refused();
    };
    const store = await open([bind]);
    const a = store.commit({ unlist: unlist('10.64.4.1') });
    const b = store.commit({ unlist: unlist('10.64.4.2') });
    await expect(a.done).rejects.toThrow(RblError);
    await expect(b.done).rejects.toThrow(RblError);
    await a.recorded;
    await waitFor(() => store.stats().journalRecords >= 4);
    await new Promise((resolve) => setTimeout(resolve, 20));

    const listing = await listQueue(state.dir);
    expect(listing.pending).toEqual([]);
    expect(listing.dead.map((letter) => [letter.id, letter.targets, letter.backend, letter.zone, letter.code])).toEqual([
      [a.jobId, ['10.64.4.1'], 'bind', 'rbl.example.net', 'RBL_DNS_REFUSED'],
      [b.jobId, ['10.64.4.2'], 'bind', 'rbl.example.net', 'RBL_DNS_REFUSED'],
    ]);

    bind.behaviour = () => undefined;
    const callsBefore = bind.calls.length;
    const retried = await retryDeadLetters(state.dir, [a.jobId!, 'no-such-job']);
    expect(retried).toEqual({ count: 1, notFound: ['no-such-job'], via: 'service' });
    await waitFor(() => state.events.some((event) => event.type === 'delivered'));
    expect(bind.calls.slice(callsBefore)).toEqual([{ zone: 'rbl.example.net', targets: ['10.64.4.1'] }]);
    await waitFor(() => store.deadLetterCount() === 1);

    const dropped = await dropDeadLetters(state.dir);
    expect(dropped).toMatchObject({ count: 1, via: 'service' });
    expect(store.deadLetterCount()).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await listQueue(state.dir)).toEqual({ pending: [], live: true, dead: [], unreadableBytes: 0 });
  });

  it('keeps every job through thousands delivered while others wait, and the next open finds those still pending', async () => {
    // 3,300 jobs are delivered in one zone while they wait in another whose server does not
    // answer: the targets pending per lane and the waiters, maps that rebuild themselves every few
    // hundred deletions, lose entries by the thousand. After a restart the jobs are delivered in the
    // other zone, once each, and the map of jobs loses them all in turn.
    const bind = new FakeBackend('bind', ['rbl.example.net', 'rbl2.example.net']);
    bind.behaviour = (zone) => (zone === 'rbl2.example.net' ? never() : undefined);
    const store = await open([bind], { closeGraceMs: 50 });
    const address = (k: number): string => `10.65.${k >> 8}.${k & 255}`;
    const commits = [];
    for (let k = 0; k < 3_300; k++) commits.push(store.commit({ unlist: unlist(address(k)) }));
    await Promise.all(commits.map((commit) => commit.recorded));
    await waitFor(() => bind.delivered('rbl.example.net').length === 3_300, 20_000);
    expect(new Set(bind.delivered('rbl.example.net')).size).toBe(3_300);
    // Every job still waits in the zone that does not answer: 3,300 deliveries pending.
    expect(store.depth()).toBe(3_300);
    await store.close();

    const healthy = new FakeBackend('bind', ['rbl.example.net', 'rbl2.example.net']);
    const reopened = await open([healthy]);
    await waitFor(() => reopened.depth() === 0, 20_000);
    const second = healthy.delivered('rbl2.example.net');
    expect(second).toHaveLength(3_300);
    expect(new Set(second).size).toBe(3_300);
    expect(healthy.delivered('rbl.example.net')).toEqual([]);
  });

  it('lists, re-drives and drops dead letters in the journal while the service is stopped', async () => {
    const bind = new FakeBackend('bind', ['rbl.example.net']);
    bind.behaviour = () => {
      throw refused();
    };
    let store = await open([bind]);
    const a = store.commit({ unlist: unlist('10.64.5.1') });
    const b = store.commit({ unlist: unlist('10.64.5.2') });
    await Promise.allSettled([a.done, b.done]);
    await store.close();

    expect((await listQueue(state.dir)).dead.map((letter) => letter.id)).toEqual([a.jobId, b.jobId]);
    expect(await retryDeadLetters(state.dir, [a.jobId!])).toEqual({ count: 1, notFound: [], via: 'journal' });
    expect(await dropDeadLetters(state.dir, [b.jobId!])).toEqual({ count: 1, notFound: [], via: 'journal' });
    const listing = await listQueue(state.dir);
    expect(listing.dead).toEqual([]);
    expect(listing.pending.map((entry) => entry.id)).toEqual([a.jobId]);

    const healthy = new FakeBackend('bind', ['rbl.example.net']);
    store = await open([healthy]);
    await waitFor(() => store.depth() === 0);
    expect(healthy.delivered('rbl.example.net')).toEqual(['10.64.5.1']);
  });

  it('closes within the grace period while a call hangs, and replays the job on the next open', async () => {
    const hung = new FakeBackend('bind', ['rbl.example.net']);
    hung.behaviour = never;
    const store = await open([hung], { closeGraceMs: 200 });
    const commit = store.commit({ unlist: unlist('10.64.7.1') });
    await commit.recorded;
    await waitFor(() => hung.calls.length === 1);
    const started = Date.now();
    await store.close();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(() => store.commit({ unlist: unlist('10.64.7.2') })).toThrow(/closed/);

    const healthy = new FakeBackend('bind', ['rbl.example.net']);
    const reopened = await open([healthy]);
    await waitFor(() => reopened.depth() === 0);
    expect(healthy.delivered('rbl.example.net')).toEqual(['10.64.7.1']);
  });

  it('refuses an address that does not parse without changing anything', async () => {
    const store = await open([new FakeBackend('bind', ['rbl.example.net'])]);
    expect(() =>
      store.commit({
        upsert: [{ nas: 'n', sessionId: 's', client: 'c', addresses: [canonical('10.64.0.1')], updatedAt: 1, eventAt: 1 }],
        unlist: unlist('not-an-address'),
      }),
    ).toThrow(expect.objectContaining({ code: 'RBL_ADDRESS_INVALID' }));
    expect(store.sessions.size).toBe(0);
    expect(store.depth()).toBe(0);
  });
});
