/**
 * The kept TCP connections to one DNS server (src/backends/dns-update/tcp-pool.ts) against a
 * scripted TCP server: what no real server does on demand (bytes nobody asked for, answers not
 * ours, silence on a kept connection). The real-BIND behaviour is in
 * test/integration/dns-tcp-reuse-bind.test.ts.
 */
import { spawn } from 'node:child_process';
import { rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { Endpoint } from '../../src/config/load.js';
import { RR_TYPE, buildQuery } from '../../src/backends/dns-update/message.js';
import { TcpConnectionPool } from '../../src/backends/dns-update/tcp-pool.js';
import { framed } from '../helpers/dns-tcp-relay.js';
import { waitFor } from '../helpers/peers.js';
import { transpileSources } from '../helpers/transpile.js';

const ZONE = 'rbl.test';

/** The request as its answer: QR set, the ID changed by `idDelta`. */
function reply(request: Buffer, idDelta = 0): Buffer {
  const out = Buffer.from(request);
  out.writeUInt16BE((request.readUInt16BE(0) + idDelta) & 0xffff, 0);
  out.writeUInt16BE(out.readUInt16BE(2) | 0x8000, 2);
  return out;
}

interface Accepted {
  readonly socket: Socket;
  messages: number;
  /** The client closed it. */
  endedByClient: boolean;
}

interface ScriptedServer {
  readonly endpoint: Endpoint;
  readonly accepted: Accepted[];
  close(): Promise<void>;
}

/** A TCP DNS server on 127.0.0.1 that hands each framed request to `answer`, with its connection. */
async function scriptedServer(answer: (request: Buffer, connection: Accepted) => void): Promise<ScriptedServer> {
  const accepted: Accepted[] = [];
  const server: Server = createServer((socket) => {
    const connection: Accepted = { socket, messages: 0, endedByClient: false };
    accepted.push(connection);
    let buffered: Buffer = Buffer.alloc(0);
    socket.on('error', () => undefined);
    socket.on('end', () => {
      connection.endedByClient = true;
      socket.end();
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const request = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
        buffered = buffered.subarray(2 + request.length);
        connection.messages++;
        answer(request, connection);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    endpoint: { host: '127.0.0.1', port: typeof address === 'object' && address ? address.port : 0, family: 4 },
    accepted,
    async close() {
      for (const { socket } of accepted) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const answerAll = (request: Buffer, { socket }: Accepted): void => void socket.write(framed(reply(request)));
const query = (id: number): Buffer => buildQuery(id, ZONE, RR_TYPE.SOA);

let server: ScriptedServer | undefined;
let pool: TcpConnectionPool | undefined;
afterEach(async () => {
  pool?.close();
  await server?.close();
  pool = undefined;
  server = undefined;
});

describe('TcpConnectionPool', () => {
  test('sends the next message on the connection the last one used', async () => {
    server = await scriptedServer(answerAll);
    pool = new TcpConnectionPool(server.endpoint, { maxIdle: 1, idleMs: 10_000 });
    for (const id of [1, 2, 3]) expect((await pool.exchange(query(id), 1000, undefined)).readUInt16BE(0)).toBe(id);
    expect(server.accepted.map((connection) => connection.messages)).toEqual([3]);
  });

  test('closes a connection unused for idleMs, and the next message opens a new one', async () => {
    server = await scriptedServer(answerAll);
    pool = new TcpConnectionPool(server.endpoint, { maxIdle: 1, idleMs: 150 });
    await pool.exchange(query(1), 1000, undefined);
    const answered = Date.now();
    await waitFor('the idle connection to be closed', () => server!.accepted[0]!.endedByClient, 5_000, 10);
    expect(Date.now() - answered).toBeGreaterThanOrEqual(140);
    await pool.exchange(query(2), 1000, undefined);
    expect(server.accepted.map((connection) => connection.messages)).toEqual([1, 1]);
  });

  test('keeps at most maxIdle connections: of three that finish together, one is closed', async () => {
    const held: (() => void)[] = [];
    server = await scriptedServer((request, connection) => held.push(() => answerAll(request, connection)));
    pool = new TcpConnectionPool(server.endpoint, { maxIdle: 2, idleMs: 10_000 });
    const three = () => [1, 2, 3].map((id) => pool!.exchange(query(id), 2000, undefined));
    const first = three();
    await waitFor('three messages', () => held.length === 3, 5_000, 10);
    held.splice(0).forEach((answer) => answer());
    await Promise.all(first);
    await waitFor('one connection to be closed', () => server!.accepted.filter((connection) => connection.endedByClient).length === 1, 5_000, 10);
    const second = three();
    await waitFor('three more messages', () => held.length === 3, 5_000, 10);
    held.splice(0).forEach((answer) => answer());
    await Promise.all(second);
    // Two kept connections carried two messages each; the third message of each round had one of its own.
    expect(server.accepted.map((connection) => connection.messages).sort()).toEqual([1, 1, 2, 2]);
  });

  test.each([
    ['bytes after the answer', (request: Buffer, socket: Socket) => socket.write(Buffer.concat([framed(reply(request)), framed(reply(request))]))],
    ['an answer with another ID ahead of it', (request: Buffer, socket: Socket) => socket.write(Buffer.concat([framed(reply(request, 1)), framed(reply(request))]))],
    ['bytes nobody asked for once it is idle', (request: Buffer, socket: Socket) => (socket.write(framed(reply(request))), setTimeout(() => socket.write(Buffer.from([0, 1, 2])), 20))],
  ])('takes the answer and closes the connection that carried %s', async (_case, answer) => {
    server = await scriptedServer((request, { socket }) => answer(request, socket));
    pool = new TcpConnectionPool(server.endpoint, { maxIdle: 1, idleMs: 10_000 });
    expect((await pool.exchange(query(7), 1000, undefined)).readUInt16BE(0)).toBe(7);
    await waitFor('the connection to be closed', () => server!.accepted[0]!.endedByClient, 5_000, 10);
    await pool.exchange(query(8), 1000, undefined);
    expect(server.accepted).toHaveLength(2);
  });

  test('a kept connection where no answer comes times out with RBL_DNS_TIMEOUT and is not tried again', async () => {
    server = await scriptedServer((request, connection) => {
      if (connection.messages === 1) answerAll(request, connection);
    });
    pool = new TcpConnectionPool(server.endpoint, { maxIdle: 1, idleMs: 10_000 });
    await pool.exchange(query(1), 1000, undefined);
    const error = await pool.exchange(query(2), 200, undefined).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'RBL_DNS_TIMEOUT', transient: true });
    expect(server.accepted.map((connection) => connection.messages)).toEqual([2]);
  });

  test('a new connection closed before its answer is not tried again: RBL_DNS_CONNECTION', async () => {
    server = await scriptedServer((_request, { socket }) => socket.end());
    pool = new TcpConnectionPool(server.endpoint, { maxIdle: 1, idleMs: 10_000 });
    const error = await pool.exchange(query(1), 1000, undefined).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'RBL_DNS_CONNECTION', transient: true });
    expect(server.accepted.map((connection) => connection.messages)).toEqual([1]);
  });

  test('close() closes idle connections at once, a connection in use once its answer came, and keeps none after', async () => {
    let release: (() => void) | undefined;
    // Every message is answered at once but the one with ID 3, which waits for the test.
    server = await scriptedServer((request, connection) => (request.readUInt16BE(0) === 3 ? (release = () => answerAll(request, connection)) : answerAll(request, connection)));
    pool = new TcpConnectionPool(server.endpoint, { maxIdle: 2, idleMs: 10_000 });
    await pool.exchange(query(1), 1000, undefined);
    const held = pool.exchange(query(3), 2000, undefined);
    await waitFor('the held message', () => release !== undefined, 5_000, 10);
    expect(server.accepted.map((connection) => connection.messages)).toEqual([2]);
    // The kept connection carried the held message; the next one opens a second connection, kept idle.
    await pool.exchange(query(2), 1000, undefined);
    expect(server.accepted.map((connection) => connection.messages)).toEqual([2, 1]);
    pool.close();
    await waitFor('the idle connection to be closed', () => server!.accepted[1]!.endedByClient, 5_000, 10);
    release!();
    expect((await held).readUInt16BE(0)).toBe(3);
    await waitFor('the connection in use to be closed after its answer', () => server!.accepted[0]!.endedByClient, 5_000, 10);
    expect((await pool.exchange(query(4), 1000, undefined)).readUInt16BE(0)).toBe(4);
    await waitFor('the connection of a message sent after close to be closed', () => server!.accepted[2]?.endedByClient === true, 5_000, 10);
  });
});

describe('a kept connection and the process', () => {
  let build: string;
  beforeAll(() => {
    build = transpileSources('tcp-pool');
    // The transpiled sources import their packages from the project's node_modules.
    symlinkSync(join(import.meta.dirname, '..', '..', 'node_modules'), join(build, 'node_modules'));
  });
  afterAll(() => rmSync(build, { recursive: true, force: true }));

  test('an idle kept connection does not keep the process alive', async () => {
    server = await scriptedServer(answerAll);
    const script = `
      import { TcpConnectionPool } from ${JSON.stringify(join(build, 'src/backends/dns-update/tcp-pool.js'))};
      import { RR_TYPE, buildQuery } from ${JSON.stringify(join(build, 'src/backends/dns-update/message.js'))};
      const pool = new TcpConnectionPool(${JSON.stringify(server.endpoint)}, { maxIdle: 1, idleMs: 60000 });
      const answer = await pool.exchange(buildQuery(9, 'rbl.test', RR_TYPE.SOA), 2000, undefined);
      console.log('answered', answer.readUInt16BE(0));
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(killer);
    expect(output.trim()).toBe('answered 9');
    expect(code).toBe(0);
    // It exited on its own with the connection still open on the server's side until then.
    expect(server.accepted.map((connection) => connection.messages)).toEqual([1]);
  });
});
