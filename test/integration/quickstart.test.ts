/**
 * The README's quick start, run as a user runs it: its first command (deploy/quickstart/run)
 * without a terminal, until it shows a Stop unlisting an address from its own BIND; then Ctrl-C
 * (SIGINT), after which nothing it started may still run and its temporary folder must be gone.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '../helpers/cli.js';
import { executable, havePeers, tempDir, waitFor } from '../helpers/peers.js';
import { PROJECT_ROOT } from '../helpers/service.js';

const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## How it works'));
/** The README's first quick-start command. */
const firstCommand = /```sh\n([^\n]*)\n/.exec(quickStart)?.[1]?.trim() ?? '';

/** Whether a process with this id exists (and is not a zombie waiting for its parent). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** The ids of live processes whose command line mentions `text`. */
function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        return readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text) && running(Number(entry));
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe.skipIf(!havePeers('named', 'tsig-keygen', 'named-checkconf', 'dig', 'nsupdate', 'radclient'))("the README's quick start", () => {
  let child: ChildProcess;
  let output = '';
  let exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  beforeAll(async () => {
    expect(firstCommand).toBe('deploy/quickstart/run');
    // The quick start runs npm ci when node_modules is older than package-lock.json, as a user's
    // fresh clone needs; here that would replace node_modules under the other tests running now.
    const installed = join(PROJECT_ROOT, 'node_modules', '.package-lock.json');
    if (!existsSync(installed) || statSync(join(PROJECT_ROOT, 'package-lock.json')).mtimeMs > statSync(installed).mtimeMs) {
      throw new Error('node_modules is older than package-lock.json: run npm ci before the suite (the quick start would reinstall it while other tests use it)');
    }
    // Likewise its build, when a source file is newer than dist (npm test builds first).
    const built = statSync(join(PROJECT_ROOT, 'dist', 'cli', 'main.js')).mtimeMs;
    const newer = readdirSync(join(PROJECT_ROOT, 'src'), { recursive: true, encoding: 'utf8' }).filter((file) => statSync(join(PROJECT_ROOT, 'src', file)).mtimeMs > built);
    if (newer.length > 0) throw new Error(`src/${newer[0]} is newer than dist: run npm run build before the suite (the quick start would rebuild dist while other tests run it)`);
    // No terminal: stdin is /dev/null and stdout a pipe, as under CI.
    child = spawn(join(PROJECT_ROOT, firstCommand), [], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    await waitFor('the quick start to print the commands to try', () => output.includes('Ctrl-C stops') || child.exitCode !== null, 120_000, 100).catch(
      (error: Error) => {
        throw new Error(`${error.message}; output so far:\n${output}`);
      },
    );
  }, 130_000);

  afterAll(async () => {
    // Unset when the checks before the start failed (node_modules older than the lock file).
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exit;
    }
  });

  test('shows 10.64.0.5 listed in its BIND, then a Stop from radclient removing it', () => {
    expect(child.exitCode, output).toBeNull();
    const before = output.slice(output.indexOf('== before'), output.indexOf('== the NAS'));
    expect(before).toMatch(/5\.0\.64\.10\.rbl\.example\.net\.\s+300\s+IN\s+A\s+127\.0\.0\.2/);
    expect(before).toContain('"10.64.0.5 exceeded the SMTP rate limit"');
    expect(output).toContain('Received Accounting-Response');
    const after = output.slice(output.indexOf('== after'), output.indexOf('== rbl-unlist runs'));
    expect(after).toContain('10.64.0.5 is no longer listed');
    expect(after).not.toMatch(/IN\s+(A|TXT)\s/);
    const unlisted = JSON.parse(/^\{.*"msg":"unlisted".*\}$/m.exec(after)?.[0] ?? '{}') as Record<string, unknown>;
    expect(unlisted).toMatchObject({ session: 'demo-1', addresses: ['10.64.0.5'], backend: 'bind', zone: 'rbl.example.net' });
  });

  test("runs rbl-unlist with the Node flags on the executable's first line, as the installed command does", () => {
    const servicePid = Number(/rbl-unlist serve: .* pid (\d+)/.exec(output)?.[1]);
    const firstLine = readFileSync(join(PROJECT_ROOT, 'dist/cli/main.js'), 'utf8').split('\n', 1)[0]!;
    expect(firstLine).toMatch(/^#!\/usr\/bin\/env (-S )?node( |$)/);
    const flags = firstLine.replace(/^#!\/usr\/bin\/env (-S )?node/, '').trim().split(/\s+/).filter((flag) => flag !== '');
    const argv = readFileSync(`/proc/${servicePid}/cmdline`, 'utf8').split('\0');
    expect(argv.slice(1, 1 + flags.length), output).toEqual(flags);
    expect(argv[1 + flags.length]).toBe(join(PROJECT_ROOT, 'dist/cli/main.js'));
  });

  test('on Ctrl-C it stops named and rbl-unlist and removes its temporary folder', async () => {
    const folder = /in (\S+rbl-unlist-quickstart\.\w+)\n/.exec(output)?.[1];
    const namedPid = Number(/named pid (\d+)/.exec(output)?.[1]);
    const servicePid = Number(/rbl-unlist serve: .* pid (\d+)/.exec(output)?.[1]);
    expect(folder, output).toBeDefined();
    expect(existsSync(folder!)).toBe(true);
    expect(running(namedPid) && running(servicePid), output).toBe(true);
    expect(processesMentioning(folder!).length).toBeGreaterThanOrEqual(2);

    child.kill('SIGINT');
    const { code } = await Promise.race([exit, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit 30 s after SIGINT:\n${output}`)), 30_000))]);
    expect(code).toBe(130);
    expect(output).toContain(`removed ${folder}`);
    expect(running(namedPid)).toBe(false);
    expect(running(servicePid)).toBe(false);
    expect(processesMentioning(folder!)).toEqual([]);
    expect(existsSync(folder!)).toBe(false);
  }, 40_000);
});

