/**
 * The README's quick start, run as written: the shipped quick-start config (with the ports and the
 * DNS server of this test's own BIND put in) and the radclient line from the README.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBind, type BindServer } from '../helpers/bind.js';
import { runBuiltCli } from '../helpers/cli.js';
import { executable, freePort, havePeers, tempDir, waitFor } from '../helpers/peers.js';
import { dnsblName, listingRecords } from '../helpers/dnsbl.js';
import { PROJECT_ROOT, startService, writeConfig, type ServiceHandle } from '../helpers/service.js';

const QUICKSTART = join(PROJECT_ROOT, 'deploy/quickstart/config.yaml');
const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');

describe('the quick start', () => {
  test('the shipped quick-start config passes check-config', async () => {
    const result = await runBuiltCli(['check-config', '--config', QUICKSTART]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('config OK');
  });

  describe.skipIf(!havePeers('named', 'tsig-keygen', 'radclient'))('with a real BIND serving rbl.example.net', () => {
    let bind: BindServer;
    let service: ServiceHandle;
    let radiusPort: number;
    let httpPort: number;
    let removeDir: () => void;

    beforeAll(async () => {
      bind = await startBind({ zones: [{ name: 'rbl.example.net', records: listingRecords('10.64.0.5', 'rbl.example.net', 'rate limit') }] });
      const temp = tempDir('quickstart');
      removeDir = temp.remove;
      radiusPort = await freePort();
      httpPort = await freePort();
      const config = readFileSync(QUICKSTART, 'utf8')
        .replace('listen: ["127.0.0.1:1813"]', `listen: ["127.0.0.1:${radiusPort}"]`)
        .replace('server: 127.0.0.1:5353', `server: 127.0.0.1:${bind.port}`)
        .replace('tsig_key_file: tsig.key', `tsig_key_file: ${bind.keyFile}`)
        .replace('/tmp/rbl-unlist-quickstart', join(temp.dir, 'state'))
        .replace('listen: 127.0.0.1:9813', `listen: 127.0.0.1:${httpPort}`);
      service = await startService(writeConfig(temp.dir, config));
    });

    afterAll(async () => {
      await service?.stop();
      await bind?.close();
      removeDir?.();
    });

    test("the README's radclient Stop unlists 10.64.0.5", async () => {
      const line = /^echo '([^']+)' \| radclient -x 127\.0\.0\.1:1813 acct testing123$/m.exec(readme);
      expect(line, 'the radclient example in the README').not.toBeNull();
      const result = spawnSync(executable('radclient'), ['-x', `127.0.0.1:${radiusPort}`, 'acct', 'testing123'], { input: `${line![1]}\n`, encoding: 'utf8', timeout: 10_000 });
      expect(result.status, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toContain('Accounting-Response');
      await waitFor('the unlist', () => bind.query(dnsblName('10.64.0.5', 'rbl.example.net'), 'A').length === 0, 10_000).catch((error: Error) => {
        throw new Error(`${error.message}\n${service.logs().map((l) => JSON.stringify(l)).join('\n')}`);
      });
      await waitFor('/readyz 200', async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status === 200, 10_000);
    });
  });
});
