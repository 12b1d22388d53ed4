/**
 * A real Knot DNS (`knotd -c conf`, foreground) on 127.0.0.1 at a free port, in a temporary folder,
 * with a TSIG key made by the real `keymgr -t` and an ACL that lets that key update the zones.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTsigKeyFile, type TsigKey } from '../../src/backends/dns-update/keyfile.js';
import { answersSoa, digShort, runNsupdate, running, startPeer, zoneFileText, type PeerProcess, type ZoneSpec } from './dns.js';
import { executable, freePort, tempDir, waitFor } from './peers.js';

export interface KnotOptions {
  readonly zones: readonly ZoneSpec[];
  /** Default "unlist-key". */
  readonly keyName?: string;
  /** Default hmac-sha256. */
  readonly algorithm?: string;
}

export interface KnotServer {
  readonly port: number;
  readonly dir: string;
  /** The key in BIND key file form (what rbl-unlist and nsupdate read), written from keymgr's output. */
  readonly keyFile: string;
  readonly keyText: string;
  readonly key: TsigKey;
  /** Adds records with nsupdate -k: lines `NAME [TTL] TYPE DATA`, NAME relative to the zone or absolute. */
  addRecords(zone: string, lines: readonly string[]): void;
  query(name: string, type: string): string[];
  log(): string;
  stop(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** Starts knotd with the zones; resolves once it answers an SOA query for each of them. */
export async function startKnot(options: KnotOptions): Promise<KnotServer> {
  const { dir, remove } = tempDir('knot');
  const keyName = options.keyName ?? 'unlist-key';
  const algorithm = options.algorithm ?? 'hmac-sha256';
  const generated = spawnSync(executable('keymgr'), ['-t', keyName, algorithm], { encoding: 'utf8' });
  if (generated.status !== 0) throw new Error(`keymgr -t failed: ${generated.stderr}`);
  // keymgr -t prints "# algorithm:name:secret" and the key: section of knot.conf.
  const secret = /^\s*secret:\s*(\S+)\s*$/m.exec(generated.stdout)?.[1];
  if (!secret) throw new Error(`no secret in keymgr output: ${generated.stdout}`);
  const keyText = `key "${keyName}" {\n\talgorithm ${algorithm};\n\tsecret "${secret}";\n};\n`;
  const keyFile = join(dir, `${keyName}.key`);
  writeFileSync(keyFile, keyText, { mode: 0o600 });
  const key = parseTsigKeyFile(keyText, keyFile);
  const port = await freePort();

  // Knot keeps its journal and timers in the database folder and fails updates when it is missing.
  mkdirSync(join(dir, 'db'));
  for (const zone of options.zones) writeFileSync(join(dir, `${zone.name}.zone`), zoneFileText(zone.name, zone.records));
  const conf = join(dir, 'knot.conf');
  writeFileSync(
    conf,
    [
      'server:',
      `  rundir: "${dir}"`,
      `  listen: 127.0.0.1@${port}`,
      'database:',
      `  storage: "${join(dir, 'db')}"`,
      'log:',
      '  - target: stderr',
      '    any: info',
      generated.stdout.replace(/^#.*\n/gm, '').trimEnd(),
      'acl:',
      '  - id: update',
      `    key: ${keyName}`,
      '    action: update',
      'template:',
      '  - id: default',
      `    storage: "${dir}"`,
      '    file: "%s.zone"',
      // Write updates back to the zone file at once, so the helper's view matches the server's.
      '    zonefile-sync: 0',
      'zone:',
      // A zone that is not updatable has no update ACL, so Knot refuses the key.
      ...options.zones.map((zone) => (zone.updatable === false ? `  - domain: ${zone.name}` : `  - domain: ${zone.name}\n    acl: update`)),
      '',
    ].join('\n'),
  );

  let peer: PeerProcess;
  const start = async (): Promise<void> => {
    peer = startPeer('knotd', ['-c', conf, '-s', join(dir, 'knot.sock')], dir);
    try {
      await waitFor(`knotd on port ${port}`, () => {
        if (!running(peer)) throw new Error(`knotd exited:\n${peer.output()}`);
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

  return {
    port,
    dir,
    keyFile,
    keyText,
    key,
    addRecords(zone, lines) {
      const records = lines.map((line) => {
        const [name = '', ...rest] = line.trim().split(/\s+/);
        const owner = name.endsWith('.') ? name : `${name}.${zone}.`;
        return `update add ${[owner, ...(/^\d+$/.test(rest[0] ?? '') ? [] : ['300']), ...rest].join(' ')}`;
      });
      const run = runNsupdate([`server 127.0.0.1 ${port}`, `zone ${zone}.`, ...records, 'send', ''].join('\n'), keyFile);
      if (run.status !== 0) throw new Error(`nsupdate failed: ${run.stderr}${run.stdout}`);
    },
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
