/**
 * UPDATEs too large for UDP share kept TCP connections to a real BIND (RFC 7766 §6.2.1), seen
 * through a relay that counts connections and breaks them where a test says: a connection the
 * server closes is not used again, a kept connection closed under a message gets that message sent
 * once more on a new one, an answer cut off is not sent again, a connection that carried a forged
 * answer is closed, and closing or replacing the backend closes what it kept.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { ActiveBackends } from '../../src/backends/active.js';
import { BACKENDS, createBackendRegistry } from '../../src/backends/index.js';
import type { Backend } from '../../src/backends/types.js';
import { parseConfig } from '../../src/config/load.js';
import { createMetrics } from '../../src/http/metrics.js';
import { parsePrefix } from '../../src/net/address.js';
import { startBind, type BindServer } from '../helpers/bind.js';
import { rejection, serverBackend } from '../helpers/dns.js';
import { dnsblName, listingsOf } from '../helpers/dnsbl.js';
import { startDnsTcpRelay, type DnsTcpRelay, type RelayAction, type RelayedConnection, type RelayedMessage } from '../helpers/dns-tcp-relay.js';
import { forgeAnswer } from '../helpers/forging-dns.js';
import { havePeers, waitFor } from '../helpers/peers.js';
import { serviceConfigYaml } from '../helpers/service.js';

const ZONE = 'rbl.test';
/** 30 addresses deleting A and TXT make an UPDATE of about 1,000 bytes: it goes over TCP. */
const batchOf = (group: number): string[] => Array.from({ length: 30 }, (_, i) => `10.65.${group}.${i + 1}`);
const GROUPS = 24;

