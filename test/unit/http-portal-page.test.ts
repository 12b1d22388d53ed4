// A success status with an HTML page (a captive portal, a proxy's login page, a misrouted reverse
// proxy) is not the API's answer: the generic backend and the PowerDNS preset take it as a failure
// of the whole API, retried, against a recording node:http server on 127.0.0.1.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/types.js';
import type { HttpBackendConfig } from '../../src/backends/http/config.js';
import { failsForItself } from '../../src/backends/http/generic.js';
import { isHtmlPage, type HttpResponse } from '../../src/backends/http/request.js';
import { TargetFailures } from '../../src/backends/target-failures.js';
import { RblError } from '../../src/errors.js';
import { parsePrefix } from '../../src/net/address.js';
import { useRecordingServer, type RecordedRequest } from '../helpers/http-server.js';

const http = useRecordingServer();
const TOKEN = 'tok-portal-5f3a91';
const PDNS_KEY = 'pdns-key-77c2e0';
const ZONE_PATH = '/api/v1/servers/localhost/zones/rbl.example.net.';

/** A hotel-style login page that shows the visitor what they asked for, credentials and all. */
const portalPage = (request: RecordedRequest): string =>
  `<!DOCTYPE html>\n<html><head><title>Guest Wi-Fi login</title></head>\n<body><p>Please log in to continue to ${request.url}</p>` +
  `<p>Debug: ${String(request.headers.authorization)} ${String(request.headers['x-api-key'])}</p></body></html>`;

function generic(overrides: Partial<HttpBackendConfig> = {}): Backend {
  return http.backend({ url: `${http.server.origin}/v1/zones/{zone}/entries/{name}`, token: TOKEN, ...overrides });
}

function powerDns(overrides: Partial<HttpBackendConfig> = {}): Backend {
  return http.backend({ name: 'pdns', preset: 'powerdns', url: `${http.server.origin}${ZONE_PATH}`, method: 'PATCH', apiKey: PDNS_KEY, successStatus: [200, 204], ...overrides });
}

const failure = async (call: Promise<unknown>): Promise<RblError> => {
  const thrown = await call.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(thrown).toBeInstanceOf(RblError);
  return thrown as RblError;
};

