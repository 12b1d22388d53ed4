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
