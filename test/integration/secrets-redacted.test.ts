/**
 * Secrets are never printed: HTTP backend URLs with a password and a query token, through
 * check-config (text and --json), unlist --dry-run, a failed unlist's error, the service's log lines
 * and its /readyz body; a url whose password must be percent-encoded, refused without being echoed;
 * and a broken TSIG key file whose content is not echoed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCliCaptured } from '../helpers/cli.js';
import { startRecordingServer, type RecordingServer } from '../helpers/http-server.js';
import { freePort, tempDir, waitFor } from '../helpers/peers.js';
import { buildAccountingRequest, sendRadius } from '../helpers/radius-packets.js';
import { NAS_SECRET, serviceConfigYaml, startService, writeConfig, type ServiceHandle } from '../helpers/service.js';

/** Every secret below contains this, so one search finds any of them. */
const MARK = 'S3CRET';
const KEY_SECRET = `bWBaLf/Ip3HbnF28ng1d+${MARK}Mz5bwgfLUOTuSM=`;

describe('secrets in backend URLs and key files are never printed', () => {
  let api: RecordingServer;
  let temp: { dir: string; remove: () => void };
  let config: string;
  let service: ServiceHandle | undefined;
  let httpPort: number;
  let radiusPort: number;

  beforeAll(async () => {
    api = await startRecordingServer(() => ({ status: 500, body: 'down for maintenance' }));
    temp = tempDir('secrets');
    writeFileSync(join(temp.dir, 'pdns.key'), `pdns-${MARK}\n`, { mode: 0o600 });
    radiusPort = await freePort();
    httpPort = await freePort();
    config = writeConfig(
      temp.dir,
      serviceConfigYaml({
        radiusPort,
        backends: [
          { type: 'http', name: 'generic', url: `http://alice:pw-${MARK}@127.0.0.1:${api.port}/zones/{zone}/entries/{name}?api_key=qk-${MARK}&view=all`, zones: ['rbl.test'], timeout: '1s' },
          { type: 'http', name: 'pdns', preset: 'powerdns', url: `http://127.0.0.1:${api.port}/api/v1/servers/localhost/zones/{zone}?access_token=tk-${MARK}`, zones: ['rbl.test'], api_key_file: 'pdns.key', timeout: '1s' },
        ],
        stateDir: join(temp.dir, 'state'),
        httpPort,
        probeInterval: '1s',
      }),
    );
  });

  afterAll(async () => {
    await service?.stop();
    await api?.close();
    temp?.remove();
  });

  test('check-config shows the URLs with REDACTED in place of the password and the token', async () => {
    const result = await runCliCaptured(['check-config', '--config', config]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(`HTTP DELETE http://alice:REDACTED@127.0.0.1:${api.port}/zones/{zone}/entries/{name}?api_key=REDACTED&view=all`);
    expect(result.stdout).toContain('zones/{zone}?access_token=REDACTED');
    expect(result.stdout + result.stderr).not.toContain(MARK);
  });

  test('check-config --json does too', async () => {
    const result = await runCliCaptured(['check-config', '--json', '--config', config]);
    expect(result.status, result.stderr).toBe(0);
    const document = JSON.parse(result.stdout) as { config: { backends: { url: string }[] } };
    expect(document.config.backends.map((backend) => backend.url)).toEqual([
      `http://alice:REDACTED@127.0.0.1:${api.port}/zones/{zone}/entries/{name}?api_key=REDACTED&view=all`,
      `http://127.0.0.1:${api.port}/api/v1/servers/localhost/zones/{zone}?access_token=REDACTED`,
    ]);
    expect(result.stdout + result.stderr).not.toContain(MARK);
  });

  test('unlist --dry-run prints the requests with the credentials redacted and sends nothing', async () => {
    const before = api.requests.length;
    const result = await runCliCaptured(['unlist', '--dry-run', '--config', config, '10.64.0.5']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(`DELETE http://alice:REDACTED@127.0.0.1:${api.port}/zones/rbl.test/entries/5.0.64.10.rbl.test?api_key=REDACTED&view=all`);
    expect(result.stdout).toContain('access_token=REDACTED');
    expect(result.stdout + result.stderr).not.toContain(MARK);
    expect(api.requests.length).toBe(before);
  });

  test('a failed unlist names the URL in its error without the credentials, though they were sent', async () => {
    const result = await runCliCaptured(['unlist', '--config', config, '10.64.0.6']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('RBL_HTTP_STATUS');
    expect(result.stderr).toContain('api_key=REDACTED');
    expect(result.stderr).toContain('access_token=REDACTED');
    expect(result.stdout + result.stderr).not.toContain(MARK);
    // The real request carried them: only what is printed is redacted.
    expect(api.requests.some((request) => request.url.includes(`api_key=qk-${MARK}`))).toBe(true);
  });

  test('check-config and unlist refuse a url whose password holds a raw @ or a space, saying to percent-encode it, without printing it', async () => {
    for (const password of [`p@ss-${MARK}`, `pa ss-${MARK}`]) {
      const raw = writeConfig(
        temp.dir,
        serviceConfigYaml({ radiusPort, backends: [{ type: 'http', url: `http://alice:${password}@127.0.0.1:${api.port}/{name}`, zones: ['rbl.test'] }], stateDir: join(temp.dir, 'state3') }),
        'raw-password.yaml',
      );
      for (const args of [['check-config', '--config', raw], ['check-config', '--json', '--config', raw], ['unlist', '--dry-run', '--config', raw, '10.64.0.7']]) {
        const result = await runCliCaptured(args);
        expect(result.status).toBe(2);
        expect(result.stdout + result.stderr).toContain('RBL_CONFIG_INVALID');
        expect(result.stdout + result.stderr).toContain('backends.0.url: the user name and password must be percent-encoded');
        expect(result.stdout + result.stderr).not.toContain(MARK);
      }
    }
  });

  test('a TSIG key file that does not parse is not quoted in the error', async () => {
    const keyFile = join(temp.dir, 'broken.key');
    writeFileSync(keyFile, `key "unlist-key" {\n\talgorithm hmac-sha256;\n\tsecret "${KEY_SECRET}";\n};\nsecret "${KEY_SECRET}";\n`, { mode: 0o600 });
    const broken = writeConfig(
      temp.dir,
      serviceConfigYaml({ radiusPort, backends: [{ type: 'dns-update', server: '127.0.0.1:53', zones: ['rbl.test'], tsig_key_file: 'broken.key' }], stateDir: join(temp.dir, 'state2') }),
      'broken.yaml',
    );
    for (const args of [['check-config', '--config', broken], ['check-config', '--json', '--config', broken], ['unlist', '--dry-run', '--config', broken, '10.64.0.7']]) {
      const result = await runCliCaptured(args);
      expect(result.status).toBe(2);
      expect(result.stdout + result.stderr).toContain('RBL_TSIG_KEYFILE');
      expect(result.stdout + result.stderr).toContain(`${keyFile}: line 5: unexpected text outside the key statement`);
      expect(result.stdout + result.stderr).not.toContain(MARK);
    }
  });

  test('the service logs a failing unlist and serves /readyz with the URLs redacted', async () => {
    service = await startService(config);
    const stop = buildAccountingRequest({ identifier: 1, secret: NAS_SECRET, attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'sec-1', 'Framed-IP-Address': '10.64.0.8' } });
    expect((await sendRadius(stop, radiusPort, '127.0.0.1', 5000))?.[0]).toBe(5);
    const retry = await service.waitForLog((line) => line.backend === 'generic' && String(line.msg).endsWith('; retrying'));
    expect(retry.msg).toContain('api_key=REDACTED');
    await service.waitForLog((line) => line.backend === 'pdns' && String(line.msg).endsWith('; retrying'));

    let body = '';
    await waitFor('a /readyz that names both failing probes', async () => {
      const response = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
      body = await response.text();
      return response.status === 503 && body.includes('access_token=REDACTED');
    }, 15_000, 200);
    const checks = (JSON.parse(body) as { checks: Record<string, { ok: boolean; error?: string }> }).checks;
    expect(checks['backend generic zone rbl.test']?.error).toContain(`GET http://alice:REDACTED@127.0.0.1:${api.port}/zones/rbl.test/entries/`);
    expect(checks['backend pdns zone rbl.test']?.error).toContain('access_token=REDACTED');
    expect(body).not.toContain(MARK);
    const logged = JSON.stringify(service.logs()) + service.otherOutput();
    expect(logged).not.toContain(MARK);
  });
});
