/**
 * An HTTP API takes one request per name, and may fail one name for itself (a 500 for that record
 * alone) while it takes the others. The jobs of the names it took are delivered; the failing one
 * is held, apart, on a backoff of its own, and goes at the end of later calls, so it never holds
 * back the unlists queued behind it (their addresses would stay listed for the next customers).
 * An API that fails as a whole still pauses the lane, held jobs included.
 */
import type { FileHandle } from 'node:fs/promises';
import { describe, expect, it, vi } from 'vitest';
import { TargetFailures } from '../../src/backends/target-failures.js';
import { RblError } from '../../src/errors.js';
import { formatPrefix, type IpPrefix } from '../../src/net/address.js';
import type { QueueEvent } from '../../src/queue/events.js';
import { HeldJobs } from '../../src/queue/held-jobs.js';
import { fileHandlePrototype } from '../helpers/disk.js';
import { useRecordingServer } from '../helpers/http-server.js';
import { canonical, FakeBackend, useStateDir, waitUntil } from '../helpers/state-store.js';

const state = useStateDir('held-jobs');
const http = useRecordingServer();

/** Fails the names in `failing` for themselves, as the generic HTTP backend reports it; `down` fails everything, as a dead API. */
class OneNameFails extends FakeBackend {
  readonly failing = new Set<string>();
  transient = true;
  down = false;
  gate: Promise<void> = Promise.resolve();
  /** Makes the error the API's answer would be. */
  shape: (error: RblError) => RblError = (error) => error;

  override async unlist(zone: string, targets: readonly IpPrefix[]): Promise<void> {
    this.calls.push({ zone, targets: targets.map(formatPrefix) });
    await this.gate;
    await new Promise((resolve) => setImmediate(resolve));
    if (this.down) throw new RblError('RBL_HTTP_CONNECTION', 'api: connection refused', { transient: true });
    const failed = targets.filter((target) => this.failing.has(formatPrefix(target)));
    if (failed.length === 0) return;
    const error = this.shape(new RblError('RBL_HTTP_STATUS', `api: unexpected status 500 for ${failed.map(formatPrefix).join(', ')}`, { transient: this.transient }));
    const unlisted = targets.filter((target) => !failed.includes(target));
    throw new TargetFailures(error, unlisted, new Map(failed.map((target) => [target, error])), undefined);
  }
}

function unlist(...targets: string[]) {
  return { targets, reason: { event: 'stop', client: 'ras1', nas: '192.0.2.10', sessionId: `s-${targets.join(',')}` }, createdAt: Date.now() };
}

const retries = (): Extract<QueueEvent, { type: 'retry-scheduled' }>[] => state.events.filter((event) => event.type === 'retry-scheduled');

/** 'settled' when the promise settles within ms. */
async function within(promise: Promise<unknown>, ms: number): Promise<'settled' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([promise.then(() => 'settled' as const), new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)))]);
  clearTimeout(timer);
  return outcome;
}

