import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withWrongSecret } from '../helpers/bind.js';
import { startKnot, type KnotServer } from '../helpers/knot.js';
import { cliConfigYaml, runBuiltCli, runCliCaptured, type DnsBackendSpec } from '../helpers/cli.js';
import { havePeers, tempDir } from '../helpers/peers.js';

const ZONE = 'rbl.example.net';

describe.skipIf(!havePeers('knotd', 'keymgr', 'dig', 'nsupdate'))('rbl-unlist against a real Knot DNS', () => {
  let knot: KnotServer;
  let dir: string;
  let removeDir: () => void;

  function config(name: string, backend?: Partial<DnsBackendSpec>): string {
    const file = join(dir, name);
    writeFileSync(
      file,
      cliConfigYaml({
        pools: ['10.64.0.0/16', '2001:db8:100::/40'],
        backends: [{ name: 'knot', server: `127.0.0.1:${knot.port}`, zones: [ZONE], keyFile: knot.keyFile, ...backend }],
      }),
    );
    return file;
  }

  function list(relativeName: string, reason = 'spam run from a dial-up customer'): void {
    knot.addRecords(ZONE, [`${relativeName} A 127.0.0.2`, `${relativeName} TXT "${reason}"`]);
  }

  const records = (name: string) => [...knot.query(name, 'A'), ...knot.query(name, 'TXT')];

  beforeAll(async () => {
    ({ dir, remove: removeDir } = tempDir('cli-knot'));
    knot = await startKnot({ zones: [{ name: ZONE }] });
  });
  afterAll(async () => {
    await knot?.close();
    removeDir?.();
  });

  it('removes a listed address\'s A and TXT records when the built binary runs unlist', async () => {
    list('7.3.64.10');
    expect(records(`7.3.64.10.${ZONE}`)).toHaveLength(2);
    const result = await runBuiltCli(['unlist', '--config', config('built.yaml'), '10.64.3.7']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`unlisted 10.64.3.7 from knot, zone ${ZONE}\n`);
    expect(records(`7.3.64.10.${ZONE}`)).toEqual([]);
    expect(records(`2.0.0.127.${ZONE}`)).toEqual(['127.0.0.2', 'test entry']);
  });

  it('unlists several addresses and an IPv6 prefix in one call', async () => {
    const prefixName = '2.1.0.0.1.0.8.b.d.0.1.0.0.2';
    for (const name of ['10.3.64.10', '11.3.64.10', prefixName, `*.${prefixName}`]) list(name);
    const result = await runCliCaptured(['unlist', '--config', config('several.yaml'), '10.64.3.10', '10.64.3.11', '2001:db8:100:1200::/56']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    for (const name of ['10.3.64.10', '11.3.64.10', prefixName, `5.${prefixName}`]) expect(records(`${name}.${ZONE}`)).toEqual([]);
  });

  it('check reports the listing with its TXT reason and exits 1, and exits 0 when not listed', async () => {
    list('20.3.64.10', 'exceeded 500 messages/hour');
    const file = config('check.yaml');
    const listed = await runCliCaptured(['check', '--config', file, '10.64.3.20']);
    expect(listed.status).toBe(1);
    expect(listed.stdout).toContain(`10.64.3.20: LISTED in knot, zone ${ZONE}`);
    expect(listed.stdout).toMatch(/A\s+127\.0\.0\.2/);
    expect(listed.stdout).toMatch(/TXT\s+"exceeded 500 messages\/hour"/);

    const clear = await runCliCaptured(['check', '--config', file, '10.64.3.21']);
    expect(clear.status).toBe(0);
    expect(clear.stdout).toBe(`10.64.3.21: not listed in knot, zone ${ZONE}\n`);
  });

  it('exits 1 naming TSIG and BADSIG when the secret is wrong, and changes nothing', async () => {
    list('30.3.64.10');
    const wrongKeyFile = join(dir, 'wrong.key');
    writeFileSync(wrongKeyFile, withWrongSecret(knot.keyText), { mode: 0o600 });
    const result = await runCliCaptured(['unlist', '--config', config('wrong.yaml', { keyFile: wrongKeyFile }), '10.64.3.30']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^rbl-unlist: RBL_DNS_BADSIG: knot, zone ${ZONE}: .*TSIG.*BADSIG`));
    expect(records(`30.3.64.10.${ZONE}`)).toHaveLength(2);

    const probe = await runCliCaptured(['check-config', '--probe', '--config', config('wrong-probe.yaml', { keyFile: wrongKeyFile })]);
    expect(probe.status).toBe(1);
    expect(probe.stderr).toMatch(/RBL_DNS_BADSIG: probe knot/);
  });
});
