/**
 * Shared pieces of the DNS server helpers (bind.ts, knot.ts): running a peer process in the
 * foreground, asking it with the real `dig`, writing zone files, and a backend config for tests.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, beforeEach } from 'vitest';
import { createDnsUpdateBackend } from '../../src/backends/dns-update/backend.js';
import type { DnsUpdateBackendConfig } from '../../src/backends/dns-update/config.js';
import type { TsigKey } from '../../src/backends/dns-update/keyfile.js';
import { RblError } from '../../src/errors.js';
import { executable, spawnLogged, waitFor } from './peers.js';

/** A zone a helper serves: its name and records in zone-file syntax, relative to the zone or absolute. */
export interface ZoneSpec {
  readonly name: string;
  /** Zone-file lines such as `2.0.64.10 A 127.0.0.2` or `2.0.64.10 TXT "listed"`. */
  readonly records?: readonly string[];
  /** False serves the zone without granting the test key updates (the server refuses them). Default true. */
  readonly updatable?: boolean;
}

/** The text of a zone file with SOA, NS and the given records. */
export function zoneFileText(zone: string, records: readonly string[] = []): string {
  return [
    `$ORIGIN ${zone}.`,
    '$TTL 300',
    `@ IN SOA ns.${zone}. hostmaster.${zone}. ( 1 3600 600 86400 300 )`,
    `@ IN NS ns.${zone}.`,
    'ns IN A 127.0.0.1',
    // RFC 5782 §5: the test entry every DNSBL carries.
    '2.0.0.127 IN A 127.0.0.2',
    '2.0.0.127 IN TXT "test entry"',
    ...records,
    '',
  ].join('\n');
}

/** Runs `dig +short` against 127.0.0.1:port and returns the answer lines (TXT without quotes). */
export function digShort(port: number, name: string, type: string, keyFile?: string): string[] {
  const args = ['+short', '+norecurse', '+time=2', '+tries=1', '-p', String(port), '@127.0.0.1', name, type];
  if (keyFile) args.unshift('-k', keyFile);
  const run = spawnSync(executable('dig'), args, { encoding: 'utf8', timeout: 10_000 });
  if (run.status !== 0) throw new Error(`dig ${name} ${type} failed: ${run.stderr || run.stdout}`);
  return run.stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => (type.toUpperCase() === 'TXT' ? line.replace(/^"|"$/g, '').replace(/" "/g, '') : line));
}

/** Whether the server answers an SOA query for the zone with status NOERROR. */
export function answersSoa(port: number, zone: string): boolean {
  const run = spawnSync(executable('dig'), ['+norecurse', '+time=1', '+tries=1', '-p', String(port), '@127.0.0.1', zone, 'SOA'], {
    encoding: 'utf8',
    timeout: 5_000,
  });
  return run.status === 0 && /status: NOERROR/.test(run.stdout) && /ANSWER: 1/.test(run.stdout);
}

/** Runs nsupdate with a script on stdin; `-k keyFile` when given. */
export function runNsupdate(script: string, keyFile?: string): { status: number | null; stdout: string; stderr: string } {
  const args = keyFile ? ['-k', keyFile] : [];
  const run = spawnSync(executable('nsupdate'), args, { input: script, encoding: 'utf8', timeout: 20_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** A foreground server process whose output is kept for failure messages. */
export interface PeerProcess {
  readonly child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** SIGTERM, then SIGKILL after 10 s; resolves when the process has exited. */
  stop(): Promise<void>;
}

/** Starts a server in the foreground; a process that exits early is reported by `exited()`. */
export function startPeer(command: string, args: readonly string[], cwd: string): PeerProcess {
  const { child, output } = spawnLogged(executable(command), args, cwd);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once('exit', () => resolve());
  });
  return {
    child,
    output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(killer);
      }
      // Read what it printed before the folder can be removed.
      output();
    },
  };
}

/** Whether a peer process is still running. */
export function running(peer: PeerProcess): boolean {
  return peer.child.exitCode === null && peer.child.signalCode === null;
}

/** What startBind and startKnot take: the zones, and the TSIG key's name and algorithm. */
export interface ZoneServerOptions {
  readonly zones: readonly ZoneSpec[];
  /** Default "unlist-key". */
  readonly keyName?: string;
  /** Default hmac-sha256. */
  readonly algorithm?: string;
}

/** A real DNS server (BIND or Knot) on 127.0.0.1:port in a temporary folder, serving zones the key may update. */
export interface ZoneServer extends ZoneServerProcess {
  readonly port: number;
  /** The temporary folder holding the config, the key, zone files and journals. */
  readonly dir: string;
  /** The key in BIND key file form (what rbl-unlist and nsupdate read). */
  readonly keyFile: string;
  /** The key file's text. */
  readonly keyText: string;
  /** The key, parsed. */
  readonly key: TsigKey;
  /** Adds records with nsupdate -k: lines `NAME [TTL] TYPE DATA`, NAME relative to the zone or absolute. */
  addRecords(zone: string, lines: readonly string[]): void;
  /** What `dig +short` says for a name and type (TXT unquoted). */
  query(name: string, type: string): string[];
}