describe('a call the backend did in part', () => {
  it('delivers the jobs whose names went through and holds only the failing one, which holds back nothing queued behind it', async () => {
    const api = new OneNameFails('api', ['rbl.example.net']);
    api.failing.add('10.64.9.9');
    let release: () => void = () => undefined;
    api.gate = new Promise<void>((resolve) => (release = resolve));
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 1000, maxMs: 4000 }, concurrency: 1, requestPollMs: 20 });
    const first = store.commit({ unlist: unlist('10.64.0.1') }, { trackDelivery: true });
    await waitUntil(() => api.calls.length === 1, 2000);
    // Queued behind the first call, they go out as one batch with the failing name first.
    const failing = store.commit({ unlist: unlist('10.64.9.9') }, { trackDelivery: true });
    const good = Array.from({ length: 20 }, (_, i) => store.commit({ unlist: unlist(`10.64.3.${i}`) }, { trackDelivery: true }));
    release();
    api.gate = Promise.resolve();
    await Promise.all([first.done, ...good.map((commit) => commit.done)]);
    expect(api.calls[1]!.targets).toContain('10.64.9.9');
    expect(api.calls[1]!.targets).toHaveLength(21);
    expect(retries().flatMap((event) => event.targets)).toEqual(['10.64.9.9']);
    expect(store.depth()).toBe(1);

    // Failing alone after its backoff, it waits again, longer: the lane is not paused.
    await waitUntil(() => api.calls.some((call) => call.targets.length === 1 && call.targets[0] === '10.64.9.9'), 5000);
    await waitUntil(() => retries().length === 2, 2000);
    const later = store.commit({ unlist: unlist('10.64.5.1') }, { trackDelivery: true });
    expect(later.jobId).toBeDefined();
    await later.done;
    expect(api.calls.find((call) => call.targets.includes('10.64.5.1'))!.targets).toEqual(['10.64.5.1']);
    expect(retries().map((event) => [event.targets, event.attempt])).toEqual([
      [['10.64.9.9'], 1],
      [['10.64.9.9'], 2],
    ]);
    expect(retries()[1]!.delayMs).toBeGreaterThanOrEqual(1000);
    // `queue list` shows its own attempts and next try.
    const attempt = store.deliveryAttempts().find((delivery) => delivery.id === Number(failing.jobId));
    expect(attempt).toMatchObject({ attempts: 2, lastCode: 'RBL_HTTP_STATUS', nextTryAt: expect.any(Number) as unknown });

    // Nothing is lost: once the API takes it, it is delivered.
    api.failing.clear();
    await failing.done;
    expect(store.depth()).toBe(0);
    expect(store.deadLetterCount()).toBe(0);
  });

  it('dead-letters only the job of a name refused for good, delivering the others of its call at once', async () => {
    const api = new OneNameFails('api', ['rbl.example.net']);
    api.failing.add('10.64.9.9');
    api.transient = false;
    let release: () => void = () => undefined;
    api.gate = new Promise<void>((resolve) => (release = resolve));
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 20, maxMs: 40 }, concurrency: 1, requestPollMs: 20 });
    const first = store.commit({ unlist: unlist('10.64.0.1') }, { trackDelivery: true });
    await waitUntil(() => api.calls.length === 1, 2000);
    const good = Array.from({ length: 5 }, (_, i) => store.commit({ unlist: unlist(`10.64.3.${i}`) }, { trackDelivery: true }));
    const refused = store.commit({ unlist: unlist('10.64.9.9') }, { trackDelivery: true });
    release();
    api.gate = Promise.resolve();
    await Promise.all([first.done, ...good.map((commit) => commit.done)]);
    await expect(refused.done).rejects.toMatchObject({ code: 'RBL_HTTP_STATUS' });
    // Two calls: no job was sent again to find which one the API refused.
    expect(api.calls).toHaveLength(2);
    expect(store.deadLetterCount()).toBe(1);
    expect(store.depth()).toBe(0);
  });

  it('a Stop naming a held job\'s address has a job of its own, which goes at once', async () => {
    const api = new OneNameFails('api', ['rbl.example.net']);
    api.failing.add('2001:db8:0:2::/63');
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 5000, maxMs: 5000 }, random: () => 1, concurrency: 1, requestPollMs: 20 });
    // A dual-stack Stop: its IPv4 address went through, its IPv6 prefix failed for itself.
    store.commit({ unlist: unlist('2001:db8:0:2::/63', '10.64.0.5') }, { trackDelivery: true }).done.catch(() => undefined);
    await waitUntil(() => retries().length === 1, 2000);
    // The next customer of 10.64.0.5 stops: merged into the held job, it would wait with it.
    const next = store.commit({ unlist: unlist('10.64.0.5') }, { trackDelivery: true });
    expect(next.jobId).toBeDefined();
    // The lane was not paused by the dual-stack job, though no job of its call went through whole.
    expect(store.deliveryAttempts().find((delivery) => delivery.id === Number(next.jobId))?.nextTryAt).toBeUndefined();
    expect(await within(next.done, 1000)).toBe('settled');
  });

  it('waits as long as the API asks in Retry-After, up to the backoff maximum, the lane and the held jobs alike', async () => {
    const api = new OneNameFails('api', ['rbl.example.net']);
    api.failing.add('10.64.9.9');
    const asked = (ms: number) => (error: RblError) => new RblError(error.code, error.message, { transient: true, retryAfterMs: ms });
    api.shape = asked(400);
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 10, maxMs: 1000 }, concurrency: 1, requestPollMs: 20 });
    const alone = store.commit({ unlist: unlist('10.64.9.9') }, { trackDelivery: true });
    await waitUntil(() => retries().length === 1, 2000);
    expect(retries()[0]!.delayMs).toBe(400);
    api.shape = asked(1_000_000);
    await waitUntil(() => retries().length === 2, 2000);
    expect(retries()[1]!.delayMs).toBe(1000);
    api.failing.clear();
    await alone.done;
  });
});

