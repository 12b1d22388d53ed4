/** The RFC 2136 delete UPDATE encoder, cross-checked with dns2's decoder, and the response parser. */
import { Packet } from 'dns2';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  RR_TYPE,
  batchDeleteNames,
  buildDeleteUpdate,
  buildQuery,
  deleteUpdateSize,
  encodeName,
  rrTypeName,
  rrTypeNumber,
} from '../../src/backends/dns-update/message.js';
import { parseHeader, parseMessage, readName } from '../../src/backends/dns-update/response.js';
import { dnsblNames } from '../../src/backends/naming.js';
import { isRblError } from '../../src/errors.js';
import { parsePrefix } from '../../src/net/address.js';

const ZONE = 'rbl.example.net';
const names = (...targets: string[]): string[] => targets.flatMap((target) => dnsblNames(parsePrefix(target), ZONE));

describe('buildDeleteUpdate', () => {
  test('writes an UPDATE header with one zone and one RR per name and type', () => {
    const message = buildDeleteUpdate({ id: 0xbeef, zone: ZONE, names: names('10.64.0.2', '2001:db8::1'), types: [RR_TYPE.A, RR_TYPE.TXT] });
    expect(parseHeader(message)).toEqual({
      id: 0xbeef,
      qr: false,
      opcode: 5,
      aa: false,
      tc: false,
      rcode: 0,
      qdcount: 1, // ZOCOUNT
      ancount: 0, // PRCOUNT
      nscount: 4, // UPCOUNT
      arcount: 0,
    });
  });

  test.each([
    ['an IPv4 address, A and TXT', names('10.64.0.2'), [RR_TYPE.A, RR_TYPE.TXT]],
    ['an IPv6 address, A and TXT', names('2001:db8:100::5'), [RR_TYPE.A, RR_TYPE.TXT]],
    ['an IPv6 /64 and its wildcard', names('2001:db8:100:abcd::/64'), [RR_TYPE.A, RR_TYPE.TXT]],
    ['every RRset (ANY)', names('10.64.0.2', '10.64.0.3'), [RR_TYPE.ANY]],
    ['three types', names('10.64.0.2'), [RR_TYPE.A, RR_TYPE.TXT, RR_TYPE.AAAA]],
    ['the zone apex', [ZONE], [RR_TYPE.TXT]],
    ['a name outside the zone, uncompressed', ['2.0.64.10.other.example'], [RR_TYPE.A, RR_TYPE.TXT]],
    ['upper-case names, sent in lower case', ['2.0.64.10.RBL.Example.NET'], [RR_TYPE.A]],
  ])('dns2 decodes %s as class-ANY deletes with TTL 0 and no RDATA', (_case, owners, types) => {
    const message = buildDeleteUpdate({ id: 7, zone: ZONE, names: owners, types });
    expect(message.length).toBe(deleteUpdateSize(ZONE, owners, types));
    const decoded = Packet.parse(message);
    expect(decoded.questions).toEqual([expect.objectContaining({ name: ZONE, type: RR_TYPE.SOA, class: 1 })]);
    // dns2 reads the update section as "authorities" (it is the third section, RFC 2136 §2).
    expect(decoded.authorities.map((rr) => [rr.name, rr.type, rr.class, rr.ttl])).toEqual(
      owners.flatMap((owner) => types.map((type) => [owner.toLowerCase(), type, 255, 0])),
    );
    // RDLENGTH 0 on the wire: each RR is exactly its name and 10 fixed bytes, checked by our own parser.
    const parsed = parseMessage(message);
    expect(parsed.authorities.every((rr) => rr.rdata.length === 0 && rr.ttl === 0 && rr.class === 255)).toBe(true);
  });

  test('compresses names against the zone and repeats a name as a pointer', () => {
    const owner = '2.0.64.10.rbl.example.net';
    const message = buildDeleteUpdate({ id: 1, zone: ZONE, names: [owner], types: [RR_TYPE.A, RR_TYPE.TXT] });
    const zoneEnd = 12 + encodeName(ZONE).length + 4;
    // "2.0.64.10" as labels (1+1 +1+1 +1+2 +1+2 = 10 bytes), a pointer to offset 12, 10 fixed bytes;
    // then a pointer to the owner and 10 fixed bytes.
    expect(message.length).toBe(zoneEnd + 10 + 2 + 10 + 2 + 10);
    expect(message.readUInt16BE(zoneEnd + 10)).toBe(0xc00c);
    expect(message.readUInt16BE(zoneEnd + 22)).toBe(0xc000 | zoneEnd);
  });

  test('writes names again once they lie past what a 14-bit pointer reaches', () => {
    const many = Array.from({ length: 1500 }, (_, i) => dnsblNames(parsePrefix(`2001:db8::${i.toString(16)}`), ZONE)[0]!);
    const message = buildDeleteUpdate({ id: 1, zone: ZONE, names: many, types: [RR_TYPE.A, RR_TYPE.TXT] });
    expect(message.length).toBeGreaterThan(0x4000);
    expect(message.length).toBe(deleteUpdateSize(ZONE, many, [RR_TYPE.A, RR_TYPE.TXT]));
    const parsed = parseMessage(message);
    expect(parsed.authorities.map((rr) => `${rr.name}/${rr.type}`)).toEqual(many.flatMap((name) => [`${name}/1`, `${name}/16`]));
  });

  test('rejects a name with an empty or over-long label', () => {
    for (const bad of ['a..rbl.example.net', `${'x'.repeat(64)}.rbl.example.net`]) {
      expect(() => buildDeleteUpdate({ id: 1, zone: ZONE, names: [bad], types: [RR_TYPE.A] })).toThrow(/not a domain name/);
    }
  });

  test('decodes to the same names and types as given, for any IPv4 and IPv6 targets (property)', () => {
    const target = fc.oneof(fc.ipV4(), fc.ipV6());
    fc.assert(
      fc.property(fc.array(target, { minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 0xffff }), (targets, id) => {
        const owners = [...new Set(targets.flatMap((address) => dnsblNames(parsePrefix(address), ZONE)))];
        const message = buildDeleteUpdate({ id, zone: ZONE, names: owners, types: [RR_TYPE.A, RR_TYPE.TXT] });
        const decoded = Packet.parse(message);
        expect(decoded.header.id).toBe(id);
        expect(decoded.authorities.map((rr) => rr.name)).toEqual(owners.flatMap((owner) => [owner, owner]));
      }),
      { numRuns: 200 },
    );
  });

  test('encodes 100,000 names in well under a second', () => {
    const owners = Array.from({ length: 1500 }, (_, i) => `${i & 0xff}.${i >> 8}.64.10.${ZONE}`);
    const started = performance.now();
    let bytes = 0;
    for (let round = 0; round < 67; round++) bytes += buildDeleteUpdate({ id: round, zone: ZONE, names: owners, types: [RR_TYPE.A, RR_TYPE.TXT] }).length;
    const elapsed = performance.now() - started;
    expect(bytes).toBeGreaterThan(0);
    expect(elapsed).toBeLessThan(1000);
  });
});