describe('the quick start on a machine that lacks the DNS and RADIUS tools', () => {
  test('names the Debian packages to install and the apt-get line, and starts nothing', async () => {
    // A PATH with Node and the shell's basic tools but not dig, nsupdate, named-checkconf or
    // radclient (the script adds /usr/sbin, so named and tsig-keygen are still found). Run as
    // nobody when the test runs as root: as root the script would install them with apt-get.
    const bin = tempDir('quickstart-path');
    try {
      chmodSync(bin.dir, 0o755);
      symlinkSync(process.execPath, join(bin.dir, 'node'));
      for (const tool of ['bash', 'dirname', 'id', 'sort', 'tr']) symlinkSync(executable(tool), join(bin.dir, tool));
      const asNobody = process.getuid?.() === 0 ? ['--reuid=65534', '--regid=65534', '--clear-groups'] : undefined;
      // A copy of the script in a folder the user nobody can read, wherever the checkout lives
      // (it may be under /root): the script stops before it needs anything beside itself.
      const script = join(bin.dir, 'clone/deploy/quickstart/run');
      mkdirSync(join(bin.dir, 'clone/deploy/quickstart'), { recursive: true });
      copyFileSync(join(PROJECT_ROOT, 'deploy/quickstart/run'), script);
      chmodSync(script, 0o755);
      const result = await runCommand(asNobody ? executable('setpriv') : script, asNobody ? [...asNobody, script] : [], {
        cwd: bin.dir,
        env: { PATH: bin.dir, HOME: bin.dir },
        timeoutMs: 30_000,
      });
      expect(result.status, result.stdout + result.stderr).toBe(2);
      expect(result.stderr).toBe(
        'quickstart: missing Debian packages: bind9-dnsutils bind9-utils freeradius-utils\n' +
          'install them, then run this again:\n' +
          '  sudo apt-get install --no-install-recommends bind9-dnsutils bind9-utils freeradius-utils\n' +
          '(or run this script as root and it installs them)\n',
      );
      expect(result.stdout).toBe('');
    } finally {
      bin.remove();
    }
  });
});