describe('an API that fails as a whole', () => {
  it('pauses the lane, held jobs and all: one call per backoff, however many are held', async () => {
    const api = new OneNameFails('api', ['rbl.example.net']);
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 100, maxMs: 200 }, concurrency: 1, requestPollMs: 20 });
    // Twenty held jobs, each held after a call of its own.
    for (let i = 0; i < 20; i++) {
      api.failing.add(`10.64.9.${i}`);
      store.commit({ unlist: unlist(`10.64.9.${i}`) }, { trackDelivery: true }).done.catch(() => undefined);
      await store.commit({ unlist: unlist(`10.64.3.${i}`) }, { trackDelivery: true }).done;
    }
    api.down = true;
    store.commit({ unlist: unlist('10.64.4.1') }, { trackDelivery: true }).done.catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = api.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    // A lane backing off at most 200 ms makes about five calls a second.
    expect(api.calls.length - before).toBeLessThanOrEqual(8);
    expect(store.deadLetterCount()).toBe(0);
    api.down = false;
    api.failing.clear();
    await waitUntil(() => store.depth() === 0, 5000);
  });

  it('tries other names after a call whose first names all failed: four failing names first in a batch block nothing', async () => {
    const bad = ['10.64.9.1', '10.64.9.2', '10.64.9.3', '10.64.9.4'];
    http.server.respondWith((request) => ({ status: bad.some((address) => request.url.endsWith(`ip=${address}`)) ? 500 : 204 }));
    const api = http.backend({ url: `${http.server.origin}/v1/{name}?ip={address}` });
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 20, maxMs: 50 }, concurrency: 1, requestPollMs: 20 });
    const failing = bad.map((address) => store.commit({ unlist: unlist(address) }, { trackDelivery: true }));
    for (const commit of failing) commit.done.catch(() => undefined);
    const good = Array.from({ length: 20 }, (_, i) => store.commit({ unlist: unlist(`10.64.3.${i}`) }, { trackDelivery: true }));
    expect(await within(Promise.all(good.map((commit) => commit.done)), 3000)).toBe('settled');
    expect(store.depth()).toBe(4);
  });

  it('holds an IPv6 prefix whose four names fail first in a batch, and delivers what came behind it', async () => {
    http.server.respondWith((request) => ({ status: request.url.includes('ip=2001') ? 500 : 204 }));
    const api = http.backend({ url: `${http.server.origin}/v1/{name}?ip={address}` });
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 20, maxMs: 50 }, concurrency: 1, requestPollMs: 20 });
    store.commit({ unlist: unlist('2001:db8:0:2::/63') }, { trackDelivery: true }).done.catch(() => undefined);
    const good = Array.from({ length: 20 }, (_, i) => store.commit({ unlist: unlist(`10.64.3.${i}`) }, { trackDelivery: true }));
    expect(await within(Promise.all(good.map((commit) => commit.done)), 3000)).toBe('settled');
  });
});

