import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { BACKENDS, type BackendRegistry } from '../../src/backends/index.js';
import type { Config } from '../../src/config/load.js';
import { RblError } from '../../src/errors.js';
import { earlySignals } from '../../src/cli/early-signals.js';
import { runCli } from '../../src/cli/program.js';
import { cliConfigYaml, writeKeyFile } from '../helpers/cli.js';
import { tempDir } from '../helpers/peers.js';

// serve is tested against a stand-in daemon: what is checked here is the signal handling
// (SIGTERM/SIGINT close, SIGHUP reload or refusal), not the service itself.
const daemon = vi.hoisted(() => ({
  configs: [] as Config[],
  backends: [] as BackendRegistry[],
  started: 0,
  closed: 0,
  reloaded: [] as Config[],
  startError: undefined as Error | undefined,
  closeNever: false,
  startGate: undefined as Promise<void> | undefined,
  interrupted: 0,
}));
vi.mock('../../src/daemon.js', () => ({
  createDaemon: (config: Config, options: { backends: BackendRegistry }) => {
    daemon.configs.push(config);
    daemon.backends.push(options.backends);
    return {
      start: async () => {
        daemon.started++;
        await daemon.startGate;
        if (daemon.startError) throw daemon.startError;
      },
      close: () => {
        daemon.closed++;
        return daemon.closeNever ? new Promise<void>(() => undefined) : Promise.resolve();
      },
      reload: async (config: Config) => {
        daemon.reloaded.push(config);
      },
      interruptStart: () => {
        daemon.interrupted++;
      },
    };
  },
}));

// The log lines serve writes, parsed.
const logs = vi.hoisted(() => [] as { level: string; msg: string; code?: string }[]);
vi.mock('../../src/log.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/log.js')>();
  const { logLineSink } = await import('../helpers/log-lines.js');
  const sink = logLineSink(logs);
  return { ...original, createLogger: (level: string) => original.createLogger(level, sink) };
});

let dir: string;
let removeDir: () => void;
let configFile: string;
const goodYaml = () => cliConfigYaml({ pools: ['10.64.0.0/16'], backends: [{ server: '127.0.0.1:9', zones: ['rbl.example.net'], keyFile: 'tsig.key' }] }).replace('level: warn', 'level: info');

beforeAll(() => {
  ({ dir, remove: removeDir } = tempDir('cli-serve'));
  writeKeyFile(dir, 'tsig.key');
  configFile = join(dir, 'config.yaml');
});
afterAll(() => removeDir());
beforeEach(() => {
  writeFileSync(configFile, goodYaml());
  Object.assign(daemon, { configs: [], backends: [], started: 0, closed: 0, reloaded: [], startError: undefined, closeNever: false, startGate: undefined, interrupted: 0 });
  logs.length = 0;
});
afterEach(() => {
  vi.useRealTimers();
});

