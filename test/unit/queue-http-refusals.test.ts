/**
 * What an HTTP API's refusals make of the unlists, and what they must not: dead letters for a
 * failure of the whole route, each waiting for `queue retry` while the next customers inherit the
 * listings. An HTTP API that rejects the key (401) rejects it for every name: a token rotated on the API
 * before token_file, or one that expired overnight. None of the unlists becomes a dead letter for
 * it (each would wait for `queue retry` while the next customers inherit the listings): they wait,
 * retried with backoff, and go out once a reload brings the right key, as a wrong TSIG key's do. A
 * 403 may be the key's for one record only: a dead letter when the API takes other names, and
 * while it refuses every name, the unlists wait for it as for a 401. A request the API never saw (a
 * proxy that wants a login, 407, or a captive portal's redirect to its login page) waits the same
 * way. The real generic backend and PowerDNS preset against a recording node:http server on 127.0.0.1.
 */
import { describe, expect, it } from 'vitest';
import type { HttpBackendConfig } from '../../src/backends/http/config.js';
import type { Backend } from '../../src/backends/types.js';
import type { QueueEvent } from '../../src/queue/events.js';
import type { StateStore } from '../../src/queue/store-api.js';
import { useRecordingServer, type RecordedRequest } from '../helpers/http-server.js';
import { useStateDir, waitUntil } from '../helpers/state-store.js';

const state = useStateDir('http-refusals');
const http = useRecordingServer();
const ZONE = 'rbl.example.net';
const GOOD_TOKEN = 'tok-good-91c4e7';
const OLD_TOKEN = 'tok-old-3b7e20';
const ADDRESSES = ['10.64.0.1', '10.64.0.2', '10.64.0.3', '10.64.0.4', '10.64.0.5', '10.64.0.6'];

function generic(token: string): Backend {
  return http.backend({ name: 'api', zones: [ZONE], url: `${http.server.origin}/v1/zones/{zone}/entries/{name}`, token });
}

function powerDns(apiKey: string, overrides: Partial<HttpBackendConfig> = {}): Backend {
  const url = `${http.server.origin}/api/v1/servers/localhost/zones/${ZONE}.`;
  return http.backend({ name: 'pdns', zones: [ZONE], preset: 'powerdns', url, method: 'PATCH', apiKey, successStatus: [200, 204], ...overrides });
}

function unlist(address: string) {
  return { targets: [address], reason: { event: 'stop', client: 'ras1', nas: '192.0.2.10', sessionId: `s-${address}` }, createdAt: Date.now() };
}

const retries = (): Extract<QueueEvent, { type: 'retry-scheduled' }>[] => state.events.filter((event) => event.type === 'retry-scheduled');
const deadLetters = (): Extract<QueueEvent, { type: 'dead-lettered' }>[] => state.events.filter((event) => event.type === 'dead-lettered');
const delivered = (): string[] => state.events.flatMap((event) => (event.type === 'delivered' ? event.jobs.flatMap((job) => job.targets) : []));

async function openWith(backend: Backend): Promise<StateStore> {
  return state.open({ backends: [backend], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 20, maxMs: 100 }, requestPollMs: 20 });
}

/** Commits an unlist of each address; resolves with their deliveries, each settled (a dead letter rejects it). */
function commitAll(store: StateStore, addresses: readonly string[]): Promise<PromiseSettledResult<unknown>[]> {
  return Promise.allSettled(addresses.map((address) => store.commit({ unlist: unlist(address) }, { trackDelivery: true }).done));
}

/** Every unlist of ADDRESSES went out, delivered, and none became a dead letter. */
async function expectAllDelivered(store: StateStore, outcomes: Promise<PromiseSettledResult<unknown>[]>): Promise<void> {
  expect((await outcomes).map((outcome) => outcome.status)).toEqual(ADDRESSES.map(() => 'fulfilled'));
  expect(delivered().sort()).toEqual([...ADDRESSES].sort());
  expect(deadLetters()).toEqual([]);
  expect(store.depth()).toBe(0);
}

