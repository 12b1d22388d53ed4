/**
 * End to end: the built service, a real BIND with a TSIG key from tsig-keygen, and RADIUS
 * accounting from radclient and from raw packets. state.ack: unlisted, so an answer means the
 * address is gone from the zone.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createSocket } from 'node:dgram';
import { startBind, type BindServer } from '../helpers/bind.js';
import { freePort, havePeers, tempDir, waitFor } from '../helpers/peers.js';
import { radclient } from '../helpers/radclient.js';
import { buildAccountingRequest, buildStatusServer, openNasSocket, sendRadius, verifyAccountingResponse } from '../helpers/radius-packets.js';
import { packetsCounted, waitForPacketsCounted } from '../helpers/metrics.js';
import { dnsblName, listingsOf } from '../helpers/dnsbl.js';
import { NAS_SECRET as SECRET, serviceConfigYaml, startService, writeConfig, type ServiceHandle } from '../helpers/service.js';

const ZONE = 'rbl.test';
const nameOf = (address: string): string => dnsblName(address, ZONE);

/** The packet with its Length field (octets 2-3) set from its real length. */
function withLength(packet: Buffer, length: (actual: number) => number): Buffer {
  packet.writeUInt16BE(length(packet.length), 2);
  return packet;
}

let identifier = 0;
const stop = (attributes: Parameters<typeof buildAccountingRequest>[0]['attributes'], secret = SECRET) =>
  buildAccountingRequest({ identifier: identifier++ & 0xff, secret, attributes });

