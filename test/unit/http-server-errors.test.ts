/**
 * An error of the endpoint's listening socket after it started (accept() refused by the kernel: out
 * of file descriptors past libuv's reserve, or of memory) goes to onError and the endpoint goes on;
 * without a listener Node would throw it and end the service, RADIUS and all. No test can make
 * the kernel refuse an accept on cue, so the server Node made is caught here and handed the error
 * as Node hands it over.
 */
import type { Server } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMetrics } from '../../src/http/metrics.js';
import { createHttpServer, type HttpServer } from '../../src/http/server.js';
import { LOOPBACK } from '../helpers/http-server.js';

const made = vi.hoisted(() => [] as Server[]);
vi.mock('node:http', async (original) => {
  const http = await original<typeof import('node:http')>();
  return {
    ...http,
    createServer: (...args: Parameters<typeof http.createServer>) => {
      const server = http.createServer(...args);
      made.push(server);
      return server;
    },
  };
});

const started: HttpServer[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((server) => server.close()));
  made.length = 0;
});

function acceptError(): NodeJS.ErrnoException {
  return Object.assign(new Error('accept EMFILE'), { code: 'EMFILE', errno: -24, syscall: 'accept' });
}

describe('HTTP endpoint errors after start', () => {
  it('hands an accept error to onError and keeps answering', async () => {
    const errors: Error[] = [];
    const endpoint = createHttpServer({ listen: LOOPBACK, metrics: createMetrics(), readiness: () => ({ ready: true, checks: {} }), onError: (error) => errors.push(error) });
    started.push(endpoint);
    await endpoint.start();
    made[0]!.emit('error', acceptError());
    expect(errors.map((error) => (error as NodeJS.ErrnoException).code)).toEqual(['EMFILE']);
    expect((await fetch(`http://127.0.0.1:${endpoint.address().port}/healthz`)).status).toBe(200);
  });

  it('does not throw an accept error when nobody listens for it', async () => {
    const endpoint = createHttpServer({ listen: LOOPBACK, metrics: createMetrics(), readiness: () => ({ ready: true, checks: {} }) });
    started.push(endpoint);
    await endpoint.start();
    expect(() => made[0]!.emit('error', acceptError())).not.toThrow();
    expect((await fetch(`http://127.0.0.1:${endpoint.address().port}/healthz`)).status).toBe(200);
  });

  it('still reports a listen failure from start() as RBL_LISTEN, and not to onError', async () => {
    const first = createHttpServer({ listen: LOOPBACK, metrics: createMetrics(), readiness: () => ({ ready: true, checks: {} }) });
    started.push(first);
    await first.start();
    const errors: Error[] = [];
    const second = createHttpServer({ listen: { ...LOOPBACK, port: first.address().port }, metrics: createMetrics(), readiness: () => ({ ready: true, checks: {} }), onError: (error) => errors.push(error) });
    await expect(second.start()).rejects.toMatchObject({ code: 'RBL_LISTEN' });
    expect(errors).toEqual([]);
  });
});