describe('held jobs', () => {
  it('keep their wait when the journal is rebuilt after a write failure, which queues every pending job again', async () => {
    const fileHandle: FileHandle = await fileHandlePrototype();
    let failing: string | undefined;
    const original = fileHandle.write;
    vi.spyOn(fileHandle, 'write').mockImplementation(function (this: FileHandle, ...args: unknown[]) {
      if (failing) return Promise.reject(Object.assign(new Error(`${failing}: injected failure, write`), { code: failing }));
      return (original as (...a: unknown[]) => Promise<unknown>).apply(this, args);
    } as typeof fileHandle.write);
    try {
      const api = new OneNameFails('api', ['rbl.example.net']);
      api.failing.add('10.64.9.9');
      const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 5000, maxMs: 5000 }, random: () => 1, concurrency: 1, requestPollMs: 20, recoveryMs: 20, closeGraceMs: 10 });
      store.commit({ unlist: unlist('10.64.9.9') }, { trackDelivery: true }).done.catch(() => undefined);
      await store.commit({ unlist: unlist('10.64.3.1') }, { trackDelivery: true }).done;
      await waitUntil(() => retries().length === 1, 2000);
      await store.committed();
      failing = 'EIO';
      const now = Date.now();
      await store.commit({ upsert: [{ nas: 'nas1', sessionId: 's1', client: 'ras1', addresses: [canonical('10.64.1.1')], updatedAt: now, eventAt: now }] }).recorded.catch(() => undefined);
      failing = undefined;
      await waitUntil(() => store.health().writable, 3000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(api.calls.filter((call) => call.targets.includes('10.64.9.9'))).toHaveLength(1);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('go at once to a backend a reload put in the lane, which has not failed them', async () => {
    const api = new OneNameFails('api', ['rbl.example.net']);
    api.failing.add('10.64.9.9');
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 5000, maxMs: 5000 }, random: () => 1, concurrency: 1, requestPollMs: 20 });
    const bad = store.commit({ unlist: unlist('10.64.9.9') }, { trackDelivery: true });
    await store.commit({ unlist: unlist('10.64.3.1') }, { trackDelivery: true }).done;
    await waitUntil(() => retries().length === 1, 2000);
    store.setBackends([new OneNameFails('api', ['rbl.example.net'])]);
    expect(await within(bad.done, 2000)).toBe('settled');
  });

  it('go least recently tried first, and wait longer after each try none of them went through', () => {
    const held = new HeldJobs();
    held.hold([1, 2]);
    // Held while none was: their first wait starts.
    expect(held.afterCall(false, false)).toBe(1);
    expect(held.due).toBe(false);
    // Held meanwhile: it joins the wait as it is.
    held.hold([3]);
    expect(held.afterCall(false, false)).toBeUndefined();
    held.becameDue();
    expect(held.due).toBe(true);
    // 1 failed again (to the back), 2 and 3 were not reached.
    held.hold([1]);
    expect(held.ids()).toEqual([2, 3, 1]);
    expect(held.afterCall(true, false)).toBe(2);
    held.becameDue();
    held.forget(2);
    expect(held.ids()).toEqual([3, 1]);
    expect(held.afterCall(true, true)).toBeUndefined();
    expect(held.failures).toBe(0);
    expect(held.due).toBe(true);
    held.hold([1]);
    expect(held.afterCall(true, false)).toBe(1);
    held.retryNow();
    expect(held.due).toBe(true);
    held.forget(3);
    held.forget(1);
    expect(held.size).toBe(0);
    expect(held.due).toBe(false);
  });
});

describe('a held job gone on as a new one', () => {
  it('has the new one held in its place, the wait and its count unchanged', () => {
    const held = new HeldJobs();
    held.hold([1]);
    expect(held.afterCall(false, false)).toBe(1);
    held.becameDue();
    held.hold([1]);
    expect(held.afterCall(true, false)).toBe(2);
    // The only held job: forgetting it would start the count afresh.
    held.replace(1, 7);
    expect(held.has(1)).toBe(false);
    expect(held.ids()).toEqual([7]);
    expect(held.failures).toBe(2);
    expect(held.due).toBe(false);
    held.hold([8]);
    held.replace(7, 9);
    expect(held.ids()).toEqual([9, 8]);
  });
});