describe('an HTTP API that rejects the key', () => {
  it('keeps every unlist pending through 401s, none a dead letter, and delivers them all once a reload brings the right token', async () => {
    http.server.respondWith((request) => ({ status: request.headers.authorization === `Bearer ${GOOD_TOKEN}` ? 204 : 401 }));
    const store = await openWith(generic(OLD_TOKEN));
    const outcomes = commitAll(store, ADDRESSES);
    // Several backoffs of the lane and of the held names: the old code dead-lettered four a try.
    await waitUntil(() => retries().length >= 6, 5000);
    expect(retries()[0]!.error).toMatchObject({ code: 'RBL_HTTP_AUTH', message: expect.stringMatching(/token rejected by 127\.0\.0\.1:\d+ .*401.*check token_file/) });
    expect(deadLetters()).toEqual([]);
    expect(store.deadLetterCount()).toBe(0);
    expect(store.depth()).toBe(ADDRESSES.length);

    store.setBackends([generic(GOOD_TOKEN)]);
    await expectAllDelivered(store, outcomes);
    // Each name was deleted with the right token in the end.
    const accepted = http.server.requests.filter((request) => request.headers.authorization === `Bearer ${GOOD_TOKEN}`);
    expect(new Set(accepted.map((request) => request.url)).size).toBe(ADDRESSES.length);
  });

  it('dead-letters a name the API refuses alone (403) while it takes the others, and delivers the others', async () => {
    http.server.respondWith((request) => ({ status: request.url.includes('/entries/9.9.64.10.') ? 403 : 204 }));
    const store = await openWith(generic(GOOD_TOKEN));
    const outcomes = await commitAll(store, ['10.64.9.9', ...ADDRESSES]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', ...ADDRESSES.map(() => 'fulfilled')]);
    expect(deadLetters()).toHaveLength(1);
    expect(deadLetters()[0]!.job.targets).toEqual(['10.64.9.9']);
    expect(deadLetters()[0]!.error).toMatchObject({ code: 'RBL_HTTP_AUTH', message: expect.stringMatching(/403.*refused for this name alone, while the API took others$/) });
    expect(delivered().sort()).toEqual([...ADDRESSES].sort());
    expect(store.depth()).toBe(0);
    expect(store.deadLetterCount()).toBe(1);
  });

  it('dead-letters a refused name held alone once it is refused in a call where other names went through', async () => {
    http.server.respondWith((request) => ({ status: request.url.includes('/entries/9.9.64.10.') ? 403 : 204 }));
    const store = await openWith(generic(GOOD_TOKEN));
    // Alone in its first call, nothing else went through: held, not judged.
    const refused = store.commit({ unlist: unlist('10.64.9.9') }, { trackDelivery: true }).done.then(
      () => 'fulfilled',
      () => 'rejected',
    );
    await waitUntil(() => retries().length >= 1, 5000);
    expect(deadLetters()).toEqual([]);
    // The next call takes new names first, then the held one: refused while the API took others.
    const others = await commitAll(store, ADDRESSES);
    expect(others.map((outcome) => outcome.status)).toEqual(ADDRESSES.map(() => 'fulfilled'));
    expect(await refused).toBe('rejected');
    expect(deadLetters().map((event) => event.job.targets)).toEqual([['10.64.9.9']]);
  });

  it('keeps every unlist pending while the API refuses every name (403), and delivers them by themselves once it takes them', async () => {
    let granted = false;
    http.server.respondWith(() => ({ status: granted ? 204 : 403 }));
    const store = await openWith(generic(GOOD_TOKEN));
    const outcomes = commitAll(store, ADDRESSES);
    await waitUntil(() => retries().length >= 6, 5000);
    expect(deadLetters()).toEqual([]);
    expect(store.depth()).toBe(ADDRESSES.length);

    granted = true;
    await expectAllDelivered(store, outcomes);
  });
});

describe('the PowerDNS preset (one PATCH a batch) with a rejected key', () => {
  it('keeps the batch pending through 401s and delivers it once a reload brings the right API key', async () => {
    http.server.respondWith((request) => ({ status: request.headers['x-api-key'] === 'pdns-good' ? 204 : 401 }));
    const store = await openWith(powerDns('pdns-old'));
    const outcomes = commitAll(store, ADDRESSES);
    await waitUntil(() => retries().length >= 4, 5000);
    expect(deadLetters()).toEqual([]);
    expect(store.depth()).toBe(ADDRESSES.length);

    store.setBackends([powerDns('pdns-good')]);
    await expectAllDelivered(store, outcomes);
  });

  it('tries the names of a refused batch one per PATCH: none is a dead letter while every one is refused, all go out once the key may', async () => {
    let granted = false;
    http.server.respondWith(() => ({ status: granted ? 204 : 403 }));
    const store = await openWith(powerDns('pdns-good'));
    const outcomes = commitAll(store, ADDRESSES);
    // The batch, then each name alone, refused in a row: the lane pauses, and the pass starts over.
    await waitUntil(() => http.server.requests.length >= 2 * (ADDRESSES.length + 1), 5000);
    expect(deadLetters()).toEqual([]);
    expect(store.depth()).toBe(ADDRESSES.length);

    granted = true;
    await expectAllDelivered(store, outcomes);
  });

  it('dead-letters the one name a PATCH is refused for while the other names go through', async () => {
    http.server.respondWith((request) => ({ status: request.body.includes('9.9.64.10.') ? 403 : 204 }));
    const store = await openWith(powerDns('pdns-good'));
    const outcomes = await commitAll(store, ['10.64.9.9', ...ADDRESSES]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', ...ADDRESSES.map(() => 'fulfilled')]);
    expect(deadLetters().map((event) => event.job.targets)).toEqual([['10.64.9.9']]);
    expect(deadLetters()[0]!.error.message).toMatch(/refused for these names alone, while the zone took others$/);
  });
});

describe('an HTTP API the requests never reach', () => {
  it.each<[string, (request: RecordedRequest) => { status: number; headers?: Record<string, string> }]>([
    ["a captive portal's 302 to its login page", () => ({ status: 302, headers: { Location: 'http://portal.example.net/login?continue=1' } })],
    ['a server that now wants https (301)', (request) => ({ status: 301, headers: { Location: `https://api.example.net${request.url}` } })],
    ['a proxy that wants a login (407)', () => ({ status: 407, headers: { 'Proxy-Authenticate': 'Basic realm="proxy"' } })],
  ])('keeps every unlist pending through %s, none a dead letter, and delivers them once the API answers', async (_, inTheWay) => {
    let reached = false;
    http.server.respondWith((request) => (reached ? { status: 204 } : inTheWay(request)));
    const store = await openWith(generic(GOOD_TOKEN));
    const outcomes = commitAll(store, ADDRESSES);
    await waitUntil(() => retries().length >= 6, 5000);
    expect(retries()[0]!.error).toMatchObject({ code: 'RBL_HTTP_STATUS' });
    expect(deadLetters()).toEqual([]);
    expect(store.depth()).toBe(ADDRESSES.length);

    reached = true;
    await expectAllDelivered(store, outcomes);
  });
});
