/**
 * End to end: the session table, through the built service and a real BIND. Starts record
 * sessions (unlist_on leaves `start` out, so a Start unlists nothing and its address stays listed
 * in BIND); a Stop without an address is resolved from the table; Accounting-On/Off unlists one
 * NAS's sessions only; a late Stop for an address a newer session holds is skipped; the table
 * survives a restart. state.ack: unlisted, so an Accounting-Response means BIND is done.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { join } from 'node:path';
import { startBind, type BindServer } from '../helpers/bind.js';
import { freePort, havePeers, tempDir, waitFor } from '../helpers/peers.js';
import { buildAccountingRequest, sendRadius, verifyAccountingResponse, type FriendlyAttributes } from '../helpers/radius-packets.js';
import { dnsblName, listingsOf } from '../helpers/dnsbl.js';
import { NAS_SECRET as SECRET, serviceConfigYaml, startService, writeConfig, type ServiceHandle } from '../helpers/service.js';

const ZONE = 'rbl.test';
const NAS_A = '192.0.2.1';
const NAS_B = '192.0.2.2';

let identifier = 0;

/** Sends one Accounting-Request and expects a correct Accounting-Response. */
async function account(port: number, attributes: FriendlyAttributes): Promise<void> {
  const request = buildAccountingRequest({ identifier: identifier++ & 0xff, secret: SECRET, attributes });
  const response = await sendRadius(request, port, '127.0.0.1', 5000);
  expect(response, `no Accounting-Response to ${JSON.stringify(attributes)}`).toBeDefined();
  expect(verifyAccountingResponse(response!, request, SECRET)).toBe(true);
}

function configYaml(options: { radiusPort: number; httpPort?: number; bindPort: number; keyFile: string; stateDir: string }): string {
  return serviceConfigYaml({
    radiusPort: options.radiusPort,
    unlistOn: ['stop', 'accounting-on', 'accounting-off'],
    bind: { port: options.bindPort, keyFile: options.keyFile, zones: [ZONE], timeout: '2s' },
    stateDir: options.stateDir,
    ack: 'unlisted',
    httpPort: options.httpPort,
    // The per-event `unlisting` lines the tests read are debug lines.
    logLevel: 'debug',
  });
}

