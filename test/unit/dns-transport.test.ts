/** Sending DNS messages: UDP, TCP for large messages and truncated answers, and ignoring answers that are not ours. */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import type { Endpoint } from '../../src/config/load.js';
import { RR_TYPE, buildDeleteUpdate, buildQuery } from '../../src/backends/dns-update/message.js';
import { answersRequest } from '../../src/backends/dns-update/answer-match.js';
import { exchange, randomMessageId } from '../../src/backends/dns-update/transport.js';
import { TcpConnectionPool } from '../../src/backends/dns-update/tcp-pool.js';
import { freePort, waitFor } from '../helpers/peers.js';

const ZONE = 'rbl.example.net';

/** The request turned into an answer: QR set, and optional changes to ID, flags or question. */
function reply(request: Buffer, change: { id?: number; tc?: boolean; qdcount0?: boolean; rcode?: number; question?: string } = {}): Buffer {
  let out: Buffer = Buffer.from(request);
  if (change.question) out = buildQuery(request.readUInt16BE(0), change.question, RR_TYPE.A);
  out.writeUInt16BE(change.id ?? request.readUInt16BE(0), 0);
  out.writeUInt16BE((out.readUInt16BE(2) & 0x7800) | 0x8000 | (change.tc ? 0x0200 : 0) | (change.rcode ?? 0), 2);
  if (change.qdcount0) {
    out = out.subarray(0, 12);
    out.writeUInt16BE(0, 4);
    out.writeUInt16BE(0, 8);
  }
  return out;
}

interface FakeServer {
  endpoint: Endpoint;
  udpRequests: Buffer[];
  tcpRequests: Buffer[];
  close(): Promise<void>;
}

/** A UDP and TCP DNS server on one port whose answers the test scripts. */
async function fakeServer(handlers: { udp?: (request: Buffer, send: (answer: Buffer) => void, remote: RemoteInfo, socket: Socket) => void; tcp?: (request: Buffer, socket: TcpSocket) => void }): Promise<FakeServer> {
  const port = await freePort();
  const udpRequests: Buffer[] = [];
  const tcpRequests: Buffer[] = [];
  const udp = createSocket('udp4');
  udp.on('message', (request, remote) => {
    udpRequests.push(request);
    handlers.udp?.(request, (answer) => udp.send(answer, remote.port, remote.address), remote, udp);
  });
  await new Promise<void>((resolve) => udp.bind(port, '127.0.0.1', resolve));
  const sockets = new Set<TcpSocket>();
  const tcp: Server = createServer((socket) => {
    sockets.add(socket);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const request = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
        buffered = buffered.subarray(2 + request.length);
        tcpRequests.push(request);
        handlers.tcp?.(request, socket);
      }
    });
  });
  await new Promise<void>((resolve) => tcp.listen(port, '127.0.0.1', resolve));
  return {
    endpoint: { host: '127.0.0.1', port, family: 4 },
    udpRequests,
    tcpRequests,
    async close() {
      udp.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => tcp.close(resolve));
    },
  };
}

function framed(message: Buffer): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(message.length);
  return Buffer.concat([length, message]);
}

