/**
 * A backend that leaves the config with unlists pending: removed, or renamed because its `server`
 * changed without a `name`. What it had pending goes to the backends that serve the same zone now,
 * through a reload and through a restart, and survives a crash after the handover; a zone no
 * backend serves keeps it as a dead letter, for `queue retry` once a backend serves it again.
 */
import { describe, expect, it } from 'vitest';
import { dropDeadLetters, listQueue, retryDeadLetters } from '../../src/queue/admin.js';
import { RblError } from '../../src/errors.js';
import type { Backend } from '../../src/backends/types.js';
import type { StateStoreOptions } from '../../src/queue/store-open.js';
import { FakeBackend, never, useStateDir, waitUntil } from '../helpers/state-store.js';

const ZONE = 'rbl.example.net';
const OTHER_ZONE = 'rbl6.example.net';

function unlist(address: string) {
  return { targets: [address], reason: { event: 'stop', client: 'ras1', nas: '192.0.2.10', sessionId: `s-${address}` }, createdAt: Date.now() };
}

const state = useStateDir('backend-left');

function open(backends: Backend[], options: Partial<StateStoreOptions> = {}) {
  return state.open({ backends, maxSessionAgeMs: 86_400_000, backoff: { baseMs: 20, maxMs: 80 }, requestPollMs: 20, closeGraceMs: 10, ...options });
}

/** A backend whose server does not answer: what it is given stays pending. */
function silent(name: string, zones = [ZONE]): FakeBackend {
  const backend = new FakeBackend(name, zones);
  backend.behaviour = never;
  return backend;
}

