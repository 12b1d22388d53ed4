/**
 * The DNS UPDATE backend against a real BIND 9: signed deletes it accepts, batches over TCP, and
 * the error each kind of refusal becomes.
 */
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createDnsUpdateBackend } from '../../src/backends/dns-update/backend.js';
import { tsigKey } from '../../src/backends/dns-update/keyfile.js';
import { RR_TYPE, buildDeleteUpdate } from '../../src/backends/dns-update/message.js';
import { checkAnswer } from '../../src/backends/dns-update/outcome.js';
import { parseMessage } from '../../src/backends/dns-update/response.js';
import { exchange } from '../../src/backends/dns-update/transport.js';
import { requestMacOf, signTsig, verifyTsigResponse } from '../../src/backends/dns-update/tsig.js';
import { dnsblNames } from '../../src/backends/naming.js';
import { RblError } from '../../src/errors.js';
import { parsePrefix, type IpPrefix } from '../../src/net/address.js';
import { startBind, type BindServer } from '../helpers/bind.js';
import { dnsUpdateConfig, rejection, serverBackend } from '../helpers/dns.js';
import { dnsblName, listingRecords, relativeName } from '../helpers/dnsbl.js';
import { freePort, havePeers } from '../helpers/peers.js';

const ZONE = 'rbl.test';
const FIXED_ZONE = 'fixed.test';
const UNSERVED_ZONE = 'unserved.test';

const relative = (target: string, zone = ZONE): string => relativeName(target, zone);
const listed = (target: string): string[] => listingRecords(target, ZONE, `listed ${target}`);

function ipv4(index: number): string {
  return `10.65.${index >> 8}.${index & 0xff}`;
}

function ipv6(index: number): string {
  return `2001:db8:100:1::${index.toString(16)}`;
}

const BATCH = Array.from({ length: 250 }, (_, i) => ipv4(i)).concat(Array.from({ length: 250 }, (_, i) => ipv6(i)));
const MANY = Array.from({ length: 5000 }, (_, i) => ipv4(1000 + i));

