/**
 * A generic HTTP API that fails one name for itself (a 500 for that record alone), end to end
 * through the built service: the other Stops are unlisted, including those that arrive while the
 * failing one waits on its own backoff, and the failing one goes out once the API takes it.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { join } from 'node:path';
import { runBuiltCli } from '../helpers/cli.js';
import { startRecordingServer, type RecordingServer } from '../helpers/http-server.js';
import { freePort, tempDir, waitFor } from '../helpers/peers.js';
import { buildAccountingRequest, sendRadius } from '../helpers/radius-packets.js';
import { NAS_SECRET, serviceConfigYaml, startService, writeConfig, type LogLine, type ServiceHandle } from '../helpers/service.js';

const FAILING = '10.64.9.9';

describe('a generic HTTP API that fails one name', () => {
  let api: RecordingServer;
  let temp: { dir: string; remove: () => void };
  let service: ServiceHandle;
  let radiusPort: number;
  let config: string;
  let apiFails = true;
  let identifier = 0;

  const stop = async (address: string): Promise<void> => {
    identifier = (identifier + 1) % 256;
    const packet = buildAccountingRequest({ identifier, secret: NAS_SECRET, attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': `s-${address}`, 'Framed-IP-Address': address } });
    expect((await sendRadius(packet, radiusPort, '127.0.0.1', 5000))?.[0]).toBe(5);
  };
  const unlisted = (): string[] => service.logs().filter((line: LogLine) => line.msg === 'unlisted').flatMap((line) => line.addresses as string[]);
  const retriesOfFailing = (): LogLine[] => service.logs().filter((line) => String(line.msg).endsWith('; retrying') && (line.addresses as string[]).includes(FAILING));

  beforeAll(async () => {
    // Each answer waits a little, so Stops sent together meet in one batch.
    api = await startRecordingServer((request) => ({ status: apiFails && request.url.includes('/9.9.64.10.rbl.test') ? 500 : 204, delayMs: 20 }));
    temp = tempDir('http-one-failing');
    radiusPort = await freePort();
    config = writeConfig(
      temp.dir,
      serviceConfigYaml({
        radiusPort,
        backends: [{ type: 'http', name: 'api', url: `http://127.0.0.1:${api.port}/zones/{zone}/entries/{name}`, zones: ['rbl.test'], timeout: '2s' }],
        stateDir: join(temp.dir, 'state'),
      }),
    );
    service = await startService(config);
  });

  afterAll(async () => {
    await service?.stop();
    await api?.close();
    temp?.remove();
  });

  test('unlists every other address, before and while the failing one waits, and the failing one once the API takes it', async () => {
    await stop(FAILING);
    const first = Array.from({ length: 20 }, (_, i) => `10.64.3.${i + 1}`);
    await Promise.all(first.map(stop));
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