describe('encodeName', () => {
  test.each([
    ['rbl.example.net', [3, 'rbl', 7, 'example', 3, 'net', 0]],
    ['rbl.example.net.', [3, 'rbl', 7, 'example', 3, 'net', 0]],
    ['AZ.az', [2, 'az', 2, 'az', 0]],
    ['@[.`{', [2, '@[', 2, '`{', 0]],
    ['', [0]],
    ['.', [0]],
    [`${'a'.repeat(63)}.net`, [63, 'a'.repeat(63), 3, 'net', 0]],
  ])('writes %j in wire form, lower case (RFC 1035 §3.1)', (name, parts) => {
    const expected = Buffer.concat(parts.map((part) => (typeof part === 'number' ? Buffer.from([part]) : Buffer.from(part, 'latin1'))));
    expect(encodeName(name)).toEqual(expected);
  });

  test.each([`${'a'.repeat(64)}.net`, 'a..net', '.net'])('refuses %j, naming it', (name) => {
    expect(() => encodeName(name)).toThrow(`"${name.replace(/\.$/, '')}" is not a domain name (empty or over-long label)`);
  });
});

describe('the size of a delete UPDATE', () => {
  test.each([
    ['a name inside the zone', `2.0.64.10.${ZONE}`],
    ['the zone apex itself', ZONE],
    ['the zone apex with a trailing dot and capitals', `RBL.Example.NET.`],
    ['a name outside the zone', '2.0.64.10.other.example'],
    ['a name that ends like the zone but not at a label', `2.0.64.10.x${ZONE}`],
    ['a name shorter than the zone', 'net'],
    ['a name whose dot falls where the zone would start', 'x.abcdefghijklmno'],
  ])('is what buildDeleteUpdate writes, and the names read back: %s', (_what, name) => {
    const types = [RR_TYPE.A, RR_TYPE.TXT, RR_TYPE.AAAA];
    const message = buildDeleteUpdate({ id: 1, zone: ZONE, names: [name, name], types });
    expect(message.length).toBe(deleteUpdateSize(ZONE, [name, name], types));
    const bare = name.replace(/\.$/, '').toLowerCase();
    expect(parseMessage(message).authorities.map((record) => record.name)).toEqual(Array(6).fill(bare));
  });

  test('repeats a name written at octet 16,384 in full: a pointer reaches only 16,383 (RFC 1035 §4.1.4)', () => {
    // 33 octets of header and zone, then 24 + 25 and 627 x 26 octets: the last name starts at 16,384.
    const first = `${'f'.repeat(24)}.${ZONE}`;
    const owners = [first, ...Array<string>(627).fill(`x.${ZONE}`), `y.${ZONE}`];
    const types = [RR_TYPE.A, RR_TYPE.TXT];
    const message = buildDeleteUpdate({ id: 1, zone: ZONE, names: owners, types });
    expect(message.length).toBe(deleteUpdateSize(ZONE, owners, types));
    const records = parseMessage(message).authorities;
    expect(records.slice(-2).map((record) => record.name)).toEqual([`y.${ZONE}`, `y.${ZONE}`]);
    expect(message.indexOf(Buffer.from([1, 0x79, 0xc0, 12]))).toBe(16_384);
    expect(message.lastIndexOf(Buffer.from([1, 0x79, 0xc0, 12]))).toBe(16_384 + 4 + 10);
  });

  test('writes a name inside the zone as its own labels and a pointer to the zone', () => {
    const message = buildDeleteUpdate({ id: 1, zone: ZONE, names: [`x.${ZONE}`, ZONE], types: [RR_TYPE.A] });
    const zoneEnd = 12 + encodeName(ZONE).length + 4;
    expect(message.subarray(zoneEnd, zoneEnd + 4)).toEqual(Buffer.from([1, 0x78, 0xc0, 12]));
    expect(message.subarray(zoneEnd + 4 + 10, zoneEnd + 4 + 10 + 2)).toEqual(Buffer.from([0xc0, 12]));
  });

  test('counts 2 octets for the zone apex as owner and 4 for a one-letter name in the zone (a pointer to the zone)', () => {
    // Header 12, zone 17 + type and class 4; then per RR the owner, and 10 octets of type, class, TTL, RDLENGTH.
    expect(deleteUpdateSize(ZONE, [ZONE], [RR_TYPE.A])).toBe(12 + 17 + 4 + 2 + 10);
    expect(deleteUpdateSize(ZONE, [`x.${ZONE}`], [RR_TYPE.A])).toBe(12 + 17 + 4 + 4 + 10);
  });

  test('says a bad name, a missing type and too many RRs are configuration errors', () => {
    const invalid = expect.objectContaining({ code: 'RBL_CONFIG_INVALID' });
    expect(() => encodeName('a..b')).toThrow(invalid);
    expect(() => buildDeleteUpdate({ id: 1, zone: ZONE, names: ['a'], types: [] })).toThrow(invalid);
    expect(() => buildDeleteUpdate({ id: 1, zone: ZONE, names: Array<string>(65_536).fill(`a.${ZONE}`), types: [RR_TYPE.A] })).toThrow(invalid);
  });

  test('refuses an UPDATE without RR types, and one of more than 65,535 RRs', () => {
    expect(() => buildDeleteUpdate({ id: 1, zone: ZONE, names: ['a'], types: [] })).toThrow('a delete UPDATE needs at least one RR type');
    const many = Array.from({ length: 32_768 }, (_, i) => `${i}.${ZONE}`);
    expect(() => buildDeleteUpdate({ id: 1, zone: ZONE, names: many, types: [RR_TYPE.A, RR_TYPE.TXT] })).toThrow('65536 update RRs do not fit one message; batch the names');
    expect(parseHeader(buildDeleteUpdate({ id: 1, zone: ZONE, names: many.slice(0, 65_535 / 5), types: [1, 2, 5, 6, 16] })).nscount).toBe(65_535);
  });
});

