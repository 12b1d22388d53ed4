/**
 * A generic HTTP API that fails one name for itself (a 500 for that record alone), end to end
 * through the built service: the other Stops are unlisted, including those that arrive while the
 * failing one waits on its own backoff, and the failing one goes out once the API takes it.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runBuiltCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/peers.js';
import { startServiceAgainstApi, type ServiceAgainstApi } from '../helpers/service-against-api.js';

const FAILING = '10.64.9.9';

describe('a generic HTTP API that fails one name', () => {
  let fixture: ServiceAgainstApi;
  let apiFails = true;

  beforeAll(async () => {
    // Each answer waits a little, so Stops sent together meet in one batch.
    fixture = await startServiceAgainstApi('http-one-failing', (request) => ({ status: apiFails && request.url.includes('/9.9.64.10.rbl.test') ? 500 : 204, delayMs: 20 }));
  });

  afterAll(async () => {
    await fixture?.close();
  });

  test('unlists every other address, before and while the failing one waits, and the failing one once the API takes it', async () => {
    const { api, service, config, stop, unlisted } = fixture;
    const retriesOfFailing = () => fixture.retriesOf(FAILING);
    await stop(FAILING);
    const first = Array.from({ length: 20 }, (_, i) => `10.64.3.${i + 1}`);
    await Promise.all(first.map((address) => stop(address)));
    await waitFor('the 20 others unlisted', () => first.every((address) => unlisted().includes(address)), 20_000);
    expect(unlisted()).not.toContain(FAILING);

    // While the failing name waits on its own backoff, a new Stop goes out at once, alone.
    await waitFor('the failing name retried', () => retriesOfFailing().length >= 2, 20_000);
    const callsBefore = api.requests.length;
    await stop('10.64.5.1');
    await waitFor('the later Stop unlisted', () => unlisted().includes('10.64.5.1'), 5_000);
    const sentSince = api.requests.slice(callsBefore).map((request) => request.url);
    expect(sentSince.some((url) => url.includes('/1.5.64.10.rbl.test'))).toBe(true);
    // No retry named another address: only the failing one was ever held back.
    expect(new Set(service.logs().filter((line) => String(line.msg).endsWith('; retrying')).flatMap((line) => line.addresses as string[]))).toEqual(new Set([FAILING]));

    // `queue list` shows it pending with its attempts and the API's answer.
    const listed = await runBuiltCli(['queue', 'list', '--json', '--config', config]);
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(FAILING);
    expect(listed.stdout).toContain('RBL_HTTP_STATUS');

    apiFails = false;
    await waitFor('the failing name unlisted once the API takes it', () => unlisted().includes(FAILING), 40_000);
    expect(service.logs().filter((line) => line.level === 'error')).toEqual([]);
  });
});
