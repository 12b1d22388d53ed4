/**
 * A reload that gives a lane a new backend (the DNS server is back, on another address or with
 * another key) retries that lane at once: its pause was the old server's. A lane whose backend
 * did not change keeps its pause.
 */
import { describe, expect, it } from 'vitest';
import { RblError } from '../../src/errors.js';
import { FakeBackend, useStateDir, waitUntil } from '../helpers/state-store.js';

const refusedConnection = () => new RblError('RBL_DNS_TIMEOUT', 'no answer from 127.0.0.1:9', { transient: true });

function unlist(address: string) {
  return { targets: [address], reason: { event: 'stop', client: 'ras1', nas: '192.0.2.10', sessionId: `s-${address}` }, createdAt: Date.now() };
}

const state = useStateDir('lane-reload');

/** A backend that fails every call, as one whose server is down. */
function down(name: string, zones: string[]): FakeBackend {
  const backend = new FakeBackend(name, zones);
  backend.behaviour = () => {
    throw refusedConnection();
  };
  return backend;
}

describe('a reload that changes a lane backend', () => {
  it('retries the lane at once instead of waiting out the backoff of the old server', async () => {
    const old = down('bind', ['rbl.example.net']);
    // A pause of 30 to 60 s after the first failure: far longer than this test may take.
    const store = await state.open({ backends: [old], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 60_000, maxMs: 60_000 } });
    const commit = store.commit({ unlist: unlist('10.64.1.1') });
    await waitUntil(() => state.events.some((event) => event.type === 'retry-scheduled'), 5000);
    const [pause] = store.deliveryAttempts();
    expect(pause!.nextTryAt! - Date.now()).toBeGreaterThan(20_000);

    const back = new FakeBackend('bind', ['rbl.example.net']);
    store.setBackends([back]);
    await waitUntil(() => back.calls.length > 0, 5000);
    await commit.done;
    expect(back.delivered('rbl.example.net')).toEqual(['10.64.1.1']);
    expect(store.deliveryAttempts()).toEqual([]);
  });

  it('starts the backoff of the new backend afresh when it fails too', async () => {
    const store = await state.open({ backends: [down('bind', ['rbl.example.net'])], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 20, maxMs: 60_000 }, random: () => 1 });
    store.commit({ unlist: unlist('10.64.1.2') });
    await waitUntil(() => state.events.filter((event) => event.type === 'retry-scheduled').length === 4, 5000);
    store.setBackends([down('bind', ['rbl.example.net'])]);
    await waitUntil(() => state.events.filter((event) => event.type === 'retry-scheduled').length === 5, 5000);
    const attempts = state.events.flatMap((event) => (event.type === 'retry-scheduled' ? [[event.attempt, event.delayMs]] : []));
    expect(attempts).toEqual([
      [1, 20],
      [2, 40],
      [3, 80],
      [4, 160],
      [1, 20],
    ]);
  });

  it('leaves a lane whose backend did not change paused, while the changed lane delivers', async () => {
    const steady = down('steady', ['rbl.example.net']);
    const moved = down('moved', ['rbl.example.net']);
    const store = await state.open({ backends: [steady, moved], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 60_000, maxMs: 60_000 } });
    store.commit({ unlist: unlist('10.64.1.3') });
    await waitUntil(() => state.events.filter((event) => event.type === 'retry-scheduled').length === 2, 5000);
    const steadyCalls = steady.calls.length;

    const back = new FakeBackend('moved', ['rbl.example.net']);
    store.setBackends([steady, back]);
    await waitUntil(() => state.events.some((event) => event.type === 'delivered' && event.backend === 'moved'), 5000);
    expect(back.delivered('rbl.example.net')).toEqual(['10.64.1.3']);
    expect(steady.calls.length).toBe(steadyCalls);
    expect(store.deliveryAttempts()).toEqual([expect.objectContaining({ lane: 'steady\nrbl.example.net', attempts: 1, nextTryAt: expect.any(Number) })]);
  });

  it('does not pause the lane when a call to the replaced backend fails after the reload, and retries its jobs with the new one', async () => {
    const old = new FakeBackend('bind', ['rbl.example.net']);
    let fail: () => void = () => undefined;
    const failed = new Promise<void>((resolve) => (fail = resolve));
    old.behaviour = async () => {
      await failed;
      throw refusedConnection();
    };
    const store = await state.open({ backends: [old], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 60_000, maxMs: 60_000 } });
    const hanging = store.commit({ unlist: unlist('10.64.1.4') });
    await waitUntil(() => old.calls.length === 1, 5000);

    const back = new FakeBackend('bind', ['rbl.example.net']);
    store.setBackends([back]);
    await store.commit({ unlist: unlist('10.64.1.5') }).done;
    expect(back.delivered('rbl.example.net')).toEqual(['10.64.1.5']);

    fail();
    await waitUntil(() => back.calls.length === 2, 5000);
    await hanging.done;
    expect(back.delivered('rbl.example.net')).toEqual(['10.64.1.5', '10.64.1.4']);
    expect(state.events.filter((event) => event.type === 'retry-scheduled')).toMatchObject([{ targets: ['10.64.1.4'], delayMs: 0, attempt: 0 }]);
  });

  it('sends again with the new backend what the replaced backend did after the reload (the zone primary moved), and records it delivered once', async () => {
    const old = new FakeBackend('bind', ['rbl.example.net']);
    let oldAnswers: () => void = () => undefined;
    old.behaviour = () => new Promise<void>((resolve) => (oldAnswers = resolve));
    const store = await state.open({ backends: [old], maxSessionAgeMs: 86_400_000 });
    const job = store.commit({ unlist: unlist('10.64.4.1') });
    await waitUntil(() => old.calls.length === 1, 5000);

    const moved = new FakeBackend('bind', ['rbl.example.net']);
    store.setBackends([moved]);
    oldAnswers();
    await job.done;
    expect(moved.delivered('rbl.example.net')).toEqual(['10.64.4.1']);
    expect(state.events.filter((event) => event.type === 'delivered')).toHaveLength(1);
    expect(state.events.some((event) => event.type === 'retry-scheduled')).toBe(false);
    expect(store.depth()).toBe(0);
  });

  it('does not dead-letter a job when the replaced backend refuses it for good after the reload (the old token), and delivers it with the new one', async () => {
    const old = new FakeBackend('api', ['rbl.example.net']);
    let refuse: () => void = () => undefined;
    const refused = new Promise<void>((resolve) => (refuse = resolve));
    old.behaviour = async () => {
      await refused;
      throw new RblError('RBL_HTTP_AUTH', 'api: 401 from https://rbl.example.net/v1/delist: the token was refused', { transient: false });
    };
    const store = await state.open({ backends: [old], maxSessionAgeMs: 86_400_000 });
    const job = store.commit({ unlist: unlist('10.64.3.1') });
    await waitUntil(() => old.calls.length === 1, 5000);

    const fixed = new FakeBackend('api', ['rbl.example.net']);
    store.setBackends([fixed]);
    refuse();
    await job.done;
    expect(fixed.delivered('rbl.example.net')).toEqual(['10.64.3.1']);
    expect(state.events.some((event) => event.type === 'dead-lettered')).toBe(false);
    expect(store.depth()).toBe(0);
  });

  it('sends to the new backend at once while calls to the replaced one still hang (they hold none of its slots)', async () => {
    const old = new FakeBackend('bind', ['rbl.example.net']);
    old.behaviour = () => new Promise<void>(() => undefined);
    // Two names a call: a second call starts as soon as one job waits behind the first.
    const store = await state.open({ backends: [old], maxSessionAgeMs: 86_400_000, maxTargetsPerCall: 2 });
    store.commit({ unlist: unlist('10.64.5.1') });
    await waitUntil(() => old.calls.length === 1, 5000);
    store.commit({ unlist: unlist('10.64.5.2') });
    store.commit({ unlist: unlist('10.64.5.3') });
    await waitUntil(() => old.calls.length === 2, 5000);

    const back = new FakeBackend('bind', ['rbl.example.net']);
    store.setBackends([back]);
    store.commit({ unlist: unlist('10.64.5.4') });
    await waitUntil(() => back.calls.length === 1, 5000);
    expect(back.delivered('rbl.example.net')).toEqual(['10.64.5.4']);
  });

  it('holds a small batch back for a call in flight to the new backend, not for one to the old', async () => {
    const old = new FakeBackend('bind', ['rbl.example.net']);
    let oldAnswers: () => void = () => undefined;
    const oldAnswered = new Promise<void>((resolve) => (oldAnswers = resolve));
    old.behaviour = () => oldAnswered;
    const store = await state.open({ backends: [old], maxSessionAgeMs: 86_400_000 });
    const first = store.commit({ unlist: unlist('10.64.2.1') });
    await waitUntil(() => old.calls.length === 1, 5000);

    const back = new FakeBackend('bind', ['rbl.example.net']);
    let newAnswers: () => void = () => undefined;
    const newAnswered = new Promise<void>((resolve) => (newAnswers = resolve));
    back.behaviour = () => newAnswered;
    store.setBackends([back]);
    const second = store.commit({ unlist: unlist('10.64.2.2') });
    await waitUntil(() => back.calls.length === 1, 5000);
    // The old call ends (its job goes again, to the new backend); the new backend's call is still
    // under way, and what is waiting is small, so it waits for that call.
    oldAnswers();
    const third = store.commit({ unlist: unlist('10.64.2.3') });
    await third.recorded;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(back.calls.map((call) => call.targets)).toEqual([['10.64.2.2']]);
    newAnswers();
    await Promise.all([first.done, second.done, third.done]);
    expect(back.calls.map((call) => call.targets)).toEqual([['10.64.2.2'], ['10.64.2.1', '10.64.2.3']]);
  });
});