describe('batchDeleteNames', () => {
  test('fills a message up to exactly the byte bound, and not one byte past it', () => {
    const owners = Array.from({ length: 10 }, (_, i) => `${i}.0.64.10.${ZONE}`);
    const types = [RR_TYPE.A, RR_TYPE.TXT];
    const exact = deleteUpdateSize(ZONE, owners, types);
    expect(batchDeleteNames(ZONE, owners, types, exact)).toEqual([owners]);
    expect(batchDeleteNames(ZONE, owners, types, exact - 1)).toEqual([owners.slice(0, 9), owners.slice(9)]);
  });

  test('starts a new message before the UPDATE count passes 65,535 RRs', () => {
    const owners = Array.from({ length: 32_768 }, (_, i) => `${i}.${ZONE}`);
    const batches = batchDeleteNames(ZONE, owners, [RR_TYPE.A, RR_TYPE.TXT], 10_000_000);
    expect(batches.map((batch) => batch.length)).toEqual([32_767, 1]);
  });

  test('puts exactly 65,535 RRs in one message', () => {
    const owners = Array<string>(65_535).fill(`a.${ZONE}`);
    expect(batchDeleteNames(ZONE, owners, [RR_TYPE.A], 10_000_000).map((batch) => batch.length)).toEqual([65_535]);
  });

  test('puts a name that alone passes the bound in a message of its own', () => {
    const owners = [`a.${ZONE}`, `b.${ZONE}`];
    expect(batchDeleteNames(ZONE, owners, [RR_TYPE.A], 10)).toEqual([[owners[0]], [owners[1]]]);
  });

  test('keeps each message within the byte bound and loses no name', () => {
    const owners = Array.from({ length: 5000 }, (_, i) => `${i & 0xff}.${i >> 8}.64.10.${ZONE}`);
    const batches = batchDeleteNames(ZONE, owners, [RR_TYPE.A, RR_TYPE.TXT], 60_000);
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.flat()).toEqual(owners);
    for (const batch of batches) expect(deleteUpdateSize(ZONE, batch, [RR_TYPE.A, RR_TYPE.TXT])).toBeLessThanOrEqual(60_000);
  });

  test('puts 500 names in one message', () => {
    const owners = names(...Array.from({ length: 500 }, (_, i) => `10.64.${i >> 8}.${i & 0xff}`));
    expect(batchDeleteNames(ZONE, owners, [RR_TYPE.A, RR_TYPE.TXT], 60_000)).toHaveLength(1);
  });

  test('returns no batch for no names', () => {
    expect(batchDeleteNames(ZONE, [], [RR_TYPE.A], 60_000)).toEqual([]);
  });
});