describe.skipIf(!havePeers('named', 'tsig-keygen'))('the session table, end to end against a real BIND', () => {
  let bind: BindServer;
  let temp: { dir: string; remove: () => void };
  let service: ServiceHandle;
  let radiusPort: number;
  let httpPort: number;
  const extra: ServiceHandle[] = [];

  const listed = (address: string): boolean => bind.query(dnsblName(address, ZONE), 'A').includes('127.0.0.2');

  beforeAll(async () => {
    const addresses = ['10.64.1.1', '10.64.2.1', '10.64.2.2', '10.64.2.3', '10.64.2.11', '10.64.2.12', '10.64.2.13', '10.64.3.1', '10.64.4.1'];
    bind = await startBind({ zones: [{ name: ZONE, records: listingsOf(addresses, ZONE) }] });
    temp = tempDir('sessions');
    radiusPort = await freePort();
    httpPort = await freePort();
    const config = writeConfig(temp.dir, configYaml({ radiusPort, httpPort, bindPort: bind.port, keyFile: bind.keyFile, stateDir: join(temp.dir, 'state') }));
    service = await startService(config);
  });

  afterEach(async () => {
    for (const handle of extra.splice(0)) await handle.stop('SIGKILL');
  });

  afterAll(async () => {
    await service?.stop('SIGKILL');
    await bind?.close();
    temp?.remove();
  });

  test('a Stop without an address after a Start unlists the address the Start recorded', async () => {
    await account(radiusPort, { 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 'noaddr-1', 'NAS-IP-Address': NAS_A, 'User-Name': 'alice', 'Framed-IP-Address': '10.64.1.1' });
    // `start` is not in unlist_on: the Start only records the session.
    expect(listed('10.64.1.1')).toBe(true);

    await account(radiusPort, { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'noaddr-1', 'NAS-IP-Address': NAS_A, 'User-Name': 'alice' });
    expect(listed('10.64.1.1')).toBe(false);
    expect(bind.query(dnsblName('10.64.1.1', ZONE), 'TXT')).toEqual([]);
    const line = await service.waitForLog((entry) => entry.msg === 'unlisting' && entry.session === 'noaddr-1');
    expect(line).toMatchObject({ event: 'stop', nas: NAS_A, addresses: ['10.64.1.1'] });
  });

  test.each([
    ['Accounting-On', NAS_A, ['10.64.2.1', '10.64.2.2'], ['10.64.2.3']],
    ['Accounting-Off', NAS_B, ['10.64.2.13'], ['10.64.2.11', '10.64.2.12']],
  ] as const)('%s from one NAS unlists that NAS’s sessions and leaves another NAS’s session listed', async (status, nas, gone, kept) => {
    const base = status === 'Accounting-On' ? 'on' : 'off';
    const sessions: [string, string, string][] =
      status === 'Accounting-On'
        ? [
            [NAS_A, `${base}-a1`, '10.64.2.1'],
            [NAS_A, `${base}-a2`, '10.64.2.2'],
            [NAS_B, `${base}-b1`, '10.64.2.3'],
          ]
        : [
            [NAS_A, `${base}-a1`, '10.64.2.11'],
            [NAS_A, `${base}-a2`, '10.64.2.12'],
            [NAS_B, `${base}-b1`, '10.64.2.13'],
          ];
    for (const [nasAddress, session, address] of sessions) {
      await account(radiusPort, { 'Acct-Status-Type': 'Start', 'Acct-Session-Id': session, 'NAS-IP-Address': nasAddress, 'Framed-IP-Address': address });
    }
    for (const [, , address] of sessions) expect(listed(address), `${address} after its Start`).toBe(true);

    await account(radiusPort, { 'Acct-Status-Type': status, 'NAS-IP-Address': nas });
    for (const address of gone) expect(listed(address), `${address} of ${nas}`).toBe(false);
    for (const address of kept) expect(listed(address), `${address} of the other NAS`).toBe(true);

    // The NAS's sessions are forgotten: a Stop without an address for one of them now unlists nothing.
    const [, forgotten] = sessions.find(([nasAddress]) => nasAddress === nas)!;
    bind.addRecords(ZONE, listingsOf(gone, ZONE));
    await account(radiusPort, { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': forgotten, 'NAS-IP-Address': nas });
    for (const address of gone) expect(listed(address), `${address} after a Stop for a forgotten session`).toBe(true);
  });

  test('a late Stop of an older session leaves the address listed for the newer session, logged and counted', async () => {
    const address = '10.64.3.1';
    await account(radiusPort, { 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 'stale-s1', 'NAS-IP-Address': NAS_A, 'User-Name': 'old', 'Framed-IP-Address': address });
    await account(radiusPort, { 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 'stale-s2', 'NAS-IP-Address': NAS_A, 'User-Name': 'new', 'Framed-IP-Address': address });
    expect(listed(address)).toBe(true);

    await account(radiusPort, { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'stale-s1', 'NAS-IP-Address': NAS_A, 'User-Name': 'old', 'Framed-IP-Address': address });
    expect(listed(address)).toBe(true);
    const line = await service.waitForLog((entry) => entry.msg.startsWith('stale Stop skipped') && entry.session === 'stale-s1');
    expect(line).toMatchObject({ address, owner_session: 'stale-s2', owner_nas: NAS_A });
    expect(service.logs().some((entry) => entry.msg === 'unlisting' && entry.session === 'stale-s1')).toBe(false);

    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    expect(metrics).toMatch(/^rbl_unlist_accounting_stale_stops_total 1$/m);

    // The newer session's own Stop still unlists it.
    await account(radiusPort, { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'stale-s2', 'NAS-IP-Address': NAS_A, 'User-Name': 'new' });
    expect(listed(address)).toBe(false);
  });

  test('sessions are kept across a SIGTERM restart: a Stop without an address after it is resolved from the table', async () => {
    const dir = join(temp.dir, 'restart');
    const port = await freePort();
    const config = writeConfig(temp.dir, configYaml({ radiusPort: port, bindPort: bind.port, keyFile: bind.keyFile, stateDir: join(dir, 'state') }), 'restart.yaml');
    const first = await startService(config);
    extra.push(first);
    await account(port, { 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 'kept-1', 'NAS-IP-Address': NAS_B, 'Framed-IP-Address': '10.64.4.1' });
    expect(listed('10.64.4.1')).toBe(true);

    const stopping = Date.now();
    expect(await first.stop('SIGTERM')).toBe(0);
    expect(Date.now() - stopping).toBeLessThan(5000);

    const second = await startService(config);
    extra.push(second);
    const started = await second.waitForLog((line) => line.msg === 'rbl-unlist started');
    expect(started).toMatchObject({ sessions: 1, pending: 0 });
    await account(port, { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'kept-1', 'NAS-IP-Address': NAS_B });
    await waitFor('10.64.4.1 to be unlisted', () => !listed('10.64.4.1'), 5000);
  });
});
