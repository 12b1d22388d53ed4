/**
 * Event order and replay, end to end: the built service, a real BIND, raw Accounting-Requests.
 * Each attack of issue 10 is played as a captured packet sent again from a new source port (which
 * the RFC 5080 duplicate cache cannot catch), a record delayed in the network, or a second client
 * that names another client's NAS; the zone shows whether the new holder's listing survived and
 * whether the holder's own Stop still unlists. state.ack: unlisted, so an Accounting-Response
 * means everything the event planned is done in BIND: it is the sign the packet was handled.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { join } from 'node:path';
import { startBind, type BindServer } from '../helpers/bind.js';
import { dnsblName, listingsOf } from '../helpers/dnsbl.js';
import { freePort, havePeers, tempDir } from '../helpers/peers.js';
import { accountingAnswered, buildAccountingRequest, sendRadius, verifyAccountingResponse, type AttributeEntry, type FriendlyAttributes } from '../helpers/radius-packets.js';
import { NAS_SECRET as SECRET, serviceConfigYaml, startService, writeConfig, type ServiceHandle } from '../helpers/service.js';

const ZONE = 'rbl.test';
const NAS_A = '192.0.2.1';
const NAS_B = '192.0.2.2';
const PARTNER_SECRET = 'partner-secret';
/** Event-Timestamps in seconds, a little in the past so none lies in the future. */
const T0 = Math.floor(Date.now() / 1000) - 3600;

let identifier = 0;

/** An Accounting-Request from the nas1 client; extra raw attributes (Acct-Delay-Time) go last. */
function request(attributes: FriendlyAttributes, extra: readonly AttributeEntry[] = [], secret = SECRET): Buffer {
  const entries = Object.entries(attributes).flatMap(([name, value]) =>
    (Array.isArray(value) ? value : [value]).map((one: unknown) => [name, one] as unknown as AttributeEntry),
  );
  return buildAccountingRequest({ identifier: identifier++ & 0xff, secret, attributes: [...entries, ...extra] });
}

/** Acct-Delay-Time (41), RFC 2866 §5.2. */
function delay(seconds: number): AttributeEntry {
  const value = Buffer.alloc(4);
  value.writeUInt32BE(seconds);
  return [41, value];
}

/** Sends the packet from a new source port and expects a correct Accounting-Response. */
async function send(port: number, packet: Buffer): Promise<void> {
  const response = await sendRadius(packet, port, '127.0.0.1', 5000);
  expect(response, 'no Accounting-Response').toBeDefined();
  expect(verifyAccountingResponse(response!, packet, SECRET)).toBe(true);
}