let server: FakeServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('exchange', () => {
  test('sends a small message over UDP and returns the answer', async () => {
    server = await fakeServer({ udp: (request, send) => send(reply(request)) });
    const query = buildQuery(100, `2.0.64.10.${ZONE}`, RR_TYPE.A);
    const answer = await exchange(server.endpoint, query, { timeoutMs: 1000 });
    expect(answer.readUInt16BE(0)).toBe(100);
    expect(server.udpRequests).toHaveLength(1);
    expect(server.tcpRequests).toHaveLength(0);
  });

  test('ignores answers with another ID or another question, and takes the right one', async () => {
    server = await fakeServer({
      udp: (request, send) => {
        send(reply(request, { id: request.readUInt16BE(0) ^ 1 }));
        send(reply(request, { question: `3.0.64.10.${ZONE}` }));
        setTimeout(() => send(reply(request, { rcode: 3 })), 20);
      },
    });
    const answer = await exchange(server.endpoint, buildQuery(7, `2.0.64.10.${ZONE}`, RR_TYPE.A), { timeoutMs: 1000 });
    expect(answer.readUInt16BE(2) & 0x0f).toBe(3);
  });

  test('ignores an answer from another port', async () => {
    const stranger = createSocket('udp4');
    await new Promise<void>((resolve) => stranger.bind(0, '127.0.0.1', resolve));
    server = await fakeServer({ udp: (request, _send, remote) => stranger.send(reply(request), remote.port, remote.address) });
    const error = await exchange(server.endpoint, buildQuery(7, ZONE, RR_TYPE.SOA), { timeoutMs: 300 }).catch((caught: unknown) => caught);
    stranger.close();
    expect(error).toMatchObject({ code: 'RBL_DNS_TIMEOUT', transient: true });
  });

  // The kernel reports an IPv4 server reached from a udp6 socket as ::ffff:a.b.c.d, whatever
  // spelling the endpoint has: the answer is the server's all the same.
  test.each(['::ffff:7f00:1', '0:0:0:0:0:ffff:7f00:1', '::FFFF:127.0.0.1'])('takes the UDP answer of a server written as %s', async (host) => {
    server = await fakeServer({ udp: (request, send) => send(reply(request)) });
    const answer = await exchange({ host, port: server.endpoint.port, family: 6 }, buildQuery(8, ZONE, RR_TYPE.SOA), { timeoutMs: 1000 });
    expect(answer.readUInt16BE(0)).toBe(8);
  });

  test('sends a message over 512 bytes over TCP with length framing', async () => {
    server = await fakeServer({ tcp: (request, socket) => socket.write(framed(reply(request))) });
    const names = Array.from({ length: 100 }, (_, i) => `${i}.0.64.10.${ZONE}`);
    const update = buildDeleteUpdate({ id: 55, zone: ZONE, names, types: [RR_TYPE.A, RR_TYPE.TXT] });
    expect(update.length).toBeGreaterThan(512);
    const answer = await exchange(server.endpoint, update, { timeoutMs: 1000 });
    expect(answer.readUInt16BE(0)).toBe(55);
    expect(server.udpRequests).toHaveLength(0);
    expect(server.tcpRequests[0]).toEqual(update);
  });

  test('reads a TCP answer that arrives a byte at a time', async () => {
    server = await fakeServer({
      tcp: (request, socket) => {
        const bytes = framed(reply(request));
        bytes.forEach((byte, i) => setTimeout(() => socket.write(Buffer.from([byte])), i));
      },
    });
    const answer = await exchange(server.endpoint, buildQuery(9, ZONE, RR_TYPE.SOA), { timeoutMs: 2000, tcp: true });
    expect(answer.readUInt16BE(0)).toBe(9);
  });

  test('retries over TCP when the UDP answer is truncated', async () => {
    server = await fakeServer({
      udp: (request, send) => send(reply(request, { tc: true })),
      tcp: (request, socket) => socket.write(framed(reply(request))),
    });
    const answer = await exchange(server.endpoint, buildQuery(11, ZONE, RR_TYPE.TXT), { timeoutMs: 1000 });
    expect(answer.readUInt16BE(2) & 0x0200).toBe(0);
    expect(server.udpRequests).toHaveLength(1);
    expect(server.tcpRequests).toHaveLength(1);
  });

  /** A judge that believes only answers with this RCODE, as the backend believes only verified ones. */
  const onlyRcode = (rcode: number) => (response: Buffer): string | undefined => ((response.readUInt16BE(2) & 0x0f) === rcode ? undefined : `RCODE ${response.readUInt16BE(2) & 0x0f}`);

  test('discards answers the judge does not believe and takes the next one on the same UDP socket', async () => {
    const sources = new Set<number>();
    server = await fakeServer({
      udp: (request, send, remote) => {
        sources.add(remote.port);
        send(reply(request, { rcode: 5 }));
        send(reply(request, { qdcount0: true, rcode: 1 }));
        setTimeout(() => send(reply(request)), 30);
      },
    });
    const answer = await exchange(server.endpoint, buildQuery(21, ZONE, RR_TYPE.SOA), { timeoutMs: 1000, judge: onlyRcode(0) });
    expect(answer.readUInt16BE(2) & 0x0f).toBe(0);
    expect(server.udpRequests).toHaveLength(1);
    expect(sources.size).toBe(1);
  });

  test('discards answers the judge does not believe over TCP and takes the next one on the same connection', async () => {
    server = await fakeServer({ tcp: (request, socket) => socket.write(Buffer.concat([framed(reply(request, { rcode: 5 })), framed(reply(request))])) });
    const answer = await exchange(server.endpoint, buildQuery(22, ZONE, RR_TYPE.SOA), { timeoutMs: 1000, tcp: true, judge: onlyRcode(0) });
    expect(answer.readUInt16BE(2) & 0x0f).toBe(0);
    expect(server.tcpRequests).toHaveLength(1);
  });

  test.each([
    ['UDP', false],
    ['TCP', true],
  ])('fails with a transient RBL_DNS_BAD_RESPONSE, counting what it discarded, when only unbelieved answers come over %s', async (_protocol, tcp) => {
    server = await fakeServer({
      udp: (request, send) => [5, 10].forEach((rcode) => send(reply(request, { rcode }))),
      tcp: (request, socket) => socket.write(Buffer.concat([5, 10].map((rcode) => framed(reply(request, { rcode }))))),
    });
    const started = Date.now();
    const error = await exchange(server.endpoint, buildQuery(23, ZONE, RR_TYPE.SOA), { timeoutMs: 300, tcp, judge: onlyRcode(0) }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'RBL_DNS_BAD_RESPONSE', transient: true });
    expect((error as Error).message).toContain('2 discarded, the last RCODE 10');
    // What to check, and nothing of what a caller does next: the service retries it, `unlist` does not.
    expect((error as Error).message).toMatch(/: check the TSIG key and that nothing else answers on that address$/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  test.each([
    ['UDP', false],
    ['TCP', true],
  ])('fails with RBL_DNS_TIMEOUT (transient) when the server is silent over %s', async (_protocol, tcp) => {
    server = await fakeServer({});
    const started = Date.now();
    const error = await exchange(server.endpoint, buildQuery(1, ZONE, RR_TYPE.SOA), { timeoutMs: 200, tcp }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'RBL_DNS_TIMEOUT', transient: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  test.each([
    ['UDP', false],
    ['TCP', true],
  ])('fails with RBL_DNS_CONNECTION (transient) when nothing listens, over %s', async (_protocol, tcp) => {
    const endpoint: Endpoint = { host: '127.0.0.1', port: await freePort(), family: 4 };
    const error = await exchange(endpoint, buildQuery(1, ZONE, RR_TYPE.SOA), { timeoutMs: 2000, tcp }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'RBL_DNS_CONNECTION', transient: true });
    expect((error as Error).message).toContain(`127.0.0.1:${endpoint.port}`);
  });

  /** A TCP handler that answers every message and notes each connection, and which ones the client closed. */
  const connectionsSeen = () => {
    const connections = new Set<TcpSocket>();
    const ended = new Set<TcpSocket>();
    const tcp = (request: Buffer, socket: TcpSocket): void => {
      if (!connections.has(socket)) socket.on('end', () => ended.add(socket));
      connections.add(socket);
      socket.write(framed(reply(request)));
    };
    return { connections, ended, tcp };
  };

  test('without a pool, each TCP message gets a connection of its own, closed after its answer', async () => {
    const seen = connectionsSeen();
    server = await fakeServer({ tcp: seen.tcp });
    await exchange(server.endpoint, buildQuery(1, ZONE, RR_TYPE.SOA), { timeoutMs: 1000, tcp: true });
    await waitFor('the first connection to be closed', () => seen.ended.size === 1, 5_000, 10);
    await exchange(server.endpoint, buildQuery(2, ZONE, RR_TYPE.SOA), { timeoutMs: 1000, tcp: true });
    expect(seen.connections.size).toBe(2);
  });

  test('with a pool, a large message and a truncated UDP answer\'s second try share one kept TCP connection', async () => {
    const seen = connectionsSeen();
    server = await fakeServer({ udp: (request, send) => send(reply(request, { tc: true })), tcp: seen.tcp });
    const pool = new TcpConnectionPool(server.endpoint, { maxIdle: 1, idleMs: 10_000 });
    try {
      const update = buildDeleteUpdate({ id: 56, zone: ZONE, names: Array.from({ length: 100 }, (_, i) => `${i}.0.64.10.${ZONE}`), types: [RR_TYPE.A] });
      expect((await exchange(server.endpoint, update, { timeoutMs: 1000, pool })).readUInt16BE(0)).toBe(56);
      expect((await exchange(server.endpoint, buildQuery(57, ZONE, RR_TYPE.TXT), { timeoutMs: 1000, pool })).readUInt16BE(0)).toBe(57);
      expect(server.udpRequests).toHaveLength(1);
      expect(server.tcpRequests).toHaveLength(2);
      expect(seen.connections.size).toBe(1);
      expect(seen.ended.size).toBe(0);
    } finally {
      pool.close();
    }
  });

  test('fails with RBL_DNS_CONNECTION when the server closes the TCP connection without answering', async () => {
    server = await fakeServer({ tcp: (_request, socket) => socket.end() });
    const error = await exchange(server.endpoint, buildQuery(1, ZONE, RR_TYPE.SOA), { timeoutMs: 1000, tcp: true }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'RBL_DNS_CONNECTION' });
  });
});

describe('answersRequest', () => {
  const query = buildQuery(300, `2.0.64.10.${ZONE}`, RR_TYPE.A);
  test.each([
    ['the answer to the query', reply(query), true],
    ['an error answer with the header only', reply(query, { qdcount0: true, rcode: 1 }), true],
    ['a success with the header only', reply(query, { qdcount0: true }), false],
    ['another ID', reply(query, { id: 301 }), false],
    ['another question', reply(query, { question: `3.0.64.10.${ZONE}` }), false],
    ['the query itself (QR clear)', query, false],
    ['a short datagram', Buffer.alloc(5), false],
  ])('%s: %s', (_case, answer, expected) => {
    expect(answersRequest(query, answer)).toBe(expected);
  });
});

describe('helpers', () => {
  test('randomMessageId covers the 16-bit space', () => {
    const ids = new Set(Array.from({ length: 2000 }, randomMessageId));
    expect(Math.min(...ids)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...ids)).toBeLessThanOrEqual(0xffff);
    expect(ids.size).toBeGreaterThan(1900);
  });
});
