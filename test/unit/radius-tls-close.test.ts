/**
 * How the RadSec server ends a connection (src/radius/transports/tls/transport.ts): with a TLS
 * close_notify, as RFC 6614bis says it SHOULD, seen by the real `openssl s_client` (node:tls emits
 * 'end' whether a close_notify came or not); a peer that never finishes the close loses its socket
 * all the same, as does one that never starts its handshake; and a reloaded radius.tls.idle_timeout
 * bounds the handshakes that start after it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect as connectTcp, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { connect as connectTls } from 'node:tls';
import type { Config } from '../../src/config/load.js';
import { CLOSE_GRACE_MS } from '../../src/radius/transports/tls/transport.js';
import { executable, havePeers, waitFor } from '../helpers/peers.js';
import { radsecStop, useRadsecTransport } from '../helpers/radsec-harness.js';

describe.skipIf(!havePeers('openssl'))('closing a RadSec connection', () => {
  const { certs, tlsConfig, start, open, stillAnswers } = useRadsecTransport();
  const children: ChildProcess[] = [];
  const rawSockets: Socket[] = [];

  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
    for (const socket of rawSockets.splice(0)) socket.destroy();
  });

  /** A TCP connection that never says a word of TLS; `closed` turns true once the server drops it. */
  function silentConnection(port: number): { closed: boolean } {
    const socket = connectTcp({ host: '127.0.0.1', port });
    rawSockets.push(socket);
    socket.on('error', () => undefined);
    const state = { closed: false };
    socket.once('close', () => (state.closed = true));
    return state;
  }

  /** `openssl s_client` connected with the client certificate, printing every TLS message it gets; resolves with its output once it exits. */
  async function sClient(port: number): Promise<{ exited: Promise<string>; send: (octets: Buffer) => void }> {
    const client = certs().client;
    const child = spawn(
      executable('openssl'),
      ['s_client', '-connect', `127.0.0.1:${port}`, '-cert', client.certificateFile, '-key', client.keyFile, '-CAfile', certs().ca.certificateFile, '-servername', 'localhost', '-msg', '-ign_eof', '-nocommands'],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    children.push(child);
    let output = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const exited = new Promise<string>((resolve) => child.once('exit', () => resolve(output)));
    await waitFor(`the handshake of openssl s_client; output so far:\n${output}`, () => /Verify return code: 0|Verification: OK/.test(output), 10_000);
    return { exited, send: (octets) => child.stdin!.write(octets) };
  }

  it('closes an idle connection with a TLS close_notify', async () => {
    const { port, notices } = await start({ config: { idleTimeoutMs: 1000 } });
    const output = await (await sClient(port)).exited;
    expect(notices).toContain('RadSec connection closed: idle for 1 s');
    expect(output).toMatch(/<<< TLS 1\.[23], Alert \[length 0002\], warning close_notify/);
  });

  it('closes a connection whose framing broke (a Length of 3) with a TLS close_notify', async () => {
    const { port, outcomes } = await start();
    const openssl = await sClient(port);
    const broken = radsecStop(46);
    broken.writeUInt16BE(3, 2);
    openssl.send(broken);
    const output = await openssl.exited;
    expect(outcomes.find((o) => o.outcome === 'malformed')?.reason).toMatch(/^Length 3 is below the 20-octet minimum/);
    expect(output).toMatch(/<<< TLS 1\.[23], Alert \[length 0002\], warning close_notify/);
  });

  /**
   * A RadSec client whose TLS is carried over a TCP socket through a gate: once `stall()` is called
   * the TLS layer gets nothing more, so it never sees the server's close and never closes its side.
   */
  async function stallingClient(port: number): Promise<{ stall: () => void }> {
    // Half-open allowed: the server's FIN does not make this socket send its own.
    const raw = connectTcp({ host: '127.0.0.1', port, allowHalfOpen: true });
    rawSockets.push(raw);
    raw.on('error', () => undefined);
    let stalled = false;
    const gate = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        raw.write(chunk, () => callback());
      },
    });
    raw.on('data', (chunk: Buffer) => void (stalled || gate.push(chunk)));
    const client = certs().client;
    const socket = connectTls({ socket: gate, cert: client.certificate, key: client.key, ca: certs().ca.certificate, servername: 'localhost' });
    socket.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve());
      socket.once('close', () => reject(new Error('the stalling client was refused')));
    });
    return { stall: () => void (stalled = true) };
  }

  it('destroys the socket of a peer that never finishes the close, freeing its place under max_connections', async () => {
    const { port, notices } = await start({ config: { idleTimeoutMs: 500, maxConnections: 1 } });
    const peer = await stallingClient(port);
    peer.stall();
    await waitFor('the idle close', () => notices.includes('RadSec connection closed: idle for 0.5 s'), 5000);
    const closedAt = Date.now();
    // The stalled socket holds the only place until the grace ends; then a new client is served.
    let servedAt: number | undefined;
    for (let attempt = 0; servedAt === undefined && Date.now() - closedAt < CLOSE_GRACE_MS + 5000; attempt++) {
      const fresh = await open(port);
      if (fresh.closed()) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      servedAt = Date.now();
      await stillAnswers(fresh, 70 + attempt);
    }
    expect(servedAt).toBeDefined();
    // Held through the grace: the peer really did not finish the close, so the destroy freed it.
    expect(servedAt! - closedAt).toBeGreaterThanOrEqual(CLOSE_GRACE_MS - 200);
  });

  it('closes a TCP connection that never starts its handshake at the handshake timeout, freeing its place under max_connections', async () => {
    const { port, outcomes } = await start({ config: { idleTimeoutMs: 300, maxConnections: 1 } });
    const silent = silentConnection(port);
    await waitFor('the silent connection to be closed', () => silent.closed, 5000);
    expect(outcomes.find((o) => o.outcome === 'malformed')?.reason).toMatch(/^TLS handshake failed: ERR_TLS_HANDSHAKE_TIMEOUT/);
    await stillAnswers(await open(port), 90);
  });

  it('bounds handshakes that start after a reload by the reloaded idle_timeout', async () => {
    const { port, transport, outcomes } = await start({ config: { idleTimeoutMs: 10_000 } });
    transport.reload({ radius: { tls: tlsConfig({ idleTimeoutMs: 300 }) } } as unknown as Config);
    const silent = silentConnection(port);
    // A TCP connection that never says a word of TLS: abandoned at 10 s before the reload, 0.3 s after it.
    await waitFor('the silent connection to be closed', () => silent.closed, 5000);
    await waitFor('the handshake timeout to be reported', () => outcomes.some((o) => o.outcome === 'malformed'), 2000);
    expect(outcomes.find((o) => o.outcome === 'malformed')?.reason).toMatch(/^TLS handshake failed: ERR_TLS_HANDSHAKE_TIMEOUT/);
  });
});