describe.skipIf(!havePeers('named', 'tsig-keygen', 'nsupdate', 'dig'))('DNS UPDATE against BIND', () => {
  let bind: BindServer;
  const nameOf = (target: string): string => dnsblName(target, ZONE);
  const backend = (overrides: Parameters<typeof serverBackend>[2] = {}) => serverBackend(bind, [ZONE, FIXED_ZONE, UNSERVED_ZONE], overrides);

  beforeAll(async () => {
    bind = await startBind({
      zones: [
        {
          name: ZONE,
          records: [
            ...listed('10.64.0.2'),
            ...listed('10.64.0.3'),
            ...listed('10.64.0.4'),
            ...listed('10.64.0.5'),
            ...listed('10.64.0.6'),
            `${relative('10.64.0.6')} AAAA ::1`,
            ...listed('10.64.0.7'),
            ...listed('10.64.0.99'),
            ...listed('2001:db8:100::5'),
            `${relative('2001:db8:100:abcd::/64')} A 127.0.0.2`,
            `*.${relative('2001:db8:100:abcd::/64')} A 127.0.0.2`,
            `*.${relative('2001:db8:100:abcd::/64')} TXT "listed /64"`,
            ...BATCH.flatMap(listed),
            ...MANY.flatMap(listed),
          ],
        },
        { name: FIXED_ZONE, updatable: false, records: [`${relative('10.64.0.2', FIXED_ZONE)} A 127.0.0.2`] },
      ],
    });
  });

  afterAll(async () => {
    await bind?.close();
  });

  test('removes the A and TXT records of a listed IPv4 and a listed IPv6 address', async () => {
    expect(bind.query(nameOf('10.64.0.2'), 'A')).toEqual(['127.0.0.2']);
    expect(bind.query(nameOf('2001:db8:100::5'), 'TXT')).toEqual(['listed 2001:db8:100::5']);
    await backend().unlist(ZONE, [parsePrefix('10.64.0.2'), parsePrefix('2001:db8:100::5')]);
    for (const target of ['10.64.0.2', '2001:db8:100::5']) {
      expect(bind.query(nameOf(target), 'A')).toEqual([]);
      expect(bind.query(nameOf(target), 'TXT')).toEqual([]);
    }
    expect(bind.query(nameOf('10.64.0.99'), 'A'), 'a neighbour stays listed').toEqual(['127.0.0.2']);
  });

  test('succeeds when unlisting an address that is not listed, and leaves the zone as it was', async () => {
    // RFC 2136 §3.4.2.3: deleting an RRset that does not exist is no error; BIND answers NOERROR.
    const absent = ['10.64.200.200', '2001:db8:100::dead'];
    for (const target of absent) expect(bind.query(nameOf(target), 'A')).toEqual([]);
    const soa = bind.query(ZONE, 'SOA');
    const logBefore = bind.log().length;

    await expect(backend().unlist(ZONE, absent.map((target) => parsePrefix(target)))).resolves.toBeUndefined();

    // It did reach BIND, signed and approved, and changed nothing: the serial did not move.
    expect(bind.log().slice(logBefore)).toContain(`deleting rrset at '${nameOf(absent[0]!)}' A`);
    expect(bind.query(ZONE, 'SOA')).toEqual(soa);
    expect(bind.query(nameOf('10.64.0.99'), 'A'), 'a listed neighbour stays listed').toEqual(['127.0.0.2']);
  });

  test('removes a prefix name and the wildcard below it', async () => {
    const [name, wildcard] = dnsblNames(parsePrefix('2001:db8:100:abcd::/64'), ZONE);
    expect(bind.query(wildcard!, 'TXT')).toEqual(['listed /64']);
    await backend().unlist(ZONE, [parsePrefix('2001:db8:100:abcd::/64')]);
    expect(bind.query(name!, 'A')).toEqual([]);
    expect(bind.query(wildcard!, 'A')).toEqual([]);
    expect(bind.query(wildcard!, 'TXT')).toEqual([]);
    expect(bind.query(`1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.${name!}`, 'A'), 'no wildcard answers below it').toEqual([]);
  });

  test('unlists a batch of 500 IPv4 and IPv6 addresses in one call, over TCP', async () => {
    const targets = BATCH.map((target) => parsePrefix(target));
    expect(bind.query(nameOf(BATCH[499]!), 'A')).toEqual(['127.0.0.2']);
    await backend().unlist(ZONE, targets);
    for (const target of [BATCH[0]!, BATCH[249]!, BATCH[250]!, BATCH[499]!]) {
      expect(bind.query(nameOf(target), 'A')).toEqual([]);
      expect(bind.query(nameOf(target), 'TXT')).toEqual([]);
    }
    // BIND logs each deleted RRset with the client's address and port: one port, one message.
    const batchNames = new Set(BATCH.map(nameOf));
    const ports = new Set<string>();
    for (const match of bind.log().matchAll(/127\.0\.0\.1#(\d+)\/key unlist-key: updating zone 'rbl\.test\/IN': deleting rrset at '([^']+)'/g)) {
      if (batchNames.has(match[2]!)) ports.add(match[1]!);
    }
    expect(ports.size).toBe(1);
  });

  // Speed is shown by `npm run bench`, never asserted here.
  test('unlists 5,000 addresses in one call across several messages', async () => {
    const targets = MANY.map((target) => parsePrefix(target));
    await backend().unlist(ZONE, targets);
    for (const target of [MANY[0]!, MANY[2500]!, MANY[4999]!]) expect(bind.query(nameOf(target), 'TXT')).toEqual([]);
  });

  test('with delete [ANY] removes every RRset at the name', async () => {
    expect(bind.query(nameOf('10.64.0.6'), 'AAAA')).toEqual(['::1']);
    await backend({ deleteTypes: ['ANY'] }).unlist(ZONE, [parsePrefix('10.64.0.6')]);
    for (const type of ['A', 'TXT', 'AAAA']) expect(bind.query(nameOf('10.64.0.6'), type)).toEqual([]);
  });

  test('rejects a wrong secret with RBL_DNS_BADSIG and changes nothing', async () => {
    const wrong = { ...bind.key, secret: Buffer.from(bind.key.secret.map((byte) => byte ^ 0xff)) };
    const error = await rejection(backend({ tsig: wrong }).unlist(ZONE, [parsePrefix('10.64.0.3')]));
    expect(error.code).toBe('RBL_DNS_BADSIG');
    // BIND's BADSIG is unsigned (RFC 8945 §5.3.2): read for its reason, but retried, as anyone could send it.
    expect(error.transient).toBe(true);
    expect(error.message).toBe(`TSIG key \`unlist-key\` rejected by 127.0.0.1:${bind.port} (BADSIG): the secret in ${bind.keyFile} differs from the server's`);
    expect(bind.query(nameOf('10.64.0.3'), 'A')).toEqual(['127.0.0.2']);
  });

  test('rejects an unknown key name with RBL_DNS_BADKEY', async () => {
    const unknown = tsigKey('no-such-key', 'hmac-sha256', bind.key.secret.toString('base64'), 'test');
    const error = await rejection(backend({ tsig: unknown }).unlist(ZONE, [parsePrefix('10.64.0.3')]));
    expect(error.code).toBe('RBL_DNS_BADKEY');
    expect(error.message).toContain('no-such-key');
    expect(bind.query(nameOf('10.64.0.3'), 'A')).toEqual(['127.0.0.2']);
  });

  test('rejects a known key name with another algorithm with RBL_DNS_BADKEY', async () => {
    const otherAlgorithm = tsigKey('unlist-key', 'hmac-sha512', bind.key.secret.toString('base64'), 'test');
    const error = await rejection(backend({ tsig: otherAlgorithm }).unlist(ZONE, [parsePrefix('10.64.0.3')]));
    expect(error.code).toBe('RBL_DNS_BADKEY');
  });

  test('reports RBL_DNS_REFUSED for a zone whose update-policy does not grant the key', async () => {
    const error = await rejection(backend().unlist(FIXED_ZONE, [parsePrefix('10.64.0.2')]));
    expect(error.code).toBe('RBL_DNS_REFUSED');
    expect(error.message).toContain('update-policy');
    expect(bind.query(dnsblName('10.64.0.2', FIXED_ZONE), 'A')).toEqual(['127.0.0.2']);
  });

  test('reports RBL_DNS_NOTAUTH for a zone the server does not serve', async () => {
    const error = await rejection(backend().unlist(UNSERVED_ZONE, [parsePrefix('10.64.0.2')]));
    expect(error.code).toBe('RBL_DNS_NOTAUTH');
  });

  test('fails at once with RBL_DNS_CONNECTION when nothing listens on the port', async () => {
    const port = await freePort();
    const config = dnsUpdateConfig(port, [ZONE], bind.key, { timeoutMs: 500 });
    const started = Date.now();
    const error = await rejection(createDnsUpdateBackend(config).unlist(ZONE, [parsePrefix('10.64.0.2')]));
    expect(error.code).toBe('RBL_DNS_CONNECTION');
    expect(error.transient).toBe(true);
    expect(Date.now() - started).toBeLessThan(500);
    const tcpError = await rejection(createDnsUpdateBackend(config).unlist(ZONE, BATCH.map((target) => parsePrefix(target))));
    expect(tcpError.code).toBe('RBL_DNS_CONNECTION');
  });

  describe('a server that never answers', () => {
    let udp: Socket;
    let tcp: Server;
    let port: number;
    beforeAll(async () => {
      port = await freePort();
      udp = createSocket('udp4');
      await new Promise<void>((resolve) => udp.bind(port, '127.0.0.1', resolve));
      tcp = createServer(() => undefined);
      await new Promise<void>((resolve) => tcp.listen(port, '127.0.0.1', resolve));
    });
    afterAll(async () => {
      udp.close();
      tcp.close();
    });

    test.each([
      ['UDP', [parsePrefix('10.64.0.2')]],
      ['TCP', BATCH.map((target) => parsePrefix(target))],
    ] as [string, IpPrefix[]][])('times out over %s with RBL_DNS_TIMEOUT within the configured timeout', async (_protocol, targets) => {
      const started = Date.now();
      const error = await rejection(createDnsUpdateBackend(dnsUpdateConfig(port, [ZONE], bind.key, { timeoutMs: 500 })).unlist(ZONE, targets));
      const elapsed = Date.now() - started;
      expect(error.code).toBe('RBL_DNS_TIMEOUT');
      expect(error.transient).toBe(true);
      expect(elapsed).toBeGreaterThanOrEqual(450);
      expect(elapsed).toBeLessThan(1500);
    });
  });

  test('check reports the A and TXT records of a listed address and nothing for an unlisted one', async () => {
    const listing = await backend().check(ZONE, parsePrefix('10.64.0.4'));
    expect(listing).toEqual({ zone: ZONE, listed: true, names: [{ name: nameOf('10.64.0.4'), a: ['127.0.0.2'], txt: ['listed 10.64.0.4'] }] });
    const clean = await backend().check(ZONE, parsePrefix('10.64.250.250'));
    expect(clean.listed).toBe(false);
    expect(clean.names).toEqual([{ name: nameOf('10.64.250.250'), a: [], txt: [] }]);
  });

  test('check with a wrong secret fails with RBL_DNS_BADSIG', async () => {
    const wrong = { ...bind.key, secret: Buffer.alloc(32, 7) };
    expect((await rejection(backend({ tsig: wrong }).check(ZONE, parsePrefix('10.64.0.4')))).code).toBe('RBL_DNS_BADSIG');
  });

  test.each([
    ['the right key', undefined, undefined],
    ['a wrong secret', { name: 'unlist-key', secret: Buffer.alloc(32, 1) }, 'RBL_DNS_BADSIG'],
    ['an unknown key', { name: 'stranger', secret: Buffer.alloc(32, 1) }, 'RBL_DNS_BADKEY'],
  ] as const)('probe with %s', async (_what, change, code) => {
    const tsig = change ? { ...bind.key, ...change } : bind.key;
    const probe = backend({ tsig }).probe(ZONE);
    if (code === undefined) await expect(probe).resolves.toBeUndefined();
    else expect((await rejection(probe)).code).toBe(code);
  });

  test('probe of a zone the server does not serve fails', async () => {
    const error = await rejection(backend().probe(UNSERVED_ZONE));
    expect(error.code).toBe('RBL_DNS_REFUSED');
  });

  test('describe prints an nsupdate script that the real nsupdate -k runs', async () => {
    const text = backend().describe(ZONE, [parsePrefix('10.64.0.5')]);
    const name = nameOf('10.64.0.5');
    expect(text.split('\n').filter((line) => !line.startsWith(';'))).toEqual([
      `server 127.0.0.1 ${bind.port}`,
      `zone ${ZONE}.`,
      `update delete ${name}. A`,
      `update delete ${name}. TXT`,
      'send',
      '',
    ]);
    const run = bind.nsupdate(text);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(bind.query(name, 'A')).toEqual([]);
    expect(bind.query(name, 'TXT')).toEqual([]);
  });

  test('describe with [ANY] prints a delete of the whole name that nsupdate accepts', async () => {
    const text = backend({ deleteTypes: ['ANY'] }).describe(ZONE, [parsePrefix('10.64.0.7')]);
    expect(text).toContain(`update delete ${nameOf('10.64.0.7')}.\n`);
    expect(bind.nsupdate(text).status).toBe(0);
    expect(bind.query(nameOf('10.64.0.7'), 'A')).toEqual([]);
  });

  /** Sends a hand-made update the backend would never build, and returns the error its answer stands for. */
  async function answerTo(message: Buffer, timeOffset = 0): Promise<string> {
    const signed = signTsig(message, bind.key, { time: Math.floor(Date.now() / 1000) + timeOffset });
    const response = await exchange({ host: '127.0.0.1', port: bind.port, family: 4 }, signed, { timeoutMs: 2000 });
    const verification = verifyTsigResponse(response, requestMacOf(signed, bind.key), bind.key);
    const context = { server: `127.0.0.1:${bind.port}`, zone: ZONE, key: bind.key, keySource: bind.keyFile, what: 'A', operation: 'update' } as const;
    try {
      checkAnswer(parseMessage(response).header.rcode, verification, context);
      return 'ok';
    } catch (error) {
      return (error as RblError).code;
    }
  }

  const deleteA = (names: string[]) => buildDeleteUpdate({ id: 42, zone: ZONE, names, types: [RR_TYPE.A] });

  test('BIND answers a request signed an hour ago with NOTAUTH/BADTIME: RBL_DNS_BADTIME', async () => {
    expect(await answerTo(deleteA([nameOf('10.64.0.3')]), -3600)).toBe('RBL_DNS_BADTIME');
  });

  test('BIND answers a class-ANY delete with a TTL with FORMERR: RBL_DNS_FORMERR', async () => {
    const message = deleteA([nameOf('10.64.0.3')]);
    message.writeUInt32BE(300, message.length - 6); // the last RR's TTL, as dns2 would write it
    expect(await answerTo(message)).toBe('RBL_DNS_FORMERR');
    expect(bind.query(nameOf('10.64.0.3'), 'A')).toEqual(['127.0.0.2']);
  });

  test('BIND answers a name outside the zone with NOTZONE: RBL_DNS_NOTZONE', async () => {
    expect(await answerTo(deleteA(['2.0.64.10.elsewhere.test']))).toBe('RBL_DNS_NOTZONE');
  });
});

describe.skipIf(!havePeers('named', 'tsig-keygen', 'dig'))('DNS UPDATE against BIND with each TSIG algorithm', () => {
  test.each(['hmac-md5', 'hmac-sha1', 'hmac-sha224', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512'])('BIND accepts an update signed with %s', async (algorithm) => {
    const bind = await startBind({ zones: [{ name: ZONE, records: listed('10.64.0.2') }], algorithm });
    try {
      const config = dnsUpdateConfig(bind.port, [ZONE], bind.key);
      await createDnsUpdateBackend(config).unlist(ZONE, [parsePrefix('10.64.0.2')]);
      expect(bind.query(dnsblName('10.64.0.2', ZONE), 'TXT')).toEqual([]);
      await createDnsUpdateBackend(config).probe(ZONE);
    } finally {
      await bind.close();
    }
  });
});
