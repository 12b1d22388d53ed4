/**
 * The npm package as operators get it: `npm pack` gives a tarball that installs into an empty
 * prefix with production dependencies only, and whose `rbl-unlist` executable runs.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../helpers/cli.js';
import { freePort, tempDir } from '../helpers/peers.js';
import { buildStatusServer, sendRadius } from '../helpers/radius-packets.js';
import { BUILT_CLI, NAS_SECRET, PROJECT_ROOT, serviceConfigYaml, startService, writeConfig } from '../helpers/service.js';

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command with a time limit, collecting its output. */
function run(command: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<Run> {
  return runCommand(command, args, { cwd, env: { ...process.env, npm_config_update_notifier: 'false' }, timeoutMs });
}

interface PackEntry {
  readonly filename: string;
  readonly files: readonly { path: string }[];
}

describe('the npm package', () => {
  let temp: { dir: string; remove: () => void };
  let tarball: string;
  let packedFiles: string[];

  beforeAll(async () => {
    if (!existsSync(BUILT_CLI)) throw new Error(`${BUILT_CLI} is missing: run npm run build first (npm test does)`);
    temp = tempDir('pack');
    // --ignore-scripts: prepack would rebuild dist/ while other test files run the built CLI;
    // npm test has just built it.
    const packed = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', temp.dir], PROJECT_ROOT, 60_000);
    expect(packed.status, packed.stderr).toBe(0);
    const [entry] = JSON.parse(packed.stdout) as PackEntry[];
    tarball = join(temp.dir, entry!.filename);
    packedFiles = entry!.files.map((file) => file.path);
  }, 90_000);

  afterAll(() => temp?.remove());

  it('holds the built CLI, the dictionaries and the deploy files, and no sources or tests', () => {
    expect(packedFiles).toContain('dist/cli/main.js');
    expect(packedFiles).toContain('package.json');
    expect(packedFiles).toContain('deploy/systemd/rbl-unlist.service');
    expect(packedFiles).toContain('deploy/config.example.yaml');
    expect(packedFiles).toContain('deploy/freeradius/detail-relay/sites-available/rbl-unlist-detail');
    expect(packedFiles.some((path) => path.startsWith('dictionaries/'))).toBe(true);
    expect(packedFiles.filter((path) => path.startsWith('src/') || path.startsWith('test/'))).toEqual([]);
    // Every entry point package.json names is in the package: an installer links bin, a require of the package reads main.
    const manifest = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { bin?: Record<string, string>; main?: string; exports?: unknown };
    const entries = [...Object.values(manifest.bin ?? {}), ...(manifest.main === undefined ? [] : [manifest.main]), ...JSON.stringify(manifest.exports ?? {}).match(/\.\/[^"]+/g) ?? []];
    expect(entries.length).toBeGreaterThan(0);
    for (const entry of entries) expect(packedFiles).toContain(entry.replace(/^\.\//, ''));
  });

  it('installs into a clean prefix with production dependencies; rbl-unlist --help prints the usage and serve runs', async () => {
    const prefix = join(temp.dir, 'prefix');
    mkdirSync(prefix);

    const installed = await run('npm', ['install', '--prefix', prefix, '--omit=dev', '--no-audit', '--no-fund', tarball], temp.dir, 120_000);
    expect(installed.status, `${installed.stdout}${installed.stderr}`).toBe(0);
    // Production dependencies only: no compiler or test runner comes along.
    expect(existsSync(join(prefix, 'node_modules', 'typescript'))).toBe(false);
    expect(existsSync(join(prefix, 'node_modules', 'vitest'))).toBe(false);

    const help = await run(join(prefix, 'node_modules', '.bin', 'rbl-unlist'), ['--help'], temp.dir, 20_000);
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/Usage: rbl-unlist/);
    expect(help.stdout).toContain('serve');

    // The installed service runs as systemd starts it, through the executable: its first line
    // starts node; it loads its dictionaries, opens the journal, binds, answers a Status-Server,
    // and exits 0 on SIGTERM.
    const radiusPort = await freePort();
    writeFileSync(join(temp.dir, 'tsig.key'), 'key "k" {\n\talgorithm hmac-sha256;\n\tsecret "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=";\n};\n', { mode: 0o600 });
    const config = writeConfig(
      temp.dir,
      serviceConfigYaml({ radiusPort, bind: { port: await freePort(), keyFile: join(temp.dir, 'tsig.key') }, stateDir: join(temp.dir, 'state') }),
    );
    const service = await startService(config, { executable: join(prefix, 'node_modules', '.bin', 'rbl-unlist') });
    try {
      const commandLine = readFileSync(`/proc/${service.child.pid}/cmdline`, 'utf8').split('\0');
      // `#!/usr/bin/env node`: Node with no flags of ours, then the installed command.
      expect(commandLine.slice(0, 2)).toEqual([expect.stringMatching(/(^|\/)node$/), join(prefix, 'node_modules', '.bin', 'rbl-unlist')]);
      const answer = await sendRadius(buildStatusServer({ identifier: 1, secret: NAS_SECRET }), radiusPort);
      expect(answer?.[0]).toBe(5);
    } finally {
      expect(await service.stop()).toBe(0);
    }
  }, 150_000);
});
