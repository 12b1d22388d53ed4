/**
 * A real BIND 9 (`named -g`) on 127.0.0.1 at a free port, in a temporary folder, serving dynamic
 * zones with `update-policy` for a TSIG key written by the real `tsig-keygen`.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTsigKeyFile, type TsigKey } from '../../src/backends/dns-update/keyfile.js';
import { answersSoa, digShort, runNsupdate, running, startPeer, zoneFileText, type PeerProcess, type ZoneSpec } from './dns.js';
import { executable, freePort, tempDir, waitFor } from './peers.js';

export type { ZoneSpec } from './dns.js';

export interface BindOptions {
  readonly zones: readonly ZoneSpec[];
  /** Default "unlist-key". */
  readonly keyName?: string;
  /** A tsig-keygen algorithm: hmac-sha256 (default), hmac-sha1, -sha224, -sha384, -sha512, hmac-md5. */
  readonly algorithm?: string;
}

export interface BindServer {
  readonly port: number;
  /** The temporary folder holding named.conf, the key, zone files, journals and named.pid. */
  readonly dir: string;
  /** The key file tsig-keygen wrote, which named includes. */
  readonly keyFile: string;
  /** The key file's text. */
  readonly keyText: string;
  /** The key, parsed. */
  readonly key: TsigKey;
  /** Adds records with nsupdate -k: lines `NAME [TTL] TYPE DATA`, NAME relative to the zone or absolute. */
  addRecords(zone: string, lines: readonly string[]): void;
  /** What `dig +short` says for a name and type (TXT unquoted). */
  query(name: string, type: string): string[];
  /** Runs nsupdate with the script; with the server's key file unless another is given. */
  nsupdate(script: string, keyFile?: string): { status: number | null; stdout: string; stderr: string };
  /** named's output so far, for failure messages. */
  log(): string;
  /** Stops named (SIGTERM, waits for exit) and keeps the folder. */
  stop(): Promise<void>;
  /** Stops and starts named again on the same port with the same zones (journals kept). */
  restart(): Promise<void>;
  /** Stops named and removes the folder. */
  close(): Promise<void>;
}

const TSIG_KEYGEN_ALGORITHMS = new Set(['hmac-md5', 'hmac-sha1', 'hmac-sha224', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512']);

/** Writes a key file with the real tsig-keygen and returns its path and text. */
export function tsigKeygen(dir: string, keyName: string, algorithm = 'hmac-sha256', fileName = `${keyName}.key`): { keyFile: string; keyText: string } {
  if (!TSIG_KEYGEN_ALGORITHMS.has(algorithm)) throw new Error(`tsig-keygen does not make ${algorithm} keys`);
  const run = spawnSync(executable('tsig-keygen'), ['-a', algorithm, keyName], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`tsig-keygen failed: ${run.stderr}`);
  const keyFile = join(dir, fileName);
  writeFileSync(keyFile, run.stdout, { mode: 0o600 });
  return { keyFile, keyText: run.stdout };
}

/** Makes names absolute under the zone for nsupdate, and gives lines without a TTL one of 300. */
function absoluteRecord(zone: string, line: string): string {
  const [name = '', ...rest] = line.trim().split(/\s+/);
  const owner = name.endsWith('.') ? name : name === '@' ? `${zone}.` : `${name}.${zone}.`;
  const ttl = /^\d+$/.test(rest[0] ?? '') ? [] : ['300'];
  return [owner, ...ttl, ...rest].join(' ');
}

/** Starts named with the zones; resolves once it answers an SOA query for each of them. */
export async function startBind(options: BindOptions): Promise<BindServer> {
  const { dir, remove } = tempDir('bind');
  const keyName = options.keyName ?? 'unlist-key';
  const { keyFile, keyText } = tsigKeygen(dir, keyName, options.algorithm ?? 'hmac-sha256');
  const key = parseTsigKeyFile(keyText, keyFile);
  const port = await freePort();
  const zoneStatements = options.zones.map((zone) => {
    const file = join(dir, `${zone.name}.zone`);
    writeFileSync(file, zoneFileText(zone.name, zone.records));
    // A zone that is not updatable grants the key one name nobody asks for, so updates are REFUSED.
    const policy = zone.updatable === false ? `grant ${keyName} name nobody.${zone.name}. A;` : `grant ${keyName} zonesub ANY;`;
    return `zone "${zone.name}" { type primary; file "${file}"; update-policy { ${policy} }; };`;
  });
  const conf = join(dir, 'named.conf');
  writeFileSync(
    conf,
    [
      'options {',
      `  directory "${dir}";`,
      `  pid-file "${join(dir, 'named.pid')}";`,
      `  session-keyfile "${join(dir, 'session.key')}";`,
      `  managed-keys-directory "${dir}";`,
      `  listen-on port ${port} { 127.0.0.1; };`,
      '  listen-on-v6 { none; };',
      '  recursion no;',
      '  dnssec-validation no;',
      '  notify no;',
      '  allow-query { any; };',
      '};',
      'controls { };',
      `include "${keyFile}";`,
      ...zoneStatements,
      '',
    ].join('\n'),
  );

  let peer: PeerProcess;
  const start = async (): Promise<void> => {
    // -g: foreground, log to stderr; -n 1: one worker, the test machines are small.
    peer = startPeer('named', ['-g', '-n', '1', '-c', conf], dir);
    try {
      await waitFor(`named on port ${port}`, () => {
        if (!running(peer)) throw new Error(`named exited:\n${peer.output()}`);
        return options.zones.every((zone) => answersSoa(port, zone.name));
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

  const server: BindServer = {
    port,
    dir,
    keyFile,
    keyText,
    key,
    addRecords(zone, lines) {
      const script = [`server 127.0.0.1 ${port}`, `zone ${zone}.`, ...lines.map((line) => `update add ${absoluteRecord(zone, line)}`), 'send', ''].join('\n');
      const run = runNsupdate(script, keyFile);
      if (run.status !== 0) throw new Error(`nsupdate failed: ${run.stderr}${run.stdout}`);
    },
    query: (name, type) => digShort(port, name, type),
    nsupdate: (script, otherKeyFile) => runNsupdate(script, otherKeyFile ?? keyFile),
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
  return server;
}

/** The key file text with another secret of the same length: same key name, wrong secret. */
export function withWrongSecret(keyText: string): string {
  return keyText.replace(/secret\s+"([^"]+)"/, (_match, secret: string) => {
    const bytes = Buffer.from(secret, 'base64');
    for (let i = 0; i < bytes.length; i++) bytes[i] = (bytes[i] ?? 0) ^ 0xff;
    return `secret "${bytes.toString('base64')}"`;
  });
}