describe('one name the API answers as a whole API would', () => {
  it.each([
    [403, {}, 'a record the token may not change: a dead letter'],
    [400, { 'Retry-After': '1' }, 'a bad request that also sends Retry-After: a dead letter'],
    [502, {}, 'a proxy whose upstream crashes on that record: held'],
  ])('a %i %j for one name only (%s) blocks nothing queued behind it', async (status, headers, why) => {
    http.server.respondWith((request) => (request.url.endsWith('ip=10.64.9.9') ? { status, headers } : { status: 204 }));
    const api = http.backend({ url: `${http.server.origin}/v1/{name}?ip={address}` });
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 1000, maxMs: 60_000 }, random: () => 1, concurrency: 1, requestPollMs: 20 });
    store.commit({ unlist: unlist('10.64.9.9') }, { trackDelivery: true }).done.catch(() => undefined);
    const good = Array.from({ length: 20 }, (_, i) => store.commit({ unlist: unlist(`10.64.3.${i}`) }, { trackDelivery: true }));
    expect(await within(Promise.all(good.map((commit) => commit.done)), 4000)).toBe('settled');
    expect(store.deadLetterCount()).toBe(why.endsWith('dead letter') ? 1 : 0);
  });

  it('waits as long as a 429 asked, though a 500 of one name came first in the call', async () => {
    http.server.respondWith((request) => {
      if (request.url.endsWith('ip=10.64.9.9')) return { status: 500 };
      if (request.url.includes('ip=10.64.5.')) return { status: 429, headers: { 'Retry-After': '3' }, delayMs: 50 };
      return { status: 204 };
    });
    const api = http.backend({ url: `${http.server.origin}/v1/{name}?ip={address}` });
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 10, maxMs: 5000 }, random: () => 1, concurrency: 1, requestPollMs: 20 });
    const commits = [store.commit({ unlist: unlist('10.64.9.9') }, { trackDelivery: true })];
    for (let i = 0; i < 3; i++) commits.push(store.commit({ unlist: unlist(`10.64.3.${i}`) }, { trackDelivery: true }));
    for (let i = 0; i < 10; i++) commits.push(store.commit({ unlist: unlist(`10.64.5.${i}`) }, { trackDelivery: true }));
    for (const commit of commits) commit.done.catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 500));
    // The lane waits for the untried ones, and the held ones (the 429'd among them) as long too.
    const lanePause = retries().find((event) => event.targets.includes('10.64.5.9'));
    expect(lanePause).toBeDefined();
    expect(lanePause!.delayMs).toBeGreaterThanOrEqual(3000);
    expect(lanePause!.error.message).toContain('429');
    for (const event of retries()) expect(event.delayMs).toBeGreaterThanOrEqual(2900);
    // Those under way when the 429 came, no more.
    expect(http.server.requests.filter((request) => request.url.includes('ip=10.64.5.')).length).toBeLessThanOrEqual(4);
  });

  it('a reload puts held jobs the API still fails after the new unlists, not before them', async () => {
    http.server.respondWith((request) => ({ status: request.url.includes('ip=10.64.9.') ? 500 : 204 }));
    const config = { url: `${http.server.origin}/v1/{name}?ip={address}` };
    const store = await state.open({ backends: [http.backend(config)], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 1000, maxMs: 60_000 }, random: () => 1, concurrency: 1, requestPollMs: 20 });
    const first = Array.from({ length: 8 }, (_, i) => store.commit({ unlist: unlist(`10.64.3.${i}`) }, { trackDelivery: true }));
    for (let i = 0; i < 12; i++) store.commit({ unlist: unlist(`10.64.9.${i}`) }, { trackDelivery: true }).done.catch(() => undefined);
    await Promise.all(first.map((commit) => commit.done));
    await waitUntil(() => store.depth() === 12, 3000);
    // A SIGHUP that changed the backend's timeout: a new Backend, the same API.
    store.setBackends([http.backend({ ...config, timeoutMs: 3000 })]);
    const fresh = Array.from({ length: 5 }, (_, i) => store.commit({ unlist: unlist(`10.64.4.${i}`) }, { trackDelivery: true }));
    expect(await within(Promise.all(fresh.map((commit) => commit.done)), 3000)).toBe('settled');
  });
});

