/**
 * A captive portal (or a proxy's login page) in front of a generic HTTP API, end to end through
 * the built service: its 200 HTML page is not taken as an unlist. The Stop stays pending, retried
 * with backoff, visible in `queue list` and /addresses/ADDRESS with the message that names the
 * page, never a dead letter and never the token; once the API answers itself, it is unlisted.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressReport } from '../../src/http/address-view.js';
import type { QueueListing } from '../../src/queue/admin.js';
import { runBuiltCli } from '../helpers/cli.js';
import type { RecordedRequest } from '../helpers/http-server.js';
import { waitFor } from '../helpers/peers.js';
import { startServiceAgainstApi, type ServiceAgainstApi } from '../helpers/service-against-api.js';

const ADDRESS = '10.64.7.7';
const NAME_PATH = '/zones/rbl.test/entries/7.7.64.10.rbl.test';
const TOKEN = 'tok-portal-integration-3b8e5d1c';

/** The page a guest network shows whatever was asked, echoing the request (its token too). */
const portalPage = (request: RecordedRequest): string =>
  `<!DOCTYPE html><html><head><title>Network login</title></head><body>Log in to reach ${request.url} (${String(request.headers.authorization)})</body></html>`;

describe('a captive portal in front of a generic HTTP API', () => {
  let fixture: ServiceAgainstApi;
  let portal = true;

  const queueList = async (): Promise<QueueListing> => {
    const result = await runBuiltCli(['queue', 'list', '--json', '--config', fixture.config]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).not.toContain(TOKEN);
    return JSON.parse(result.stdout) as QueueListing;
  };
  const addressView = async (): Promise<AddressReport> => {
    const response = await fetch(`http://127.0.0.1:${fixture.httpPort}/addresses/${ADDRESS}`);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).not.toContain(TOKEN);
    return JSON.parse(text) as AddressReport;
  };

  beforeAll(async () => {
    fixture = await startServiceAgainstApi(
      'http-portal',
      (request) => (portal ? { status: 200, headers: { 'Content-Type': 'text/html; charset=utf-8' }, body: portalPage(request) } : { status: 204 }),
      (dir) => {
        const tokenFile = join(dir, 'api.token');
        writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
        return { token_file: tokenFile };
      },
    );
  });

  afterAll(async () => {
    await fixture?.close();
  });

  test('keeps a Stop that met the portal page pending, retried and never a dead letter, and unlists it once the API answers', async () => {
    const { api, service, unlisted } = fixture;
    const retries = () => fixture.retriesOf(ADDRESS);
    await fixture.stop(ADDRESS, { 'Acct-Session-Id': 'portal-1', 'User-Name': 'guest' });

    // The portal answers every try with its page: retried with backoff, not taken as unlisted.
    await waitFor('the unlist retried after meeting the portal page twice', () => retries().length >= 2, 20_000);
    const retry = retries()[0]!;
    expect(retry).toMatchObject({ level: 'warn', code: 'RBL_HTTP_STATUS', backend: 'api', zone: 'rbl.test' });
    expect(retry.msg).toMatch(/^api: 127\.0\.0\.1:\d+ answered 200 with an HTML page \(DELETE http:\/\/127\.0\.0\.1:\d+\/zones\/rbl\.test\/entries\/7\.7\.64\.10\.rbl\.test: 200 OK "<!DOCTYPE html>/);
    expect(retry.msg).toContain("is a captive portal or a proxy's login page in the way?");
    expect(unlisted()).not.toContain(ADDRESS);
    // The page was sent the token, and showed it back: it stays out of what the service says.
    expect(api.requests[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(JSON.stringify(service.logs())).not.toContain(TOKEN);

    const during = await queueList();
    expect(during.dead).toEqual([]);
    expect(during.pending).toEqual([expect.objectContaining({ backend: 'api', zone: 'rbl.test', targets: [ADDRESS], lastCode: 'RBL_HTTP_STATUS' })]);
    expect(during.pending[0]!.lastError).toContain('with an HTML page');
    const view = await addressView();
    expect(view.pending).toEqual([expect.objectContaining({ backend: 'api', zone: 'rbl.test', targets: [ADDRESS] })]);
    expect(view.last_unlist?.deliveries).toEqual([expect.objectContaining({ backend: 'api', zone: 'rbl.test', outcome: 'retrying', code: 'RBL_HTTP_STATUS' })]);

    // The portal lets the service through: the next try reaches the API, which takes it.
    const triedBefore = api.requests.length;
    portal = false;
    await waitFor('the Stop unlisted once the API answers', () => unlisted().includes(ADDRESS), 40_000);
    const delivered = api.requests.slice(triedBefore);
    expect(delivered.map((request) => `${request.method} ${request.url}`)).toContain(`DELETE ${NAME_PATH}`);

    const after = await queueList();
    expect(after).toMatchObject({ pending: [], dead: [] });
    const done = await addressView();
    expect(done.pending).toEqual([]);
    expect(done.last_unlist?.deliveries).toEqual([expect.objectContaining({ backend: 'api', zone: 'rbl.test', outcome: 'unlisted' })]);
    expect(service.logs().filter((line) => line.level === 'error')).toEqual([]);
    expect(readFileSync(join(fixture.dir, 'state', 'journal')).toString('latin1')).not.toContain(TOKEN);
  });
});
