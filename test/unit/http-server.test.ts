// The monitoring endpoint: /healthz, /readyz, /metrics, and what it does with other paths and methods.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/http/metrics.js';
import { createHttpServer } from '../../src/http/server.js';
import { LOOPBACK, useMonitoringServers } from '../helpers/http-server.js';

const { servers, serve } = useMonitoringServers();

describe('HTTP endpoint', () => {
  it('answers /healthz with 200 and {"status":"ok"}', async () => {
    const response = await fetch(`${await serve()}/healthz`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it.each([
    ['/healthz', 200],
    ['/status', 200],
    ['/addresses/<script>', 400],
    ['/nope', 404],
  ])('answers %s (%i) with no-store and nosniff, so no cache keeps it and no browser reads it as another type', async (path, status) => {
    const base = await serve(undefined, undefined, (asked) =>
      asked === '/status' ? { status: 200, body: { ok: true } } : asked.startsWith('/addresses/') ? { status: 400, body: { error: { message: asked } } } : undefined,
    );
    const response = await fetch(`${base}${path}`);
    expect(response.status).toBe(status);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('serves /metrics as Prometheus text with its content type', async () => {
    const metrics = createMetrics();
    metrics.packets.inc({ outcome: 'accepted' });
    const response = await fetch(`${await serve(undefined, metrics)}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await response.text();
    expect(text).toContain('# TYPE rbl_unlist_radius_packets_total counter');
    expect(text).toContain('rbl_unlist_radius_packets_total{outcome="accepted"} 1');
  });

  it.each([
    ['GET', '/', 404],
    ['GET', '/metric', 404],
    ['GET', '/healthz/', 404],
    ['GET', '/healthz?verbose=1', 200],
    ['HEAD', '/healthz', 200],
    ['HEAD', '/metrics', 200],
    ['HEAD', '/nope', 404],
    ['POST', '/metrics', 405],
    ['PUT', '/readyz', 405],
    ['DELETE', '/healthz', 405],
    ['OPTIONS', '/healthz', 405],
  ])('answers %s %s with %i', async (method, path, status) => {
    const response = await fetch(`${await serve()}${path}`, { method });
    expect(response.status).toBe(status);
    if (status === 405) expect(response.headers.get('allow')).toBe('GET, HEAD');
    if (method === 'HEAD') expect(await response.text()).toBe('');
  });

  it('answers /readyz with 503 and the failing check while not ready', async () => {
    const report = { ready: false, checks: { radius: { ok: false, error: 'RADIUS sockets not bound' } } };
    const response = await fetch(`${await serve(() => report)}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual(report);
  });

  it('answers 500 instead of crashing when the readiness function throws', async () => {
    const base = await serve(() => {
      throw new Error('boom');
    });
    expect((await fetch(`${base}/readyz`)).status).toBe(500);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('throws RBL_LISTEN when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const server = createHttpServer({ listen: { ...LOOPBACK, port }, metrics: createMetrics(), readiness: () => ({ ready: true, checks: {} }) });
      const error = await server.start().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'RBL_LISTEN' });
      expect((error as Error).message).toContain(`127.0.0.1:${port}: EADDRINUSE`);
      await server.close();
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('stops answering after close()', async () => {
    const base = await serve();
    await servers.pop()!.close();
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});