/** Fails every name under 10.64.9.0/24 for itself, each with its own error. */
class SubnetFails extends FakeBackend {
  override async unlist(zone: string, targets: readonly IpPrefix[]): Promise<void> {
    this.calls.push({ zone, targets: targets.map(formatPrefix) });
    await new Promise((resolve) => setImmediate(resolve));
    const failed = targets.filter((target) => formatPrefix(target).startsWith('10.64.9.'));
    if (failed.length === 0) return;
    const errorOf = (target: IpPrefix) => new RblError('RBL_HTTP_STATUS', `api: unexpected status 500 for ${formatPrefix(target)}`, { transient: true });
    throw new TargetFailures(errorOf(failed[0]!), targets.filter((target) => !failed.includes(target)), new Map(failed.map((target) => [target, errorOf(target)])), undefined);
  }
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('held jobs and jobs held after them', () => {
  it('a held job is tried again after its backoff though other jobs keep being held meanwhile', async () => {
    const api = new SubnetFails('api', ['rbl.example.net']);
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 100, maxMs: 200 }, random: () => 1, concurrency: 1, requestPollMs: 20 });
    store.commit({ unlist: unlist('10.64.9.200') }, { trackDelivery: true }).done.catch(() => undefined);
    await waitUntil(() => retries().length === 1, 2000);
    for (let i = 0; i < 37; i++) {
      store.commit({ unlist: unlist(`10.64.3.${i}`, `10.64.9.${i}`) }, { trackDelivery: true }).done.catch(() => undefined);
      await sleep(40);
    }
    expect(api.calls.filter((call) => call.targets.includes('10.64.9.200')).length).toBeGreaterThanOrEqual(3);
  });

  it('a job held later is no try of those held before it, and each is reported with its own failure', async () => {
    const api = new SubnetFails('api', ['rbl.example.net']);
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 60_000, maxMs: 60_000 }, concurrency: 1, requestPollMs: 20 });
    const first = store.commit({ unlist: unlist('10.64.3.1', '10.64.9.1') }, { trackDelivery: true });
    first.done.catch(() => undefined);
    await waitUntil(() => retries().length === 1, 2000);
    store.commit({ unlist: unlist('10.64.3.2', '10.64.9.2') }, { trackDelivery: true }).done.catch(() => undefined);
    await waitUntil(() => retries().length === 2, 2000);
    expect(api.calls.filter((call) => call.targets.includes('10.64.9.1'))).toHaveLength(1);
    // Each job went on as a new one of its failing name alone (10.64.3.x went through).
    const held = store.jobsMatching((target) => target === '10.64.9.1').map(({ job }) => Number(job.id));
    expect(held).toHaveLength(1);
    expect(store.deliveryAttempts().find((delivery) => delivery.id === held[0])).toMatchObject({ attempts: 1, lastError: expect.stringContaining('10.64.9.1') as unknown });
    expect(retries()[1]!.targets).toEqual(['10.64.9.2']);
  });

  it('go within a few backoffs though a backlog fills every call', async () => {
    const api = new SubnetFails('api', ['rbl.example.net']);
    const slow = api.unlist.bind(api);
    api.unlist = async (zone, targets) => {
      await sleep(20);
      return slow(zone, targets);
    };
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 100, maxMs: 200 }, random: () => 1, concurrency: 1, maxTargetsPerCall: 10, requestPollMs: 20 });
    store.commit({ unlist: unlist('10.64.3.250', '10.64.9.200') }, { trackDelivery: true }).done.catch(() => undefined);
    await waitUntil(() => retries().length === 1, 2000);
    for (let i = 0; i < 75; i++) {
      for (let j = 0; j < 12; j++) store.commit({ unlist: unlist(`10.${65 + (i >> 4)}.${(i & 15) * 16 + (j >> 4)}.${j & 15}`) }, { trackDelivery: true }).done.catch(() => undefined);
      await sleep(20);
    }
    expect(api.calls.filter((call) => call.targets.includes('10.64.9.200')).length).toBeGreaterThanOrEqual(2);
  });
});

/** `msPerName` a name, as an API answering one request per name; the names under 10.64.9.0/24 fail for themselves. */
class PerNameApi extends FakeBackend {
  gate: Promise<void> = Promise.resolve();
  msPerName = 2;
  override async unlist(zone: string, targets: readonly IpPrefix[]): Promise<void> {
    this.calls.push({ zone, targets: targets.map(formatPrefix) });
    await this.gate;
    await sleep(targets.length * this.msPerName);
    const failed = targets.filter((target) => formatPrefix(target).startsWith('10.64.9.'));
    if (failed.length === 0) return;
    const errorOf = (target: IpPrefix) => new RblError('RBL_HTTP_STATUS', `api: unexpected status 500 for ${formatPrefix(target)}`, { transient: true });
    throw new TargetFailures(errorOf(failed[0]!), targets.filter((target) => !failed.includes(target)), new Map(failed.map((target) => [target, errorOf(target)])), undefined);
  }
}

