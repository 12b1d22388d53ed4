/**
 * rbl-unlist beside a real FreeRADIUS 3.2, set up with the shipped layout (a) snippets
 * (deploy/freeradius/detail-relay): radclient plays the NAS and sends Accounting-Request to
 * FreeRADIUS, which writes it to a detail file and answers at once; the detail reader relays it to
 * the built rbl-unlist (`node dist/cli/main.js serve`), which deletes the listing from a real BIND
 * with DNS UPDATE and TSIG.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBind, type BindServer } from '../helpers/bind.js';
import { startFreeRadius, type FreeRadius } from '../helpers/freeradius.js';
import { freePort, havePeers, tempDir, waitFor } from '../helpers/peers.js';
import { radclient } from '../helpers/radclient.js';
import { dnsblName, listingRecords } from '../helpers/dnsbl.js';
import { serviceConfigYaml, startService, writeConfig, type ServiceHandle } from '../helpers/service.js';

const ZONE = 'rbl.example.net';
const NAS_SECRET = 'nas-to-freeradius';
const RELAY_SECRET = 'freeradius-to-rbl-unlist';
/**
 * Listed customers: 10.64.0.5 is unlisted while rbl-unlist runs, 10.64.0.6 after a short outage,
 * 10.64.0.7 after an outage long enough for FreeRADIUS to mark rbl-unlist dead.
 */
const LISTED = ['10.64.0.5', '10.64.0.6', '10.64.0.7'];

const peersInstalled = havePeers('freeradius', 'radclient', 'named', 'tsig-keygen', 'nsupdate', 'dig');

const listingName = (address: string): string => dnsblName(address, ZONE);

function stopPacket(sessionId: string, address: string): string {
  return [
    'Acct-Status-Type = Stop',
    `Acct-Session-Id = "${sessionId}"`,
    'User-Name = "customer@isp.example"',
    'NAS-IP-Address = 192.0.2.10',
    'NAS-Port = 7',
    `Framed-IP-Address = ${address}`,
    'Acct-Session-Time = 3600',
    'Acct-Terminate-Cause = User-Request',
  ].join('\n');
}