describe.skipIf(!havePeers('named', 'tsig-keygen'))('kept TCP connections to a real BIND', () => {
  let bind: BindServer;
  let relay: DnsTcpRelay | undefined;
  let backend: Backend | undefined;
  let group = 0;
  /** A batch of listed addresses no other test unlists. */
  const nextBatch = (): string[] => batchOf(group++);

  beforeAll(async () => {
    bind = await startBind({ zones: [{ name: ZONE, records: listingsOf(Array.from({ length: GROUPS }, (_, g) => batchOf(g)).flat(), ZONE) }] });
  });
  afterEach(async () => {
    await backend?.close();
    await relay?.close();
    backend = undefined;
    relay = undefined;
  });
  afterAll(async () => {
    await bind?.close();
  });

  /** A backend whose TCP goes through a relay in front of BIND that does with each message what `decide` says. */
  const viaRelay = async (decide?: (message: RelayedMessage) => RelayAction): Promise<Backend> => {
    relay = await startDnsTcpRelay({ upstreamPort: bind.port, decide, forged: (request) => forgeAnswer(request, 'unsigned REFUSED', bind.key) });
    backend = serverBackend({ port: relay.port, key: bind.key, keyFile: bind.keyFile }, [ZONE]);
    return backend;
  };
  const unlist = (target: Backend, addresses: readonly string[]) => target.unlist(ZONE, addresses.map((address) => parsePrefix(address)));
  /** Whether BIND still lists the batch (an UPDATE applies all its names or none: the first and last tell). */
  const listed = (addresses: readonly string[]) => [addresses[0]!, addresses.at(-1)!].map((address) => bind.query(dnsblName(address, ZONE), 'A').length > 0);
  /** Where each message went: [connection, message on it]. */
  const placed = () => relay!.messages().map((message) => [message.connection, message.onConnection]);

  test('two UPDATEs in a row reach BIND over one TCP connection, and both are applied', async () => {
    const target = await viaRelay();
    const [first, second] = [nextBatch(), nextBatch()];
    await unlist(target, first);
    await unlist(target, second);
    expect(placed()).toEqual([
      [1, 1],
      [1, 2],
    ]);
    expect(relay!.connections()[0]!.closed).toBe(false);
    expect([...listed(first), ...listed(second)]).toEqual([false, false, false, false]);
  });

  test.each([
    ['the server closed the kept connection after its answer', 'answer-then-close' as const, 'the client to see the close', (connection: RelayedConnection) => connection.closed],
    [
      'a forged unsigned answer ahead of BIND’s (discarded: the client closes the connection that carried it, not using it again)',
      'forge-then-forward' as const,
      'the client to close the connection that carried the forgery',
      (connection: RelayedConnection) => connection.closedByClient,
    ],
  ])('after %s, the next UPDATE goes on a new connection and is applied', async (_case, first, closing, closed) => {
    const target = await viaRelay((message) => (message.index === 1 ? first : 'forward'));
    const [one, two] = [nextBatch(), nextBatch()];
    await unlist(target, one);
    await waitFor(closing, () => closed(relay!.connections()[0]!), 5_000, 10);
    await unlist(target, two);
    expect(placed()).toEqual([
      [1, 1],
      [2, 1],
    ]);
    expect([...listed(one), ...listed(two)]).toEqual([false, false, false, false]);
  });

  test.each([['reset' as const], ['close' as const]])('a kept connection the server drops (%s) under the next UPDATE: the UPDATE is sent once more, on a new connection, and applied', async (action) => {
    const target = await viaRelay((message) => (message.connection === 1 && message.onConnection === 2 ? action : 'forward'));
    const [first, second] = [nextBatch(), nextBatch()];
    await unlist(target, first);
    await unlist(target, second);
    expect(placed()).toEqual([
      [1, 1],
      [1, 2],
      [2, 1],
    ]);
    expect(relay!.messages()[2]!.request).toEqual(relay!.messages()[1]!.request);
    expect([...listed(first), ...listed(second)]).toEqual([false, false, false, false]);
  });

  test('when the new connection is reset too, the UPDATE fails with a transient RBL_DNS_CONNECTION after that one retry', async () => {
    const target = await viaRelay((message) => (message.index === 1 ? 'forward' : 'reset'));
    const [first, second] = [nextBatch(), nextBatch()];
    await unlist(target, first);
    const error = await rejection(unlist(target, second));
    expect(error).toMatchObject({ code: 'RBL_DNS_CONNECTION', transient: true });
    expect(error.message).toBe(`127.0.0.1:${relay!.port} refused or dropped the TCP connection (ECONNRESET): check that the DNS server runs and listens on that address and port`);
    expect(placed()).toEqual([
      [1, 1],
      [1, 2],
      [2, 1],
    ]);
    expect(listed(second)).toEqual([true, true]);
  });

  test('an answer cut off half-way on a kept connection is not sent again: a transient RBL_DNS_CONNECTION', async () => {
    const target = await viaRelay((message) => (message.index === 2 ? 'half-answer-then-reset' : 'forward'));
    await unlist(target, nextBatch());
    const error = await rejection(unlist(target, nextBatch()));
    expect(error).toMatchObject({ code: 'RBL_DNS_CONNECTION', transient: true });
    expect(placed()).toEqual([
      [1, 1],
      [1, 2],
    ]);
  });

  test('closing the backend closes the connection it kept', async () => {
    const target = await viaRelay();
    await unlist(target, nextBatch());
    await unlist(target, nextBatch());
    // The second UPDATE came on the first connection: it was kept.
    expect(placed()).toEqual([
      [1, 1],
      [1, 2],
    ]);
    await target.close();
    await waitFor('the kept connection to be closed', () => relay!.connections()[0]!.closedByClient, 5_000, 10);
  });

  test('a reload that replaces the backend closes the connection the old one kept, and the new one opens its own', async () => {
    relay = await startDnsTcpRelay({ upstreamPort: bind.port });
    const registry = createBackendRegistry(BACKENDS.plugins);
    const config = (timeout: string) => parseConfig(serviceConfigYaml({ radiusPort: 1812, stateDir: '/nonexistent/state', bind: { port: relay!.port, keyFile: bind.keyFile, zones: [ZONE], timeout } }), '/nonexistent/config.yaml', registry);
    const active = new ActiveBackends(config('3s'), registry, createMetrics());
    try {
      const [first, second, third] = [nextBatch(), nextBatch(), nextBatch()];
      await unlist(active.list[0]!, first);
      await unlist(active.list[0]!, second);
      expect(await active.reload(config('2s'), () => undefined)).toBe(true);
      await waitFor('the old backend’s connection to be closed', () => relay!.connections()[0]!.closedByClient, 5_000, 10);
      await unlist(active.list[0]!, third);
      expect(placed()).toEqual([
        [1, 1],
        [1, 2],
        [2, 1],
      ]);
      expect([first, second, third].flatMap(listed)).toEqual([false, false, false, false, false, false]);
    } finally {
      await active.close();
    }
  });
});