describe('held jobs beside new ones', () => {
  it('a call of held jobs alone, however long, holds back no new Stop', async () => {
    const api = new PerNameApi('api', ['rbl.example.net']);
    api.msPerName = 10;
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 300, maxMs: 300 }, random: () => 1, requestPollMs: 20 });
    // An Accounting-On of 400 addresses, one of which the API fails.
    const accountingOn = [...Array.from({ length: 399 }, (_, i) => `10.64.${1 + (i >> 8)}.${i & 255}`), '10.64.9.9'];
    store.commit({ unlist: unlist(...accountingOn) }, { trackDelivery: true }).done.catch(() => undefined);
    await waitUntil(() => retries().length === 1, 8000);
    // Its retry, alone, is under way (some 4 s).
    await waitUntil(() => api.calls.length === 2, 8000);
    const fresh = store.commit({ unlist: unlist('10.64.5.1') }, { trackDelivery: true });
    expect(await within(fresh.done, 2000)).toBe('settled');
  });

  it('a Stop after a restart goes before the jobs the last run held, which the new run takes for new', async () => {
    http.server.respondWith((request) => ({ status: request.url.includes('ip=10.64.9.') ? 500 : 204 }));
    const config = { url: `${http.server.origin}/v1/{name}?ip={address}` };
    const options = { maxSessionAgeMs: 86_400_000, backoff: { baseMs: 1000, maxMs: 60_000 }, random: () => 1, requestPollMs: 20 };
    const first = await state.open({ backends: [http.backend(config)], ...options });
    for (let i = 0; i < 20; i++) {
      first.commit({ unlist: unlist(`10.64.9.${i}`) }, { trackDelivery: true }).done.catch(() => undefined);
      await first.commit({ unlist: unlist(`10.64.3.${i}`) }, { trackDelivery: true }).done;
    }
    expect(first.depth()).toBe(20);
    await first.close();
    const store = await state.open({ backends: [http.backend(config)], ...options });
    const fresh = store.commit({ unlist: unlist('10.64.5.1') }, { trackDelivery: true });
    // One call of four old ones, a first-step pause (1 s), then the Stop before the other sixteen.
    expect(await within(fresh.done, 2500)).toBe('settled');
  });

  it('queue list shows a held job left out of a call that restarted the held wait with the new wait', async () => {
    const api = new PerNameApi('api', ['rbl.example.net']);
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 1000, maxMs: 4000 }, random: () => 1, concurrency: 1, maxTargetsPerCall: 8, requestPollMs: 20 });
    // Two held jobs, H1 and H2, from one call.
    const h1 = store.commit({ unlist: unlist('10.64.9.1') }, { trackDelivery: true });
    const h2 = store.commit({ unlist: unlist('10.64.9.2') }, { trackDelivery: true });
    for (const commit of [h1, h2]) commit.done.catch(() => undefined);
    await store.commit({ unlist: unlist('10.64.0.3') }, { trackDelivery: true }).done;
    await waitUntil(() => retries().length >= 2, 2000);
    // A backlog fills the calls: when the wait ends (1 s), a call takes new jobs and H1 alone, its share.
    let release: () => void = () => undefined;
    api.gate = new Promise<void>((resolve) => (release = resolve));
    store.commit({ unlist: unlist('10.64.0.4') }, { trackDelivery: true }).done.catch(() => undefined);
    await waitUntil(() => api.calls.length === 2, 2000);
    for (let i = 0; i < 20; i++) store.commit({ unlist: unlist(`10.64.4.${i}`) }, { trackDelivery: true }).done.catch(() => undefined);
    await sleep(1100);
    api.gate = Promise.resolve();
    release();
    await waitUntil(() => api.calls.some((call) => call.targets.includes('10.64.9.1') && call.targets.length > 1), 3000);
    await waitUntil(() => retries().some((event) => event.attempt === 2), 3000);
    expect(api.calls.filter((call) => call.targets.includes('10.64.9.2'))).toHaveLength(1);
    const view = store.deliveryAttempts().find((delivery) => delivery.id === Number(h2.jobId))!;
    expect(view.nextTryAt).toBeGreaterThan(Date.now() + 1000);
  });
});

