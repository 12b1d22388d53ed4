/**
 * Runs the built service (`node dist/cli/main.js serve`) as a child process, the way systemd does,
 * and reads its pino log lines. Tests that SIGKILL or SIGHUP the service need a real process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { waitFor } from './peers.js';

export const PROJECT_ROOT = resolve(import.meta.dirname, '../..');
export const BUILT_CLI = join(PROJECT_ROOT, 'dist/cli/main.js');

export interface LogLine {
  readonly level: string;
  readonly msg: string;
  readonly [key: string]: unknown;
}

export interface ServiceHandle {
  readonly child: ChildProcess;
  readonly configFile: string;
  /** Every JSON log line so far. */
  logs(): LogLine[];
  /** Resolves with the first log line that matches, waiting up to timeoutMs. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Sends a signal and resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  /** stdout and stderr text that was not a JSON log line. */
  otherOutput(): string;
}

/** Writes `yaml` to dir/config.yaml and returns the path. */
export function writeConfig(dir: string, yaml: string, name = 'config.yaml'): string {
  const file = join(dir, name);
  writeFileSync(file, yaml, { mode: 0o600 });
  return file;
}

/** Starts `rbl-unlist serve --config FILE` and waits for its "rbl-unlist started" line. */
export async function startService(
  configFile: string,
  options: {
    timeoutMs?: number;
    env?: NodeJS.ProcessEnv;
    /** Another build's main.js, e.g. an installed package's. */
    cli?: string;
    /** An installed `rbl-unlist` executable, run as systemd runs it (its first line starts node, with its flags), instead of node with `cli`. */
    executable?: string;
    /** A command that runs node, e.g. ['unshare', '-p', '-f', '--mount-proc'] or ['sh', '-c', 'umask 000; exec "$@"', 'sh']. */
    launcher?: readonly string[];
    /** The log line to wait for before returning (default: `rbl-unlist started`). */
    until?: (line: LogLine) => boolean;
  } = {},
): Promise<ServiceHandle> {
  const cli = options.cli ?? BUILT_CLI;
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run npm run build first (npm test does)`);
  const program = options.executable === undefined ? [process.execPath, cli] : [options.executable];
  const command = [...(options.launcher ?? []), ...program, 'serve', '--config', configFile];
  const child = spawn(command[0]!, command.slice(1), {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  let other = '';
  let pending = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf('\n')) !== -1) {
      const text = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      try {
        lines.push(JSON.parse(text) as LogLine);
      } catch {
        other += `${text}\n`;
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    other += chunk;
  });
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => {
    exitCode = code;
    resolveExit(code);
  }));

  const handle: ServiceHandle = {
    child,
    configFile,
    logs: () => [...lines],
    otherOutput: () => other,
    async waitForLog(match, timeoutMs = 10_000) {
      let found: LogLine | undefined;
      await waitFor(
        `a log line (${match.toString().slice(0, 80)}); output so far:\n${other}${lines.map((l) => JSON.stringify(l)).join('\n').slice(-3000)}`,
        () => {
          found = lines.find(match);
          return found !== undefined || exitCode !== undefined;
        },
        timeoutMs,
        20,
      );
      if (!found) throw new Error(`the service exited (${exitCode}) before logging the line; output:\n${other}${lines.map((l) => JSON.stringify(l)).join('\n')}`);
      return found;
    },
    async stop(signal = 'SIGTERM', timeoutMs = 10_000) {
      if (exitCode !== undefined) return exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  await handle.waitForLog(options.until ?? ((line) => line.msg === 'rbl-unlist started'), options.timeoutMs ?? 15_000);
  return handle;
}

/** A RADIUS client entry of the service config. */
export interface ServiceClient {
  readonly name: string;
  readonly address: string;
  /** Left out only for a tls client, whose secret then defaults to "radsec". */
  readonly secret?: string;
  readonly transport?: 'udp' | 'tls';
  readonly certificateName?: string;
  /** The client's own pools, when it is limited to some. */
  readonly pools?: readonly string[];
  /** radius.clients[].max_sessions; left out, none. */
  readonly maxSessions?: number;
}

/** One backend of the service config: its keys as the YAML names them; lists become flow sequences. */
export type BackendYaml = Readonly<Record<string, string | number | readonly string[]>>;

/** The secret of the default client nas1 (127.0.0.1/32) that serviceConfigYaml writes. */
export const NAS_SECRET = 'nas-secret';

export interface ServiceConfigOptions {
  readonly radiusPort: number;
  /** Default: nas1 at 127.0.0.1/32 with NAS_SECRET. */
  readonly clients?: readonly ServiceClient[];
  /** More YAML lines inside the radius section (without indentation). */
  readonly radiusExtra?: string;
  /** Default [10.64.0.0/16]. */
  readonly pools?: readonly string[];
  readonly unlistOn?: readonly string[];
  /** A dns-update backend for a BIND or Knot on 127.0.0.1; zones default to [rbl.test]. */
  readonly bind?: { readonly port: number; readonly keyFile: string; readonly zones?: readonly string[]; readonly name?: string; readonly timeout?: string };
  /** Backends written as they are (after the `bind` one, when both are given). */
  readonly backends?: readonly BackendYaml[];
  readonly stateDir: string;
  /** Left out: the default, journal. */
  readonly ack?: 'journal' | 'unlisted';
  /** state.max_unwritten; left out, the default. */
  readonly maxUnwritten?: number;
  /** The monitoring endpoint on 127.0.0.1; left out, it is off (listen ""). */
  readonly httpPort?: number;
  readonly probeInterval?: string;
  /** Default info. */
  readonly logLevel?: string;
  /** More top-level YAML, appended. */
  readonly extra?: string;
}

const flow = (list: readonly string[]): string => `[${list.map((item) => JSON.stringify(item)).join(', ')}]`;
const scalar = (value: string | number | readonly string[]): string =>
  typeof value === 'number' ? String(value) : typeof value === 'string' ? JSON.stringify(value) : flow(value);

/** The text of a service config for tests: RADIUS on 127.0.0.1, the given backends, state and monitoring. */
export function serviceConfigYaml(options: ServiceConfigOptions): string {
  const clients = options.clients ?? [{ name: 'nas1', address: '127.0.0.1/32', secret: NAS_SECRET }];
  const bind = options.bind;
  const backends: BackendYaml[] = [
    ...(bind
      ? [{ type: 'dns-update', ...(bind.name === undefined ? {} : { name: bind.name }), server: `127.0.0.1:${bind.port}`, zones: bind.zones ?? ['rbl.test'], tsig_key_file: bind.keyFile, ...(bind.timeout === undefined ? {} : { timeout: bind.timeout }) }]
      : []),
    ...(options.backends ?? []),
  ];
  const lines = [
    'radius:',
    `  listen: ${flow([`127.0.0.1:${options.radiusPort}`])}`,
    '  clients:',
    ...clients.flatMap((client) => [
      `    - name: ${JSON.stringify(client.name)}`,
      `      address: ${JSON.stringify(client.address)}`,
      ...(client.secret === undefined ? [] : [`      secret: ${JSON.stringify(client.secret)}`]),
      ...(client.transport === undefined ? [] : [`      transport: ${client.transport}`]),
      ...(client.certificateName === undefined ? [] : [`      certificate_name: ${JSON.stringify(client.certificateName)}`]),
      ...(client.pools === undefined ? [] : [`      pools: ${flow(client.pools)}`]),
      ...(client.maxSessions === undefined ? [] : [`      max_sessions: ${client.maxSessions}`]),
    ]),
    ...(options.radiusExtra === undefined ? [] : options.radiusExtra.split('\n').map((line) => `  ${line}`)),
    `pools: ${flow(options.pools ?? ['10.64.0.0/16'])}`,
    ...(options.unlistOn === undefined ? [] : [`unlist_on: ${flow(options.unlistOn)}`]),
    'backends:',
    ...backends.flatMap((backend) => Object.entries(backend).map(([key, value], index) => `${index === 0 ? '  - ' : '    '}${key}: ${scalar(value)}`)),
    'state:',
    `  dir: ${JSON.stringify(options.stateDir)}`,
    ...(options.ack === undefined ? [] : [`  ack: ${options.ack}`]),
    ...(options.maxUnwritten === undefined ? [] : [`  max_unwritten: ${options.maxUnwritten}`]),
    'http:',
    `  listen: ${JSON.stringify(options.httpPort === undefined ? '' : `127.0.0.1:${options.httpPort}`)}`,
    ...(options.probeInterval === undefined ? [] : [`  probe_interval: ${options.probeInterval}`]),
    'log:',
    `  level: ${options.logLevel ?? 'info'}`,
    ...(options.extra === undefined ? [] : [options.extra]),
    '',
  ];
  return lines.join('\n');
}
