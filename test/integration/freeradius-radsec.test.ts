/**
 * FreeRADIUS 3.2 relaying the accounting copy to rbl-unlist over RadSec (RFC 6614), with the
 * shipped deploy/freeradius/radsec home server (proto = tcp, tls { }) in place of layout (a)'s UDP
 * one: radclient plays the NAS, FreeRADIUS's detail reader proxies over TLS with a client
 * certificate made by openssl, and the built rbl-unlist unlists in a real BIND.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBind, type BindServer } from '../helpers/bind.js';
import { makeRadsecCertificates } from '../helpers/certs.js';
import { dnsblName, listingRecords } from '../helpers/dnsbl.js';
import { checkFreeRadiusConfig, startFreeRadius, writeFreeRadiusConfig, type FreeRadius } from '../helpers/freeradius.js';
import { freePort, havePeers, tempDir, waitFor } from '../helpers/peers.js';
import { radclient } from '../helpers/radclient.js';
import { serviceConfigYaml, startService, writeConfig, type ServiceHandle } from '../helpers/service.js';

const ZONE = 'rbl.example.net';
const NAS_SECRET = 'nas-to-freeradius';

const peersInstalled = havePeers('freeradius', 'radclient', 'named', 'tsig-keygen', 'openssl');

describe.skipIf(!peersInstalled)('rbl-unlist behind FreeRADIUS relaying over RadSec', () => {
  let bind: BindServer;
  let freeradius: FreeRadius;
  let service: ServiceHandle;
  let temp: { dir: string; remove: () => void };
  let tlsFiles: { certificateFile: string; keyFile: string; caFile: string };

  beforeAll(async () => {
    temp = tempDir('freeradius-radsec');
    const certs = makeRadsecCertificates(temp.dir);
    tlsFiles = { certificateFile: certs.client.certificateFile, keyFile: certs.client.keyFile, caFile: certs.ca.certificateFile };
    copyFileSync(certs.server.certificateFile, join(temp.dir, 'server.crt'));
    copyFileSync(certs.server.keyFile, join(temp.dir, 'server.key'));
    bind = await startBind({ zones: [{ name: ZONE, records: listingRecords('10.64.0.5', ZONE) }] });
    const tlsPort = await freePort();
    mkdirSync(join(temp.dir, 'state'));
    service = await startService(writeConfig(temp.dir, serviceConfigYaml({
      radiusPort: await freePort(),
      clients: [{ name: 'freeradius', address: '127.0.0.1/32', transport: 'tls', certificateName: 'proxy1.test' }],
      radiusExtra: `tls:\n  listen: ["127.0.0.1:${tlsPort}"]\n  certificate_file: server.crt\n  key_file: server.key\n  ca_file: ${certs.ca.certificateFile}`,
      bind: { port: bind.port, keyFile: bind.keyFile, zones: [ZONE] },
      stateDir: join(temp.dir, 'state'),
    })));
    freeradius = await startFreeRadius({
      acctPort: await freePort(),
      secretForNas: NAS_SECRET,
      homeServer: { port: tlsPort, secret: 'radsec', tls: tlsFiles },
      debug: true,
    });
  }, 60_000);

  afterAll(async () => {
    await service?.stop();
    await freeradius?.stop();
    await bind?.close();
    temp?.remove();
  });

  it('the shipped RadSec home server passes freeradius -XC', () => {
    const check = tempDir('freeradius-radsec-check');
    try {
      writeFreeRadiusConfig(check.dir, { acctPort: 18130, secretForNas: 'nas', homeServer: { port: 2083, secret: 'radsec', tls: tlsFiles } });
      const result = checkFreeRadiusConfig(check.dir);
      expect(result.status, result.output).toBe(0);
      expect(result.output).toMatch(/proto = "?tcp"?/);
      expect(result.output).not.toMatch(/Ignoring ".*", forcing to/);
    } finally {
      check.remove();
    }
  });

  it('unlists the address of a Stop the NAS sends to FreeRADIUS, relayed over TLS', async () => {
    const stop = 'Acct-Status-Type = Stop\nAcct-Session-Id = "radsec-1"\nUser-Name = "customer@isp.example"\nNAS-IP-Address = 192.0.2.10\nFramed-IP-Address = 10.64.0.5';
    const sent = await radclient(freeradius.acctPort, NAS_SECRET, stop, 'acct', { timeoutS: 3 });
    expect(sent.code, `${sent.stdout}${sent.stderr}`).toBe(0);
    await waitFor(`10.64.0.5 to be unlisted; FreeRADIUS log:\n${freeradius.log().slice(-5000)}`, () => bind.query(dnsblName('10.64.0.5', ZONE), 'A').length === 0, 20_000, 200);
    const line = await service.waitForLog((entry) => entry.msg === 'unlisted' && entry.client === 'freeradius');
    expect(line).toMatchObject({ addresses: ['10.64.0.5'] });
    expect(service.logs().some((entry) => entry.outcome === 'bad_certificate')).toBe(false);
  }, 30_000);
});