function serve(args: string[] = ['--config', configFile], process = new EventEmitter()) {
  // What main.ts hands serve: process, through the signals that came while the program loaded.
  const signals = earlySignals(process);
  let stderr = '';
  const status = runCli(['serve', ...args], {
    stdout: new Writable({ write: (_chunk, _encoding, callback) => callback() }),
    stderr: { write: (text: string) => (stderr += text) },
    env: {},
    signals,
  });
  return { signals: process, status, stderr: () => stderr };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

/** Holds the stand-in daemon's start until the returned function is called. */
function holdStart(): () => void {
  let open!: () => void;
  daemon.startGate = new Promise<void>((resolve) => (open = resolve));
  return open;
}

describe('rbl-unlist serve', () => {
  it('starts the daemon and exits 0 after SIGTERM once it has closed', async () => {
    const run = serve();
    await settle();
    expect(daemon.started).toBe(1);
    expect(daemon.configs[0]!.file).toBe(configFile);
    // The product's backend list, passed by the entry point: the seam a test uses to add its own.
    expect(daemon.backends).toEqual([BACKENDS]);
    run.signals.emit('SIGTERM');
    expect(await run.status).toBe(0);
    expect(daemon.closed).toBe(1);
    expect(run.signals.listenerCount('SIGHUP')).toBe(0);
  });

  it('closes with exit 0 once started on a SIGTERM that came while the program was still loading', async () => {
    const open = holdStart();
    const process = new EventEmitter();
    const run = serve(['--config', configFile], process);
    // runCli has not reached serve's handlers yet: the signal lands on the program as it loads.
    process.emit('SIGTERM', 'SIGTERM');
    await settle();
    expect(daemon.closed).toBe(0);
    open();
    expect(await run.status).toBe(0);
    expect(daemon.started).toBe(1);
    expect(daemon.closed).toBe(1);
    expect(logs.map((line) => line.msg)).toEqual(['SIGTERM while starting: stopping as soon as started', 'SIGTERM: stopping']);
    expect(['SIGTERM', 'SIGINT', 'SIGHUP'].map((signal) => process.listenerCount(signal))).toEqual([0, 0, 0]);
  });

  it('closes on SIGINT too, and only once when the signal repeats', async () => {
    const run = serve();
    await settle();
    run.signals.emit('SIGINT');
    run.signals.emit('SIGINT');
    expect(await run.status).toBe(0);
    expect(daemon.closed).toBe(1);
  });

  it('reloads the config on SIGHUP and hands it to the daemon', async () => {
    const run = serve();
    await settle();
    writeFileSync(configFile, goodYaml().replace('10.64.0.0/16', '10.65.0.0/16'));
    run.signals.emit('SIGHUP');
    await settle();
    expect(daemon.reloaded).toHaveLength(1);
    expect(daemon.reloaded[0]!.pools.map((pool) => pool.bytes.join('.'))).toEqual(['10.65.0.0']);
    run.signals.emit('SIGTERM');
    expect(await run.status).toBe(0);
  });

  it('keeps the running config and logs the code when the reloaded config is wrong', async () => {
    const run = serve();
    await settle();
    writeFileSync(configFile, `${goodYaml()}surprise: 1\n`);
    run.signals.emit('SIGHUP');
    await settle();
    expect(daemon.reloaded).toEqual([]);
    const refused = logs.find((line) => line.msg.startsWith('config reload refused: '));
    expect(refused).toMatchObject({ level: 'error', code: 'RBL_CONFIG_UNKNOWN_KEY' });
    expect(refused!.msg).toContain('unknown key surprise');
    expect(refused).not.toHaveProperty('err');
    run.signals.emit('SIGTERM');
    expect(await run.status).toBe(0);
  });

  it('reloads once started after a SIGHUP that arrives while the daemon is still starting, whose config the start did not read', async () => {
    const open = holdStart();
    const run = serve();
    await settle();
    // Without a listener, SIGHUP's default action would end a real process here.
    expect(run.signals.listenerCount('SIGHUP')).toBe(1);
    writeFileSync(configFile, goodYaml().replace('10.64.0.0/16', '10.65.0.0/16'));
    run.signals.emit('SIGHUP');
    run.signals.emit('SIGHUP');
    expect(logs.filter((line) => line.msg === 'SIGHUP while starting: reloading the config as soon as started')).toHaveLength(1);
    await settle();
    expect(daemon.reloaded).toEqual([]);
    open();
    await settle();
    // Two SIGHUPs while starting make one reload.
    expect(daemon.reloaded).toHaveLength(1);
    expect(daemon.reloaded[0]!.pools.map((pool) => pool.bytes.join('.'))).toEqual(['10.65.0.0']);
    run.signals.emit('SIGHUP');
    await settle();
    expect(daemon.reloaded).toHaveLength(2);
    run.signals.emit('SIGTERM');
    expect(await run.status).toBe(0);
    expect(run.signals.listenerCount('SIGHUP')).toBe(0);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('closes and exits 0 on a %s that arrives while the daemon is still starting, once it has started', async (signal) => {
    const open = holdStart();
    const run = serve();
    await settle();
    // Without a listener, the signal's default action would kill a real process mid-start.
    expect(run.signals.listenerCount(signal)).toBe(1);
    run.signals.emit(signal);
    run.signals.emit('SIGHUP');
    await settle();
    // Closing halfway through the start would race it: the close waits for the start.
    expect(daemon.closed).toBe(0);
    expect(logs.some((line) => line.level === 'info' && line.msg === `${signal} while starting: stopping as soon as started`)).toBe(true);
    open();
    expect(await run.status).toBe(0);
    expect(daemon.closed).toBe(1);
    expect(daemon.reloaded).toEqual([]);
    for (const name of ['SIGTERM', 'SIGINT', 'SIGHUP']) expect(run.signals.listenerCount(name)).toBe(0);
  });

  it('exits 1 when the start fails after a SIGTERM asked it to stop, and closes once', async () => {
    const open = holdStart();
    daemon.startError = new RblError('RBL_LISTEN', 'cannot bind 127.0.0.1:1813: address in use');
    const run = serve();
    await settle();
    run.signals.emit('SIGTERM');
    open();
    expect(await run.status).toBe(1);
    expect(daemon.closed).toBe(1);
    expect(run.signals.listenerCount('SIGTERM')).toBe(0);
  });

  it('tells a start that waits for room on a full state.dir to give up on SIGTERM, and exits 0: a stop, not a failure', async () => {
    const open = holdStart();
    daemon.startError = new RblError('RBL_STATE_DIR', 'cannot create the lock /var/lib/rbl-unlist/lock: ENOSPC', { cause: Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' }) });
    const run = serve();
    await settle();
    expect(daemon.interrupted).toBe(0);
    run.signals.emit('SIGTERM');
    expect(daemon.interrupted).toBe(1);
    open();
    expect(await run.status).toBe(0);
    expect(logs.find((line) => line.msg.startsWith('stopped while waiting for room in state.dir'))).toMatchObject({ level: 'info', code: 'RBL_STATE_DIR' });
    expect(logs.some((line) => line.level === 'fatal')).toBe(false);
    expect(daemon.closed).toBe(1);
  });

  it('exits 1 when the daemon has not closed 10 s after SIGTERM', async () => {
    daemon.closeNever = true;
    const run = serve();
    await settle();
    vi.useFakeTimers();
    run.signals.emit('SIGTERM');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await run.status).toBe(1);
    expect(logs.some((line) => line.msg.includes('did not close within 10 s'))).toBe(true);
  });

  it('exits 1, 10 s after a SIGTERM, from a start that never ends', async () => {
    daemon.startGate = new Promise<void>(() => undefined);
    const run = serve();
    await settle();
    vi.useFakeTimers();
    run.signals.emit('SIGTERM');
    await vi.advanceTimersByTimeAsync(9_999);
    let settledWith: number | undefined;
    void run.status.then((status) => (settledWith = status));
    await vi.advanceTimersByTimeAsync(0);
    expect(settledWith).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(await run.status).toBe(1);
    expect(logs.some((line) => line.level === 'error' && line.msg === 'still starting 10 s after SIGTERM; exiting anyway')).toBe(true);
    expect(daemon.closed).toBe(0);
    for (const name of ['SIGTERM', 'SIGINT', 'SIGHUP']) expect(run.signals.listenerCount(name)).toBe(0);
  });

  it('counts the 10 s from the signal, not from the end of the start, when the close then hangs', async () => {
    const open = holdStart();
    daemon.closeNever = true;
    const run = serve();
    await settle();
    vi.useFakeTimers();
    run.signals.emit('SIGINT');
    await vi.advanceTimersByTimeAsync(6_000);
    open();
    await vi.advanceTimersByTimeAsync(0);
    expect(daemon.closed).toBe(1);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(await run.status).toBe(1);
    expect(logs.some((line) => line.msg === 'did not close within 10 s; exiting anyway')).toBe(true);
  });

  it('exits 2 without starting anything when the config is wrong', async () => {
    writeFileSync(configFile, 'pools: [10.64.0.0/16]\n');
    const run = serve();
    expect(await run.status).toBe(2);
    expect(run.stderr()).toMatch(/^rbl-unlist: RBL_CONFIG_INVALID: .*: 2 problems:\n {2}- radius is required\n {2}- backends is required\n$/);
    expect(daemon.started).toBe(0);
  });

  it('logs the failed start\'s stack and cause only at debug', async () => {
    writeFileSync(configFile, goodYaml().replace('level: info', 'level: debug'));
    daemon.startError = new RblError('RBL_LISTEN', 'cannot bind 127.0.0.1:1813: address in use', { cause: new Error('bind EADDRINUSE') });
    expect(await serve().status).toBe(1);
    expect(logs.find((line) => line.level === 'fatal')).toHaveProperty('err.stack');
  });

  it('exits 1 with the error when the daemon cannot start', async () => {
    daemon.startError = new RblError('RBL_LISTEN', 'cannot bind 127.0.0.1:1813: address in use');
    const run = serve();
    expect(await run.status).toBe(1);
    expect(run.stderr()).toBe('rbl-unlist: RBL_LISTEN: cannot bind 127.0.0.1:1813: address in use\n');
    const fatal = logs.filter((line) => line.level === 'fatal');
    expect(fatal).toEqual([expect.objectContaining({ code: 'RBL_LISTEN', msg: 'rbl-unlist failed to start: cannot bind 127.0.0.1:1813: address in use' })]);
    expect(fatal[0]).not.toHaveProperty('err');
    expect(run.signals.listenerCount('SIGTERM')).toBe(0);
    expect(run.signals.listenerCount('SIGHUP')).toBe(0);
  });
});
