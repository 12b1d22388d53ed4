// The monitoring endpoint's bounds: a connection cap and short header timeouts, so a slow or greedy
// client (slowloris) cannot hold it and /healthz keeps answering.
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HTTP_LIMITS } from '../../src/http/server.js';
import { useMonitoringServers } from '../helpers/http-server.js';

const { serve } = useMonitoringServers();
const open: Socket[] = [];
afterEach(() => {
  for (const socket of open.splice(0)) socket.destroy();
});

/** A raw TCP connection to the endpoint, with everything it receives and whether the server closed it. */
function rawConnection(base: string): Promise<{ socket: Socket; received: () => string; closed: Promise<number> }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let text = '';
    const socket = connect({ host: hostname, port: Number(port) });
    open.push(socket);
    const closed = new Promise<number>((done) => socket.once('close', () => done(Date.now() - started)));
    socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    socket.once('error', () => undefined);
    socket.once('connect', () => resolve({ socket, received: () => text, closed }));
    socket.once('error', reject);
  });
}

const HEALTHZ = 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n';

describe('monitoring endpoint bounds', () => {
  it('closes a slowloris connection that never finishes its headers, and keeps answering /healthz', async () => {
    const base = await serve();
    const slow = await rawConnection(base);
    slow.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n');
    // One more header line every 300 ms, as slowloris does, for at most 40 lines (12 s).
    let lines = 0;
    const drip = setInterval(() => {
      if (++lines > 40 || slow.socket.destroyed) return clearInterval(drip);
      slow.socket.write(`X-Drip-${lines}: 1\r\n`);
    }, 300);
    try {
      const closedAfterMs = await slow.closed;
      expect(closedAfterMs).toBeGreaterThanOrEqual(HTTP_LIMITS.headersTimeoutMs - 100);
      expect(closedAfterMs).toBeLessThan(HTTP_LIMITS.headersTimeoutMs + 2 * HTTP_LIMITS.checkIntervalMs + 1000);
      expect(slow.received()).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      clearInterval(drip);
    }
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  }, 20_000);

  it('closes a connection that never reads its answers once one has waited stalledMs to be sent, and keeps answering /healthz', async () => {
    // A view of 8 MB: four of them fill every socket buffer on the way.
    const big = { blob: 'x'.repeat(8_000_000) };
    const base = await serve(undefined, undefined, (path) => (path === '/status' ? { status: 200, body: big } : undefined));
    const greedy = await rawConnection(base);
    greedy.socket.pause();
    greedy.socket.write('GET /status HTTP/1.1\r\nHost: localhost\r\n\r\n'.repeat(4));
    // A paused socket does not see the server's close: it reads again once the server has given up.
    await new Promise((resolve) => setTimeout(resolve, HTTP_LIMITS.stalledMs + 3000));
    let bytes = 0;
    greedy.socket.removeAllListeners('data');
    greedy.socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
    greedy.socket.resume();
    const closed = await Promise.race([greedy.closed.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 5000))]);
    expect(closed).toBe(true);
    // Cut off: what the socket buffers held, not the four answers.
    expect(bytes).toBeLessThan(4 * 8_000_000);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  }, 40_000);

  it(`answers at most ${HTTP_LIMITS.maxRequestsPerConnection} requests on one connection, the ones past it 503, and then closes it`, async () => {
    const base = await serve();
    const pipelining = await rawConnection(base);
    pipelining.socket.write(HEALTHZ.repeat(HTTP_LIMITS.maxRequestsPerConnection + 5));
    await pipelining.closed;
    const statuses = [...pipelining.received().matchAll(/HTTP\/1\.1 (\d+)/g)].map((match) => match[1]);
    expect(statuses.slice(0, HTTP_LIMITS.maxRequestsPerConnection).every((status) => status === '200')).toBe(true);
    expect(statuses.slice(HTTP_LIMITS.maxRequestsPerConnection).every((status) => status === '503')).toBe(true);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  }, 30_000);

  it('closes a keep-alive connection that trickles empty lines instead of its next request, and keeps answering /healthz', async () => {
    const base = await serve();
    const idle = await rawConnection(base);
    idle.socket.write(HEALTHZ);
    // The parser skips CRLF before a request line without starting a request, but each one is
    // activity on the socket, which restarts Node's own keep-alive timeout.
    const drip = setInterval(() => {
      if (!idle.socket.destroyed) idle.socket.write('\r\n');
    }, 300);
    try {
      const limit = HTTP_LIMITS.keepAliveTimeoutMs + 2 * HTTP_LIMITS.checkIntervalMs + 1000;
      const closedAfterMs = await Promise.race([idle.closed, new Promise<number>((resolve) => setTimeout(() => resolve(Number.POSITIVE_INFINITY), limit + 3000))]);
      expect(closedAfterMs).toBeGreaterThanOrEqual(HTTP_LIMITS.keepAliveTimeoutMs - 100);
      expect(closedAfterMs).toBeLessThan(limit);
      expect(idle.received()).toMatch(/^HTTP\/1\.1 200 /);
    } finally {
      clearInterval(drip);
    }
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  }, 20_000);

  it(`builds the views of pipelined requests one per turn of the event loop, past ${HTTP_LIMITS.maxWaitingViews} waiting answering 503`, async () => {
    // A view that takes 20 ms, as /addresses does over a backlog of some 10,000 IPv6 prefixes.
    const busyView = (path: string) => {
      if (path !== '/status') return undefined;
      const until = performance.now() + 20;
      while (performance.now() < until);
      return { status: 200, body: { ok: true } };
    };
    const base = await serve(undefined, undefined, busyView);
    const piped = await rawConnection(base);
    // The longest the event loop went without running a timer while the answers were made: what RADIUS would have waited.
    let last = performance.now();
    let longestGapMs = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      longestGapMs = Math.max(longestGapMs, now - last);
      last = now;
    }, 5);
    const count = HTTP_LIMITS.maxRequestsPerConnection - 1;
    try {
      piped.socket.write('GET /status HTTP/1.1\r\nHost: localhost\r\n\r\n'.repeat(count));
      const deadline = Date.now() + 10_000;
      while ([...piped.received().matchAll(/HTTP\/1\.1 /g)].length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      clearInterval(ticker);
    }
    // Built back to back, 99 views held it for two seconds (busy-waiting on the clock, so never
    // less on a loaded machine); one at a time, for about one view's 20 ms.
    expect(longestGapMs).toBeLessThan(1000);
    const statuses = [...piped.received().matchAll(/HTTP\/1\.1 (\d+)/g)].map((match) => match[1]);
    expect(statuses).toHaveLength(count);
    expect(statuses.filter((status) => status === '200').length).toBeGreaterThanOrEqual(1);
    expect(statuses.filter((status) => status === '200').length).toBeLessThanOrEqual(HTTP_LIMITS.maxWaitingViews);
    expect(statuses.every((status) => status === '200' || status === '503')).toBe(true);
    // A busy answer says so in JSON, as the views' answers are, for `status` and `why` to read.
    const busy = piped.received().split('HTTP/1.1 503 ')[1]!;
    expect(busy).toMatch(/\r\nretry-after: 1\r\n/i);
    expect(JSON.parse(busy.split('\r\n\r\n')[1]!.split('\n')[0]!)).toEqual({
      error: { code: 'busy', message: `busy: ${HTTP_LIMITS.maxWaitingViews} requests for /status or /addresses wait already; ask again in a moment` },
    });
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it(`refuses a connection over the cap of ${HTTP_LIMITS.maxConnections}, and answers /healthz again once they close`, async () => {
    const base = await serve();
    // Each held connection is first answered on a keep-alive request: the server has accepted it.
    const held = await Promise.all(
      Array.from({ length: HTTP_LIMITS.maxConnections }, async () => {
        const connection = await rawConnection(base);
        connection.socket.write(HEALTHZ);
        return connection;
      }),
    );
    const deadline = Date.now() + 3000;
    while (held.some((connection) => !connection.received().includes('\r\n\r\n{"status":"ok"}')) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const connection of held) expect(connection.received()).toMatch(/^HTTP\/1\.1 200 OK/);

    const extra = await rawConnection(base);
    extra.socket.write(HEALTHZ);
    await extra.closed;
    expect(extra.received()).toBe('');
    expect(held.every((connection) => !connection.socket.destroyed)).toBe(true);

    for (const connection of held) connection.socket.destroy();
    await Promise.all(held.map((connection) => connection.closed));
    // The server counts a closed connection out a moment after the client closes it.
    let status = 0;
    for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
      status = await fetch(`${base}/healthz`).then((response) => response.status, () => 0);
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(status).toBe(200);
  });

});