const status500 = (target: IpPrefix) => new RblError('RBL_HTTP_STATUS', `api: unexpected status 500 for ${formatPrefix(target)}`, { transient: true });

describe('held jobs against a slow or failing API (fourth review)', () => {
  it('one call of held jobs alone at a time, which takes no slot from a new Stop', async () => {
    const api = new FakeBackend('api', ['rbl.example.net']);
    let failAll = true;
    let msPerName = 0;
    api.unlist = async (zone, targets) => {
      api.calls.push({ zone, targets: targets.map(formatPrefix) });
      await sleep(targets.length * msPerName);
      if (failAll) throw new TargetFailures(status500(targets[0]!), [], new Map(targets.map((target) => [target, status500(target)])), undefined);
    };
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 300, maxMs: 300 }, random: () => 1, maxTargetsPerCall: 20, requestPollMs: 20 });
    for (let i = 0; i < 40; i++) store.commit({ unlist: unlist(`10.64.9.${i}`) }, { trackDelivery: true }).done.catch(() => undefined);
    await waitUntil(() => new Set(retries().flatMap((event) => event.targets)).size === 40, 3000);
    // The API recovers, slowly: 2 s a call of 20.
    failAll = false;
    msPerName = 100;
    await waitUntil(() => api.calls.length === 3, 3000);
    await sleep(100);
    // One call of held jobs under way, not two.
    expect(api.calls).toHaveLength(3);
    const fresh = store.commit({ unlist: unlist('10.64.5.1') }, { trackDelivery: true });
    expect(await within(fresh.done, 1500)).toBe('settled');
  });

  it('a call failing after a concurrent 429 does not cut the pause the API asked for', async () => {
    const api = new FakeBackend('api', ['rbl.example.net']);
    let call = 0;
    api.unlist = async (zone, targets) => {
      api.calls.push({ zone, targets: targets.map(formatPrefix) });
      const n = call++;
      if (n === 0) {
        const busy = new RblError('RBL_HTTP_STATUS', 'api: unexpected status 429', { transient: true, retryAfterMs: 3000 });
        throw new TargetFailures(busy, [], new Map([[targets[0]!, busy]]), busy);
      }
      if (n === 1) {
        await sleep(50);
        throw new TargetFailures(status500(targets[0]!), [], new Map(targets.slice(0, 4).map((target) => [target, status500(target)])), undefined);
      }
    };
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 100, maxMs: 10_000 }, random: () => 1, maxTargetsPerCall: 10, requestPollMs: 20 });
    for (let i = 0; i < 20; i++) store.commit({ unlist: unlist(`10.64.3.${i}`) }, { trackDelivery: true }).done.catch(() => undefined);
    await waitUntil(() => call >= 2, 2000);
    await sleep(1000);
    expect(call).toBe(2);
    expect(retries().map((event) => event.attempt)).not.toContain(0);
  });

  it('an API answering 500 to every name gets no more requests than a dead one, give or take', async () => {
    const count = async (status: number): Promise<number> => {
      http.server.respondWith(() => ({ status }));
      const api = http.backend({ url: `${http.server.origin}/v1/{name}?ip={address}` });
      const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 100, maxMs: 60_000 }, random: () => 1, maxTargetsPerCall: 20, requestPollMs: 20 });
      const before = http.server.requests.length;
      for (let i = 0; i < 1000; i++) store.commit({ unlist: unlist(`10.${64 + (i >> 8)}.3.${i & 255}`) }, { trackDelivery: true }).done.catch(() => undefined);
      await sleep(3000);
      const sent = http.server.requests.length - before;
      await store.close();
      return sent;
    };
    const dead = await count(503);
    const allFail = await count(500);
    expect(allFail).toBeLessThanOrEqual(dead * 2);
  }, 15_000);
});