describe('rrTypeNumber', () => {
  test.each([
    ['A', 1],
    ['txt', 16],
    ['AAAA', 28],
    ['ANY', 255],
    ['TYPE65280', 65280],
    ['TYPE65535', 65535],
    ['type1', 1],
  ])('reads %s as type %i', (text, type) => {
    expect(rrTypeNumber(text)).toBe(type);
    expect(rrTypeNumber(rrTypeName(type))).toBe(type);
  });

  test.each(['', 'BOGUS', 'TYPE0', 'TYPE70000', 'TYPE65536', 'A TXT', 'XTYPE5', 'TYPE5X'])('rejects %j', (text) => {
    expect(() => rrTypeNumber(text)).toThrow(expect.objectContaining({ code: 'RBL_CONFIG_INVALID' }));
  });

  test('says which types it takes', () => {
    expect(() => rrTypeNumber('MAGIC')).toThrow('"MAGIC" is not an RR type this backend can delete (use A, TXT, AAAA, ..., TYPEnnn or ANY)');
  });
});

describe('buildQuery', () => {
  test('asks for the name in lower case, without the trailing dot', () => {
    const query = buildQuery(7, '2.0.64.10.RBL.Example.NET.', RR_TYPE.TXT);
    expect(query.subarray(12, 12 + encodeName(`2.0.64.10.${ZONE}`).length)).toEqual(encodeName(`2.0.64.10.${ZONE}`));
  });

  test('builds a non-recursive IN query that dns2 and our parser read back', () => {
    const query = buildQuery(4242, '2.0.64.10.rbl.example.net.', RR_TYPE.TXT);
    const parsed = parseMessage(query);
    expect(parsed.header).toMatchObject({ id: 4242, qr: false, opcode: 0, qdcount: 1, ancount: 0, arcount: 0 });
    expect(query.readUInt16BE(2) & 0x0100).toBe(0); // RD clear
    expect(parsed.questions).toEqual([{ name: '2.0.64.10.rbl.example.net', type: RR_TYPE.TXT, class: 1 }]);
  });
});

