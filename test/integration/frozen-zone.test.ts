/**
 * A zone frozen for a hand edit (BIND `rndc freeze`, Knot `knotc zone-freeze`) answers every
 * UPDATE with a signed REFUSED until the thaw. Those unlists are retried, not dead-lettered: once
 * the zone is thawed they go out by themselves, and the next customer inherits no listing.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parsePrefix } from '../../src/net/address.js';
import { startBind, type BindServer } from '../helpers/bind.js';
import { rejection, serverBackend } from '../helpers/dns.js';
import { dnsblName, listingRecords } from '../helpers/dnsbl.js';
import { startKnot, type KnotServer } from '../helpers/knot.js';
import { freePort, havePeers, tempDir } from '../helpers/peers.js';
import { buildAccountingRequest, sendRadius } from '../helpers/radius-packets.js';
import { NAS_SECRET as SECRET, serviceConfigYaml, startService, writeConfig, type ServiceHandle } from '../helpers/service.js';

const ZONE = 'rbl.test';
const ADDRESS = '10.64.7.1';

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 10_000 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}${result.stdout}`);
}

describe.skipIf(!havePeers('named', 'rndc', 'rndc-confgen', 'tsig-keygen'))('a BIND zone frozen with rndc freeze, end to end', () => {
  let bind: BindServer;
  let rndcConf: string;
  let temp: { dir: string; remove: () => void };
  let service: ServiceHandle;
  let radiusPort: number;
  let httpPort: number;
  const rndc = (command: string): void => run('rndc', ['-c', rndcConf, command, ZONE]);

  beforeAll(async () => {
    bind = await startBind({ zones: [{ name: ZONE, records: listingRecords(ADDRESS, ZONE) }] });
    // The helper's BIND has no control channel (controls { };): give it one on a free port.
    const controlPort = await freePort();
    const rndcKey = join(bind.dir, 'rndc.key');
    run('rndc-confgen', ['-a', '-c', rndcKey, '-k', 'rndc-key']);
    rndcConf = join(bind.dir, 'rndc.conf');
    writeFileSync(rndcConf, `include "${rndcKey}";\noptions { default-key "rndc-key"; default-server 127.0.0.1; default-port ${controlPort}; };\n`);
    const conf = join(bind.dir, 'named.conf');
    writeFileSync(conf, readFileSync(conf, 'utf8').replace('controls { };', `include "${rndcKey}";\ncontrols { inet 127.0.0.1 port ${controlPort} allow { 127.0.0.1; } keys { "rndc-key"; }; };`));
    await bind.restart();
    temp = tempDir('frozen-zone');
    radiusPort = await freePort();
    httpPort = await freePort();
    const config = writeConfig(
      temp.dir,
      serviceConfigYaml({ radiusPort, httpPort, bind: { port: bind.port, keyFile: bind.keyFile, zones: [ZONE], name: 'bind', timeout: '2s' }, stateDir: join(temp.dir, 'state') }),
    );
    service = await startService(config);
  }, 60_000);

  afterAll(async () => {
    await service?.stop('SIGKILL');
    await bind?.close();
    temp?.remove();
  });

  test('a Stop while the zone is frozen is retried, and unlisted after the thaw without an operator', async () => {
    rndc('freeze');
    try {
      const request = buildAccountingRequest({
        identifier: 1,
        secret: SECRET,
        attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'frozen-1', 'NAS-IP-Address': '192.0.2.1', 'Framed-IP-Address': ADDRESS },
      });
      expect((await sendRadius(request, radiusPort, '127.0.0.1', 5000))?.[0]).toBe(5);
      await service.waitForLog((line) => line.msg.endsWith('; retrying') && line.code === 'RBL_DNS_REFUSED' && line.zone === ZONE);
      expect(bind.log()).toContain('because the zone is frozen');
    } finally {
      rndc('thaw');
    }
    await service.waitForLog((line) => line.msg.startsWith('unlisted') && (line.addresses as string[] | undefined)?.includes(ADDRESS) === true, 30_000);
    expect(bind.query(dnsblName(ADDRESS, ZONE), 'A')).toEqual([]);
    expect(service.logs().filter((line) => line.msg.startsWith('dead letter'))).toEqual([]);
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    expect(metrics).toMatch(/^rbl_unlist_queue_dead_letters 0$/m);
  }, 60_000);
});

describe.skipIf(!havePeers('knotd', 'knotc'))('a Knot zone frozen with knotc zone-freeze', () => {
  let knot: KnotServer;
  beforeAll(async () => {
    knot = await startKnot({ zones: [{ name: ZONE, records: listingRecords(ADDRESS, ZONE) }] });
  });
  afterAll(async () => {
    await knot?.close();
  });

  test('refuses the UPDATE until the thaw: a failure to retry, not a dead letter, and the retry unlists', async () => {
    const knotc = (command: string): void => run('knotc', ['-s', join(knot.dir, 'knot.sock'), command, ZONE]);
    const backend = serverBackend(knot, [ZONE]);
    try {
      knotc('zone-freeze');
      let error;
      try {
        error = await rejection(backend.unlist(ZONE, [parsePrefix(ADDRESS)]));
      } finally {
        knotc('zone-thaw');
      }
      expect({ code: error.code, transient: error.transient }).toEqual({ code: 'RBL_DNS_REFUSED', transient: true });
      expect(knot.query(dnsblName(ADDRESS, ZONE), 'A')).toEqual(['127.0.0.2']);
      await backend.unlist(ZONE, [parsePrefix(ADDRESS)]);
      expect(knot.query(dnsblName(ADDRESS, ZONE), 'A')).toEqual([]);
    } finally {
      await backend.close();
    }
  });
});