/** A started server serving zones: stop and restart on the same port, close removes its folder. */
export interface ZoneServerProcess {
  /** The server's output so far, for failure messages. */
  log(): string;
  /** Stops the server (SIGTERM, waits for exit) and keeps the folder. */
  stop(): Promise<void>;
  /** Stops and starts the server again with the same arguments. */
  restart(): Promise<void>;
  /** Stops the server and removes the folder. */
  close(): Promise<void>;
}

/** What startZoneServer runs and what the server it starts holds. */
export interface ZoneServerSpec {
  readonly command: string;
  readonly args: readonly string[];
  /** The server's temporary folder (its working directory), and the function that removes it. */
  readonly dir: string;
  readonly remove: () => void;
  readonly port: number;
  readonly zones: readonly ZoneSpec[];
  readonly keyFile: string;
  readonly keyText: string;
  readonly key: TsigKey;
}

/**
 * Starts `command args` in the foreground in dir and resolves once it answers an SOA query on
 * 127.0.0.1:port for every zone; on failure stops it, removes the folder and throws with its output.
 */
export async function startZoneServer(spec: ZoneServerSpec): Promise<ZoneServer> {
  const { command, args, dir, remove, port, zones, keyFile, keyText, key } = spec;
  let peer: PeerProcess;
  const start = async (): Promise<void> => {
    peer = startPeer(command, args, dir);
    try {
      await waitFor(`${command} on port ${port}`, () => {
        if (!running(peer)) throw new Error(`${command} exited:\n${peer.output()}`);
        return zones.every((zone) => answersSoa(port, zone.name));
      }, 20_000, 100);
    } catch (error) {
      await peer.stop();
      throw new Error(`${(error as Error).message}\n${peer.output()}`);
    }
  };
  try {
    await start();
  } catch (error) {
    remove();
    throw error;
  }
  return {
    port,
    dir,
    keyFile,
    keyText,
    key,
    addRecords: (zone, lines) => addRecords(port, keyFile, zone, lines),
    query: (name, type) => digShort(port, name, type),
    log: () => peer.output(),
    stop: () => peer.stop(),
    async restart() {
      await peer.stop();
      await start();
    },
    async close() {
      await peer.stop();
      remove();
    },
  };
}

/** Makes names absolute under the zone for nsupdate, and gives lines without a TTL one of 300. */
function absoluteRecord(zone: string, line: string): string {
  const [name = '', ...rest] = line.trim().split(/\s+/);
  const owner = name.endsWith('.') ? name : name === '@' ? `${zone}.` : `${name}.${zone}.`;
  const ttl = /^\d+$/.test(rest[0] ?? '') ? [] : ['300'];
  return [owner, ...ttl, ...rest].join(' ');
}

/** Adds records to a zone of the server on 127.0.0.1:port with nsupdate -k keyFile: lines `NAME [TTL] TYPE DATA`, NAME relative to the zone or absolute. */
export function addRecords(port: number, keyFile: string, zone: string, lines: readonly string[]): void {
  const script = [`server 127.0.0.1 ${port}`, `zone ${zone}.`, ...lines.map((line) => `update add ${absoluteRecord(zone, line)}`), 'send', ''].join('\n');
  const run = runNsupdate(script, keyFile);
  if (run.status !== 0) throw new Error(`nsupdate failed: ${run.stderr}${run.stdout}`);
}

/** The RblError a promise rejects with; throws when it resolves or rejects with anything else. */
export async function rejection(promise: Promise<unknown>): Promise<RblError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RblError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

/** A DNS UPDATE backend for a test server (BIND or Knot) with its key, the key file named as the key's source. */
export function serverBackend(server: { readonly port: number; readonly key: TsigKey; readonly keyFile: string }, zones: readonly string[], overrides: Partial<DnsUpdateBackendConfig> = {}) {
  return createDnsUpdateBackend(dnsUpdateConfig(server.port, zones, server.key, { tsigSource: server.keyFile, ...overrides }));
}

/** A DNS UPDATE backend config for a server on 127.0.0.1:port. */
export function dnsUpdateConfig(port: number, zones: readonly string[], tsig: TsigKey, overrides: Partial<DnsUpdateBackendConfig> = {}): DnsUpdateBackendConfig {
  return {
    type: 'dns-update',
    name: `dns-update 127.0.0.1:${port}`,
    server: { host: '127.0.0.1', port, family: 4 },
    zones,
    tsig,
    tsigSource: 'test key file',
    deleteTypes: ['A', 'TXT'],
    timeoutMs: 3_000,
    ...overrides,
  };
}

/** Registers beforeEach/afterEach hooks: a UDP socket on 127.0.0.1 per test that swallows datagrams, a DNS server that never answers. */
export function useSilentServer(): { readonly port: number } {
  let silent: Socket;
  let port = 0;
  beforeEach(async () => {
    silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    port = silent.address().port;
  });
  afterEach(async () => {
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });
  return {
    get port() {
      return port;
    },
  };
}
