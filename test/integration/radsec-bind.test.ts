/**
 * End to end over RadSec (RFC 6614): radclient sends an Accounting-Stop over UDP to a real
 * radsecproxy, which forwards it over TLS with a client certificate to the built service, which
 * unlists the address in a real BIND before the answer goes back. Certificates come from openssl.
 */
import { copyFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBind, type BindServer } from '../helpers/bind.js';
import { makeRadsecCertificates, type RadsecCertificates } from '../helpers/certs.js';
import { dnsblName, listingsOf } from '../helpers/dnsbl.js';
import { freePort, havePeers, tempDir, waitFor } from '../helpers/peers.js';
import { radclient } from '../helpers/radclient.js';
import { buildAccountingRequest, buildStatusServer, verifyAccountingResponse } from '../helpers/radius-packets.js';
import { radsecConnect } from '../helpers/radsec-client.js';
import { startRadsecproxy, type Radsecproxy } from '../helpers/radsecproxy.js';
import { serviceConfigYaml, startService, writeConfig, type ServiceHandle } from '../helpers/service.js';

const ZONE = 'rbl.test';
const PROXY_SECRET = 'nas-to-proxy';

describe.skipIf(!havePeers('named', 'tsig-keygen', 'radclient', 'radsecproxy', 'openssl'))('RadSec from radsecproxy to the service and a real BIND', () => {
  let bind: BindServer;
  let service: ServiceHandle;
  let proxy: Radsecproxy;
  let certs: RadsecCertificates;
  let tlsPort: number;
  let httpPort: number;
  let dir: string;
  let removeDir: () => void;

  const stopText = (address: string, session: string): string =>
    `Acct-Status-Type = Stop\nAcct-Session-Id = "${session}"\nUser-Name = "user@example.net"\nFramed-IP-Address = ${address}\nNAS-IP-Address = 127.0.0.1\n`;
  const scrape = async (): Promise<string> => (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();

  beforeAll(async () => {
    ({ dir, remove: removeDir } = tempDir('radsec-e2e'));
    certs = makeRadsecCertificates(dir);
    for (const [from, to] of [[certs.server.certificateFile, 'server.crt'], [certs.server.keyFile, 'server.key'], [certs.ca.certificateFile, 'clients-ca.crt']] as const) {
      copyFileSync(from, join(dir, to));
    }
    bind = await startBind({ zones: [{ name: ZONE, records: listingsOf(['10.64.0.1', '10.64.0.2', '10.64.0.3', '10.64.0.4'], ZONE) }] });
    tlsPort = await freePort();
    httpPort = await freePort();
    const config = writeConfig(dir, serviceConfigYaml({
      radiusPort: await freePort(),
      clients: [{ name: 'radsecproxy', address: '127.0.0.1/32', transport: 'tls', certificateName: 'proxy1.test' }],
      // A short idle_timeout so the stalled connection below is closed within the test.
      radiusExtra: `tls:\n  listen: ["127.0.0.1:${tlsPort}"]\n  certificate_file: server.crt\n  key_file: server.key\n  ca_file: clients-ca.crt\n  idle_timeout: 3s`,
      bind: { port: bind.port, keyFile: bind.keyFile, zones: [ZONE] },
      stateDir: join(dir, 'state'),
      ack: 'unlisted',
      httpPort,
    }));
    service = await startService(config);
    proxy = await startRadsecproxy({
      udpPort: await freePort(),
      nasSecret: PROXY_SECRET,
      rblUnlistPort: tlsPort,
      identity: certs.client,
      caFile: certs.ca.certificateFile,
    });
  });

  afterAll(async () => {
    await proxy?.stop();
    await service?.stop();
    await bind?.close();
    removeDir?.();
  });

  test('an Accounting-Stop through radsecproxy unlists its address before radclient gets the answer', async () => {
    expect(bind.query(dnsblName('10.64.0.1', ZONE), 'A')).toEqual(['127.0.0.2']);
    const result = await radclient(proxy.udpPort, PROXY_SECRET, stopText('10.64.0.1', 'rs-1'), 'acct', { timeoutS: 5, retries: 1 });
    expect(result.code, `${result.stdout}${result.stderr}\n${proxy.log()}`).toBe(0);
    expect(result.stdout).toContain('Accounting-Response');
    expect(bind.query(dnsblName('10.64.0.1', ZONE), 'A')).toEqual([]);
    const unlisted = await service.waitForLog((line) => line.msg === 'unlisted' && line.client === 'radsecproxy');
    expect(unlisted).toMatchObject({ addresses: ['10.64.0.1'] });
  });

  test('/readyz shows the RadSec listener and /metrics counts the packet under transport tls', async () => {
    const ready = (await (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).json()) as { checks: Record<string, { ok: boolean }> };
    expect(ready.checks['radius tls']).toEqual({ ok: true });
    expect(ready.checks.radius).toEqual({ ok: true });
    expect(await scrape()).toMatch(/^rbl_unlist_radius_packets_total\{outcome="accepted",transport="tls",client="radsecproxy"\} [1-9]/m);
  });

  test('a client certificate from another CA is refused with a log line, and radsecproxy keeps working', async () => {
    const intruder = await radsecConnect(tlsPort, certs.otherCa, certs.ca.certificate);
    await intruder.waitForClose();
    const line = await service.waitForLog((entry) => entry.outcome === 'bad_certificate');
    expect(line).toMatchObject({ level: 'warn', msg: 'RadSec connection refused: bad_certificate', transport: 'tls', reason: 'certificate refused: UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    expect(await scrape()).toMatch(/^rbl_unlist_radius_packets_total\{outcome="bad_certificate",transport="tls"[^}]*\} 1$/m);
    const result = await radclient(proxy.udpPort, PROXY_SECRET, stopText('10.64.0.2', 'rs-2'), 'acct', { timeoutS: 5, retries: 1 });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(bind.query(dnsblName('10.64.0.2', ZONE), 'A')).toEqual([]);
  });

  test('a certificate without the client\'s certificate_name is refused and logged', async () => {
    const impostor = await radsecConnect(tlsPort, certs.wrongName, certs.ca.certificate);
    await impostor.write(buildAccountingRequest({ identifier: 1, secret: 'radsec', attributes: { 'Acct-Status-Type': 'Stop', 'Framed-IP-Address': '10.64.0.3' } })).catch(() => undefined);
    await impostor.waitForClose();
    const line = await service.waitForLog((entry) => entry.outcome === 'bad_certificate' && entry.client === 'radsecproxy');
    expect(line.reason).toBe('certificate names intruder.test, not certificate_name proxy1.test');
    expect(bind.query(dnsblName('10.64.0.3', ZONE), 'A')).toEqual(['127.0.0.2']);
  });

  test('a good certificate from an address no tls client holds is refused and logged', async () => {
    const stranger = await radsecConnect(tlsPort, certs.client, certs.ca.certificate, { localAddress: '127.0.0.2' });
    await stranger.waitForClose();
    const line = await service.waitForLog((entry) => entry.outcome === 'unknown_client' && entry.transport === 'tls');
    expect(line).toMatchObject({ level: 'warn', msg: 'RadSec connection refused: unknown_client', source: expect.stringMatching(/^127\.0\.0\.2:/) });
  });

  test('a Stop with a wrong secret closes its connection with a log line and is counted as bad_authenticator (RFC 6613 §2.6.4), and radsecproxy keeps working', async () => {
    const wrong = await radsecConnect(tlsPort, certs.client, certs.ca.certificate);
    await wrong.write(buildAccountingRequest({ identifier: 8, secret: 'not radsec', attributes: { 'Acct-Status-Type': 'Stop', 'Framed-IP-Address': '10.64.0.4' } }));
    await wrong.waitForClose();
    const discarded = await service.waitForLog((line) => line.outcome === 'bad_authenticator' && line.transport === 'tls');
    expect(discarded).toMatchObject({ level: 'warn', msg: 'packet discarded: bad_authenticator', client: 'radsecproxy', reason: "Request Authenticator does not match the client's secret" });
    const closed = await service.waitForLog((line) => line.msg.includes('RFC 6613'));
    expect(closed).toMatchObject({ level: 'info', msg: 'RadSec connection closed: an authenticator failed validation (RFC 6613 §2.6.4)', client: 'radsecproxy', outcome: 'bad_authenticator' });
    expect(await scrape()).toMatch(/^rbl_unlist_radius_packets_total\{outcome="bad_authenticator",transport="tls",client="radsecproxy"\} 1$/m);
    expect(wrong.answers).toEqual([]);
    expect(bind.query(dnsblName('10.64.0.4', ZONE), 'A')).toEqual(['127.0.0.2']);
    const result = await radclient(proxy.udpPort, PROXY_SECRET, stopText('10.64.0.4', 'rs-4'), 'acct', { timeoutS: 5, retries: 1 });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(bind.query(dnsblName('10.64.0.4', ZONE), 'A')).toEqual([]);
  });

  test('plain TCP, a Length of 5,000 and a stalled half packet are each closed with a log line, and a RadSec connection goes on', async () => {
    const good = await radsecConnect(tlsPort, certs.client, certs.ca.certificate);
    // Status-Server keeps it from idling out (RFC 6614 §2.6) while the stalled one does.
    let watchdogId = 0;
    const watchdog = setInterval(() => void good.write(buildStatusServer({ identifier: watchdogId++ & 0xff, secret: 'radsec' })), 500);
    try {
      const plain = connectTcp({ host: '127.0.0.1', port: tlsPort });
      plain.on('error', () => undefined);
      plain.write(buildAccountingRequest({ identifier: 4, secret: 'radsec', attributes: { 'Acct-Status-Type': 'Stop' } }));
      const handshake = await service.waitForLog((line) => line.transport === 'tls' && typeof line.reason === 'string' && line.reason.startsWith('TLS handshake failed'));
      expect(handshake).toMatchObject({ level: 'warn', msg: 'packet discarded: malformed' });
      plain.destroy();

      const long = await radsecConnect(tlsPort, certs.client, certs.ca.certificate);
      const broken = buildAccountingRequest({ identifier: 5, secret: 'radsec', attributes: { 'Acct-Status-Type': 'Stop' } });
      broken.writeUInt16BE(5000, 2);
      await long.write(broken);
      await long.waitForClose();
      const framing = await service.waitForLog((line) => typeof line.reason === 'string' && line.reason.startsWith('Length 5000'));
      expect(framing).toMatchObject({ msg: 'packet discarded: malformed', client: 'radsecproxy', reason: 'Length 5000 is above the 4096-octet maximum; the stream cannot be framed; connection closed' });

      const stalled = await radsecConnect(tlsPort, certs.client, certs.ca.certificate);
      await stalled.write(buildAccountingRequest({ identifier: 7, secret: 'radsec', attributes: { 'Acct-Status-Type': 'Stop' } }).subarray(0, 10));
      await stalled.waitForClose(10_000);
      const idle = await service.waitForLog((line) => line.msg.startsWith('RadSec connection closed: idle') && line.msg.includes('unfinished packet'));
      expect(idle).toMatchObject({ level: 'info', msg: 'RadSec connection closed: idle for 3 s with 10 octets of an unfinished packet', client: 'radsecproxy' });

      const request = buildAccountingRequest({ identifier: 6, secret: 'radsec', attributes: { 'Acct-Status-Type': 'Interim-Update', 'Acct-Session-Id': 'goes-on' } });
      await good.write(request);
      await waitFor('the Accounting-Response among the Status-Server answers', () => good.answers.some((answer) => verifyAccountingResponse(answer, request, 'radsec')));
      expect(good.closed()).toBe(false);
    } finally {
      clearInterval(watchdog);
      good.end();
    }
  });

  test('SIGHUP takes a renewed server certificate for new connections while an open one goes on answering', async () => {
    const connection = await radsecConnect(tlsPort, certs.client, certs.ca.certificate);
    let watchdogId = 0;
    const watchdog = setInterval(() => void connection.write(buildStatusServer({ identifier: watchdogId++ & 0xff, secret: 'radsec' })), 500);
    try {
      const oldSerial = connection.socket.getPeerX509Certificate()!.serialNumber;
      const renewed = certs.ca.issue('server-renewed', { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], server: true });
      copyFileSync(renewed.certificateFile, join(dir, 'server.crt'));
      copyFileSync(renewed.keyFile, join(dir, 'server.key'));
      service.child.kill('SIGHUP');
      await service.waitForLog((line) => line.msg === 'config reloaded');

      const fresh = await radsecConnect(tlsPort, certs.client, certs.ca.certificate);
      expect(fresh.socket.getPeerX509Certificate()!.serialNumber).not.toBe(oldSerial);
      fresh.end();

      const after = buildAccountingRequest({ identifier: 3, secret: 'radsec', attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'hup-1', 'Framed-IP-Address': '10.64.0.3' } });
      await connection.write(after);
      await waitFor('the Stop\'s answer on the connection opened before the reload', () => connection.answers.some((answer) => verifyAccountingResponse(answer, after, 'radsec')));
      expect(connection.closed()).toBe(false);
      expect(bind.query(dnsblName('10.64.0.3', ZONE), 'A')).toEqual([]);
    } finally {
      clearInterval(watchdog);
      connection.end();
    }
  });
});
