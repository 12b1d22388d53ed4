import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliConfigYaml, runCliCaptured, TEST_TSIG_SECRET, writeKeyFile } from '../helpers/cli.js';
import { useSilentServer } from '../helpers/dns.js';
import { tempDir } from '../helpers/peers.js';

let dir: string;
let removeDir: () => void;

beforeAll(() => {
  ({ dir, remove: removeDir } = tempDir('cli-check-config'));
  writeKeyFile(dir, 'tsig.key');
});
afterAll(() => removeDir());

// A DNS "server" that never answers, for probes that must time out.
const silent = useSilentServer();

function writeConfig(name: string, keyFile = 'tsig.key', timeout = '2s'): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    cliConfigYaml({
      pools: ['10.64.0.0/16', '2001:db8:100::/40'],
      backends: [{ name: 'bind-primary', server: `127.0.0.1:${silent.port}`, zones: ['rbl.example.net', 'rbl6.example.net'], keyFile, timeout }],
    }),
  );
  return file;
}

describe('rbl-unlist check-config', () => {
  it.skipIf(existsSync('/etc/rbl-unlist/config.yaml'))('without any config says how to give one, and exits 2', async () => {
    const result = await runCliCaptured(['check-config'], {});
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      'rbl-unlist: RBL_CONFIG_READ: cannot read config /etc/rbl-unlist/config.yaml: no such file (ENOENT); ' +
        'give the config file with --config FILE or $RBL_UNLIST_CONFIG (the default is /etc/rbl-unlist/config.yaml)\n',
    );
  });

  it('names the file $RBL_UNLIST_CONFIG points at when it does not exist', async () => {
    const result = await runCliCaptured(['check-config'], { RBL_UNLIST_CONFIG: join(dir, 'gone.yaml') });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`cannot read config ${join(dir, 'gone.yaml')}: no such file (ENOENT); give the config file with --config FILE or $RBL_UNLIST_CONFIG`);
  });

  it('prints every problem of a wrong file in one error, with suggestions', async () => {
    const file = join(dir, 'typos.yaml');
    writeFileSync(file, `${cliConfigYaml({ pools: ['10.64.0.0/16'], backends: [{ server: '127.0.0.1:99999', zones: ['rbl.example.net'], keyFile: 'tsig.key' }] })}satte:\n  dir: x\n`.replace('clients:', 'clinets:'));
    const result = await runCliCaptured(['check-config', '--config', file], {});
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      `rbl-unlist: RBL_CONFIG_UNKNOWN_KEY: ${file}: 3 problems:\n` +
        '  - unknown key radius.clinets (did you mean clients?)\n' +
        '  - unknown key satte (did you mean state?)\n' +
        '  - radius.clients is required\n',
    );
  });

  it('refuses a zone too long for the longest DNSBL name under it, naming its key, and exits 2', async () => {
    const zone = [...Array<string>(3).fill('z'.repeat(60)), 'z'.repeat(5)].join('.');
    const file = join(dir, 'long-zone.yaml');
    writeFileSync(file, cliConfigYaml({ pools: ['10.64.0.0/16'], backends: [{ server: '127.0.0.1:53', zones: ['rbl.example.net', zone], keyFile: 'tsig.key' }] }));
    const result = await runCliCaptured(['check-config', '--config', file], {});
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `rbl-unlist: RBL_CONFIG_INVALID: ${file}: backends.0.zones.1: "${zone}" is too long: the longest owner name under it, ` +
        'the wildcard below an IPv6 /127 (* and 32 nibble labels), would be 256 octets, past the 255 a domain name may have (RFC 1035 §2.3.4); ' +
        'use a zone of at most 187 characters\n',
    );
  });

  it('prints a summary of clients, pools, backends and zones and exits 0', async () => {
    const result = await runCliCaptured(['check-config', '--config', writeConfig('ok.yaml')]);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(`config OK: ${join(dir, 'ok.yaml')}`);
    expect(result.stdout).toContain('ras1: 127.0.0.1, secret in the config');
    expect(result.stdout).toContain('pools: 10.64.0.0/16, 2001:db8:100::/40');
    expect(result.stdout).toContain(`bind-primary: DNS UPDATE to 127.0.0.1:${silent.port}, TSIG key unlist-key (hmac-sha256) from ${join(dir, 'tsig.key')}`);
    expect(result.stdout).toContain('zones: rbl.example.net, rbl6.example.net');
    expect(result.stdout).not.toContain(TEST_TSIG_SECRET);
    expect(result.stdout).not.toContain('s3cret');
  });

  it("shows a client's max_sessions in the summary and the JSON", async () => {
    const file = writeConfig('capped.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/(\n\s*)secret: /, '$1max_sessions: 50000$1secret: '));
    const text = await runCliCaptured(['check-config', '--config', file]);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain('ras1: 127.0.0.1, secret in the config, at most 50000 sessions');
    const json = await runCliCaptured(['check-config', '--json', '--config', file]);
    expect((JSON.parse(json.stdout) as { config: { radius: { clients: unknown[] } } }).config.radius.clients[0]).toMatchObject({ name: 'ras1', maxSessions: 50_000 });
  });

  it('warns about a key file others can read, and still exits 0', async () => {
    const loose = writeKeyFile(dir, 'loose.key', { mode: 0o644 });
    chmodSync(loose, 0o644);
    const result = await runCliCaptured(['check-config', '--config', writeConfig('loose.yaml', 'loose.key')]);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe(`rbl-unlist: warning: ${loose} is readable by others: chmod 600 ${loose}\n`);
  });

  it('prints one JSON document without secrets under --json', async () => {
    const loose = writeKeyFile(dir, 'group.key', { mode: 0o640 });
    chmodSync(loose, 0o640);
    const result = await runCliCaptured(['check-config', '--json', '--config', writeConfig('json.yaml', 'group.key')]);
    expect(result.status).toBe(0);
    const document = JSON.parse(result.stdout) as {
      ok: boolean;
      config: { pools: string[]; backends: { name: string; zones: string[]; tsig: { name: string } }[] };
      warnings: { file: string; message: string }[];
    };
    expect(document.ok).toBe(true);
    expect(document.config.pools).toEqual(['10.64.0.0/16', '2001:db8:100::/40']);
    expect(document.config.backends[0]).toMatchObject({ name: 'bind-primary', zones: ['rbl.example.net', 'rbl6.example.net'], tsig: { name: 'unlist-key' } });
    expect(document.warnings).toEqual([{ file: loose, message: `${loose} is readable by group: chmod 600 ${loose}` }]);
    expect(result.stdout).not.toContain(TEST_TSIG_SECRET);
  });

  it('fails --probe with exit 1 naming the backend and zone when the server does not answer within the timeout', async () => {
    const started = Date.now();
    const result = await runCliCaptured(['check-config', '--probe', '--config', writeConfig('silent.yaml', 'tsig.key', '400ms')]);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('rbl-unlist: RBL_DNS_TIMEOUT: probe bind-primary, zone rbl.example.net: ');
    expect(result.stderr).toContain('rbl-unlist: RBL_DNS_TIMEOUT: probe bind-primary, zone rbl6.example.net: ');
    expect(result.stdout).toContain('probe bind-primary, zone rbl.example.net: FAILED');
  });
});