describe('a backend that leaves the config with unlists pending', () => {
  it('hands them on a reload to the backend that serves the zone now, and the waiting request is answered after that one unlists', async () => {
    const old = silent('dns-update 127.0.0.1:5301');
    const store = await open([old]);
    const request = unlist('10.64.6.1');
    const commit = store.commit({ unlist: request }, { trackDelivery: true });
    await commit.recorded;
    let answered = false;
    void commit.done.then(() => (answered = true));

    const renamed = new FakeBackend('dns-update 127.0.0.1:5302');
    let answer: () => void = () => undefined;
    const answers = new Promise<void>((resolve) => (answer = resolve));
    renamed.behaviour = () => answers;
    store.setBackends([renamed]);
    await waitUntil(() => renamed.calls.length === 1, 5000);
    expect(renamed.delivered(ZONE)).toEqual(['10.64.6.1']);
    expect(state.events.find((event) => event.type === 'delivery-handed-over')).toMatchObject({
      backend: 'dns-update 127.0.0.1:5301',
      zone: ZONE,
      to: ['dns-update 127.0.0.1:5302'],
      // A new job for the new backend, with the event and time of the one it continues.
      jobs: [{ targets: ['10.64.6.1'], reason: { event: 'stop', sessionId: 's-10.64.6.1' }, createdAt: request.createdAt }],
    });
    const [handedOver] = state.events.flatMap((event) => (event.type === 'delivery-handed-over' ? event.jobs : []));
    expect(Number(handedOver!.id)).toBeGreaterThan(Number(commit.jobId));
    expect(state.events.some((event) => event.type === 'delivery-dropped')).toBe(false);
    // With state.ack: unlisted the NAS waits for the unlist: not for the backend that left, for its heir.
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(answered).toBe(false);

    answer();
    await commit.done;
    expect(store.depth()).toBe(0);
    // And new jobs go to it as to any backend.
    await store.commit({ unlist: unlist('10.64.6.2') }).done;
    expect(renamed.delivered(ZONE)).toEqual(['10.64.6.1', '10.64.6.2']);
  });

  it('hands them over at a start whose config renamed the backend, and keeps the handover through a crash', async () => {
    let store = await open([silent('dns-update 127.0.0.1:5301')]);
    const commits = ['10.64.7.1', '10.64.7.2'].map((address) => store.commit({ unlist: unlist(address) }));
    await Promise.all(commits.map((commit) => commit.recorded));
    await store.close();

    store = await open([silent('dns-update 127.0.0.1:5302')]);
    expect(state.events.filter((event) => event.type === 'delivery-handed-over')).toMatchObject([{ backend: 'dns-update 127.0.0.1:5301', to: ['dns-update 127.0.0.1:5302'], jobs: [{}, {}] }]);
    await store.committed();
    const listing = await listQueue(state.dir);
    expect(listing.pending.map((entry) => [entry.targets, entry.reason.sessionId, entry.backend])).toEqual([
      [['10.64.7.1'], 's-10.64.7.1', 'dns-update 127.0.0.1:5302'],
      [['10.64.7.2'], 's-10.64.7.2', 'dns-update 127.0.0.1:5302'],
    ]);
    // Closed without a compaction, as after a kill: the next start replays the handover record.
    await store.close();

    state.events = [];
    const heir = new FakeBackend('dns-update 127.0.0.1:5302');
    store = await open([heir]);
    await waitUntil(() => store.depth() === 0, 5000);
    expect(heir.delivered(ZONE).sort()).toEqual(['10.64.7.1', '10.64.7.2']);
    expect(state.events.some((event) => event.type === 'delivery-handed-over' || event.type === 'delivery-dropped')).toBe(false);
  });

  it('gives each zone to the backends that serve it, and keeps what no backend serves as a dead letter', async () => {
    const store = await open([silent('old', [ZONE, OTHER_ZONE])]);
    const commit = store.commit({ unlist: unlist('10.64.8.1') });
    await commit.recorded;

    const primary = new FakeBackend('primary', [ZONE]);
    const api = new FakeBackend('api', [ZONE]);
    store.setBackends([primary, api]);
    await waitUntil(() => store.depth() === 0, 5000);
    expect(primary.delivered(ZONE)).toEqual(['10.64.8.1']);
    expect(api.delivered(ZONE)).toEqual(['10.64.8.1']);
    expect(state.events.filter((event) => event.type === 'delivery-handed-over')).toMatchObject([{ backend: 'old', zone: ZONE, to: ['primary', 'api'] }]);
    expect(state.events.filter((event) => event.type === 'delivery-unserved')).toMatchObject([
      { backend: 'old', zone: OTHER_ZONE, jobs: [{ id: commit.jobId }], error: { code: 'RBL_BACKEND_REMOVED' } },
    ]);
    expect(state.events.some((event) => event.type === 'delivery-dropped')).toBe(false);
    expect(store.deadLetterCount()).toBe(1);
  });

  it('loses nothing when a reload takes away the only backend of a zone: a dead letter through restarts, sent by queue retry once the zone is served again', async () => {
    // A config read half-written: backend b, the only one of OTHER_ZONE, is missing from it.
    let store = await open([new FakeBackend('a', [ZONE]), silent('b', [OTHER_ZONE])]);
    const commit = store.commit({ unlist: unlist('10.64.11.1') });
    await commit.recorded;
    store.setBackends([new FakeBackend('a', [ZONE])]);
    await waitUntil(() => store.depth() === 0, 5000);
    expect(store.deadLetterCount()).toBe(1);
    await store.close();

    store = await open([new FakeBackend('a', [ZONE])]);
    const listing = await listQueue(state.dir);
    expect(listing.dead).toMatchObject([
      { id: commit.jobId, targets: ['10.64.11.1'], backend: 'b', zone: OTHER_ZONE, code: 'RBL_BACKEND_REMOVED', message: `no backend in the config serves zone ${OTHER_ZONE} any more (b left the config)` },
    ]);
    // A retry while the zone is still unserved keeps it, as a dead letter again.
    expect(await retryDeadLetters(state.dir)).toMatchObject({ count: 1, via: 'service' });
    await waitUntil(() => store.deadLetterCount() === 1 && store.depth() === 0, 5000);
    await store.close();

    // The whole file again: b is back. The dead letter waits for the operator, then goes.
    const back = new FakeBackend('b', [OTHER_ZONE]);
    store = await open([new FakeBackend('a', [ZONE]), back]);
    expect(store.deadLetterCount()).toBe(1);
    expect(back.calls).toEqual([]);
    expect(await retryDeadLetters(state.dir)).toMatchObject({ count: 1, via: 'service' });
    await waitUntil(() => store.depth() === 0 && store.deadLetterCount() === 0, 5000);
    expect(back.delivered(OTHER_ZONE)).toEqual(['10.64.11.1']);
  });

  it('does not send a job twice to the backend that was beside the one that left', async () => {
    const kept = silent('kept');
    const store = await open([kept, silent('left')]);
    const commit = store.commit({ unlist: unlist('10.64.9.1') });
    await waitUntil(() => kept.calls.length === 1, 5000);

    store.setBackends([kept]);
    await commit.recorded;
    expect(state.events.filter((event) => event.type === 'delivery-dropped')).toMatchObject([{ backend: 'left', zone: ZONE }]);
    expect(state.events.some((event) => event.type === 'delivery-handed-over')).toBe(false);
    expect(store.depth()).toBe(1);
    expect(kept.calls).toHaveLength(1);
  });

  it('sends a re-driven dead letter of a backend that left to the one that serves its zone', async () => {
    const refusing = new FakeBackend('left');
    refusing.behaviour = () => {
      throw new RblError('RBL_DNS_REFUSED', 'REFUSED by 127.0.0.1:5301');
    };
    const store = await open([refusing]);
    const commit = store.commit({ unlist: unlist('10.64.10.1') });
    await waitUntil(() => store.deadLetterCount() === 1, 5000);

    const heir = new FakeBackend('heir');
    store.setBackends([heir]);
    // A dead letter stays where it was until the operator decides.
    expect(store.deadLetterCount()).toBe(1);
    expect(heir.calls).toEqual([]);

    expect(await retryDeadLetters(state.dir, [commit.jobId!])).toMatchObject({ count: 1, via: 'service' });
    await waitUntil(() => heir.calls.length === 1 && store.depth() === 0, 5000);
    expect(heir.delivered(ZONE)).toEqual(['10.64.10.1']);
    expect(state.events.filter((event) => event.type === 'delivery-handed-over')).toMatchObject([{ backend: 'left', to: ['heir'] }]);
    expect(await dropDeadLetters(state.dir)).toMatchObject({ count: 0 });
  });
});
