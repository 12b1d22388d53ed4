// The PowerDNS preset of the HTTP backend against a real pdns_server and its HTTP API.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHttpBackend } from '../../src/backends/http/backend.js';
import { MAX_NAMES_PER_PATCH } from '../../src/backends/http/powerdns.js';
import type { Backend } from '../../src/backends/types.js';
import { RblError } from '../../src/errors.js';
import { parsePrefix } from '../../src/net/address.js';
import { havePeers } from '../helpers/peers.js';
import { powerDnsBackendConfig, startPowerDns, type PowerDns } from '../helpers/pdns.js';

const ZONE = 'rbl.example.net';
const V6_NAME = '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2';

const listed = (name: string, reason: string) => [
  { name, type: 'A', content: '127.0.0.2' },
  { name, type: 'TXT', content: `"${reason}"` },
];

describe.skipIf(!havePeers('pdns_server', 'pdnsutil', 'sqlite3'))('PowerDNS preset against pdns_server', () => {
  let pdns: PowerDns;
  const backends: Backend[] = [];
  const backend = (overrides: Parameters<typeof powerDnsBackendConfig>[2] = {}, zone = ZONE): Backend => {
    const created = createHttpBackend(powerDnsBackendConfig(pdns, zone, overrides));
    backends.push(created);
    return created;
  };
  const fqdn = (name: string) => `${name}.${ZONE}`;

  beforeAll(async () => {
    pdns = await startPowerDns({
      zones: [
        {
          name: ZONE,
          records: [
            ...listed('2.0.0.10', 'spam from 10.0.0.2'),
            ...listed('3.0.0.10', 'spam from 10.0.0.3'),
            ...listed('4.0.0.10', 'spam from 10.0.0.4'),
            ...listed('5.0.0.10', 'spam from 10.0.0.5'),
            ...listed('6.0.0.10', 'spam from 10.0.0.6'),
            ...listed(V6_NAME, 'spam from 2001:db8::1'),
            ...listed('9.0.0.10', 'kept'),
            // 2001:db8:100::/40: the prefix's own name and the wildcard below it (RFC 5782 naming).
            ...listed('1.0.8.b.d.0.1.0.0.2', 'prefix entry'),
            ...listed('*.1.0.8.b.d.0.1.0.0.2', 'prefix wildcard'),
            // More addresses than fit in one PATCH.
            ...Array.from({ length: 600 }, (_, i) => ({ name: `${i % 250}.${Math.floor(i / 250)}.1.10`, type: 'A', content: '127.0.0.2' })),
          ],
        },
      ],
    });
  });

  afterEach(async () => {
    await Promise.all(backends.splice(0).map((b) => b.close()));
  });

  afterAll(async () => {
    await pdns?.stop();
  });

  it('sees a listing with its TXT reason through check()', async () => {
    const listing = await backend().check(ZONE, parsePrefix('10.0.0.9'));
    expect(listing).toEqual({ zone: ZONE, listed: true, names: [{ name: fqdn('9.0.0.10'), a: ['127.0.0.2'], txt: ['kept'] }] });
  });

  it('reports an address that is not listed as not listed', async () => {
    const listing = await backend().check(ZONE, parsePrefix('10.0.0.99'));
    expect(listing.listed).toBe(false);
    expect(listing.names).toEqual([{ name: fqdn('99.0.0.10'), a: [], txt: [] }]);
  });

  it('probes the zone successfully', async () => {
    await expect(backend().probe(ZONE)).resolves.toBeUndefined();
  });

  it('removes the A and TXT records of a listed IPv4 address', async () => {
    expect(await pdns.query(fqdn('2.0.0.10'), 'A')).toEqual(['127.0.0.2']);
    await backend().unlist(ZONE, [parsePrefix('10.0.0.2')]);
    expect(await pdns.query(fqdn('2.0.0.10'), 'A')).toEqual([]);
    expect(await pdns.query(fqdn('2.0.0.10'), 'TXT')).toEqual([]);
    expect(await pdns.query(fqdn('9.0.0.10'), 'A')).toEqual(['127.0.0.2']);
  });

  it('removes the A and TXT records of a listed IPv6 address', async () => {
    expect(await pdns.query(fqdn(V6_NAME), 'TXT')).toEqual(['spam from 2001:db8::1']);
    await backend().unlist(ZONE, [parsePrefix('2001:db8::1')]);
    expect(await pdns.query(fqdn(V6_NAME), 'A')).toEqual([]);
    expect(await pdns.query(fqdn(V6_NAME), 'TXT')).toEqual([]);
  });

  it('removes several addresses in one request', async () => {
    const b = backend();
    const targets = ['10.0.0.3', '10.0.0.4', '10.0.0.5'].map((text) => parsePrefix(text));
    expect(b.describe(ZONE, targets).split('\n').filter((line) => line.startsWith('PATCH '))).toHaveLength(1);
    await b.unlist(ZONE, targets);
    for (const name of ['3.0.0.10', '4.0.0.10', '5.0.0.10']) expect(await pdns.query(fqdn(name), 'A')).toEqual([]);
    expect((await b.check(ZONE, parsePrefix('10.0.0.4'))).listed).toBe(false);
  });

  it('removes an IPv6 prefix and the wildcard below it', async () => {
    expect(await pdns.query(`abc.${fqdn('1.0.8.b.d.0.1.0.0.2')}`, 'TXT')).toEqual(['prefix wildcard']);
    await backend().unlist(ZONE, [parsePrefix('2001:db8:100::/40')]);
    expect(await pdns.query(fqdn('1.0.8.b.d.0.1.0.0.2'), 'A')).toEqual([]);
    expect(await pdns.query(`abc.${fqdn('1.0.8.b.d.0.1.0.0.2')}`, 'TXT')).toEqual([]);
  });

  it('splits more names than MAX_NAMES_PER_PATCH into several requests and removes them all', async () => {
    const b = backend();
    const targets = Array.from({ length: 600 }, (_, i) => parsePrefix(`10.1.${Math.floor(i / 250)}.${i % 250}`));
    expect(b.describe(ZONE, targets).split('\n').filter((line) => line.startsWith('PATCH '))).toHaveLength(Math.ceil(600 / MAX_NAMES_PER_PATCH));
    expect(await pdns.query(fqdn('249.1.1.10'), 'A')).toEqual(['127.0.0.2']);
    await b.unlist(ZONE, targets);
    for (const name of ['0.0.1.10', '249.1.1.10', '99.2.1.10']) expect(await pdns.query(fqdn(name), 'A')).toEqual([]);
  });

  it('succeeds when unlisting an address that is not listed', async () => {
    await expect(backend().unlist(ZONE, [parsePrefix('10.0.0.77'), parsePrefix('2001:db8::/48')])).resolves.toBeUndefined();
  });

  it('rejects a wrong API key with RBL_HTTP_AUTH, retried (the unlists wait for the right key), and changes nothing', async () => {
    const error = await backend({ apiKey: 'wrong-key' }).unlist(ZONE, [parsePrefix('10.0.0.6')]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RblError);
    expect(error).toMatchObject({ code: 'RBL_HTTP_AUTH', transient: true });
    expect((error as Error).message).toMatch(/API key rejected by 127\.0\.0\.1:\d+ .*401.*check api_key_file/);
    expect((error as Error).message).not.toContain('wrong-key');
    expect(await pdns.query(fqdn('6.0.0.10'), 'A')).toEqual(['127.0.0.2']);
  });

  it('fails a probe with a wrong API key', async () => {
    await expect(backend({ apiKey: 'wrong-key' }).probe(ZONE)).rejects.toMatchObject({ code: 'RBL_HTTP_AUTH' });
  });

  it('reports a zone the server does not have as RBL_HTTP_NOT_FOUND', async () => {
    const missing = backend({}, 'missing.example.net');
    await expect(missing.unlist('missing.example.net', [parsePrefix('10.0.0.6')])).rejects.toMatchObject({ code: 'RBL_HTTP_NOT_FOUND', transient: false });
    await expect(missing.probe('missing.example.net')).rejects.toThrow(/zone missing\.example\.net not found/);
    await expect(missing.check('missing.example.net', parsePrefix('10.0.0.6'))).rejects.toMatchObject({ code: 'RBL_HTTP_NOT_FOUND' });
  });

  it('reports a server that is down as a transient RBL_HTTP_CONNECTION', async () => {
    const down = backend({ url: 'http://127.0.0.1:1/api/v1/servers/localhost/zones/rbl.example.net.' });
    await expect(down.unlist(ZONE, [parsePrefix('10.0.0.6')])).rejects.toMatchObject({ code: 'RBL_HTTP_CONNECTION', transient: true });
  });
});
