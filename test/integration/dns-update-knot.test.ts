/** The DNS UPDATE backend against a real Knot DNS: deletes, check, and a wrong key. */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tsigKey } from '../../src/backends/dns-update/keyfile.js';
import { parsePrefix } from '../../src/net/address.js';
import { rejection, serverBackend } from '../helpers/dns.js';
import { dnsblName, listingRecords } from '../helpers/dnsbl.js';
import { startKnot, type KnotServer } from '../helpers/knot.js';
import { startDnsTcpRelay } from '../helpers/dns-tcp-relay.js';
import { havePeers } from '../helpers/peers.js';

const ZONE = 'rbl.test';
const FIXED_ZONE = 'fixed.test';
const UNSERVED_ZONE = 'unserved.test';

const listed = (target: string): string[] => listingRecords(target, ZONE, `listed ${target}`);

const BATCH = Array.from({ length: 500 }, (_, i) => `10.66.${i >> 8}.${i & 0xff}`);
/** Two UPDATEs of about 1,000 bytes each: TCP. */
const PAIR = [0, 1].map((group) => Array.from({ length: 30 }, (_, i) => `10.67.${group}.${i + 1}`));

describe.skipIf(!havePeers('knotd', 'keymgr', 'dig', 'nsupdate'))('DNS UPDATE against Knot DNS', () => {
  let knot: KnotServer;
  const nameOf = (target: string): string => dnsblName(target, ZONE);
  const backend = (overrides: Parameters<typeof serverBackend>[2] = {}) => serverBackend(knot, [ZONE, FIXED_ZONE, UNSERVED_ZONE], overrides);

  beforeAll(async () => {
    knot = await startKnot({
      zones: [
        { name: ZONE, records: [...listed('10.64.0.2'), ...listed('10.64.0.3'), ...listed('10.64.0.4'), ...listed('2001:db8:100::5'), ...BATCH.flatMap(listed), ...PAIR.flat().flatMap(listed)] },
        { name: FIXED_ZONE, updatable: false, records: listed('10.64.0.2') },
      ],
    });
  });

  afterAll(async () => {
    await knot?.close();
  });

  test('removes the A and TXT records of a listed IPv4 and a listed IPv6 address', async () => {
    expect(knot.query(nameOf('10.64.0.2'), 'A')).toEqual(['127.0.0.2']);
    await backend().unlist(ZONE, [parsePrefix('10.64.0.2'), parsePrefix('2001:db8:100::5')]);
    for (const target of ['10.64.0.2', '2001:db8:100::5']) {
      expect(knot.query(nameOf(target), 'A')).toEqual([]);
      expect(knot.query(nameOf(target), 'TXT')).toEqual([]);
    }
    expect(knot.query(nameOf('10.64.0.3'), 'A'), 'a neighbour stays listed').toEqual(['127.0.0.2']);
  });

  test('succeeds when unlisting an address that is not listed, and leaves the zone as it was', async () => {
    // RFC 2136 §3.4.2.3: deleting an RRset that does not exist is no error; Knot answers NOERROR.
    const absent = ['10.64.200.200', '2001:db8:100::dead'];
    for (const target of absent) expect(knot.query(nameOf(target), 'A')).toEqual([]);
    const soa = knot.query(ZONE, 'SOA');
    const logBefore = knot.log().length;

    await expect(backend().unlist(ZONE, absent.map((target) => parsePrefix(target)))).resolves.toBeUndefined();

    // It did reach Knot and was processed, and changed nothing: the serial did not move.
    expect(knot.log().slice(logBefore)).toMatch(/DDNS, processing 1 updates/);
    expect(knot.query(ZONE, 'SOA')).toEqual(soa);
    expect(knot.query(nameOf('10.64.0.3'), 'A'), 'a listed neighbour stays listed').toEqual(['127.0.0.2']);
  });

  test('unlists a batch of 500 addresses in one call, over TCP', async () => {
    await backend().unlist(ZONE, BATCH.map((target) => parsePrefix(target)));
    for (const target of [BATCH[0]!, BATCH[499]!]) expect(knot.query(nameOf(target), 'TXT')).toEqual([]);
  });

  test('two UPDATEs in a row reach Knot over one kept TCP connection, and both are applied', async () => {
    const relay = await startDnsTcpRelay({ upstreamPort: knot.port });
    const viaRelay = serverBackend({ port: relay.port, key: knot.key, keyFile: knot.keyFile }, [ZONE]);
    try {
      for (const addresses of PAIR) await viaRelay.unlist(ZONE, addresses.map((target) => parsePrefix(target)));
      expect(relay.messages().map((message) => [message.connection, message.onConnection])).toEqual([
        [1, 1],
        [1, 2],
      ]);
      for (const target of PAIR.flatMap((addresses) => [addresses[0]!, addresses.at(-1)!])) expect(knot.query(nameOf(target), 'A')).toEqual([]);
    } finally {
      await viaRelay.close();
      await relay.close();
    }
  });

  test('check reports the A and TXT records of a listed address', async () => {
    const listing = await backend().check(ZONE, parsePrefix('10.64.0.4'));
    expect(listing).toEqual({ zone: ZONE, listed: true, names: [{ name: nameOf('10.64.0.4'), a: ['127.0.0.2'], txt: ['listed 10.64.0.4'] }] });
    expect((await backend().check(ZONE, parsePrefix('10.64.0.2'))).listed).toBe(false);
  });

  test('probe succeeds with the right key', async () => {
    await expect(backend().probe(ZONE)).resolves.toBeUndefined();
  });

  test('rejects a wrong secret with RBL_DNS_BADSIG and changes nothing', async () => {
    const wrong = { ...knot.key, secret: Buffer.from(knot.key.secret.map((byte) => byte ^ 0xff)) };
    const error = await rejection(backend({ tsig: wrong }).unlist(ZONE, [parsePrefix('10.64.0.3')]));
    expect(error.code).toBe('RBL_DNS_BADSIG');
    expect(error.message).toContain(knot.keyFile);
    expect(knot.query(nameOf('10.64.0.3'), 'A')).toEqual(['127.0.0.2']);
    expect((await rejection(backend({ tsig: wrong }).probe(ZONE))).code).toBe('RBL_DNS_BADSIG');
  });

  test('rejects an unknown key name with RBL_DNS_BADKEY', async () => {
    const unknown = tsigKey('no-such-key', 'hmac-sha256', knot.key.secret.toString('base64'), 'test');
    expect((await rejection(backend({ tsig: unknown }).unlist(ZONE, [parsePrefix('10.64.0.3')]))).code).toBe('RBL_DNS_BADKEY');
  });

  test('reports RBL_DNS_BADKEY for a zone whose ACL does not grant the key, as Knot answers NOTAUTH/BADKEY', async () => {
    const error = await rejection(backend().unlist(FIXED_ZONE, [parsePrefix('10.64.0.2')]));
    expect(error.code).toBe('RBL_DNS_BADKEY');
    expect(error.message).toContain('acl');
    expect(knot.query(dnsblName('10.64.0.2', FIXED_ZONE), 'A')).toEqual(['127.0.0.2']);
  });

  test('does not believe the unsigned NOTAUTH Knot answers for a zone it does not serve: a transient RBL_DNS_BAD_RESPONSE naming it', async () => {
    // RFC 8945 allows an unsigned answer only for BADSIG, BADKEY and BADTIME; this one could be forged.
    const error = await rejection(backend({ timeoutMs: 500 }).unlist(UNSERVED_ZONE, [parsePrefix('10.64.0.2')]));
    expect(error).toMatchObject({ code: 'RBL_DNS_BAD_RESPONSE', transient: true });
    expect(error.message).toContain('NOTAUTH answer not signed');
  });
});
