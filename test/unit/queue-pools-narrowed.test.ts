/**
 * The store when the pools narrow under pending unlists (a reload, or a start on a changed config):
 * an address outside the configured pools is never unlisted, also when its unlist was queued
 * before. What is still allowed is sent, the rest dropped and said, and a restart keeps it so.
 */
import type { FileHandle } from 'node:fs/promises';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { poolPolicy } from '../../src/accounting/policy.js';
import { RblError } from '../../src/errors.js';
import { parsePrefix } from '../../src/net/address.js';
import { listQueue, retryDeadLetters } from '../../src/queue/admin.js';
import type { Backend } from '../../src/backends/types.js';
import type { StateStoreOptions } from '../../src/queue/store-open.js';
import { fileHandlePrototype } from '../helpers/disk.js';
import { FakeBackend, never, useStateDir, waitUntil } from '../helpers/state-store.js';

const ZONE = 'rbl.example.net';
const BOTH = poolPolicy(['10.64.0.0/16', '10.65.0.0/16'].map((text) => parsePrefix(text)), []);
const NARROWED = poolPolicy([parsePrefix('10.64.0.0/16')], []);

function unlist(targets: string[], event = 'stop') {
  return { targets, reason: { event, client: 'ras1', nas: '192.0.2.10', sessionId: `s-${targets[0]}` }, createdAt: Date.now() };
}

const state = useStateDir('pools-narrowed');
let fileHandle: FileHandle;
beforeAll(async () => {
  fileHandle = await fileHandlePrototype();
});
afterEach(() => vi.restoreAllMocks());

function open(backends: Backend[], options: Partial<StateStoreOptions> = {}) {
  return state.open({ backends, maxSessionAgeMs: 86_400_000, backoff: { baseMs: 20, maxMs: 80 }, requestPollMs: 20, closeGraceMs: 10, mayUnlist: BOTH, ...options });
}

function silent(): FakeBackend {
  const backend = new FakeBackend('bind', [ZONE]);
  backend.behaviour = never;
  return backend;
}

