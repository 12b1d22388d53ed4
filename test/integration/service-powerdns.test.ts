/**
 * The HTTP API backend with the PowerDNS preset, end to end: a Stop to the running service and
 * `rbl-unlist unlist` both remove a listing through a real PowerDNS Authoritative's API.
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
});
