/**
 * The HTTP API backend with the PowerDNS preset, end to end: a Stop to the running service and
 * `rbl-unlist unlist` both remove a listing through a real PowerDNS Authoritative's API, and a key
 * the API rejects leaves the service's unlists waiting until a reload brings the right one.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBuiltCli } from '../helpers/cli.js';
import { startPowerDns, type PowerDns } from '../helpers/pdns.js';
import { freePort, havePeers, tempDir, waitFor } from '../helpers/peers.js';
import { buildAccountingRequest, sendRadius } from '../helpers/radius-packets.js';
import { dnsblName, relativeName } from '../helpers/dnsbl.js';
import { NAS_SECRET as SECRET, serviceConfigYaml, startService, writeConfig, type ServiceHandle } from '../helpers/service.js';

const ZONE = 'rbl.test';
const listed = (address: string) => [
  { name: relativeName(address, ZONE), type: 'A', content: '127.0.0.2' },
  { name: relativeName(address, ZONE), type: 'TXT', content: '"rate limit exceeded"' },
];

describe.skipIf(!havePeers('pdns_server'))('the service and the CLI against a real PowerDNS API', () => {
  let pdns: PowerDns;
  let service: ServiceHandle;
  let radiusPort: number;
  let dir: string;
  let removeDir: () => void;
  let configFile: string;

  const config = (keyFile: string) =>
    serviceConfigYaml({
      radiusPort,
      backends: [{ type: 'http', name: 'pdns', preset: 'powerdns', url: pdns.apiUrl(ZONE), api_key_file: keyFile }],
      stateDir: `${dir}/state`,
    });

  beforeAll(async () => {
    pdns = await startPowerDns({ zones: [{ name: ZONE, records: [...listed('10.64.0.1'), ...listed('10.64.0.2'), ...listed('10.64.0.3')] }] });
    ({ dir, remove: removeDir } = tempDir('pdns-service'));
    writeFileSync(join(dir, 'pdns.key'), `${pdns.apiKey}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'wrong.key'), 'not-the-key\n', { mode: 0o600 });
    radiusPort = await freePort();
    configFile = writeConfig(dir, config(join(dir, 'pdns.key')));
    service = await startService(configFile);
  });

  afterAll(async () => {
    await service?.stop();
    await pdns?.stop();
    removeDir?.();
  });

  test('a Stop removes the listing through the API', async () => {
    expect(await pdns.query(dnsblName('10.64.0.1', ZONE), 'A')).toEqual(['127.0.0.2']);
    const response = await sendRadius(
      buildAccountingRequest({ identifier: 9, secret: SECRET, attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'p1', 'Framed-IP-Address': '10.64.0.1' } }),
      radiusPort,
    );
    expect(response?.[0]).toBe(5);
    await waitFor('the API delete', async () => (await pdns.query(dnsblName('10.64.0.1', ZONE), 'A')).length === 0, 10_000);
    expect(await pdns.query(dnsblName('10.64.0.1', ZONE), 'TXT')).toEqual([]);
  });

  test('rbl-unlist unlist removes a listing through the API, and check sees it gone', async () => {
    const listedBefore = await runBuiltCli(['check', '--config', configFile, '10.64.0.2']);
    expect(listedBefore.status, listedBefore.stderr).toBe(1);
    expect(listedBefore.stdout).toContain('rate limit exceeded');
    const result = await runBuiltCli(['unlist', '--config', configFile, '10.64.0.2']);
    expect(result.status, result.stderr).toBe(0);
    expect(await pdns.query(dnsblName('10.64.0.2', ZONE), 'A')).toEqual([]);
    expect((await runBuiltCli(['check', '--config', configFile, '10.64.0.2'])).status).toBe(0);
  });

  test('a wrong API key is reported as such and nothing changes', async () => {
    const wrongConfig = writeConfig(dir, config(join(dir, 'wrong.key')), 'wrong.yaml');
    const result = await runBuiltCli(['unlist', '--config', wrongConfig, '10.64.0.3']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('RBL_HTTP_AUTH');
    expect(result.stderr).toMatch(/API key rejected/i);
    expect(await pdns.query(dnsblName('10.64.0.3', ZONE), 'A')).toEqual(['127.0.0.2']);
  });

  test("a key PowerDNS rejects leaves a Stop's unlist waiting, never a dead letter, and a reload with the right key sends it", async () => {
    const reloads = (): number => service.logs().filter((line) => line.msg === 'config reloaded').length;
    const reload = async (): Promise<void> => {
      const before = reloads();
      service.child.kill('SIGHUP');
      await waitFor('the reload', () => reloads() > before, 10_000);
    };
    // The key rotated on the server before the file here: the file now holds a key it rejects.
    writeFileSync(join(dir, 'pdns.key'), 'not-the-key\n', { mode: 0o600 });
    await reload();
    const response = await sendRadius(
      buildAccountingRequest({ identifier: 10, secret: SECRET, attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'p3', 'Framed-IP-Address': '10.64.0.3' } }),
      radiusPort,
    );
    expect(response?.[0]).toBe(5);
    const rejected = () => service.logs().filter((line) => line.code === 'RBL_HTTP_AUTH' && String(line.msg).endsWith('; retrying'));
    await waitFor('two rejected tries', () => rejected().length >= 2, 15_000);
    expect(String(rejected()[0]!.msg)).toMatch(/API key rejected by 127\.0\.0\.1:\d+ .*401.*check api_key_file/);
    expect(service.logs().some((line) => String(line.msg).startsWith('dead letter'))).toBe(false);
    const queue = await runBuiltCli(['queue', 'list', '--config', configFile, '--json']);
    expect(queue.status, queue.stderr).toBe(0);
    const listing = JSON.parse(queue.stdout) as { pending: { targets: string[] }[]; dead: unknown[] };
    expect(listing.pending.map((entry) => entry.targets)).toEqual([['10.64.0.3']]);
    expect(listing.dead).toEqual([]);
    expect(await pdns.query(dnsblName('10.64.0.3', ZONE), 'A')).toEqual(['127.0.0.2']);

    writeFileSync(join(dir, 'pdns.key'), `${pdns.apiKey}\n`, { mode: 0o600 });
    await reload();
    await waitFor('the unlist with the right key', async () => (await pdns.query(dnsblName('10.64.0.3', ZONE), 'A')).length === 0, 15_000, 100);
    expect(service.logs().some((line) => String(line.msg).startsWith('dead letter'))).toBe(false);
  });
});
