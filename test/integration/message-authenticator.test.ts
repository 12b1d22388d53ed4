/**
 * End to end: the built service checks the Message-Authenticator (RFC 3579 §3.2) of what reaches it
 * on the wire. An Accounting-Request whose Request Authenticator is right but whose
 * Message-Authenticator is wrong, and a Status-Server with a wrong one (RFC 5997 §3), are silently
 * discarded (RFC 5080 §2.3.3): no answer, nothing unlisted, the discard counted. Each "no answer"
 * is asserted only after the discard counter rose and a later good packet on the same socket was
 * answered.
 */
import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { startBind, type BindServer } from '../helpers/bind.js';
import { dnsblName, listingsOf } from '../helpers/dnsbl.js';
import { packetsCounted, waitForPacketsCounted } from '../helpers/metrics.js';
import { freePort, havePeers, tempDir, waitFor } from '../helpers/peers.js';
import { buildAccountingRequest, buildStatusServer, openNasSocket, verifyAccountingResponse, type NasSocket } from '../helpers/radius-packets.js';
import { NAS_SECRET as SECRET, serviceConfigYaml, startService, writeConfig, type ServiceHandle } from '../helpers/service.js';

const ZONE = 'rbl.test';
const nameOf = (address: string): string => dnsblName(address, ZONE);

/** Flips one octet of the Message-Authenticator value (the packet's last 16 octets here). */
function spoilMessageAuthenticator(packet: Buffer): Buffer {
  const spoiled = Buffer.from(packet);
  spoiled[spoiled.length - 1]! ^= 0x01;
  return spoiled;
}

/**
 * A Stop with a Message-Authenticator made with another secret, and a Request Authenticator that
 * is right for the packet as sent: only the Message-Authenticator check can catch it.
 */
function stopWithWrongMessageAuthenticator(identifier: number, address: string): Buffer {
  const packet = spoilMessageAuthenticator(
    buildAccountingRequest({ identifier, secret: SECRET, messageAuthenticator: true, attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': `ma-${identifier}`, 'Framed-IP-Address': address } }),
  );
  // RFC 2866 §3: MD5 over the packet with a zero authenticator field, then the secret.
  packet.fill(0, 4, 20);
  createHash('md5').update(packet).update(SECRET).digest().copy(packet, 4);
  return packet;
}

describe.skipIf(!havePeers('named', 'tsig-keygen'))('the Message-Authenticator, end to end against the running service', () => {
  const addresses = ['10.64.9.1', '10.64.9.2'];
  let bind: BindServer;
  let service: ServiceHandle;
  let radiusPort: number;
  let httpPort: number;
  let temp: { dir: string; remove: () => void };
  let nas: NasSocket | undefined;

  beforeAll(async () => {
    bind = await startBind({ zones: [{ name: ZONE, records: listingsOf(addresses, ZONE) }] });
    temp = tempDir('message-authenticator');
    radiusPort = await freePort();
    httpPort = await freePort();
    const config = writeConfig(temp.dir, serviceConfigYaml({ radiusPort, httpPort, bind: { port: bind.port, keyFile: bind.keyFile, zones: [ZONE] }, stateDir: `${temp.dir}/state` }));
    service = await startService(config);
  });

  afterEach(async () => {
    await nas?.close();
    nas = undefined;
  });

  afterAll(async () => {
    await service?.stop();
    await bind?.close();
    temp?.remove();
  });

  test('an Accounting-Request with a right Request Authenticator and a wrong Message-Authenticator gets no answer and unlists nothing', async () => {
    const discarded = await packetsCounted(httpPort, 'bad_authenticator');
    nas = await openNasSocket(radiusPort);

    nas.send(stopWithWrongMessageAuthenticator(1, addresses[0]!));
    await waitForPacketsCounted(httpPort, 'bad_authenticator', discarded + 1);
    // A good request with a Message-Authenticator, from the same socket, is answered: the service
    // is not deaf to Message-Authenticators, and the spoiled one had its turn before it.
    const good = buildAccountingRequest({ identifier: 2, secret: SECRET, messageAuthenticator: true, attributes: { 'Acct-Status-Type': 'Interim-Update', 'Acct-Session-Id': 'ma-good', 'Framed-IP-Address': addresses[1]! } });
    nas.send(good);
    const answer = await nas.answerTo(good);

    expect(verifyAccountingResponse(answer, good, SECRET)).toBe(true);
    expect(nas.answers).toEqual([answer]);
    expect(bind.query(nameOf(addresses[0]!), 'A')).toEqual(['127.0.0.2']);
    expect(await packetsCounted(httpPort, 'bad_authenticator')).toBe(discarded + 1);
  });

  test('the same Stop with its Message-Authenticator right is answered and unlists the address', async () => {
    nas = await openNasSocket(radiusPort);
    const stop = buildAccountingRequest({ identifier: 3, secret: SECRET, messageAuthenticator: true, attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'ma-3', 'Framed-IP-Address': addresses[0]! } });

    nas.send(stop);

    expect(verifyAccountingResponse(await nas.answerTo(stop), stop, SECRET)).toBe(true);
    await waitFor(`${nameOf(addresses[0]!)} to be unlisted`, () => bind.query(nameOf(addresses[0]!), 'A').length === 0);
  });

  test('a Status-Server with a wrong Message-Authenticator gets no answer, and a right one does', async () => {
    const discarded = await packetsCounted(httpPort, 'bad_authenticator');
    const answered = await packetsCounted(httpPort, 'status_server');
    nas = await openNasSocket(radiusPort);

    nas.send(spoilMessageAuthenticator(buildStatusServer({ identifier: 10, secret: SECRET })));
    await waitForPacketsCounted(httpPort, 'bad_authenticator', discarded + 1);
    const good = buildStatusServer({ identifier: 11, secret: SECRET });
    nas.send(good);
    const answer = await nas.answerTo(good);

    expect(verifyAccountingResponse(answer, good, SECRET)).toBe(true);
    expect(nas.answers).toEqual([answer]);
    // A receive thread (radius.receive_thread) sends the answer, then reports it with its next
    // batch: the count can trail the answer by a message, so it is waited for, then must be exactly one more.
    await waitForPacketsCounted(httpPort, 'status_server', answered + 1);
    expect(await packetsCounted(httpPort, 'status_server')).toBe(answered + 1);
  });

  test('a Status-Server without a Message-Authenticator gets no answer (RFC 5997 §3)', async () => {
    const malformed = await packetsCounted(httpPort, 'malformed');
    nas = await openNasSocket(radiusPort);

    nas.send(buildStatusServer({ identifier: 20, secret: SECRET, messageAuthenticator: false }));
    await waitForPacketsCounted(httpPort, 'malformed', malformed + 1);
    const good = buildStatusServer({ identifier: 21, secret: SECRET });
    nas.send(good);
    const answer = await nas.answerTo(good);

    expect(nas.answers).toEqual([answer]);
  });
});
