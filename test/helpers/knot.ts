/**
 * A real Knot DNS (`knotd -c conf`, foreground) on 127.0.0.1 at a free port, in a temporary folder,
 * with a TSIG key made by the real `keymgr -t` and an ACL that lets that key update the zones.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTsigKeyFile } from '../../src/backends/dns-update/keyfile.js';
import { startZoneServer, zoneFileText, type ZoneServer, type ZoneServerOptions } from './dns.js';
import { executable, freePort, tempDir } from './peers.js';

export type KnotOptions = ZoneServerOptions;

/** knotd; its keyFile is the key in BIND key file form, written from keymgr's output. */
export type KnotServer = ZoneServer;

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

  return startZoneServer({ command: 'knotd', args: ['-c', conf, '-s', join(dir, 'knot.sock')], dir, remove, port, zones: options.zones, keyFile, keyText, key });
}
