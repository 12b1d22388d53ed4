import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliConfigYaml, runCliCaptured, writeKeyFile } from '../helpers/cli.js';
import { tempDir } from '../helpers/peers.js';
import { packageVersion } from '../../src/cli/program.js';

let dir: string;
let removeDir: () => void;
let configFile: string;

beforeAll(() => {
  ({ dir, remove: removeDir } = tempDir('cli-usage'));
  writeKeyFile(dir, 'tsig.key');
  configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, cliConfigYaml({ pools: ['10.64.0.0/16'], backends: [{ server: '127.0.0.1:9', zones: ['rbl.example.net'], keyFile: 'tsig.key' }] }));
});
afterAll(() => removeDir());

describe('rbl-unlist help and usage', () => {
  it.each([[[]], [['serve']], [['unlist']], [['check']], [['check-config']], [['queue']], [['queue', 'list']], [['queue', 'retry']], [['queue', 'drop']]])(
    'prints help with an example for %j --help and exits 0',
    async (command) => {
      const result = await runCliCaptured([...command, '--help']);
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/Usage: rbl-unlist/);
      expect(result.stdout).toMatch(/Examples?:\n {2}\$ rbl-unlist /);
      expect(result.stderr).toBe('');
    },
  );

  it('prints the package version for --version and exits 0', async () => {
    const result = await runCliCaptured(['--version']);
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe(packageVersion());
  });

  it.each([
    ['an unknown command', ['unlsit', '10.64.0.1'], /unknown command 'unlsit'/],
    ['an unknown option', ['unlist', '--frce', '10.64.0.1'], /unknown option '--frce'/],
    ['unlist without an address', ['unlist'], /missing required argument/],
    ['check without an address', ['check'], /missing required argument/],
    ['--config without a file', ['check-config', '--config'], /argument missing/],
    ['no command at all', [], /Usage: rbl-unlist/],
    ['queue drop with neither IDs nor --all', ['queue', 'drop', '--config', '/nonexistent.yaml'], /RBL_USAGE: queue drop: name the job IDs/],
  ])('exits 2 with a usage message for %s', async (_what, args, message) => {
    const result = await runCliCaptured(args);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it('reports usage errors as rbl-unlist: RBL_USAGE: message', async () => {
    const result = await runCliCaptured(['check', '--bogus', '10.64.0.1']);
    expect(result.stderr.split('\n')[0]).toBe("rbl-unlist: RBL_USAGE: unknown option '--bogus'");
  });
});

describe('rbl-unlist config errors', () => {
  const cases: [string, () => string, string, RegExp][] = [
    ['a missing config file', () => join(dir, 'missing.yaml'), 'RBL_CONFIG_READ', /missing\.yaml/],
    [
      'an unreadable config file',
      () => {
        const file = join(dir, 'unreadable.yaml');
        writeFileSync(file, 'pools: []\n');
        chmodSync(file, 0o000);
        return file;
      },
      'RBL_CONFIG_READ',
      /unreadable\.yaml/,
    ],
    [
      // Readable by nobody, root included: a folder where the file should be.
      'a config path that cannot be read as a file',
      () => {
        const folder = join(dir, 'folder.yaml');
        mkdirSync(folder, { recursive: true });
        return folder;
      },
      'RBL_CONFIG_READ',
      /folder\.yaml.*EISDIR/,
    ],
    [
      'an unknown config key',
      () => {
        const file = join(dir, 'unknown-key.yaml');
        writeFileSync(file, cliConfigYaml({ pools: ['10.64.0.0/16'], backends: [{ server: '127.0.0.1:9', zones: ['rbl.example.net'], keyFile: 'tsig.key' }] }) + 'pool_size: 3\n');
        return file;
      },
      'RBL_CONFIG_UNKNOWN_KEY',
      /unknown key pool_size/,
    ],
    [
      'a TSIG key file that does not parse',
      () => {
        writeFileSync(join(dir, 'broken.key'), 'key "unlist-key" { algorithm hmac-sha256; };\n', { mode: 0o600 });
        const file = join(dir, 'broken-key.yaml');
        writeFileSync(file, cliConfigYaml({ pools: ['10.64.0.0/16'], backends: [{ server: '127.0.0.1:9', zones: ['rbl.example.net'], keyFile: 'broken.key' }] }));
        return file;
      },
      'RBL_TSIG_KEYFILE',
      /broken\.key: key "unlist-key" has no secret statement/,
    ],
  ];
  // root reads a mode-000 file anyway, so the unreadable case only means something for other users.
  const runnable = cases.filter(([what]) => what !== 'an unreadable config file' || process.getuid?.() !== 0);

  for (const command of [['check-config'], ['unlist', '10.64.0.1'], ['check', '10.64.0.1'], ['queue', 'list']]) {
    it.each(runnable)(`${command[0]} exits 2 naming the problem for %s`, async (_what, file, code, message) => {
      const result = await runCliCaptured([...command, '--config', file()]);
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(new RegExp(`^rbl-unlist: ${code}: `));
      expect(result.stderr).toMatch(message);
    });
  }

  it('reads the config from $RBL_UNLIST_CONFIG when --config is not given', async () => {
    const result = await runCliCaptured(['check-config'], { RBL_UNLIST_CONFIG: configFile });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`config OK: ${configFile}`);
  });

  it('falls back to /etc/rbl-unlist/config.yaml and names it when it is missing', async () => {
    const result = await runCliCaptured(['check-config']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('/etc/rbl-unlist/config.yaml');
  });

  it('prints a JSON error document on stdout with --json when the config is wrong', async () => {
    const result = await runCliCaptured(['check-config', '--json', '--config', join(dir, 'missing.yaml')]);
    expect(result.status).toBe(2);
    const document = JSON.parse(result.stdout) as { ok: boolean; error: { code: string; message: string } };
    expect(document.ok).toBe(false);
    expect(document.error.code).toBe('RBL_CONFIG_READ');
  });
});