describe.skipIf(!havePeers('named', 'tsig-keygen', 'radclient'))('the service against a real BIND', () => {
  let bind: BindServer;
  let service: ServiceHandle;
  let radiusPort: number;
  let httpPort: number;
  let removeDir: () => void;

  beforeAll(async () => {
    const discarded = ['10.64.1.1', '10.64.1.2', '10.64.1.3', '10.64.1.4', '10.64.1.5', '10.64.1.6', '10.64.1.7'];
    const listed = ['10.64.0.1', '10.64.0.2', '10.64.0.3', '10.64.0.4', '10.64.0.5', '10.64.0.6', '10.64.0.7', '10.64.0.8', '10.64.0.9', '192.0.2.50', '2001:db8:100::5', ...discarded];
    bind = await startBind({ zones: [{ name: ZONE, records: listingsOf(listed, ZONE) }] });
    const temp = tempDir('service');
    removeDir = temp.remove;
    radiusPort = await freePort();
    httpPort = await freePort();
    const config = writeConfig(
      temp.dir,
      serviceConfigYaml({
        radiusPort,
        pools: ['10.64.0.0/16', '2001:db8:100::/40'],
        bind: { port: bind.port, keyFile: bind.keyFile, zones: [ZONE] },
        stateDir: `${temp.dir}/state`,
        ack: 'unlisted',
        httpPort,
        logLevel: 'debug',
      }),
    );
    service = await startService(config);
  });

  afterAll(async () => {
    await service?.stop();
    await bind?.close();
    removeDir?.();
  });

  test('a Stop sent by radclient unlists its Framed-IP-Address', async () => {
    expect(bind.query(nameOf('10.64.0.1'), 'A')).toEqual(['127.0.0.2']);
    const result = await radclient(radiusPort, SECRET, 'Acct-Status-Type = Stop\nAcct-Session-Id = "rc-1"\nFramed-IP-Address = 10.64.0.1\nNAS-IP-Address = 127.0.0.1\n');
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('Accounting-Response');
    expect(bind.query(nameOf('10.64.0.1'), 'A')).toEqual([]);
    expect(bind.query(nameOf('10.64.0.1'), 'TXT')).toEqual([]);
  });

  test('a raw Stop is answered with a correct authenticator once its address is unlisted', async () => {
    const request = stop({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'raw-1', 'Framed-IP-Address': '10.64.0.2' });
    const response = await sendRadius(request, radiusPort);
    expect(response).toBeDefined();
    expect(response![0]).toBe(5);
    expect(verifyAccountingResponse(response!, request, SECRET)).toBe(true);
    expect(bind.query(nameOf('10.64.0.2'), 'TXT')).toEqual([]);
  });

  test('a Stop with a Framed-IPv6-Address unlists the IPv6 name', async () => {
    expect(bind.query(nameOf('2001:db8:100::5'), 'A')).toEqual(['127.0.0.2']);
    const response = await sendRadius(stop({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'v6-1', 'Framed-IPv6-Address': '2001:db8:100::5' }), radiusPort);
    expect(response?.[0]).toBe(5);
    expect(bind.query(nameOf('2001:db8:100::5'), 'A')).toEqual([]);
  });

  test('a Start unlists its address so the new user inherits no listing', async () => {
    const response = await sendRadius(stop({ 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 'start-1', 'Framed-IP-Address': '10.64.0.3' }), radiusPort);
    expect(response?.[0]).toBe(5);
    expect(bind.query(nameOf('10.64.0.3'), 'A')).toEqual([]);
  });

  // One listed address per case, so one case's failure cannot cascade into the next.
  test.each([
    { what: 'a wrong secret', address: '10.64.1.1', outcome: 'bad_authenticator', source: '127.0.0.1', datagram: (address: string) => stop({ 'Acct-Status-Type': 'Stop', 'Framed-IP-Address': address }, 'not-the-secret') },
    { what: 'an unknown source', address: '10.64.1.2', outcome: 'unknown_client', source: '127.0.0.9', datagram: (address: string) => stop({ 'Acct-Status-Type': 'Stop', 'Framed-IP-Address': address }) },
    { what: 'a Length below 20', address: '10.64.1.3', outcome: 'malformed', source: '127.0.0.1', datagram: (address: string) => withLength(stop({ 'Acct-Status-Type': 'Stop', 'Framed-IP-Address': address }), () => 19) },
    { what: 'a Length past the datagram', address: '10.64.1.4', outcome: 'malformed', source: '127.0.0.1', datagram: (address: string) => withLength(stop({ 'Acct-Status-Type': 'Stop', 'Framed-IP-Address': address }), (length) => length + 10) },
    {
      what: 'a Length above 4096',
      address: '10.64.1.5',
      outcome: 'malformed',
      source: '127.0.0.1',
      datagram: (address: string) => withLength(Buffer.concat([stop({ 'Acct-Status-Type': 'Stop', 'Framed-IP-Address': address }), Buffer.alloc(4100)]), () => 4097),
    },
    { what: 'garbage', address: '10.64.1.6', outcome: 'malformed', source: '127.0.0.1', datagram: () => Buffer.from('GET / HTTP/1.0\r\n\r\n') },
    { what: 'an empty datagram', address: '10.64.1.7', outcome: 'malformed', source: '127.0.0.1', datagram: () => Buffer.alloc(0) },
  ])('$what gets no answer, unlists nothing, and the service goes on', async ({ address, outcome, source, datagram }) => {
    const counted = await packetsCounted(httpPort, outcome);
    const nas = await openNasSocket(radiusPort, '127.0.0.1', source);
    const known = await openNasSocket(radiusPort);
    try {
      nas.send(datagram(address));
      // The counter is the positive sign it was handled; only then does "no answer" mean something.
      await waitForPacketsCounted(httpPort, outcome, counted + 1);
      const probe = stop({ 'Acct-Status-Type': 'Interim-Update', 'Acct-Session-Id': 'alive', 'Framed-IP-Address': '10.64.0.200' });
      known.send(probe);
      expect(verifyAccountingResponse(await known.answerTo(probe), probe, SECRET)).toBe(true);
      expect(nas.answers).toEqual([]);
      expect(bind.query(nameOf(address), 'A')).toEqual(['127.0.0.2']);
    } finally {
      await nas.close();
      await known.close();
    }
  });

  test('an address outside the pools and the RFC 5782 test entry stay listed, and the Stop is still answered', async () => {
    const outside = await sendRadius(stop({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'o-1', 'Framed-IP-Address': '192.0.2.50' }), radiusPort);
    const test = await sendRadius(stop({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'o-2', 'Framed-IP-Address': '127.0.0.2' }), radiusPort);
    expect(outside?.[0]).toBe(5);
    expect(test?.[0]).toBe(5);
    expect(bind.query(nameOf('192.0.2.50'), 'A')).toEqual(['127.0.0.2']);
    expect(bind.query(`2.0.0.127.${ZONE}`, 'A')).toEqual(['127.0.0.2']);
    await service.waitForLog((line) => line.code === 'RBL_ADDRESS_PROTECTED' && line.address === '127.0.0.2');
    await service.waitForLog((line) => line.code === 'RBL_ADDRESS_OUTSIDE_POOLS' && line.address === '192.0.2.50');
  });

  test('a retransmitted Stop gets the first answer byte for byte', async () => {
    const request = stop({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'dup-1', 'Framed-IP-Address': '10.64.0.5' });
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    const answers: Buffer[] = [];
    socket.on('message', (message) => answers.push(message));
    // The same source port, identifier and authenticator: a duplicate by RFC 5080 §2.2.2.
    socket.send(request, radiusPort, '127.0.0.1');
    await waitFor('the first answer', () => answers.length === 1, 5000);
    socket.send(request, radiusPort, '127.0.0.1');
    await waitFor('the second answer', () => answers.length === 2, 5000);
    socket.close();
    expect(answers[1]!.equals(answers[0]!)).toBe(true);
    expect(service.logs().filter((line) => line.msg === 'unlisting' && (line.addresses as string[]).includes('10.64.0.5'))).toHaveLength(1);
  });

  test('a Status-Server with a Message-Authenticator is answered', async () => {
    const response = await sendRadius(buildStatusServer({ identifier: 77, secret: SECRET }), radiusPort);
    expect(response?.[0]).toBe(5);
    expect(response?.[1]).toBe(77);
  });

  test('radclient Status-Server is answered', async () => {
    const result = await radclient(radiusPort, SECRET, 'Message-Authenticator = 0x00\n', 'status');
    expect(result.code, result.stdout + result.stderr).toBe(0);
  });

  test("FreeRADIUS's status_check = request probe, a Stop with no address, is answered and changes nothing", async () => {
    const result = await radclient(radiusPort, SECRET, 'Acct-Status-Type = Stop\nUser-Name = "test_user_please_reject_me"\nAcct-Session-Id = "00000000"\n');
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(bind.query(nameOf('10.64.0.6'), 'A')).toEqual(['127.0.0.2']);
  });
});
