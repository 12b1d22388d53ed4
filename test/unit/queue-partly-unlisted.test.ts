/**
 * An HTTP API takes one request per name, and may fail one name for itself (a 500 for that row
 * alone) while it takes the others. The jobs of the names it took are delivered; the failing one
 * waits on its own backoff and the lane goes on, so it never holds back the unlists queued behind
 * it (their addresses would stay listed for the next customers).
 */
import { describe, expect, it } from 'vitest';
import { PartlyUnlisted } from '../../src/backends/partly-unlisted.js';
import { RblError } from '../../src/errors.js';
import { formatPrefix, type IpPrefix } from '../../src/net/address.js';
import type { QueueEvent } from '../../src/queue/events.js';
import { FakeBackend, useStateDir, waitUntil } from '../helpers/state-store.js';

const state = useStateDir('partly-unlisted');

/** Fails the names in `failing` as an HTTP backend does: the others of the call are unlisted. */
class OneNameFails extends FakeBackend {
  readonly failing = new Set<string>();
  transient = true;
  /** Targets of calls that went through, or of the part of a call that did. */
  readonly unlisted: string[] = [];
  gate: Promise<void> = Promise.resolve();
  /** Makes the error the API's answer would be. */
  shape: (error: RblError) => RblError = (error) => error;

  override async unlist(zone: string, targets: readonly IpPrefix[]): Promise<void> {
    this.calls.push({ zone, targets: targets.map(formatPrefix) });
    await this.gate;
    const failed = targets.filter((target) => this.failing.has(formatPrefix(target)));
    const unlisted = targets.filter((target) => !failed.includes(target));
    this.unlisted.push(...unlisted.map(formatPrefix));
    if (failed.length === 0) return;
    const error = this.shape(new RblError('RBL_HTTP_STATUS', `api: unexpected status 500 for ${failed.map(formatPrefix).join(', ')}`, { transient: this.transient }));
    throw unlisted.length > 0 ? new PartlyUnlisted(error, unlisted) : error;
  }
}

function unlist(address: string) {
  return { targets: [address], reason: { event: 'stop', client: 'ras1', nas: '192.0.2.10', sessionId: `s-${address}` }, createdAt: Date.now() };
}

const retries = (): Extract<QueueEvent, { type: 'retry-scheduled' }>[] => state.events.filter((event) => event.type === 'retry-scheduled');

describe('a call the backend did in part', () => {
  it('delivers the jobs whose names went through and retries only the failing one, which holds back nothing queued behind it', async () => {
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

    // Failing alone after its backoff, it waits again on its own, longer: the lane is not paused.
    await waitUntil(() => api.calls.some((call) => call.targets.length === 1 && call.targets[0] === '10.64.9.9'), 5000);
    await waitUntil(() => retries().length === 2, 2000);
    const later = store.commit({ unlist: unlist('10.64.5.1') }, { trackDelivery: true });
    await later.done;
    const laterCall = api.calls.find((call) => call.targets.includes('10.64.5.1'))!;
    expect(laterCall.targets).toEqual(['10.64.5.1']);
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

  it('pauses the lane as before when the API takes none of a call', async () => {
    const api = new OneNameFails('api', ['rbl.example.net']);
    api.failing.add('10.64.9.9').add('10.64.9.8');
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 20, maxMs: 40 }, concurrency: 1, requestPollMs: 20 });
    const commits = ['10.64.9.9', '10.64.9.8'].map((address) => store.commit({ unlist: unlist(address) }, { trackDelivery: true }));
    await waitUntil(() => retries().length >= 2, 5000);
    // The whole call went back, with the lane's failure count.
    expect(retries()[0]!.targets.sort()).toEqual(['10.64.9.8', '10.64.9.9']);
    expect(retries()[1]!.attempt).toBe(2);
    api.failing.clear();
    await Promise.all(commits.map((commit) => commit.done));
    expect(store.deadLetterCount()).toBe(0);
  });

  it('waits as long as the API asks in Retry-After, up to the backoff maximum, the lane and a held name alike', async () => {
    const api = new OneNameFails('api', ['rbl.example.net']);
    api.failing.add('10.64.9.9');
    const asked = (ms: number) => (error: RblError) => new RblError(error.code, error.message, { transient: true, retryAfterMs: ms });
    api.shape = asked(400);
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 10, maxMs: 1000 }, concurrency: 1, requestPollMs: 20 });
    const alone = store.commit({ unlist: unlist('10.64.9.9') }, { trackDelivery: true });
    await waitUntil(() => retries().length === 1, 2000);
    expect(retries()[0]!.delayMs).toBe(400);
    // Held after others of its call went through: its own wait too.
    api.shape = asked(1_000_000);
    await waitUntil(() => retries().length === 2, 2000);
    store.commit({ unlist: unlist('10.64.3.1') }, { trackDelivery: true });
    await waitUntil(() => retries().length === 3, 5000);
    expect(retries()[1]!.delayMs).toBe(1000);
    expect(retries()[2]!.delayMs).toBe(1000);
    api.failing.clear();
    await alone.done;
  });
});
