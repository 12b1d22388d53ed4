// The generic HTTP backend against a recording node:http server on 127.0.0.1.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/types.js';
import type { HttpBackendConfig } from '../../src/backends/http/config.js';
import { RblError, type ErrorCode } from '../../src/errors.js';
import { formatPrefix, parsePrefix } from '../../src/net/address.js';
import { TargetFailures } from '../../src/backends/target-failures.js';
import { failsForItself } from '../../src/backends/http/generic.js';
import { retryAfterMs } from '../../src/backends/http/request.js';
import { selfSignedCertificate, startRecordingServer, useRecordingServer, type RecordingServer } from '../helpers/http-server.js';

const http = useRecordingServer();

function generic(overrides: Partial<HttpBackendConfig> = {}): Backend {
  return http.backend({ url: `${http.server.origin}/v1/zones/{zone}/entries/{name}?ip={address}`, ...overrides });
}

describe('generic HTTP backend', () => {
  it('sends one request per owner name with the placeholders substituted', async () => {
    await generic().unlist('rbl.example.net', [parsePrefix('10.0.0.2'), parsePrefix('2001:db8::/32')]);
    expect(http.server.requests.map((r) => `${r.method} ${r.url}`).sort()).toEqual(
      [
        'DELETE /v1/zones/rbl.example.net/entries/2.0.0.10.rbl.example.net?ip=10.0.0.2',
        'DELETE /v1/zones/rbl.example.net/entries/8.b.d.0.1.0.0.2.rbl.example.net?ip=2001%3Adb8%3A%3A%2F32',
        'DELETE /v1/zones/rbl.example.net/entries/*.8.b.d.0.1.0.0.2.rbl.example.net?ip=2001%3Adb8%3A%3A%2F32',
      ].sort(),
    );
  });

  it('sends the configured headers, the bearer token and the API key', async () => {
    await generic({ headers: { 'X-Tenant': 'isp1' }, token: 'tok-123', apiKey: 'key-456' }).unlist('rbl.example.net', [parsePrefix('10.0.0.2')]);
    const headers = http.server.requests[0]!.headers;
    expect(headers['x-tenant']).toBe('isp1');
    expect(headers.authorization).toBe('Bearer tok-123');
    expect(headers['x-api-key']).toBe('key-456');
  });

  it('sends a JSON body with the values JSON-escaped and a JSON content type', async () => {
    await generic({ method: 'POST', url: `${http.server.origin}/delist`, body: '{"ip":"{address}","name":"{name}","zone":"{zone}"}' }).unlist('rbl.example.net', [
      parsePrefix('10.0.0.2'),
    ]);
    const request = http.server.requests[0]!;
    expect(request.method).toBe('POST');
    expect(request.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request.body)).toEqual({ ip: '10.0.0.2', name: '2.0.0.10.rbl.example.net', zone: 'rbl.example.net' });
  });

  it('sends a form body as is when the content type is not JSON', async () => {
    await generic({
      method: 'POST',
      url: `${http.server.origin}/delist`,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'ip={address}',
    }).unlist('rbl.example.net', [parsePrefix('10.0.0.2')]);
    expect(http.server.requests[0]!.body).toBe('ip=10.0.0.2');
    expect(http.server.requests[0]!.headers['content-type']).toBe('application/x-www-form-urlencoded');
  });

  it('accepts exactly the statuses in successStatus', async () => {
    http.server.respondWith(() => ({ status: 404 }));
    await expect(generic({ successStatus: [204, 404] }).unlist('rbl.example.net', [parsePrefix('10.0.0.2')])).resolves.toBeUndefined();
    http.server.respondWith(() => ({ status: 200 }));
    await expect(generic({ successStatus: [204] }).unlist('rbl.example.net', [parsePrefix('10.0.0.2')])).rejects.toMatchObject({ code: 'RBL_HTTP_STATUS' });
  });

  it.each<[number, ErrorCode, boolean, RegExp, boolean?]>([
    // A rejected key waits for the right one (a reload), never a dead letter of its own.
    [401, 'RBL_HTTP_AUTH', true, /API key rejected by 127\.0\.0\.1:\d+ .*401 Unauthorized.*: check api_key_file/],
    // A 403 may be for one record only: a refusal, judged by whether the API takes other names.
    [403, 'RBL_HTTP_AUTH', false, /API key rejected.*403 Forbidden/, true],
    [404, 'RBL_HTTP_NOT_FOUND', false, /URL not found at 127\.0\.0\.1:\d+ .*404 Not Found "no such entry"/],
    [400, 'RBL_HTTP_STATUS', false, /unexpected status .*400 Bad Request "no such entry".*expected 200, 201, 202, 204$/],
    [407, 'RBL_HTTP_STATUS', true, /407 Proxy Authentication Required.*expected 200, 201, 202, 204$/],
    [422, 'RBL_HTTP_STATUS', false, /422/],
    [429, 'RBL_HTTP_STATUS', true, /429 Too Many Requests.*expected 200, 201, 202, 204$/],
    [500, 'RBL_HTTP_STATUS', true, /500 Internal Server Error.*expected 200, 201, 202, 204$/],
    [503, 'RBL_HTTP_STATUS', true, /503/],
  ])('turns status %i into %s (transient %s)', async (status, code, transient, message, refusal = false) => {
    http.server.respondWith(() => ({ status, body: 'no such entry' }));
    const error = await generic({ apiKey: 'secret-key' }).unlist('rbl.example.net', [parsePrefix('10.0.0.2')]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RblError);
    expect(error).toMatchObject({ code, transient, refusal });
    expect((error as Error).message).toMatch(/^blocklist-api: /);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('secret-key');
  });

  it('names token_file when a bearer token is rejected', async () => {
    http.server.respondWith(() => ({ status: 401 }));
    await expect(generic({ token: 'tok' }).unlist('rbl.example.net', [parsePrefix('10.0.0.2')])).rejects.toThrow(/token rejected .*check token_file/);
  });

  it('gives up on a slow server within the timeout, as a transient RBL_HTTP_TIMEOUT', async () => {
    http.server.respondWith(() => ({ status: 204, delayMs: 5000 }));
    const started = Date.now();
    const error = await generic({ timeoutMs: 200 }).unlist('rbl.example.net', [parsePrefix('10.0.0.2')]).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'RBL_HTTP_TIMEOUT', transient: true });
    expect((error as Error).message).toMatch(/no answer within 200 ms/);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('reports a refused connection as a transient RBL_HTTP_CONNECTION', async () => {
    const port = http.server.port;
    await http.server.close();
    const error = await generic({ url: `http://127.0.0.1:${port}/x/{name}` }).unlist('rbl.example.net', [parsePrefix('10.0.0.2')]).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'RBL_HTTP_CONNECTION', transient: true });
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
    http.server = await startRecordingServer();
  });

  it('leaves credentials out of describe() and of error messages', async () => {
    const backend = generic({ url: `http://user:pw@127.0.0.1:${http.server.port}/x/{name}`, token: 'tok-123' });
    const text = backend.describe('rbl.example.net', [parsePrefix('10.0.0.2')]);
    expect(text).toBe(`DELETE http://user:REDACTED@127.0.0.1:${http.server.port}/x/2.0.0.10.rbl.example.net`);
    http.server.respondWith(() => ({ status: 500 }));
    const error = (await backend.unlist('rbl.example.net', [parsePrefix('10.0.0.2')]).catch((e: unknown) => e)) as Error;
    expect(error.message).not.toMatch(/pw|tok-123/);
  });

  it.each([
    [401, 'RBL_HTTP_AUTH'],
    [400, 'RBL_HTTP_STATUS'],
    [404, 'RBL_HTTP_NOT_FOUND'],
  ])('keeps the credentials it sent out of an error whose %s body echoes them', async (status, code) => {
    const backend = generic({
      url: `http://user:p%40ss-word@127.0.0.1:${http.server.port}/x/{name}?api_key=qk-789`,
      headers: { 'X-Auth': 'hdr-secret-1' },
      token: 'tok-123456',
      apiKey: 'key-456789',
    });
    http.server.respondWith((request) => ({
      status,
      body: JSON.stringify({ error: `denied: ${request.headers.authorization} ${request.headers['x-api-key']} ${request.headers['x-auth']} p@ss-word ${request.url}`, more: 'x'.repeat(300) }),
    }));
    const error = (await backend.unlist('rbl.example.net', [parsePrefix('10.0.0.2')]).catch((e: unknown) => e)) as RblError;
    expect(error.code).toBe(code);
    expect(error.message).not.toMatch(/tok-123456|key-456789|hdr-secret-1|p@ss-word|p%40ss-word|qk-789/);
    expect(error.message).toContain('denied: REDACTED REDACTED REDACTED REDACTED /x/2.0.0.10.rbl.example.net?api_key=REDACTED');
  });

  it('describes a request with a body on the line after it', () => {
    const text = generic({ method: 'POST', url: `${http.server.origin}/delist`, body: '{"ip":"{address}"}' }).describe('rbl.example.net', [parsePrefix('10.0.0.2')]);
    expect(text).toBe(`POST ${http.server.origin}/delist\n{"ip":"10.0.0.2"}`);
  });

  it('describes a body with a credential written into it with that credential REDACTED, and sends it as written', async () => {
    const backend = generic({ method: 'POST', url: `${http.server.origin}/delist`, body: '{"ip":"{address}","api_key":"lit-secret-1"}' });
    expect(backend.describe('rbl.example.net', [parsePrefix('10.0.0.2')])).toBe(`POST ${http.server.origin}/delist\n{"ip":"10.0.0.2","api_key":"REDACTED"}`);
    http.server.respondWith(() => ({ status: 204 }));
    await backend.unlist('rbl.example.net', [parsePrefix('10.0.0.2')]);
    expect(http.server.requests.map((request) => request.body)).toEqual(['{"ip":"10.0.0.2","api_key":"lit-secret-1"}']);
  });

  it('describes an XML body with a secret-named element REDACTED, and sends it as written', async () => {
    const body = '<delist><api:Key xmlns:api="urn:rbl">lit-secret-5</api:Key><ip>{address}</ip></delist>';
    const backend = generic({ method: 'POST', url: `${http.server.origin}/delist`, headers: { 'Content-Type': 'application/xml' }, body });
    expect(backend.describe('rbl.example.net', [parsePrefix('10.0.0.2')])).toBe(`POST ${http.server.origin}/delist\n<delist><api:Key xmlns:api="urn:rbl">REDACTED</api:Key><ip>10.0.0.2</ip></delist>`);
    http.server.respondWith(() => ({ status: 204 }));
    await backend.unlist('rbl.example.net', [parsePrefix('10.0.0.2')]);
    expect(http.server.requests.map((request) => request.body)).toEqual(['<delist><api:Key xmlns:api="urn:rbl">lit-secret-5</api:Key><ip>10.0.0.2</ip></delist>']);
  });

  it('probes with a GET of the URL up to the first target placeholder', async () => {
    http.server.respondWith(() => ({ status: 404 }));
    await generic({ token: 't' }).probe('rbl.example.net');
    expect(http.server.requests).toHaveLength(1);
    expect(http.server.requests[0]).toMatchObject({ method: 'GET', url: '/v1/zones/rbl.example.net/entries/' });
    expect(http.server.requests[0]!.headers.authorization).toBe('Bearer t');
  });

  it.each<[number, ErrorCode]>([
    [401, 'RBL_HTTP_AUTH'],
    [502, 'RBL_HTTP_STATUS'],
  ])('fails a probe answered with %i as %s', async (status, code) => {
    http.server.respondWith(() => ({ status }));
    await expect(generic().probe('rbl.example.net')).rejects.toMatchObject({ code });
  });

  it('counts a probe redirected within the same server as up: a docs page says nothing about the unlist URLs', async () => {
    http.server.respondWith(() => ({ status: 301, headers: { Location: '/docs/' } }));
    await expect(generic().probe('rbl.example.net')).resolves.toBeUndefined();
    http.server.respondWith(() => ({ status: 302 }));
    await expect(generic().probe('rbl.example.net')).resolves.toBeUndefined();
  });

  it.each([
    ['http to https on the same host', (origin: string) => `${origin.replace('http:', 'https:')}/v1/zones/rbl.example.net/entries/`],
    ['another host', () => 'http://api.example.net/v1/'],
    ['another port', (origin: string) => `${origin.replace(/:\d+$/, ':1')}/v1/`],
  ])('fails a probe redirected to %s, as every unlist would be, naming where it points', async (_, location) => {
    const target = location(http.server.origin);
    http.server.respondWith(() => ({ status: 301, headers: { Location: target } }));
    const error = await generic().probe('rbl.example.net').then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(RblError);
    expect(error).toMatchObject({ code: 'RBL_HTTP_STATUS', transient: true });
    expect((error as RblError).message).toContain(`redirects (GET ${http.server.origin}/v1/zones/rbl.example.net/entries/: 301 Moved Permanently) to ${new URL(target).origin}`);
    expect((error as RblError).message).toMatch(/set url to the address it redirects to$/);
    expect(http.server.requests).toHaveLength(1);
  });

  it('fails an unlist that is redirected without following it, for now (the API never saw it), and keeps the credentials out of the message', async () => {
    http.server.respondWith(() => ({ status: 308, headers: { Location: 'https://user:pw-secret@api.example.net/v2/tok-987654/entries?key=qk-123456' } }));
    const error = (await generic({ token: 'tok-987654' })
      .unlist('rbl.example.net', [parsePrefix('10.0.0.2')])
      .catch((thrown: unknown) => thrown)) as RblError;
    expect(error).toMatchObject({ code: 'RBL_HTTP_STATUS', transient: true });
    expect(error.message).toContain('to https://api.example.net/v2/REDACTED/entries: set url to the address it redirects to');
    expect(error.message).not.toMatch(/pw-secret|tok-987654|qk-123456/);
    expect(http.server.requests).toHaveLength(1);
  });

  it('refuses check() with a message that says what to use instead', async () => {
    await expect(generic().check('rbl.example.net', parsePrefix('10.0.0.2'))).rejects.toThrow(/generic HTTP backend has no way to read a listing/);
    expect(http.server.requests).toHaveLength(0);
  });

  it('sends only the first requests of a batch to an API that takes none of them, blaming only those', async () => {
    http.server.respondWith(() => ({ status: 400 }));
    const targets = Array.from({ length: 40 }, (_, i) => parsePrefix(`10.0.0.${i + 1}`));
    const error = (await generic()
      .unlist('rbl.example.net', targets)
      .catch((thrown: unknown) => thrown)) as TargetFailures;
    expect(error).toBeInstanceOf(TargetFailures);
    expect(error).toMatchObject({ code: 'RBL_HTTP_STATUS', transient: false, serverFailure: undefined, unlisted: [] });
    expect(http.server.requests.length).toBe(4);
    expect([...error.failed.keys()]).toEqual(targets.slice(0, 4));
  });

  it('sends the rest of a batch four at a time once a request went through, though the first ones failed', async () => {
    // The three failing names answer at once; each good one takes 100 ms.
    const arrivals: number[] = [];
    http.server.respondWith((request) => {
      if (request.url.includes('ip=10.0.9.')) return { status: 500 };
      arrivals.push(Date.now());
      return { status: 204, delayMs: 100 };
    });
    const targets = [...['10.0.9.1', '10.0.9.2', '10.0.9.3'], ...Array.from({ length: 24 }, (_, i) => `10.0.0.${i}`)].map((text) => parsePrefix(text));
    const error = (await generic()
      .unlist('rbl.example.net', targets)
      .catch((thrown: unknown) => thrown)) as TargetFailures;
    expect(error.unlisted).toHaveLength(24);
    // How many good requests were under way together: one at a time, each came after the last was answered.
    const together = Math.max(...arrivals.map((at) => arrivals.filter((other) => other <= at && other > at - 90).length));
    expect(together).toBeGreaterThanOrEqual(3);
  });

  it('stops a call at a failure of the whole API, even after names went through, and sends nothing more', async () => {
    let answered = 0;
    http.server.respondWith(() => (answered++ === 0 ? { status: 204 } : { status: 503, headers: { 'Retry-After': '120' } }));
    const targets = Array.from({ length: 200 }, (_, i) => parsePrefix(`10.0.${i >> 8}.${i & 255}`));
    const error = (await generic()
      .unlist('rbl.example.net', targets)
      .catch((thrown: unknown) => thrown)) as TargetFailures;
    expect(error).toBeInstanceOf(TargetFailures);
    expect(error).toMatchObject({ serverFailure: { code: 'RBL_HTTP_STATUS', retryAfterMs: 120_000 }, transient: true, retryAfterMs: 120_000 });
    // The names whose requests got the 503 are blamed, so that they are not first of the next call.
    expect(error.failed.size).toBeGreaterThanOrEqual(1);
    expect(error.failed.size + error.unlisted.length).toBeLessThanOrEqual(5);
    // The first, and those already under way when the 503 came.
    expect(http.server.requests.length).toBeLessThanOrEqual(1 + 4);
    expect(error.unlisted).toHaveLength(1);
  });

  it('stops a call when the API stops answering, rather than waiting out a time-out per name', async () => {
    let answered = 0;
    http.server.respondWith(() => (answered++ === 0 ? { status: 204 } : { status: 204, delayMs: 2000 }));
    const targets = Array.from({ length: 40 }, (_, i) => parsePrefix(`10.0.0.${i}`));
    const error = (await generic({ timeoutMs: 100 })
      .unlist('rbl.example.net', targets)
      .catch((thrown: unknown) => thrown)) as TargetFailures;
    expect(error).toMatchObject({ code: 'RBL_HTTP_TIMEOUT', serverFailure: { code: 'RBL_HTTP_TIMEOUT' } });
    expect(http.server.requests.length).toBeLessThanOrEqual(1 + 4);
  });

  it('tells an answer that fails its own names from one that speaks for the whole API', () => {
    const answer = (status: number, retryAfter?: string) => ({ status, statusText: '', body: Buffer.alloc(0), retryAfter });
    for (const status of [500, 400, 404, 409, 410, 422]) expect(failsForItself(answer(status), [200, 204]), String(status)).toBe(true);
    for (const status of [301, 308, 401, 403, 407, 408, 429, 501, 502, 503, 504]) expect(failsForItself(answer(status), [200, 204]), String(status)).toBe(false);
    expect(failsForItself(answer(500, '30'), [200, 204])).toBe(false);
  });

  it('sends every other name of a batch when the API fails one, and says which targets were unlisted', async () => {
    // The API fails one record for itself (a 500 for that row alone), first in the batch.
    http.server.respondWith((request) => ({ status: request.url.endsWith('ip=10.0.0.1') ? 500 : 204 }));
    const targets = Array.from({ length: 40 }, (_, i) => parsePrefix(`10.0.0.${i + 1}`));
    const error = (await generic()
      .unlist('rbl.example.net', targets)
      .catch((thrown: unknown) => thrown)) as TargetFailures;
    expect(error).toBeInstanceOf(TargetFailures);
    expect(error).toMatchObject({ code: 'RBL_HTTP_STATUS', transient: true, failure: { code: 'RBL_HTTP_STATUS', transient: true } });
    expect(error.message).toContain('ip=10.0.0.1:');
    expect(http.server.requests).toHaveLength(40);
    // The same prefix objects the call was given, every one but the failed.
    expect(error.unlisted).toEqual(targets.slice(1));
    expect(error.unlisted[0]).toBe(targets[1]);
  });

  it('counts a target unlisted only when every request of its names went through', async () => {
    // An IPv6 /63 has two /64 owner names (each with its wildcard); the second of them fails.
    const v6 = parsePrefix('2001:db8:0:2::/63');
    http.server.respondWith((request) => ({ status: request.url.includes('3.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2') ? 500 : 204 }));
    const error = (await generic()
      .unlist('rbl.example.net', [parsePrefix('10.0.0.2'), v6, parsePrefix('10.0.0.3')])
      .catch((thrown: unknown) => thrown)) as TargetFailures;
    expect(http.server.requests.filter((request) => request.url.includes('ip=2001')).length).toBe(4);
    expect(error.unlisted.map(formatPrefix)).toEqual(['10.0.0.2', '10.0.0.3']);
    expect([...error.failed.keys()]).toEqual([v6]);
  });

  it('carries the wait a 503 or 429 asks for in Retry-After, and says it', async () => {
    http.server.respondWith(() => ({ status: 503, headers: { 'Retry-After': '7' } }));
    const error = (await generic()
      .unlist('rbl.example.net', [parsePrefix('10.0.0.2')])
      .catch((thrown: unknown) => thrown)) as RblError;
    expect(error).toMatchObject({ code: 'RBL_HTTP_STATUS', transient: true, retryAfterMs: 7000 });
    expect(error.message).toMatch(/expected 200, 201, 202, 204; the API asks to wait 7 s$/);
    // A 400 asks for nothing: it is a dead letter whatever the header says.
    http.server.respondWith(() => ({ status: 400, headers: { 'Retry-After': '7' } }));
    await expect(generic().unlist('rbl.example.net', [parsePrefix('10.0.0.2')])).rejects.toMatchObject({ transient: false, retryAfterMs: undefined });
  });

  it('reads Retry-After as delay-seconds or an HTTP-date, and ignores what it cannot read', () => {
    const now = Date.parse('2026-12-01T10:00:00Z');
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs(' 0 ', now)).toBe(0);
    expect(retryAfterMs('999999999', now)).toBe(86_400_000);
    expect(retryAfterMs('Tue, 01 Dec 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Tue, 01 Dec 2026 09:00:00 GMT', now)).toBe(0);
    for (const junk of [undefined, '', '-5', '1.5', 'soon', 'x1', '2026-12-01T10:00:30Z', 'Tue, 01 Dec 2026 10:00:30 XYZ']) expect(retryAfterMs(junk, now)).toBeUndefined();
  });

  describe('over https', () => {
    let tlsServer: RecordingServer;
    let certificate: { key: Buffer; cert: Buffer };

    beforeEach(async () => {
      certificate ??= selfSignedCertificate();
      tlsServer = await startRecordingServer(undefined, certificate);
    });

    afterEach(async () => {
      await tlsServer.close();
    });

    it('trusts the server when its CA is given in ca', async () => {
      await generic({ url: `${tlsServer.origin}/x/{name}`, ca: certificate.cert }).unlist('rbl.example.net', [parsePrefix('10.0.0.2')]);
      expect(tlsServer.requests.map((r) => r.url)).toEqual(['/x/2.0.0.10.rbl.example.net']);
    });

    it('refuses a certificate no CA vouches for, naming ca_file', async () => {
      const error = await generic({ url: `${tlsServer.origin}/x/{name}` }).unlist('rbl.example.net', [parsePrefix('10.0.0.2')]).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'RBL_HTTP_CONNECTION', transient: true });
      expect((error as Error).message).toMatch(/SELF_SIGNED|self.signed/i);
      expect((error as Error).message).toContain('ca_file');
      expect(tlsServer.requests).toHaveLength(0);
    });
  });
});
