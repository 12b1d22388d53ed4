/**
 * End to end: the built service copies every Proxy-State of a request into its Accounting-Response,
 * unmodified and in order, under a Response Authenticator that verifies (RFC 2865 §5.33, RFC 2866
 * §4.2). Without them a proxy chain (FreeRADIUS in front of us) cannot match our answer to its request.
 */
import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBind, type BindServer } from '../helpers/bind.js';
import { dnsblName, listingsOf } from '../helpers/dnsbl.js';
import { freePort, havePeers, tempDir } from '../helpers/peers.js';
import { radclient } from '../helpers/radclient.js';
import { buildAccountingRequest, buildStatusServer, sendRadius, verifyAccountingResponse } from '../helpers/radius-packets.js';
import { NAS_SECRET as SECRET, serviceConfigYaml, startService, writeConfig, type ServiceHandle } from '../helpers/service.js';

const ZONE = 'rbl.test';
/** The first starts with a zero octet, which a string-minded implementation would cut or drop. */
const FIRST = Buffer.from([0x00, 0x42, 0x00, 0xff]);
const SECOND = Buffer.from('hop-2 state');

/** The Proxy-State values of a response, in order. */
function proxyStatesOf(response: Buffer): Buffer[] {
  const found: Buffer[] = [];
  for (let offset = 20; offset < response.readUInt16BE(2); offset += response[offset + 1]!) {
    if (response[offset] === 33) found.push(Buffer.from(response.subarray(offset + 2, offset + response[offset + 1]!)));
  }
  return found;
}

describe.skipIf(!havePeers('named', 'tsig-keygen', 'radclient'))('Proxy-State through the running service', () => {
  let bind: BindServer;
  let service: ServiceHandle;
  let radiusPort: number;
  let removeDir: () => void;

  beforeAll(async () => {
    bind = await startBind({ zones: [{ name: ZONE, records: listingsOf(['10.64.3.1', '10.64.3.2'], ZONE) }] });
    const temp = tempDir('proxy-state');
    removeDir = temp.remove;
    radiusPort = await freePort();
    const yaml = serviceConfigYaml({ radiusPort, bind: { port: bind.port, keyFile: bind.keyFile, zones: [ZONE] }, stateDir: `${temp.dir}/state`, ack: 'unlisted' });
    service = await startService(writeConfig(temp.dir, yaml));
  });

  afterAll(async () => {
    await service?.stop();
    await bind?.close();
    removeDir?.();
  });

  test('a Stop with two Proxy-States is answered with both, in order, under a verified Response Authenticator', async () => {
    const request = buildAccountingRequest({
      identifier: 41,
      secret: SECRET,
      attributes: [[33, FIRST], ['Acct-Status-Type', 'Stop'], ['Acct-Session-Id', 'ps-1'], ['Framed-IP-Address', '10.64.3.1'], [33, SECOND]],
    });
    const response = await sendRadius(request, radiusPort, '127.0.0.1', 5000);
    expect(response, 'no answer').toBeDefined();
    expect(verifyAccountingResponse(response!, request, SECRET)).toBe(true);
    expect(proxyStatesOf(response!)).toEqual([FIRST, SECOND]);
    // ack: unlisted, so the answer also means the Stop was acted on.
    expect(bind.query(dnsblName('10.64.3.1', ZONE), 'A')).toEqual([]);
  });

  test('a retransmitted Stop gets the same answer, Proxy-States included, from the duplicate cache', async () => {
    const request = buildAccountingRequest({
      identifier: 42,
      secret: SECRET,
      attributes: [[33, FIRST], ['Acct-Status-Type', 'Stop'], ['Acct-Session-Id', 'ps-2'], ['Framed-IP-Address', '10.64.3.2'], [33, SECOND]],
    });
    const socket = createSocket('udp4');
    const answers: Buffer[] = [];
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    try {
      const got = (count: number): Promise<void> =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`only ${answers.length} answers`)), 5000);
          const check = (): void => {
            if (answers.length < count) return;
            clearTimeout(timer);
            socket.off('message', onMessage);
            resolve();
          };
          const onMessage = (message: Buffer): void => {
            answers.push(message);
            check();
          };
          socket.on('message', onMessage);
        });
      const first = got(1);
      socket.send(request, radiusPort, '127.0.0.1');
      await first;
      const second = got(2);
      socket.send(request, radiusPort, '127.0.0.1');
      await second;
    } finally {
      socket.close();
    }
    for (const answer of answers) {
      expect(verifyAccountingResponse(answer, request, SECRET)).toBe(true);
      expect(proxyStatesOf(answer)).toEqual([FIRST, SECOND]);
    }
  });

  test('a Status-Server with two Proxy-States is answered with both under verified authenticators', async () => {
    const request = buildStatusServer({ identifier: 43, secret: SECRET, attributes: [[33, FIRST], [33, SECOND]] });
    const response = await sendRadius(request, radiusPort, '127.0.0.1', 5000);
    expect(response, 'no answer').toBeDefined();
    expect(verifyAccountingResponse(response!, request, SECRET)).toBe(true);
    expect(proxyStatesOf(response!)).toEqual([FIRST, SECOND]);
  });

  test('radclient accepts the answer and shows both Proxy-States it sent', async () => {
    const result = await radclient(
      radiusPort,
      SECRET,
      'Acct-Status-Type = Interim-Update\nAcct-Session-Id = "ps-3"\nFramed-IP-Address = 10.64.3.3\nProxy-State = 0x00420aff\nProxy-State = 0x686f702d32\n',
    );
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const received = result.stdout.slice(result.stdout.indexOf('Received Accounting-Response'));
    expect(received).toMatch(/Proxy-State = 0x00420aff[\s\S]*Proxy-State = 0x686f702d32/);
  });
});