describe('a success status with an HTML page', () => {
  it.each([['text/html; charset=utf-8'], ['text/html'], ['TEXT/HTML;Charset=ISO-8859-1'], [' text/html ; charset=utf-8'], ['application/xhtml+xml']])(
    'fails a generic unlist answered 200 with Content-Type %s as a transient RBL_HTTP_STATUS naming the HTML page, without the token',
    async (contentType) => {
      http.server.respondWith((request) => ({ status: 200, headers: { 'Content-Type': contentType }, body: portalPage(request) }));
      const error = await failure(generic().unlist('rbl.example.net', [parsePrefix('10.0.0.2')]));
      expect(error).toMatchObject({ code: 'RBL_HTTP_STATUS', transient: true });
      expect(error.message).toMatch(
        /^blocklist-api: 127\.0\.0\.1:\d+ answered 200 with an HTML page \(DELETE http:\/\/127\.0\.0\.1:\d+\/v1\/zones\/rbl\.example\.net\/entries\/2\.0\.0\.10\.rbl\.example\.net: 200 OK "<!DOCTYPE html> <html><head><title>Guest Wi-Fi login/,
      );
      expect(error.message).toContain("not the API's answer: is a captive portal or a proxy's login page in the way? Nothing was taken as unlisted");
      expect(http.server.requests[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(error.message).toContain('Debug: REDACTED');
      expect(error.message).not.toContain(TOKEN);
    },
  );

  it('takes it as a failure of the whole API: nothing is counted unlisted, nothing blamed on the names alone, nothing more sent', async () => {
    http.server.respondWith((request) => ({ status: 200, headers: { 'Content-Type': 'text/html; charset=utf-8' }, body: portalPage(request) }));
    const targets = Array.from({ length: 20 }, (_, i) => parsePrefix(`10.0.0.${i + 1}`));
    const error = await failure(generic().unlist('rbl.example.net', targets));
    expect(error).toBeInstanceOf(TargetFailures);
    expect(error).toMatchObject({ code: 'RBL_HTTP_STATUS', transient: true, unlisted: [], serverFailure: { code: 'RBL_HTTP_STATUS', transient: true } });
    expect(http.server.requests.length).toBeLessThanOrEqual(4);
  });

  it('stops a call whose first names went through once the portal page comes, counting only those unlisted', async () => {
    let answered = 0;
    http.server.respondWith((request) => (answered++ < 2 ? { status: 204 } : { status: 200, headers: { 'Content-Type': 'text/html' }, body: portalPage(request) }));
    const targets = Array.from({ length: 100 }, (_, i) => parsePrefix(`10.0.0.${i + 1}`));
    const error = (await failure(generic().unlist('rbl.example.net', targets))) as TargetFailures;
    expect(error.serverFailure).toMatchObject({ code: 'RBL_HTTP_STATUS', transient: true });
    expect(error.unlisted.length).toBeLessThanOrEqual(2);
    expect(error.unlisted.length + error.failed.size).toBeLessThan(targets.length);
    expect(http.server.requests.length).toBeLessThan(10);
  });

  it.each<[string, number, Record<string, string>, string | undefined]>([
    ['200 application/json', 200, { 'Content-Type': 'application/json' }, '{"deleted": true}'],
    ['200 application/problem+json', 200, { 'Content-Type': 'application/problem+json; charset=utf-8' }, '{}'],
    ['200 with no Content-Type', 200, {}, 'deleted'],
    ['200 text/plain', 200, { 'Content-Type': 'text/plain' }, 'OK'],
    ['200 text/html with an empty body', 200, { 'Content-Type': 'text/html; charset=UTF-8' }, undefined],
    ['200 whose parameter names text/html', 200, { 'Content-Type': 'application/json; profile="text/html"' }, '{}'],
    ['204 with no body', 204, {}, undefined],
    ['202 application/json', 202, { 'Content-Type': 'application/json' }, '{"queued": true}'],
  ])('still takes %s as unlisted', async (_, status, headers, body) => {
    http.server.respondWith(() => ({ status, headers, body }));
    await expect(generic().unlist('rbl.example.net', [parsePrefix('10.0.0.2'), parsePrefix('10.0.0.3')])).resolves.toBeUndefined();
    expect(http.server.requests).toHaveLength(2);
  });

  it('keeps the meaning of an HTML page with a status outside the success list (a 404 and a 502 page)', async () => {
    http.server.respondWith(() => ({ status: 404, headers: { 'Content-Type': 'text/html' }, body: '<html>Not Found</html>' }));
    expect(await failure(generic().unlist('rbl.example.net', [parsePrefix('10.0.0.2')]))).toMatchObject({ code: 'RBL_HTTP_NOT_FOUND', transient: false });
    http.server.respondWith(() => ({ status: 502, headers: { 'Content-Type': 'text/html' }, body: '<html>Bad Gateway</html>' }));
    const gateway = await failure(generic().unlist('rbl.example.net', [parsePrefix('10.0.0.2')]));
    expect(gateway).toMatchObject({ code: 'RBL_HTTP_STATUS', transient: true });
    expect(gateway.message).toMatch(/unexpected status .*502 Bad Gateway/);
  });

  it('takes an HTML page as the portal even with a status the operator listed as success for a missing entry (404)', async () => {
    http.server.respondWith((request) => ({ status: 404, headers: { 'Content-Type': 'text/html' }, body: portalPage(request) }));
    const error = await failure(generic({ successStatus: [204, 404] }).unlist('rbl.example.net', [parsePrefix('10.0.0.2')]));
    expect(error).toMatchObject({ code: 'RBL_HTTP_STATUS', transient: true, serverFailure: { code: 'RBL_HTTP_STATUS' } });
    expect(error.message).toMatch(/answered 404 with an HTML page/);
  });

  it('tells an HTML page from an API answer by the media type alone, and an empty body from a page', () => {
    const answer = (status: number, contentType: string | undefined, body = '<html></html>'): HttpResponse => ({ status, statusText: '', body: Buffer.from(body), contentType });
    for (const type of ['text/html', 'Text/HTML; charset=utf-8', 'application/xhtml+xml', 'application/XHTML+XML;q=1']) expect(isHtmlPage(answer(200, type)), type).toBe(true);
    for (const type of [undefined, '', 'application/json', 'text/plain', 'text/htmlx', 'text/xml', 'application/json; x=text/html']) expect(isHtmlPage(answer(200, type)), String(type)).toBe(false);
    expect(isHtmlPage(answer(200, 'text/html', ''))).toBe(false);
    // A portal page speaks for the whole route, whatever status the success list holds; outside it, the status decides as before.
    expect(failsForItself(answer(200, 'text/html'), [200, 204])).toBe(false);
    expect(failsForItself(answer(404, 'text/html'), [204, 404])).toBe(false);
    expect(failsForItself(answer(404, 'text/html'), [200, 204])).toBe(true);
    expect(failsForItself(answer(500, 'text/html'), [200, 204])).toBe(true);
  });

  describe('PowerDNS preset', () => {
    it('fails a PATCH answered 200 with an HTML page, with success_status [200, 204], as a transient RBL_HTTP_STATUS without the API key', async () => {
      http.server.respondWith((request) => ({ status: 200, headers: { 'Content-Type': 'text/html; charset=utf-8' }, body: portalPage(request) }));
      const error = await failure(powerDns().unlist('rbl.example.net', [parsePrefix('10.0.0.2'), parsePrefix('10.0.0.3')]));
      expect(error).toMatchObject({ code: 'RBL_HTTP_STATUS', transient: true });
      expect(error.message).toMatch(/^pdns: 127\.0\.0\.1:\d+ answered 200 with an HTML page \(PATCH http:\/\/127\.0\.0\.1:\d+\/api\/v1\/servers\/localhost\/zones\/rbl\.example\.net\.: 200 OK "<!DOCTYPE html>/);
      expect(error.message).toContain('is a captive portal or a proxy\'s login page in the way?');
      expect(http.server.requests[0]!.headers['x-api-key']).toBe(PDNS_KEY);
      expect(error.message).not.toContain(PDNS_KEY);
    });

    it('still takes a 204 and a JSON 200 as unlisted', async () => {
      await expect(powerDns().unlist('rbl.example.net', [parsePrefix('10.0.0.2')])).resolves.toBeUndefined();
      http.server.respondWith(() => ({ status: 200, headers: { 'Content-Type': 'application/json' }, body: '{}' }));
      await expect(powerDns().unlist('rbl.example.net', [parsePrefix('10.0.0.2')])).resolves.toBeUndefined();
    });

    it('fails a probe answered by the portal page, so the backend is not reported up', async () => {
      http.server.respondWith((request) => ({ status: 200, headers: { 'Content-Type': 'text/html' }, body: portalPage(request) }));
      const error = await failure(powerDns().probe('rbl.example.net'));
      expect(error).toMatchObject({ code: 'RBL_HTTP_STATUS', transient: true });
      expect(error.message).toMatch(/answered 200 with an HTML page \(GET .*\?rrsets=false: 200 OK/);
      expect(error.message).not.toContain(PDNS_KEY);
    });
  });
});
