/**
 * Shared pieces of the DNS server helpers (bind.ts, knot.ts): running a peer process in the
 * foreground, asking it with the real `dig`, writing zone files, and a backend config for tests.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import type { DnsUpdateBackendConfig } from '../../src/config/load.js';
import type { TsigKey } from '../../src/backends/dns-update/keyfile.js';
import { executable } from './peers.js';

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
  const child = spawn(executable(command), args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once('exit', () => resolve());
  });
  return {
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** Whether a peer process is still running. */
export function running(peer: PeerProcess): boolean {
  return peer.child.exitCode === null && peer.child.signalCode === null;
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
