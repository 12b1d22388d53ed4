import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBind, withWrongSecret, type BindServer } from '../helpers/bind.js';
import { cliConfigYaml, runBuiltCli, runCliCaptured, type DnsBackendSpec } from '../helpers/cli.js';
import { useSilentServer } from '../helpers/dns.js';
import { havePeers, tempDir } from '../helpers/peers.js';

const ZONE = 'rbl.example.net';
const ZONE6 = 'rbl6.example.net';

describe.skipIf(!havePeers('named', 'tsig-keygen', 'dig', 'nsupdate'))('rbl-unlist against a real BIND', () => {
  let bind: BindServer;
  let dir: string;
  let removeDir: () => void;
  let wrongKeyFile: string;

  /** Writes a config with the given backends (BIND with its own key unless told) and returns its path. */
  function config(name: string, backends?: readonly DnsBackendSpec[]): string {
    const file = join(dir, name);
    writeFileSync(
      file,
      cliConfigYaml({
        pools: ['10.64.0.0/16', '2001:db8:100::/40'],
        backends: backends ?? [{ name: 'bind', server: `127.0.0.1:${bind.port}`, zones: [ZONE, ZONE6], keyFile: bind.keyFile }],
      }),
    );
    return file;
  }

  /** Lists an address (its RFC 5782 name relative to the zone) with an A and a TXT record. */
  function list(zone: string, relativeName: string, reason = 'spam run from a dial-up customer'): void {
    bind.addRecords(zone, [`${relativeName} A 127.0.0.2`, `${relativeName} TXT "${reason}"`]);
  }

  const records = (name: string) => [...bind.query(name, 'A'), ...bind.query(name, 'TXT')];

  beforeAll(async () => {
    ({ dir, remove: removeDir } = tempDir('cli-bind'));
    bind = await startBind({ zones: [{ name: ZONE }, { name: ZONE6 }] });
    wrongKeyFile = join(dir, 'wrong.key');
    writeFileSync(wrongKeyFile, withWrongSecret(bind.keyText), { mode: 0o600 });
  });
  afterAll(async () => {
    await bind?.close();
    removeDir?.();
  });

  // A server address where nothing answers: UDP datagrams are swallowed.
  const silent = useSilentServer();

  it('removes a listed address\'s A and TXT records when the built binary runs unlist', async () => {
    list(ZONE, '7.3.64.10');
    list(ZONE6, '7.3.64.10');
    expect(records(`7.3.64.10.${ZONE}`)).toHaveLength(2);
    const result = await runBuiltCli(['unlist', '--config', config('built.yaml'), '10.64.3.7']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`unlisted 10.64.3.7 from bind, zone ${ZONE}\nunlisted 10.64.3.7 from bind, zone ${ZONE6}\n`);
    expect(records(`7.3.64.10.${ZONE}`)).toEqual([]);
    expect(records(`7.3.64.10.${ZONE6}`)).toEqual([]);
    expect(records(`2.0.0.127.${ZONE}`)).toEqual(['127.0.0.2', 'test entry']);
  });

  it('unlists several addresses given in one call, IPv4 and IPv6, and reports JSON', async () => {
    const v6Name = '9.9.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.8.b.d.0.1.0.0.2';
    for (const name of ['10.3.64.10', '11.3.64.10', v6Name]) list(ZONE, name);
    const result = await runCliCaptured(['unlist', '--json', '--config', config('several.yaml'), '10.64.3.10', '10.64.3.11', '2001:db8:100::99']);
    expect(result.status).toBe(0);
    const document = JSON.parse(result.stdout) as { ok: boolean; unlisted: string[]; results: { zone: string; ok: boolean }[] };
    expect(document).toMatchObject({ ok: true, unlisted: ['10.64.3.10', '10.64.3.11', '2001:db8:100::99'] });
    expect(document.results.map((r) => [r.zone, r.ok])).toEqual([[ZONE, true], [ZONE6, true]]);
    for (const name of ['10.3.64.10', '11.3.64.10', v6Name]) expect(records(`${name}.${ZONE}`)).toEqual([]);
  });

  it('unlists an IPv6 prefix: its name and the wildcard below it, nothing beside it', async () => {
    const prefixName = '2.1.0.0.1.0.8.b.d.0.1.0.0.2';
    const neighbour = '3.1.0.0.1.0.8.b.d.0.1.0.0.2';
    list(ZONE, prefixName);
    list(ZONE, `*.${prefixName}`);
    list(ZONE, neighbour);
    const result = await runCliCaptured(['unlist', '--config', config('prefix.yaml'), '2001:db8:100:1200::/56']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(records(`${prefixName}.${ZONE}`)).toEqual([]);
    expect(records(`7.7.${prefixName}.${ZONE}`)).toEqual([]);
    expect(records(`${neighbour}.${ZONE}`)).toHaveLength(2);
  });

  it('succeeds when the address is not listed', async () => {
    const result = await runCliCaptured(['unlist', '--config', config('absent.yaml'), '10.64.9.9']);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
  });

  it('check reports a listing with its A record and TXT reason and exits 1, and exits 0 once it is gone', async () => {
    list(ZONE, '20.3.64.10', 'exceeded 500 messages/hour');
    const file = config('check.yaml');
    const listed = await runCliCaptured(['check', '--config', file, '10.64.3.20']);
    expect(listed.status).toBe(1);
    expect(listed.stdout).toContain(`10.64.3.20: LISTED in bind, zone ${ZONE}`);
    expect(listed.stdout).toMatch(new RegExp(`20\\.3\\.64\\.10\\.${ZONE.replace(/\./g, '\\.')}\\.\\s+A\\s+127\\.0\\.0\\.2`));
    expect(listed.stdout).toMatch(/TXT\s+"exceeded 500 messages\/hour"/);
    expect(listed.stdout).toContain(`10.64.3.20: not listed in bind, zone ${ZONE6}`);
    expect(listed.stderr).toBe(`rbl-unlist: RBL_LISTED: 10.64.3.20 is listed in bind, zone ${ZONE}: "exceeded 500 messages/hour"\n`);

    const json = await runCliCaptured(['check', '--json', '--config', file, '10.64.3.20']);
    expect(json.status).toBe(1);
    const document = JSON.parse(json.stdout) as { ok: boolean; listed: boolean; results: { zone: string; listed: boolean; names: { txt: string[] }[] }[] };
    expect(document.listed).toBe(true);
    expect(document.ok).toBe(false);
    expect(document.results.find((r) => r.zone === ZONE)!.names[0]!.txt).toEqual(['exceeded 500 messages/hour']);

    expect((await runCliCaptured(['unlist', '--config', file, '10.64.3.20'])).status).toBe(0);
    const clear = await runCliCaptured(['check', '--config', file, '10.64.3.20']);
    expect(clear.status).toBe(0);
    expect(clear.stdout).toContain(`10.64.3.20: not listed in bind, zone ${ZONE}`);
    expect(clear.stderr).toBe('');
    expect((JSON.parse((await runCliCaptured(['check', '--json', '--config', file, '10.64.3.20'])).stdout) as { ok: boolean }).ok).toBe(true);
  });

  it('check shows a TXT reason with a line break and a terminal escape escaped, on stdout and in the RBL_LISTED line', async () => {
    // The zone's text is written by whatever listed the address; \010 is a newline, \027 ESC.
    bind.addRecords(ZONE, ['21.3.64.10 A 127.0.0.2', '21.3.64.10 TXT "spam\\010rbl-unlist: forged line\\027[2K"']);
    const result = await runCliCaptured(['check', '--config', config('check-escape.yaml'), '10.64.3.21']);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('"spam\\x0arbl-unlist: forged line\\x1b[2K"');
    expect(result.stderr).toBe(`rbl-unlist: RBL_LISTED: 10.64.3.21 is listed in bind, zone ${ZONE}: "spam\\x0arbl-unlist: forged line\\x1b[2K"\n`);
  });

  it('exits 1 naming TSIG and BADSIG when the secret is wrong, and changes nothing', async () => {
    list(ZONE, '30.3.64.10');
    const file = config('wrong-secret.yaml', [{ name: 'bind', server: `127.0.0.1:${bind.port}`, zones: [ZONE], keyFile: wrongKeyFile }]);
    const result = await runCliCaptured(['unlist', '--config', file, '10.64.3.30']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^rbl-unlist: RBL_DNS_BADSIG: bind, zone ${ZONE}: .*TSIG`));
    expect(result.stderr).toContain('BADSIG');
    expect(records(`30.3.64.10.${ZONE}`)).toHaveLength(2);
  });

  it('exits 1 naming TSIG and BADKEY when the server does not know the key name', async () => {
    list(ZONE, '31.3.64.10');
    const otherName = join(dir, 'other-name.key');
    writeFileSync(otherName, bind.keyText.replace(/key\s+"[^"]+"/, 'key "nobody-key"'), { mode: 0o600 });
    const file = config('wrong-name.yaml', [{ name: 'bind', server: `127.0.0.1:${bind.port}`, zones: [ZONE], keyFile: otherName }]);
    const result = await runCliCaptured(['unlist', '--config', file, '10.64.3.31']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^rbl-unlist: RBL_DNS_BADKEY: .*TSIG/);
    expect(result.stderr).toContain('BADKEY');
    expect(records(`31.3.64.10.${ZONE}`)).toHaveLength(2);
  });

  it('exits 1 within the configured timeout when the server does not answer', async () => {
    const file = config('silent.yaml', [{ name: 'silent', server: `127.0.0.1:${silent.port}`, zones: [ZONE], keyFile: bind.keyFile, timeout: '500ms' }]);
    const started = Date.now();
    const result = await runCliCaptured(['unlist', '--config', file, '10.64.3.40']);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^rbl-unlist: RBL_DNS_TIMEOUT: silent, zone ${ZONE}: .*500 ms`));
  });

  it('still unlists through one backend when another fails, says which failed, and exits 1', async () => {
    list(ZONE, '50.3.64.10');
    const file = config('two.yaml', [
      { name: 'silent', server: `127.0.0.1:${silent.port}`, zones: [ZONE], keyFile: bind.keyFile, timeout: '500ms' },
      { name: 'bind', server: `127.0.0.1:${bind.port}`, zones: [ZONE], keyFile: bind.keyFile },
    ]);
    const result = await runCliCaptured(['unlist', '--config', file, '10.64.3.50']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^rbl-unlist: RBL_DNS_TIMEOUT: silent, zone ${ZONE}: `));
    expect(result.stderr).not.toContain('bind, zone');
    expect(result.stdout).toBe(`unlisted 10.64.3.50 from bind, zone ${ZONE}\n`);
    expect(records(`50.3.64.10.${ZONE}`)).toEqual([]);
  });

  it('check-config --probe passes with the right key and fails with exit 1 naming BADSIG with a wrong one', async () => {
    const good = await runCliCaptured(['check-config', '--probe', '--config', config('probe-good.yaml')]);
    expect(good.stderr).toBe('');
    expect(good.status).toBe(0);
    expect(good.stdout).toContain(`probe bind, zone ${ZONE}: OK`);
    expect(good.stdout).toContain(`probe bind, zone ${ZONE6}: OK`);

    const bad = await runCliCaptured([
      'check-config',
      '--probe',
      '--config',
      config('probe-bad.yaml', [{ name: 'bind', server: `127.0.0.1:${bind.port}`, zones: [ZONE], keyFile: wrongKeyFile }]),
    ]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(new RegExp(`^rbl-unlist: RBL_DNS_BADSIG: probe bind, zone ${ZONE}: .*TSIG`));
    expect(bad.stdout).toContain(`probe bind, zone ${ZONE}: FAILED`);
  });

  it('check-config warns when the key file is world-readable', async () => {
    const loose = join(dir, 'loose.key');
    writeFileSync(loose, bind.keyText);
    chmodSync(loose, 0o644);
    const result = await runBuiltCli([
      'check-config',
      '--config',
      config('loose.yaml', [{ name: 'bind', server: `127.0.0.1:${bind.port}`, zones: [ZONE], keyFile: loose }]),
    ]);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe(`rbl-unlist: warning: ${loose} is readable by others: chmod 600 ${loose}\n`);
  });
});
