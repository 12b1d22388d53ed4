/**
 * A real BIND 9 (`named -g`) on 127.0.0.1 at a free port (and on ::1 when asked), in a temporary
 * folder, serving dynamic zones with `update-policy` for a TSIG key written by the real `tsig-keygen`.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTsigKeyFile } from '../../src/backends/dns-update/keyfile.js';
import { runNsupdate, startZoneServer, zoneFileText, type ZoneServer, type ZoneServerOptions } from './dns.js';
import { executable, freePort, tempDir } from './peers.js';

export type { ZoneSpec } from './dns.js';

export interface BindOptions extends ZoneServerOptions {
  /** A tsig-keygen algorithm: hmac-sha256 (default), hmac-sha1, -sha224, -sha384, -sha512, hmac-md5. */
  readonly algorithm?: string;
  /** Listen on ::1 as well, at the same port. */
  readonly ipv6?: boolean;
}

/** named with its folder holding named.conf, the key tsig-keygen wrote (which named includes), zone files, journals and named.pid. */
export interface BindServer extends ZoneServer {
  /** Runs nsupdate with the script; with the server's key file unless another is given. */
  nsupdate(script: string, keyFile?: string): { status: number | null; stdout: string; stderr: string };
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
      options.ipv6 ? `  listen-on-v6 port ${port} { ::1; };` : '  listen-on-v6 { none; };',
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

  // -g: foreground, log to stderr; -n 1: one worker, the test machines are small.
  const named = await startZoneServer({ command: 'named', args: ['-g', '-n', '1', '-c', conf], dir, remove, port, zones: options.zones, keyFile, keyText, key });
  return { ...named, nsupdate: (script, otherKeyFile) => runNsupdate(script, otherKeyFile ?? keyFile) };
}

/** The key file text with another secret of the same length: same key name, wrong secret. */
export function withWrongSecret(keyText: string): string {
  return keyText.replace(/secret\s+"([^"]+)"/, (_match, secret: string) => {
    const bytes = Buffer.from(secret, 'base64');
    for (let i = 0; i < bytes.length; i++) bytes[i] = (bytes[i] ?? 0) ^ 0xff;
    return `secret "${bytes.toString('base64')}"`;
  });
}