describe('pending unlists when the pools narrow', () => {
  it('sends only what the new pools allow: a job outside is dropped, a job partly outside goes on with the rest', async () => {
    const held = new FakeBackend('bind', [ZONE]);
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    held.behaviour = () => released;
    const store = await open([held]);
    // The first is in flight; the others wait behind it.
    const first = store.commit({ unlist: unlist(['10.64.0.1']) });
    await waitUntil(() => held.calls.length === 1, 5000);
    const outside = store.commit({ unlist: unlist(['10.65.0.7']) }, { trackDelivery: true });
    const mixed = store.commit({ unlist: unlist(['10.64.0.2', '10.65.0.8'], 'accounting-on') }, { trackDelivery: true });
    await Promise.all([outside.recorded, mixed.recorded]);

    store.setMayUnlist(NARROWED);
    // The NAS waiting on the dropped one (state.ack: unlisted) is answered: nothing is left to do.
    await outside.done;
    release();
    await Promise.all([first.done, mixed.done]);
    expect(held.delivered(ZONE)).toEqual(['10.64.0.1', '10.64.0.2']);
    expect(state.events.filter((event) => event.type === 'pending-outside-pools')).toEqual([{ type: 'pending-outside-pools', targets: ['10.65.0.7', '10.65.0.8'], jobs: 2 }]);
    expect(store.depth()).toBe(0);
  });

  it.each([
    ['transient', () => new RblError('RBL_DNS_TIMEOUT', 'no answer', { transient: true })],
    ['permanent', () => new RblError('RBL_DNS_REFUSED', 'refused')],
  ] as const)('forgets a dropped job whose call was in flight and then failed (%s): no attempt, no dead letter, no retry of it', async (_, failure) => {
    const held = new FakeBackend('bind', [ZONE]);
    let fail: () => void = () => undefined;
    const failed = new Promise<void>((_resolve, reject) => (fail = () => reject(failure())));
    failed.catch(() => undefined);
    held.behaviour = () => failed;
    const store = await open([held], { backoff: { baseMs: 60_000, maxMs: 60_000 } });
    await store.commit({ unlist: unlist(['10.65.4.1']) }).recorded;
    await waitUntil(() => held.calls.length === 1, 5000);
    store.setMayUnlist(NARROWED);
    expect(store.depth()).toBe(0);
    fail();
    await waitUntil(() => state.events.some((event) => event.type === 'retry-scheduled' || event.type === 'dead-lettered'), 1000).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(store.deliveryAttempts()).toEqual([]);
    expect(state.events.filter((event) => event.type === 'retry-scheduled' || event.type === 'dead-lettered')).toEqual([]);
    expect(store.deadLetterCount()).toBe(0);
    expect(held.calls).toHaveLength(1);
  });

  it('drops them at a start on a changed config, and the journal keeps the drop through a crash', async () => {
    let store = await open([silent()]);
    const commits = [['10.64.1.1'], ['10.65.1.1'], ['10.64.1.2', '10.65.1.2']].map((targets) => store.commit({ unlist: unlist(targets) }));
    await Promise.all(commits.map((commit) => commit.recorded));
    await store.close();

    store = await open([silent()], { mayUnlist: NARROWED });
    expect(state.events.filter((event) => event.type === 'pending-outside-pools')).toMatchObject([{ targets: ['10.65.1.1', '10.65.1.2'], jobs: 2 }]);
    await store.committed();
    // Closed without a compaction, as after a kill; opened again with the pools of before: what was dropped stays dropped.
    await store.close();
    state.events = [];
    store = await open([silent()]);
    const listing = await listQueue(state.dir);
    expect(listing.pending.map((entry) => entry.targets)).toEqual([['10.64.1.1'], ['10.64.1.2']]);
    expect(state.events.some((event) => event.type === 'pending-outside-pools')).toBe(false);
  });

  it('drops a re-driven dead letter whose address the pools no longer hold', async () => {
    const refusing = new FakeBackend('bind', [ZONE]);
    refusing.behaviour = () => {
      throw new RblError('RBL_DNS_REFUSED', 'REFUSED by 127.0.0.1:5301');
    };
    const store = await open([refusing]);
    store.commit({ unlist: unlist(['10.65.2.1']) });
    await waitUntil(() => store.deadLetterCount() === 1, 5000);
    store.setMayUnlist(NARROWED);
    expect(store.deadLetterCount()).toBe(1);
    const calls = refusing.calls.length;

    expect(await retryDeadLetters(state.dir)).toMatchObject({ count: 1, via: 'service' });
    await waitUntil(() => state.events.some((event) => event.type === 'pending-outside-pools'), 5000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(refusing.calls.length).toBe(calls);
    expect(store.depth()).toBe(0);
    expect(store.deadLetterCount()).toBe(0);
  });

  it('narrows again once a journal that failed is rebuilt: a narrowing while the disk was full never reached it', async () => {
    let full = false;
    const write = fileHandle.write;
    vi.spyOn(fileHandle, 'write').mockImplementation(function (this: FileHandle, ...args: unknown[]) {
      if (full) return Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
      return (write as (...given: unknown[]) => Promise<unknown>).apply(this, args);
    } as typeof fileHandle.write);
    const held = new FakeBackend('bind', [ZONE]);
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    held.behaviour = () => released;
    const store = await open([held], { recoveryMs: 20, concurrency: 1 });
    const first = store.commit({ unlist: unlist(['10.64.3.1']) });
    await waitUntil(() => held.calls.length === 1, 5000);
    await store.commit({ unlist: unlist(['10.65.3.7']) }).recorded;
    full = true;
    await expect(store.commit({ unlist: unlist(['10.64.3.9']) }).recorded).rejects.toBeDefined();
    expect(store.health().writable).toBe(false);
    store.setMayUnlist(NARROWED);
    full = false;
    await waitUntil(() => store.health().writable, 5000);
    release();
    await first.recorded;
    await waitUntil(() => store.depth() === 0, 5000);
    expect(held.delivered(ZONE)).not.toContain('10.65.3.7');
    expect(state.events.filter((event) => event.type === 'pending-outside-pools').at(-1)).toMatchObject({ targets: ['10.65.3.7'] });
  });
});
