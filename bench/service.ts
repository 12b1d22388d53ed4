/**
 * The daemon under test: the built `node dist/cli/main.js serve`, with the Node flags of the
 * executable's first line, as systemd runs `rbl-unlist serve`, in its own
 * process with its log going to a file (so reading it costs the load generator nothing while the
 * load runs). Metrics come from its /metrics endpoint, memory from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { nowMs } from './load.js';
import { BENCH_POOL, BENCH_SECRET } from './zone.js';

/** The package root: the bench runs compiled from bench/results/build/bench, so it is found by its package.json. */
export const PROJECT_ROOT = findProjectRoot(import.meta.dirname);
export const BUILT_CLI = join(PROJECT_ROOT, 'dist/cli/main.js');

export interface ServiceSettings {
  readonly dir: string;
  readonly radiusPort: number;
  readonly httpPort: number;
  readonly bindPort: number;
  readonly keyFile: string;
  readonly zone: string;
  readonly logLevel: 'info' | 'warn';
  /** Writes a V8 CPU profile into dir when the daemon exits. */
  readonly cpuProfile?: boolean;
  /** The CLI to run, to compare a candidate build with dist/ (default dist/cli/main.js). */
  readonly cli?: string;
  /** The backend's name (default: the daemon's own, `dns-update 127.0.0.1:PORT`); a fixed one keeps its queue across a server change. */
  readonly backendName?: string;
  /** How long the daemon may take to answer on HTTP (default 20 s). */
  readonly startTimeoutMs?: number;
}

export interface BenchService {
  readonly pid: number;
  readonly logFile: string;
  /** When the process was spawned (nowMs). */
  readonly spawnedAt: number;
  /** The /metrics sample values by `name{labels}`. */
  metrics(): Promise<Map<string, number>>;
  /** VmRSS and VmHWM (peak) from /proc, in bytes. */
  memory(): { rss: number; peak: number };
  /** Rewrites the config with another DNS server port and sends SIGHUP (the daemon reloads its backends). */
  moveBackend(bindPort: number): void;
  /** SIGTERM, then waits for the exit (SIGKILL after 20 s); returns the CPU profile file, if one was written. */
  stop(): Promise<string | undefined>;
}

/** The shipped defaults, except where the bench must say where things are. */
function configText(settings: ServiceSettings): string {
  return `radius:
  listen: ["127.0.0.1:${settings.radiusPort}"]
  clients:
    - name: bench-nas
      address: 127.0.0.1/32
      secret: ${BENCH_SECRET}
pools: [${BENCH_POOL}]
backends:
  - type: dns-update
    server: 127.0.0.1:${settings.bindPort}
${settings.backendName === undefined ? '' : `    name: ${settings.backendName}\n`}    zones: [${settings.zone}]
    tsig_key_file: ${settings.keyFile}
state:
  dir: ${join(settings.dir, 'state')}
http:
  listen: 127.0.0.1:${settings.httpPort}
log:
  level: ${settings.logLevel}
`;
}

/**
 * The Node flags on the first line of a build's executable (`#!/usr/bin/env -S node FLAGS`): the
 * service runs with them wherever it is started as `rbl-unlist` (systemd, the container, the quick
 * start), so the bench passes them too. Older builds have none.
 */
export function shebangNodeFlags(cli: string): string[] {
  const first = readFileSync(cli, 'utf8').split('\n', 1)[0] ?? '';
  const words = first.startsWith('#!') ? first.slice(2).trim().split(/\s+/) : [];
  const node = words.findIndex((word) => word === 'node' || word.endsWith('/node'));
  return node === -1 ? [] : words.slice(node + 1);
}