describe.skipIf(!havePeers('named', 'tsig-keygen'))('event order and replay, end to end against a real BIND', () => {
  let bind: BindServer;
  let temp: { dir: string; remove: () => void };
  let service: ServiceHandle;
  let configFile: string;
  let port: number;
  let httpPort: number;

  const listed = (address: string): boolean => bind.query(dnsblName(address, ZONE), 'A').includes('127.0.0.2');
  const relist = (...addresses: string[]): void => bind.addRecords(ZONE, listingsOf(addresses, ZONE));
  const staleCount = async (type: string, reason: string): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('rbl_unlist_accounting_stale_events_total{') && l.includes(`type="${type}"`) && l.includes(`reason="${reason}"`));
    return line === undefined ? 0 : Number(line.split(' ').at(-1));
  };

  beforeAll(async () => {
    bind = await startBind({ zones: [{ name: ZONE, records: [] }] });
    temp = tempDir('event-order');
    port = await freePort();
    httpPort = await freePort();
    const yaml = serviceConfigYaml({
      radiusPort: port,
      clients: [
        { name: 'nas1', address: '127.0.0.1/32', secret: SECRET },
        { name: 'partner', address: '127.0.0.2/32', secret: PARTNER_SECRET, pools: ['10.65.0.0/16'] },
      ],
      pools: ['10.64.0.0/16', '10.65.0.0/16', '2001:db8:100::/40'],
      bind: { port: bind.port, keyFile: bind.keyFile, zones: [ZONE], timeout: '2s' },
      stateDir: join(temp.dir, 'state'),
      ack: 'unlisted',
      httpPort,
    });
    configFile = writeConfig(temp.dir, yaml);
    service = await startService(configFile);
  });

  afterAll(async () => {
    await service?.stop('SIGKILL');
    await bind?.close();
    temp?.remove();
  });

  test('a Start replayed from a new source port after its session stopped leaves the new holder’s listing, and the holder’s Stop still unlists', async () => {
    const address = '10.64.1.1';
    const start = request({ 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 'replay-a', 'NAS-IP-Address': NAS_A, 'Framed-IP-Address': address });
    await send(port, start);
    await send(port, request({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'replay-a', 'NAS-IP-Address': NAS_A, 'Framed-IP-Address': address }));
    await send(port, request({ 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 'replay-b', 'NAS-IP-Address': NAS_B, 'Framed-IP-Address': address }));
    // The new holder is listed for its own doing.
    relist(address);

    await send(port, start);
    expect(listed(address), 'the replayed Start unlisted the new holder’s address').toBe(true);
    expect(await staleCount('start', 'session_stopped')).toBe(1);

    await send(port, request({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'replay-b', 'NAS-IP-Address': NAS_B }));
    expect(listed(address), 'the holder’s own Stop was taken for stale').toBe(false);
  });

  test('an Accounting-On replayed from a new source port forgets none of the sessions started after it', async () => {
    const [first, second, prefix] = ['10.64.2.1', '10.64.2.2', '2001:db8:100:2200::/56'];
    const on = request({ 'Acct-Status-Type': 'Accounting-On', 'NAS-IP-Address': NAS_A, 'NAS-Identifier': 'bras-on', 'Event-Timestamp': T0 });
    await send(port, on);
    await send(port, request({ 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 'on-1', 'NAS-IP-Address': NAS_A, 'NAS-Identifier': 'bras-on', 'Framed-IP-Address': first, 'Event-Timestamp': T0 + 10 }));
    await send(port, request({ 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 'on-2', 'NAS-IP-Address': NAS_A, 'NAS-Identifier': 'bras-on', 'Framed-IP-Address': second, 'Delegated-IPv6-Prefix': prefix, 'Event-Timestamp': T0 + 20 }));
    relist(first, second, prefix);

    await send(port, on);
    for (const address of [first, second, prefix]) expect(listed(address), `${address} after the replayed Accounting-On`).toBe(true);
    expect(await staleCount('accounting-on', 'sessions_newer')).toBe(1);

    // The sessions are still recorded: an address-less Stop resolves its addresses.
    await send(port, request({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'on-2', 'NAS-IP-Address': NAS_A, 'NAS-Identifier': 'bras-on', 'Event-Timestamp': T0 + 30 }));
    expect(listed(second)).toBe(false);
    expect(listed(prefix)).toBe(false);
    expect(listed(first)).toBe(true);
  });

  test('a Start delayed in the network (Acct-Delay-Time) arriving after the next holder’s Start does not take the address', async () => {
    const address = '10.64.3.1';
    await send(port, request({ 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 'delay-new', 'NAS-IP-Address': NAS_B, 'Framed-IP-Address': address }));
    relist(address);
    await send(port, request({ 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 'delay-old', 'NAS-IP-Address': NAS_A, 'Framed-IP-Address': address }, [delay(90)]));
    expect(listed(address), 'the delayed Start unlisted the new holder’s address').toBe(true);
    expect(await staleCount('start', 'address_taken')).toBe(1);
    await send(port, request({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'delay-new', 'NAS-IP-Address': NAS_B }));
    expect(listed(address)).toBe(false);
  });

  test('an Interim-Update of the previous holder arriving out of order does not take the address from the new one', async () => {
    const address = '10.64.4.1';
    await send(port, request({ 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 'ooo-new', 'NAS-IP-Address': NAS_A, 'Framed-IP-Address': address, 'Event-Timestamp': T0 + 100 }));
    relist(address);
    await send(port, request({ 'Acct-Status-Type': 'Interim-Update', 'Acct-Session-Id': 'ooo-old', 'NAS-IP-Address': NAS_A, 'Framed-IP-Address': address, 'Event-Timestamp': T0 + 50 }));
    await send(port, request({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'ooo-new', 'NAS-IP-Address': NAS_A, 'Event-Timestamp': T0 + 200 }));
    expect(listed(address), 'the new holder’s Stop was taken for stale').toBe(false);
    expect(await staleCount('interim', 'address_taken')).toBe(1);
  });

  test('a partner client limited to its own pools cannot wipe another client’s NAS nor take its address', async () => {
    const address = '10.64.5.1';
    await send(port, request({ 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 'victim', 'NAS-IP-Address': NAS_A, 'NAS-Identifier': 'bras-v', 'Framed-IP-Address': address }));
    relist(address);

    const fromPartner = (attributes: FriendlyAttributes) =>
      accountingAnswered(request(attributes, [], PARTNER_SECRET), port, PARTNER_SECRET, { source: '127.0.0.2' });
    expect(await fromPartner({ 'Acct-Status-Type': 'Accounting-On', 'NAS-IP-Address': NAS_A, 'NAS-Identifier': 'bras-v' })).toBe(true);
    expect(listed(address), 'the partner’s Accounting-On unlisted another client’s session').toBe(true);
    expect(await fromPartner({ 'Acct-Status-Type': 'Interim-Update', 'Acct-Session-Id': 'squat', 'NAS-IP-Address': NAS_A, 'NAS-Identifier': 'bras-v', 'Framed-IP-Address': address })).toBe(true);

    await send(port, request({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'victim', 'NAS-IP-Address': NAS_A, 'NAS-Identifier': 'bras-v' }));
    expect(listed(address), 'the real Stop found its session gone or its address taken by the partner').toBe(false);
    // The partner's claim was refused, not recorded, and said so.
    await service.waitForLog((line) => line.client === 'partner' && line.session === 'squat' && line.code === 'RBL_ADDRESS_OUTSIDE_POOLS');
  });

  test('a Stop that repeats only the IPv4 address also unlists the prefix its Start delegated', async () => {
    const [address, prefix] = ['10.64.6.1', '2001:db8:100:6600::/56'];
    await send(port, request({ 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 'dual', 'NAS-IP-Address': NAS_A, 'Framed-IP-Address': address, 'Delegated-IPv6-Prefix': prefix }));
    relist(address, prefix);
    await send(port, request({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'dual', 'NAS-IP-Address': NAS_A, 'Framed-IP-Address': address }));
    expect(listed(address)).toBe(false);
    expect(listed(prefix), 'the delegated prefix stayed listed').toBe(false);
  });

  test('stopped sessions are remembered across a restart: a Start replayed after it is still stale', async () => {
    const address = '10.64.7.1';
    const start = request({ 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 'restart-a', 'NAS-IP-Address': NAS_A, 'Framed-IP-Address': address });
    await send(port, start);
    await send(port, request({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'restart-a', 'NAS-IP-Address': NAS_A }));
    expect(await service.stop('SIGTERM')).toBe(0);
    service = await startService(configFile);

    await send(port, request({ 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 'restart-b', 'NAS-IP-Address': NAS_B, 'Framed-IP-Address': address }));
    relist(address);
    await send(port, start);
    expect(listed(address), 'the Start replayed after the restart unlisted the new holder’s address').toBe(true);
    expect(await staleCount('start', 'session_stopped')).toBe(1);
  });

  test('a Stop that names no address and matches no session is logged and counted', async () => {
    await send(port, request({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'never-seen', 'NAS-IP-Address': NAS_A }));
    await service.waitForLog((line) => line.session === 'never-seen' && line.reason === 'unknown_session');
    expect(await staleCount('stop', 'unknown_session')).toBeGreaterThanOrEqual(1);
  });
});
