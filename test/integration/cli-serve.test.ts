import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { encodeRecord } from '../../src/queue/record.js';
import { JOURNAL_FILE } from '../../src/queue/store-open.js';
import { cliConfigYaml, runBuiltCli, writeKeyFile } from '../helpers/cli.js';
import { freePort, tempDir, waitFor } from '../helpers/peers.js';
import { BUILT_CLI, PROJECT_ROOT, startService, type LogLine, type ServiceHandle } from '../helpers/service.js';

// The built binary as systemd runs it: real signals, real process exit.
describe('rbl-unlist serve as a process', () => {
  let dir: string;
  let removeDir: () => void;
  let configFile: string;
  let service: ServiceHandle | undefined;
  const yaml = () =>
    cliConfigYaml({ pools: ['10.64.0.0/16'], backends: [{ server: '127.0.0.1:9', zones: ['rbl.example.net'], keyFile: 'tsig.key' }] }).replace('level: warn', 'level: info');

  beforeAll(() => {
    ({ dir, remove: removeDir } = tempDir('cli-serve'));
    writeKeyFile(dir, 'tsig.key');
    configFile = join(dir, 'config.yaml');
  });
  afterEach(async () => {
    await service?.stop('SIGKILL');
    service = undefined;
  });
  afterAll(() => removeDir());

  it('keeps running with the old config when SIGHUP finds a broken one, and exits 0 on SIGTERM', async () => {
    writeFileSync(configFile, yaml());
    service = await startService(configFile);
    writeFileSync(configFile, `${yaml()}bogus_key: 1\n`);
    service.child.kill('SIGHUP');
    const refused = await service.waitForLog((line) => line.msg.startsWith('config reload refused'));
    expect(refused).toMatchObject({ level: 'error', code: 'RBL_CONFIG_UNKNOWN_KEY' });
    expect(refused.msg).toContain('bogus_key');
    // One line: no stack and no cause repeated after the message at info.
    expect(refused).not.toHaveProperty('err');

    writeFileSync(configFile, yaml().replace('10.64.0.0/16', '10.65.0.0/16'));
    service.child.kill('SIGHUP');
    await service.waitForLog((line) => line.msg === 'config reloaded');

    expect(await service.stop('SIGTERM')).toBe(0);
    expect(service.logs().some((line) => line.msg === 'rbl-unlist stopped')).toBe(true);
  });

  it('exits 0 on SIGINT', async () => {
    writeFileSync(configFile, yaml());
    service = await startService(configFile);
    expect(await service.stop('SIGINT')).toBe(0);
  });

  /**
   * A state.dir whose journal holds `sessions` sessions: the start takes a second or so to replay
   * them. The lock is taken before that, so a signal sent once the lock file is there lands in the
   * middle of the start. Returns the config for it.
   */
  function replayingConfig(name: string, sessions: number): { stateDir: string; yaml: string } {
    const stateDir = join(dir, name);
    mkdirSync(stateDir, { mode: 0o700 });
    const fd = openSync(join(stateDir, JOURNAL_FILE), 'w', 0o600);
    const now = Date.now();
    writeSync(fd, encodeRecord({ t: 'h', v: 3, seq: 1, at: now }));
    for (let first = 0; first < sessions; first += 5000) {
      const rows = Array.from({ length: 5000 }, (_, k) => {
        const i = first + k;
        return ['ras1', 'nas-a', `replay-${i}`, [`10.${64 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}`], now, now, Math.floor(now / 1000)];
      });
      writeSync(fd, encodeRecord({ t: 's', s: rows }));
    }
    closeSync(fd);
    return { stateDir, yaml: yaml().replace('"10.64.0.0/16"', '"10.64.0.0/12"').replace('dir: "state"', `dir: ${JSON.stringify(stateDir)}`) };
  }

  /** Starts the built service and resolves once it holds the state lock, that is, while it starts. */
  async function startingService(stateDir: string): Promise<{ child: ChildProcess; exited: Promise<number | null>; messages: () => LogLine[] }> {
    const child = spawn(process.execPath, [BUILT_CLI, 'serve', '--config', configFile], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await waitFor('the state lock', () => existsSync(join(stateDir, 'lock')), 15_000, 2);
    const messages = () => output.split('\n').filter(Boolean).map((line) => JSON.parse(line) as LogLine);
    return { child, exited, messages };
  }

  it('closes with exit 0 on a SIGTERM that lands while the journal is replayed, and keeps every session', async () => {
    const sessions = 200_000;
    const { stateDir, yaml: config } = replayingConfig('state-replay', sessions);
    writeFileSync(configFile, config);
    const starting = await startingService(stateDir);
    starting.child.kill('SIGTERM');
    expect(await starting.exited).toBe(0);
    expect(starting.messages().map((line) => line.msg)).toEqual(['SIGTERM while starting: stopping as soon as started', 'rbl-unlist started', 'SIGTERM: stopping', 'rbl-unlist stopped']);

    service = await startService(configFile);
    expect(service.logs().find((line) => line.msg === 'rbl-unlist started')).toMatchObject({ sessions });
  });

  it('reloads, once started, the config a SIGHUP asked for while the journal was replayed', async () => {
    const { stateDir, yaml: config } = replayingConfig('state-replay-hup', 200_000);
    writeFileSync(configFile, config);
    const starting = await startingService(stateDir);
    writeFileSync(configFile, config.replace('  clients:\n', '  clients:\n    - name: ras2\n      address: 127.0.0.2/32\n      secret: other-secret\n'));
    starting.child.kill('SIGHUP');
    await waitFor('the reload', () => starting.messages().some((line) => line.msg === 'config reloaded'), 15_000, 20);
    const lines = starting.messages();
    expect(lines.map((line) => line.msg)).toEqual(['SIGHUP while starting: reloading the config as soon as started', 'rbl-unlist started', 'config reloaded']);
    expect(lines[2]).toMatchObject({ clients: 2 });
    starting.child.kill('SIGTERM');
    expect(await starting.exited).toBe(0);
  });

  /**
   * Module hooks for the service process that mark when it resolves src/cli/program.js (which
   * main.ts loads after listening for signals) and hold that resolution for 300 ms: a signal sent
   * then lands while the program still loads. Returns the node arguments that load them.
   */
  function loadingMarker(marker: string): string[] {
    const hooks = join(dir, 'mark-program-hooks.mjs');
    writeFileSync(
      hooks,
      `import { writeFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  if (specifier.endsWith('/program.js')) {
    writeFileSync(${JSON.stringify(marker)}, 'loading');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
  }
  return next(specifier, context);
}
`,
    );
    const register = join(dir, 'mark-program.mjs');
    writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
    return ['--import', pathToFileURL(register).href];
  }

  it('closes with exit 0 on a SIGTERM that lands while the program still loads', async () => {
    writeFileSync(configFile, yaml());
    const marker = join(dir, 'program-loading');
    rmSync(marker, { force: true });
    const child = spawn(process.execPath, [...loadingMarker(marker), BUILT_CLI, 'serve', '--config', configFile], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (code, signal) => resolve([code, signal])));
    await waitFor('the program to load', () => existsSync(marker), 15_000, 2);
    // Without a listener yet, Node's own handler ends the process; to a container's PID 1 the kernel would not deliver it.
    child.kill('SIGTERM');
    expect(await exited).toEqual([0, null]);
    const messages = output.split('\n').filter(Boolean).map((line) => (JSON.parse(line) as LogLine).msg);
    expect(messages).toEqual(['SIGTERM while starting: stopping as soon as started', 'rbl-unlist started', 'SIGTERM: stopping', 'rbl-unlist stopped']);
  });

  it('says why it cannot start in one log line and one stderr line, without a stack, and exits 1', async () => {
    const port = await freePort();
    const holder = createSocket('udp4');
    await new Promise<void>((resolve) => holder.bind(port, '127.0.0.1', resolve));
    try {
      writeFileSync(configFile, yaml().replace('"127.0.0.1:0"', `"127.0.0.1:${port}"`));
      const result = await runBuiltCli(['serve', '--config', configFile]);
      expect(result.status).toBe(1);
      const lines = result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines).toEqual([
        expect.objectContaining({ level: 'fatal', code: 'RBL_LISTEN', msg: expect.stringMatching(new RegExp(`^rbl-unlist failed to start: cannot listen for RADIUS accounting on 127\\.0\\.0\\.1:${port}: EADDRINUSE`)) }),
      ]);
      expect(lines[0]).not.toHaveProperty('err');
      expect(result.stderr).toBe(`rbl-unlist: RBL_LISTEN: ${String(lines[0]!.msg).slice('rbl-unlist failed to start: '.length)}\n`);
    } finally {
      holder.close();
    }
  });
});