/** Starts the daemon and waits until it answers on its HTTP endpoint. */
export async function startBenchService(settings: ServiceSettings): Promise<BenchService> {
  const cli = settings.cli ?? BUILT_CLI;
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run npm run build first (npm run bench does)`);
  const configFile = join(settings.dir, 'config.yaml');
  writeFileSync(configFile, configText(settings), { mode: 0o600 });
  const logFile = join(settings.dir, 'daemon.log');
  const logFd = openSync(logFile, 'w');
  const profileArgs = settings.cpuProfile ? ['--cpu-prof', '--cpu-prof-dir', settings.dir, '--cpu-prof-name', 'daemon.cpuprofile'] : [];
  const spawnedAt = nowMs();
  const child: ChildProcess = spawn(process.execPath, [...shebangNodeFlags(cli), ...profileArgs, cli, 'serve', '--config', configFile], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolveExit) => child.once('exit', (code) => {
    exitCode = code;
    resolveExit();
  }));

  // The HTTP endpoint is up while the journal is replayed, before the RADIUS sockets are bound
  // (by the receive thread, which takes a moment to start): /readyz's radius check says when
  // they are. At log.level warn there is no "started" line to wait for.
  const deadline = Date.now() + (settings.startTimeoutMs ?? 20_000);
  while (!(await radiusBound(`http://127.0.0.1:${settings.httpPort}`))) {
    if (exitCode !== undefined || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the daemon did not start (exit ${exitCode}):\n${readFileSync(logFile, 'utf8').slice(-4000)}`);
    }
    await sleep(50);
  }

  return {
    pid: child.pid!,
    logFile,
    spawnedAt,
    moveBackend(bindPort) {
      writeFileSync(configFile, configText({ ...settings, bindPort }), { mode: 0o600 });
      child.kill('SIGHUP');
    },
    async metrics() {
      const response = await fetch(`http://127.0.0.1:${settings.httpPort}/metrics`);
      return parseMetrics(await response.text());
    },
    memory() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
      return { rss: kib('VmRSS'), peak: kib('VmHWM') };
    },
    async stop() {
      if (exitCode === undefined) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(killer);
      }
      const profile = join(settings.dir, 'daemon.cpuprofile');
      return settings.cpuProfile && existsSync(profile) ? profile : undefined;
    },
  };
}

function findProjectRoot(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'tsconfig.build.json'))) return dir;
  }
  throw new Error(`no rbl-unlist package root above ${from}`);
}

/** Whether /readyz says the RADIUS sockets are bound (whatever the backends' checks say). */
async function radiusBound(base: string): Promise<boolean> {
  try {
    const body = (await (await fetch(`${base}/readyz`)).json()) as { checks?: { radius?: { ok?: boolean } } };
    return body.checks?.radius?.ok === true;
  } catch {
    return false;
  }
}

/** Prometheus text format to a map of `name{labels}` → value (labels as written). */
export function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

/** Sum of every sample of a metric whose labels include all of `labels` (e.g. `outcome="success"`). */
export function metricSum(values: Map<string, number>, name: string, ...labels: string[]): number {
  let sum = 0;
  for (const [key, value] of values) {
    const brace = key.indexOf('{');
    const keyName = brace === -1 ? key : key.slice(0, brace);
    if (keyName !== name) continue;
    if (labels.every((label) => key.includes(label))) sum += value;
  }
  return sum;
}

/** One `unlisted` log line: when (ms since the epoch), the session, and the daemon's own latency. */
export interface UnlistedLine {
  readonly time: number;
  readonly session: string;
  readonly ms: number;
}

/** The `unlisted` lines of a daemon log, and every line at warn or above (which a clean run has none of). */
export function readDaemonLog(logFile: string): { unlisted: UnlistedLine[]; problems: string[] } {
  const unlisted: UnlistedLine[] = [];
  const problems: string[] = [];
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (line === '') continue;
    if (!line.includes('"level":"info"') && !line.includes('"level":"debug"')) {
      problems.push(line);
      continue;
    }
    if (!line.includes('"msg":"unlisted"')) continue;
    const entry = JSON.parse(line) as { time: string; session: string; ms: number };
    unlisted.push({ time: Date.parse(entry.time), session: entry.session, ms: entry.ms });
  }
  return { unlisted, problems };
}