/** A response built with dns2's encoder: what a server might send. */
function response(answers: object[], rcode = 0): Buffer {
  const packet = new Packet(new Packet.Header({ id: 99, qr: 1, aa: 1, rcode }));
  packet.questions.push(new Packet.Question('2.0.64.10.rbl.example.net', RR_TYPE.A, 1));
  for (const answer of answers) packet.answers.push(new Packet.Resource({ name: '2.0.64.10.rbl.example.net', class: 1, ttl: 300, ...answer }));
  return packet.toBuffer();
}

describe('parseMessage', () => {
  test('reads the header, question and A and TXT answers', () => {
    const parsed = parseMessage(
      response([
        { type: RR_TYPE.A, address: '127.0.0.2' },
        { type: RR_TYPE.TXT, data: ['listed: ', 'too many messages'] },
      ]),
    );
    expect(parsed.header).toMatchObject({ id: 99, qr: true, aa: true, rcode: 0, ancount: 2 });
    expect(parsed.answers.map((rr) => rr.data)).toEqual(['127.0.0.2', 'listed: too many messages']);
    expect(parsed.tsig).toBeUndefined();
  });

  test('reads an SOA answer with compressed names', () => {
    const packet = new Packet(new Packet.Header({ id: 5, qr: 1, aa: 1 }));
    packet.questions.push(new Packet.Question(ZONE, RR_TYPE.SOA, 1));
    packet.answers.push(
      new Packet.Resource({ name: ZONE, type: RR_TYPE.SOA, class: 1, ttl: 300, primary: `ns.${ZONE}`, admin: `hostmaster.${ZONE}`, serial: 2024, refresh: 1, retry: 2, expiration: 3, minimum: 4 }),
    );
    expect(parseMessage(packet.toBuffer()).answers[0]?.data).toEqual({ mname: `ns.${ZONE}`, rname: `hostmaster.${ZONE}`, serial: 2024 });
  });

  test('reads an NXDOMAIN answer without records', () => {
    expect(parseMessage(response([], 3)).header.rcode).toBe(3);
  });

  const good = response([{ type: RR_TYPE.A, address: '127.0.0.2' }]);
  const pointerLoop = Buffer.concat([Buffer.from('000080000001000000000000', 'hex'), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
  test.each([
    ['a message shorter than a header', good.subarray(0, 11)],
    ['a question cut short', good.subarray(0, 20)],
    ['an answer whose data runs past the end', good.subarray(0, good.length - 1)],
    ['a name pointer loop', pointerLoop],
    ['a reserved label type', Buffer.concat([good.subarray(0, 12), Buffer.from([0x80, 0, 0, 1, 0, 1])])],
  ])('rejects %s with RBL_DNS_BAD_RESPONSE', (_case, message) => {
    let error: unknown;
    try {
      parseMessage(Buffer.from(message));
    } catch (caught) {
      error = caught;
    }
    expect(isRblError(error, 'RBL_DNS_BAD_RESPONSE')).toBe(true);
  });

  test('readName follows a pointer and returns the offset after it', () => {
    const message = buildDeleteUpdate({ id: 1, zone: ZONE, names: [`x.${ZONE}`], types: [RR_TYPE.A] });
    const at = 12 + encodeName(ZONE).length + 4;
    expect(readName(message, at)).toEqual({ name: `x.${ZONE}`, end: at + 2 + 2 });
  });
});
