/**
 * DNS rebinding: a listener on a loopback address answers only requests for a loopback address or
 * localhost, so a web page that makes its own name resolve to 127.0.0.1 cannot read /status or
 * /addresses through a browser on this host; a listener on another address takes any Host.
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/http/metrics.js';
import { hostAllowed, hostOfHeader, isLoopbackAddress, subscriberViewsAllowed } from '../../src/http/host-check.js';
import { createHttpServer } from '../../src/http/server.js';
import { LOOPBACK, useMonitoringServers } from '../helpers/http-server.js';

const { servers } = useMonitoringServers();

describe('which Host a listener answers', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.254.0.9', true],
    ['::1', true],
    ['0:0:0:0:0:0:0:1', true],
    ['::ffff:127.0.0.1', true],
    ['128.0.0.1', false],
    ['10.0.0.1', false],
    ['::2', false],
    ['::ffff:10.0.0.1', false],
    ['0.0.0.0', false],
    ['::', false],
    ['localhost', false],
  ])('%s is a loopback address: %s', (text, loopback) => {
    expect(isLoopbackAddress(text)).toBe(loopback);
  });

  it.each([
    ['127.0.0.1:9813', '127.0.0.1'],
    ['[::1]:9813', '::1'],
    ['[::1]', '::1'],
    ['LocalHost:9813', 'localhost'],
    ['rbl.example.net', 'rbl.example.net'],
    ['rbl.example.net:', 'rbl.example.net'],
    ['[::1]:', '::1'],
    ['[2001:DB8::1]:80', '2001:db8::1'],
  ])('reads the host of %s as %s', (header, host) => {
    expect(hostOfHeader(header)).toBe(host);
  });

  it.each([
    ['[::1]evil'],
    ['[::1]:80x'],
    ['[::1]foo:80'],
    ['[::1]]'],
    ['[::1'],
    ['[]'],
    ['[localhost]'],
    ['[127.0.0.1]:80'],
    ['127.0.0.1:80:80'],
    ['localhost:abc'],
    ['localhost: 80'],
    ['::1'],
    ['::1:9813'],
    ['::ffff:127.0.0.1'],
    [':9813'],
    [''],
  ])('reads no host from the malformed %j', (header) => {
    expect(hostOfHeader(header)).toBeUndefined();
  });

  it.each([
    ['127.0.0.1', '127.0.0.1:9813', true],
    ['127.0.0.1', 'localhost:9813', true],
    ['127.0.0.1', 'status.localhost', true],
    ['127.0.0.1', '[::1]:9813', true],
    ['::1', '127.0.0.1:9813', true],
    ['127.0.0.1', undefined, true],
    ['127.0.0.1', 'rebind.example:9813', false],
    ['127.0.0.1', '10.0.0.1:9813', false],
    ['::1', 'localhost.rebind.example', false],
    ['127.0.0.1', '[::1]evil', false],
    ['127.0.0.1', '[::1]:80x', false],
    ['::1', '[::1]foo:80', false],
    ['127.0.0.1', '127.0.0.1:80:80', false],
    ['127.0.0.1', 'localhost:abc', false],
    ['127.0.0.1', '::1:9813', false],
    ['127.0.0.1', '', false],
    ['0.0.0.0', 'rbl-unlist.example.net:9813', true],
    ['192.0.2.10', 'rbl-unlist.example.net', true],
  ])('a listener on %s answers Host %s: %s', (listen, header, allowed) => {
    expect(hostAllowed(listen, header)).toBe(allowed);
  });

  it.each([
    ['127.0.0.1', 'localhost:9813', true],
    ['127.0.0.1', 'rebind.example:9813', false],
    // 0.0.0.0 answers on 127.0.0.1 too, and a container's port is published on the host's loopback.
    ['0.0.0.0', 'rebind.example:9813', false],
    ['0.0.0.0', 'rbl-unlist.example.net:9813', false],
    ['0.0.0.0', '127.0.0.1:9813', true],
    ['0.0.0.0', '192.0.2.10:9813', true],
    ['0.0.0.0', '[2001:db8::10]:9813', true],
    ['0.0.0.0', 'localhost:9813', true],
    ['::', 'rebind.example', false],
    ['192.0.2.10', 'rbl-unlist.example.net', false],
    ['192.0.2.10', '192.0.2.10:9813', true],
    ['0.0.0.0', undefined, true],
    ['0.0.0.0', '[::1]evil', false],
    ['0.0.0.0', '[2001:db8::10]rebind.example', false],
    ['0.0.0.0', '192.0.2.10:80:80', false],
    ['0.0.0.0', '', false],
  ])('a listener on %s shows /status and /addresses to Host %s: %s', (listen, header, allowed) => {
    expect(subscriberViewsAllowed(listen, header)).toBe(allowed);
  });
});

/** GET path from 127.0.0.1:port with this Host header. */
function getWithHost(port: number, path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const sent = request({ host: '127.0.0.1', port, path, headers: { host } }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    sent.on('error', reject);
    sent.end();
  });
}

describe('the monitoring endpoint on a loopback address', () => {
  it('refuses a request for another name or a malformed Host with 403 saying why, and answers one for localhost', async () => {
    const server = createHttpServer({ listen: LOOPBACK, metrics: createMetrics(), readiness: () => ({ ready: true, checks: {} }), views: () => ({ status: 200, body: { subscribers: 'alice' } }) });
    servers.push(server);
    await server.start();
    const { port } = server.address();
    const refused = await getWithHost(port, '/status', `rebind.example:${port}`);
    expect(refused.status).toBe(403);
    expect(refused.body).toContain(`not for "rebind.example:${port}"`);
    expect(refused.body).not.toContain('alice');
    // A bracketed loopback address with a name after it is not a loopback address.
    expect((await getWithHost(port, '/status', `[::1]rebind.example:${port}`)).status).toBe(403);
    expect(await getWithHost(port, '/status', `localhost:${port}`)).toEqual({ status: 200, body: '{"subscribers":"alice"}\n' });
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });
});

describe('the monitoring endpoint on a wildcard address', () => {
  it('shows /status only for a Host that is an address or localhost, and /metrics and /healthz for any', async () => {
    const server = createHttpServer({
      listen: { host: '0.0.0.0', port: 0, family: 4 },
      metrics: createMetrics(),
      readiness: () => ({ ready: true, checks: {} }),
      views: () => ({ status: 200, body: { subscribers: 'alice' } }),
    });
    servers.push(server);
    await server.start();
    const { port } = server.address();
    for (const path of ['/status', '/addresses/10.64.0.9']) {
      const refused = await getWithHost(port, path, `rebind.example:${port}`);
      expect(refused.status).toBe(403);
      expect(refused.body).toContain(`${path} names subscribers`);
      expect(refused.body).not.toContain('alice');
      expect(await getWithHost(port, path, `127.0.0.1:${port}`)).toEqual({ status: 200, body: '{"subscribers":"alice"}\n' });
    }
    expect((await getWithHost(port, '/healthz', `rbl-unlist.example.net:${port}`)).status).toBe(200);
    expect((await getWithHost(port, '/metrics', `rbl-unlist.example.net:${port}`)).status).toBe(200);
  });
});