describe.skipIf(!peersInstalled)('rbl-unlist behind FreeRADIUS with the detail-relay snippets', () => {
  let bind: BindServer;
  let freeradius: FreeRadius;
  let service: ServiceHandle | undefined;
  let configFile: string;
  let rblUnlistPort: number;
  let temp: { dir: string; remove: () => void };
  /** Whether FreeRADIUS's debug output shows a packet proxied to rbl-unlist's port. */
  const sentToRblUnlist = (log: string): boolean => log.includes(`Proxying request to home server 127.0.0.1 port ${rblUnlistPort} `);

  beforeAll(async () => {
    temp = tempDir('freeradius-it');
    bind = await startBind({
      zones: [{ name: ZONE, records: LISTED.flatMap((address) => listingRecords(address, ZONE, 'exceeded the rate limit')) }],
    });
    rblUnlistPort = await freePort();
    mkdirSync(join(temp.dir, 'state'));
    configFile = writeConfig(
      temp.dir,
      serviceConfigYaml({
        radiusPort: rblUnlistPort,
        clients: [{ name: 'freeradius', address: '127.0.0.1/32', secret: RELAY_SECRET }],
        bind: { port: bind.port, keyFile: bind.keyFile, zones: [ZONE] },
        stateDir: join(temp.dir, 'state'),
      }),
    );
    service = await startService(configFile);
    freeradius = await startFreeRadius({
      acctPort: await freePort(),
      secretForNas: NAS_SECRET,
      homeServer: { port: rblUnlistPort, secret: RELAY_SECRET },
      debug: true,
    });
  }, 60_000);

  afterAll(async () => {
    await service?.stop();
    await freeradius?.stop();
    await bind?.close();
    temp?.remove();
  });

  it('unlists the address of a Stop that the NAS sends to FreeRADIUS', async () => {
    expect(bind.query(listingName('10.64.0.5'), 'A')).toEqual(['127.0.0.2']);

    const sent = await radclient(freeradius.acctPort, NAS_SECRET, stopPacket('sess-0005', '10.64.0.5'), 'acct', { timeoutS: 3 });

    expect(sent.code, `${sent.stdout}${sent.stderr}`).toBe(0);
    expect(sent.stdout).toContain('Accounting-Response');
    await waitFor(`${listingName('10.64.0.5')} to be deleted; FreeRADIUS log:\n${freeradius.log().slice(-4000)}`, () => bind.query(listingName('10.64.0.5'), 'A').length === 0, 15_000, 200);
    expect(bind.query(listingName('10.64.0.5'), 'TXT')).toEqual([]);
  });

  it('answers the Status-Server checks FreeRADIUS uses to see that rbl-unlist is back (RFC 5997)', async () => {
    // Without this answer a home server marked dead would never be used again.
    const checked = await radclient(rblUnlistPort, RELAY_SECRET, 'Message-Authenticator = 0x00', 'status', { timeoutS: 3 });

    expect(checked.code, `${checked.stdout}${checked.stderr}`).toBe(0);
    expect(checked.stdout).toContain('Accounting-Response');
  });

  it('answers the NAS while rbl-unlist is stopped, and the Stop is replayed once rbl-unlist is back', async () => {
    await service!.stop();
    service = undefined;
    const logBefore = freeradius.log().length;

    const sent = await radclient(freeradius.acctPort, NAS_SECRET, stopPacket('sess-0006', '10.64.0.6'), 'acct', { timeoutS: 3 });

    // FreeRADIUS answers as soon as the packet is in its detail file, whatever rbl-unlist does.
    expect(sent.code, `${sent.stdout}${sent.stderr}`).toBe(0);
    expect(sent.stdout).toContain('Accounting-Response');
    // The reader has sent the Stop towards the stopped rbl-unlist: only now does "still listed" say something.
    await waitFor('the detail reader to send the Stop to rbl-unlist', () => sentToRblUnlist(freeradius.log().slice(logBefore)), 10_000, 100);
    expect(bind.query(listingName('10.64.0.6'), 'A')).toEqual(['127.0.0.2']);

    service = await startService(configFile);

    // Bounded by the snippet's timers: retry_interval 4 s while the home server is a zombie, or
    // 3 Status-Server answers 6 s apart once it was marked dead.
    await waitFor(`the replayed Stop to delete ${listingName('10.64.0.6')}; FreeRADIUS log:\n${freeradius.log().slice(-6000)}`, () => bind.query(listingName('10.64.0.6'), 'A').length === 0, 35_000, 250);
    expect(bind.query(listingName('10.64.0.6'), 'TXT')).toEqual([]);
  }, 60_000);

  it('uses rbl-unlist again once it answers Status-Server after FreeRADIUS marked it dead', async () => {
    // A FreeRADIUS of its own with response_window and zombie_period at 1 s (the lowest it takes),
    // so rbl-unlist is marked dead in seconds instead of the snippet's 11; reviving still takes
    // FreeRADIUS's fixed 3 Status-Server answers 6 s apart.
    const quick = await startFreeRadius({
      acctPort: await freePort(),
      secretForNas: NAS_SECRET,
      homeServer: { port: rblUnlistPort, secret: RELAY_SECRET },
      homeServerTimers: { response_window: 1, zombie_period: 1 },
      debug: true,
    });
    try {
      await service?.stop();
      service = undefined;

      const sent = await radclient(quick.acctPort, NAS_SECRET, stopPacket('sess-0007', '10.64.0.7'), 'acct', { timeoutS: 3 });
      expect(sent.code, `${sent.stdout}${sent.stderr}`).toBe(0);
      await waitFor('FreeRADIUS to mark rbl-unlist dead', () => /Marking home server \S+ port \d+ as dead/.test(quick.log()), 20_000, 100);
      expect(bind.query(listingName('10.64.0.7'), 'A')).toEqual(['127.0.0.2']);

      service = await startService(configFile);

      // A dead home server gets no packets; 3 Status-Server answers 6 s apart revive it, then the
      // reader's next retry (4 s) goes through.
      await waitFor(`the replayed Stop to delete ${listingName('10.64.0.7')}; FreeRADIUS log:\n${quick.log().slice(-6000)}`, () => bind.query(listingName('10.64.0.7'), 'A').length === 0, 35_000, 250);
      expect(quick.log()).toMatch(/Status-Server/);
    } finally {
      await quick.stop();
    }
  }, 60_000);
});
