/**
 * The RadSec connection caps: radius.tls.max_connections and max_connections_per_client each count
 * the connections of every listen address together, refuse the one over the cap with a counted
 * outcome, and leave the established connections working. Before any TLS, a connection from an
 * address no tls client holds is refused, and so is one from an address that has
 * max_connections_per_client open already: connections that never finish a handshake cannot take
 * the places of the configured peers.
 */
import { connect as connectTcp, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/load.js';
import { havePeers } from '../helpers/peers.js';
import { radsecClient, useRadsecTransport } from '../helpers/radsec-harness.js';

/** A TCP connection that never starts a handshake, from `localAddress`; resolves once connected (or closed). */
async function stalled(port: number, localAddress = '127.0.0.1'): Promise<{ socket: Socket; received: () => number; closed: Promise<void> }> {
  const socket = connectTcp({ host: '127.0.0.1', port, localAddress });
  let received = 0;
  socket.on('data', (chunk: Buffer) => (received += chunk.length));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => {
    socket.once('connect', () => resolve());
    socket.once('close', () => resolve());
  });
  return { socket, received: () => received, closed };
}

/** One client for 127.0.0.0/24, so connections from several loopback addresses are the same client. */
const rangeClient = radsecClient('proxy1', 'proxy1.test', '127.0.0.0/24');

const twoListenAddresses = [
  { host: '127.0.0.1', port: 0, family: 4 },
  { host: '127.0.0.1', port: 0, family: 4 },
] as const;

describe.runIf(havePeers('openssl'))('the RadSec connection caps', () => {
  const { start, open, stillAnswers, tlsConfig } = useRadsecTransport();

  it('refuses a connection over max_connections_per_client from one address before its handshake', async () => {
    const { port, outcomes } = await start({ config: { maxConnectionsPerClient: 2 } });
    const first = await open(port);
    await open(port);
    const third = await open(port);
    await third.waitForClose();
    expect(outcomes).toEqual([
      expect.objectContaining({ outcome: 'too_many_connections', client: 'proxy1', reason: '2 connections open from 127.0.0.1, radius.tls.max_connections_per_client is 2; refused before TLS' }),
    ]);
    await stillAnswers(first, 50);
  });

  it('refuses a connection over max_connections_per_client of a client that spans addresses after its handshake', async () => {
    const { port, outcomes } = await start({ config: { maxConnectionsPerClient: 2 }, clients: [rangeClient] });
    const first = await open(port, undefined, undefined, { localAddress: '127.0.0.2' });
    await open(port, undefined, undefined, { localAddress: '127.0.0.3' });
    const third = await open(port, undefined, undefined, { localAddress: '127.0.0.4' });
    await third.waitForClose();
    expect(outcomes).toEqual([expect.objectContaining({ outcome: 'too_many_connections', client: 'proxy1', reason: '2 connections open, radius.tls.max_connections_per_client is 2' })]);
    await stillAnswers(first, 58);
  });

  it('refuses a TCP connection from an address no tls client holds before any TLS, sending nothing', async () => {
    const { port, outcomes } = await start({ clients: [radsecClient('proxy1', 'proxy1.test', '127.0.0.1')] });
    const stranger = await stalled(port, '127.0.0.2');
    await stranger.closed;
    expect(stranger.received()).toBe(0);
    expect(outcomes).toEqual([
      expect.objectContaining({ outcome: 'unknown_client', transport: 'tls', source: expect.stringMatching(/^127\.0\.0\.2:/), reason: 'no client with transport: tls holds this address; refused before TLS' }),
    ]);
  });

  it('keeps places for the other peers while one address holds connections that never finish a handshake', async () => {
    const { port, outcomes } = await start({ config: { maxConnections: 4, maxConnectionsPerClient: 2 }, clients: [rangeClient] });
    const held = [await stalled(port, '127.0.0.9'), await stalled(port, '127.0.0.9')];
    const more = await stalled(port, '127.0.0.9');
    await more.closed;
    expect(outcomes).toEqual([
      expect.objectContaining({ outcome: 'too_many_connections', reason: '2 connections open from 127.0.0.9, radius.tls.max_connections_per_client is 2; refused before TLS' }),
    ]);
    // The stalled two still hold their places, and a peer from another address gets in and is answered.
    const peer = await open(port, undefined, undefined, { localAddress: '127.0.0.2' });
    await stillAnswers(peer, 59);
    held.forEach((connection) => connection.socket.destroy());
  });

  it('refuses a connection over max_connections before its handshake, counted once', async () => {
    const { port, outcomes } = await start({ config: { maxConnections: 1 } });
    const first = await open(port);
    const second = await open(port);
    await second.waitForClose();
    expect(outcomes.find((o) => o.outcome === 'too_many_connections')?.reason).toMatch(new RegExp(`max_connections \\(1\\) reached, counting every listen address; refused on 127\\.0\\.0\\.1:${port}$`));
    // Refused before TLS: counted once, not again as a failed handshake.
    expect(outcomes.map((o) => o.outcome)).toEqual(['too_many_connections']);
    await stillAnswers(first, 51);
  });

  it('counts max_connections across every listen address, and frees a place when a connection closes', async () => {
    const { ports, outcomes } = await start({ config: { listen: twoListenAddresses, maxConnections: 2 } });
    expect(ports).toHaveLength(2);
    const [portA, portB] = ports as [number, number];
    const onA = await open(portA);
    const onB = await open(portB);
    const overOnB = await open(portB);
    await overOnB.waitForClose();
    const overOnA = await open(portA);
    await overOnA.waitForClose();
    expect(outcomes.filter((o) => o.outcome === 'too_many_connections').map((o) => o.reason)).toEqual([
      `radius.tls.max_connections (2) reached, counting every listen address; refused on 127.0.0.1:${portB}`,
      `radius.tls.max_connections (2) reached, counting every listen address; refused on 127.0.0.1:${portA}`,
    ]);
    await stillAnswers(onA, 52);
    await stillAnswers(onB, 53);

    onB.end();
    await onB.waitForClose();
    // The server sees the close a moment after the client: a new connection is let in once it has.
    let again = await open(portB);
    for (let tries = 0; again.closed() && tries < 50; tries++) again = await open(portB);
    await stillAnswers(again, 54);
  });

  it('counts max_connections_per_client across every listen address', async () => {
    const { ports, outcomes } = await start({ config: { listen: twoListenAddresses, maxConnectionsPerClient: 2 }, clients: [rangeClient] });
    const [portA, portB] = ports as [number, number];
    const onA = await open(portA, undefined, undefined, { localAddress: '127.0.0.2' });
    const onB = await open(portB, undefined, undefined, { localAddress: '127.0.0.3' });
    const third = await open(portA, undefined, undefined, { localAddress: '127.0.0.4' });
    await third.waitForClose();
    expect(outcomes.filter((o) => o.outcome === 'too_many_connections')).toEqual([
      expect.objectContaining({ client: 'proxy1', reason: '2 connections open, radius.tls.max_connections_per_client is 2' }),
    ]);
    await stillAnswers(onA, 55);
    await stillAnswers(onB, 56);
  });

  it('applies a max_connections lowered by a reload to the next connection, keeping the open ones', async () => {
    const { port, transport, outcomes } = await start({ config: { maxConnections: 8 } });
    const first = await open(port);
    transport.reload({ radius: { tls: tlsConfig({ maxConnections: 1 }) } } as unknown as Config);
    const second = await open(port);
    await second.waitForClose();
    expect(outcomes.map((o) => o.outcome)).toEqual(['too_many_connections']);
    await stillAnswers(first, 57);
  });
});
