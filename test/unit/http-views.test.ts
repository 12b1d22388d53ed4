// GET /status and GET /addresses/ADDRESS on the monitoring endpoint: JSON views served beside the fixed paths, read-only.
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/http/metrics.js';
import { createHttpServer, type HttpServer } from '../../src/http/server.js';
import { LOOPBACK } from '../helpers/http-server.js';

const servers: HttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serveViews(): Promise<string> {
  const server = createHttpServer({
    listen: LOOPBACK,
    metrics: createMetrics(),
    readiness: () => ({ ready: true, checks: {} }),
    views: (path) => (path === '/status' ? { status: 200, body: { version: '1.2.3' } } : path.startsWith('/addresses/') ? { status: 400, body: { error: { code: 'RBL_ADDRESS_INVALID' } } } : undefined),
  });
  servers.push(server);
  await server.start();
  return `http://127.0.0.1:${server.address().port}`;
}

describe('the JSON views of the monitoring endpoint', () => {
  it('serves a view as JSON with its status', async () => {
    const base = await serveViews();
    const status = await fetch(`${base}/status`);
    expect(status.status).toBe(200);
    expect(status.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await status.json()).toEqual({ version: '1.2.3' });
    expect((await fetch(`${base}/addresses/nope`)).status).toBe(400);
  });

  it.each([
    ['POST', '/status', 405],
    ['DELETE', '/addresses/10.64.0.1', 405],
    ['HEAD', '/status', 200],
    ['GET', '/statuses', 404],
  ])('answers %s %s with %i', async (method, path, code) => {
    const response = await fetch(`${await serveViews()}${path}`, { method });
    expect(response.status).toBe(code);
    if (method === 'HEAD') expect(await response.text()).toBe('');
  });

  it('keeps /status a 404 where no views are given, as one-shot uses of the server have none', async () => {
    const server = createHttpServer({ listen: LOOPBACK, metrics: createMetrics(), readiness: () => ({ ready: true, checks: {} }) });
    servers.push(server);
    await server.start();
    expect((await fetch(`http://127.0.0.1:${server.address().port}/status`)).status).toBe(404);
  });
});
