/**
 * The service against a second DNS server: a real Knot DNS whose ACL lets the TSIG key update the
 * zone. Stops from the NAS unlist IPv4 and IPv6 listings there as they do in BIND.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { dnsblName, listingsOf, TEST_ZONE } from '../helpers/dnsbl.js';
import { startKnot, type KnotServer } from '../helpers/knot.js';
import { freePort, havePeers, tempDir, waitFor } from '../helpers/peers.js';
import { buildAccountingRequest, sendRadius } from '../helpers/radius-packets.js';
import { NAS_SECRET, serviceConfigYaml, startService, writeConfig, type ServiceHandle } from '../helpers/service.js';

describe.skipIf(!havePeers('knotd', 'keymgr'))('the service against a real Knot DNS', () => {
  let knot: KnotServer;
  let service: ServiceHandle;
  let radiusPort: number;
  let removeDir: () => void;

  beforeAll(async () => {
    knot = await startKnot({ zones: [{ name: TEST_ZONE, records: listingsOf(['10.64.0.1', '10.64.0.2', '2001:db8:100::7']) }] });
    const temp = tempDir('service-knot');
    removeDir = temp.remove;
    radiusPort = await freePort();
    const yaml = serviceConfigYaml({
      radiusPort,
      pools: ['10.64.0.0/16', '2001:db8:100::/40'],
      bind: { port: knot.port, keyFile: knot.keyFile },
      stateDir: `${temp.dir}/state`,
    });
    service = await startService(writeConfig(temp.dir, yaml));
  });

  afterAll(async () => {
    await service?.stop();
    await knot?.close();
    removeDir?.();
  });

  test.each([
    ['Framed-IP-Address', { 'Framed-IP-Address': '10.64.0.1' }, '10.64.0.1'],
    ['Framed-IPv6-Address', { 'Framed-IPv6-Address': '2001:db8:100::7' }, '2001:db8:100::7'],
  ] as const)('a Stop with a %s is unlisted in Knot', async (_what, address, text) => {
    expect(knot.query(dnsblName(text), 'A')).toEqual(['127.0.0.2']);
    const response = await sendRadius(
      buildAccountingRequest({ identifier: text.length, secret: NAS_SECRET, attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': `k-${text}`, ...address } }),
      radiusPort,
    );
    expect(response?.[0]).toBe(5);
    await waitFor(`${text} unlisted in Knot`, () => knot.query(dnsblName(text), 'A').length === 0 && knot.query(dnsblName(text), 'TXT').length === 0, 10_000);
    // Only the Stop's own address: its neighbour stays listed.
    expect(knot.query(dnsblName('10.64.0.2'), 'A')).toEqual(['127.0.0.2']);
  });
});
