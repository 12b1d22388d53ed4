// What an HTTP backend keeps of answers it reads: each answer has a cap, and the answers read at
// once share a budget, so an API (broken, or hostile) that streams bytes at every request cannot
// grow the service past a container's memory limit; what it refused is retried, not lost.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpBackend } from '../../src/backends/http/backend.js';
import { ResponseBudget } from '../../src/backends/http/response-budget.js';
import { TargetFailures } from '../../src/backends/target-failures.js';
import type { Backend } from '../../src/backends/types.js';
import { formatPrefix, parsePrefix } from '../../src/net/address.js';
import { HTTP_BACKEND_DEFAULTS } from '../helpers/http-server.js';

const MIB = 1024 * 1024;
const CHUNK = Buffer.alloc(MIB, 0x61);

interface StreamingApi {
  readonly origin: string;
  /**
   * Answers each request with 200 OK and `sizeMiB` MiB, once `together` requests are waiting: all
   * but the last MiB of each first, and the last MiB only when the client has read what was written
   * of all of them (or gave one up), after `holdMs` more, so that the answers are read side by side.
   */
  answer(together: number, sizeMiB: number, holdMs?: number): void;
  close(): Promise<void>;
}

/** An API that streams large answers, several at once. */
async function startStreamingApi(): Promise<StreamingApi> {
  let plan = { together: 1, sizeMiB: 1, holdMs: 0 };
  let waiting: ServerResponse[] = [];
  const sockets = new Set<Socket>();
  const stream = async (responses: ServerResponse[], { sizeMiB, holdMs }: typeof plan): Promise<void> => {
    for (const response of responses) for (let i = 1; i < sizeMiB; i++) response.write(CHUNK);
    // Read by the client: nothing left in this process's buffers, and the kernel's are a few MiB.
    const drained = (response: ServerResponse) => response.destroyed || response.writableLength === 0;
    while (!responses.every(drained)) await new Promise((resolve) => setTimeout(resolve, 5));
    const given = Date.now();
    while (Date.now() - given < holdMs && !responses.some((response) => response.destroyed)) await new Promise((resolve) => setTimeout(resolve, 5));
    for (const response of responses) if (!response.destroyed) response.end(CHUNK);
  };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.resume();
    response.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    waiting.push(response);
    if (waiting.length >= plan.together) {
      void stream(waiting, plan);
      waiting = [];
    }
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    answer(together, sizeMiB, holdMs = 0) {
      plan = { together, sizeMiB, holdMs };
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function streamingBackend(): Promise<{ api: StreamingApi; backend: Backend }> {
  const api = await startStreamingApi();
  closers.push(() => api.close());
  const backend = createHttpBackend({ ...HTTP_BACKEND_DEFAULTS, url: `${api.origin}/{name}`, timeoutMs: 20_000 });
  closers.push(() => backend.close());
  return { api, backend };
}

describe('the answers an HTTP backend reads', () => {
  it('refuses one answer over 64 MiB as a transient RBL_HTTP_CONNECTION, and takes one of 64 MiB', async () => {
    const { api, backend } = await streamingBackend();
    api.answer(1, 65);
    const error = await backend.unlist('rbl.example.net', [parsePrefix('10.0.0.2')]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TargetFailures);
    expect((error as TargetFailures).failure).toMatchObject({ code: 'RBL_HTTP_CONNECTION', transient: true });
    expect((error as Error).message).toMatch(/^blocklist-api: DELETE http:\/\/127\.0\.0\.1:\d+\/2\.0\.0\.10\.rbl\.example\.net: the answer is larger than 64 MiB/);
    expect((error as TargetFailures).unlisted).toEqual([]);

    api.answer(1, 64);
    await expect(backend.unlist('rbl.example.net', [parsePrefix('10.0.0.2')])).resolves.toBeUndefined();
  }, 30_000);

  it('reads answers side by side up to 128 MiB together; the one past it fails for now and the budget is given back', async () => {
    const { api, backend } = await streamingBackend();
    // Three names, three requests at once (the backend sends up to four): 60 MiB each, and none
    // ends before the client read 59 MiB of each but what the kernel holds, far past 128 together.
    api.answer(3, 60, 5000);
    const targets = ['10.0.0.2', '10.0.0.3', '10.0.0.4'].map((address) => parsePrefix(address));
    const error = await backend.unlist('rbl.example.net', targets).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TargetFailures);
    const failures = error as TargetFailures;
    expect(failures.failure).toMatchObject({ code: 'RBL_HTTP_CONNECTION', transient: true });
    expect(failures.message).toMatch(/the answers being read hold 128 MiB together, the most this backend keeps; this one is read again later/);
    // Exactly the one whose bytes went past the budget is not unlisted; the other two were read whole.
    expect(failures.unlisted.map(formatPrefix)).toHaveLength(2);
    expect([...failures.failed.keys()].map(formatPrefix)).toHaveLength(1);
    expect([...failures.unlisted, ...failures.failed.keys()].map(formatPrefix).sort()).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4']);

    // What the three held is given back: two answers of 60 MiB at once fit again, and so does the retry.
    api.answer(2, 60);
    await expect(backend.unlist('rbl.example.net', targets.slice(0, 2))).resolves.toBeUndefined();
    api.answer(1, 1);
    await expect(backend.unlist('rbl.example.net', [...failures.failed.keys()])).resolves.toBeUndefined();
  }, 60_000);
});

describe('ResponseBudget', () => {
  it('takes bytes while they fit, refuses what would not without taking it, and takes again what was given back', () => {
    const budget = new ResponseBudget(10);
    expect(budget.take(6)).toBe(true);
    expect(budget.take(5)).toBe(false);
    expect(budget.take(4)).toBe(true);
    expect(budget.take(1)).toBe(false);
    budget.giveBack(6);
    expect(budget.take(6)).toBe(true);
    // Given back more than was taken (a failure after the end): never below nothing.
    budget.giveBack(100);
    expect(budget.take(10)).toBe(true);
    expect(budget.take(1)).toBe(false);
  });
});
