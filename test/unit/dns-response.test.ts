/**
 * The DNS answer parser (RFC 1035 §4.1, RFC 8945 §4.2) on messages written out octet by octet: every
 * field it reads, the bounds of names, records and the TSIG RR, and the words of each refusal.
 */
import { describe, expect, test } from 'vitest';
import { RR_TYPE } from '../../src/backends/dns-update/message.js';
import { parseHeader, parseMessage, readName } from '../../src/backends/dns-update/response.js';
import { RblError } from '../../src/errors.js';

/** A name in wire form: each label with its length, then the root. */
function wire(...labels: string[]): Buffer {
  return Buffer.concat([...labels.map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label, 'latin1')])), Buffer.from([0])]);
}

function u16(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(value);
  return out;
}

function header(counts: { qd?: number; an?: number; ns?: number; ar?: number } = {}, flags = 0x8000, id = 0x1234): Buffer {
  return Buffer.concat([u16(id), u16(flags), u16(counts.qd ?? 0), u16(counts.an ?? 0), u16(counts.ns ?? 0), u16(counts.ar ?? 0)]);
}

function record(name: Buffer, type: number, rdata: Buffer, ttl = 300, rrClass = 1): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(rrClass, 2);
  fixed.writeUInt32BE(ttl, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([name, fixed, rdata]);
}

/** TSIG RDATA (RFC 8945 §4.2) with each length field settable, to write broken ones. */
function tsigRdata(fields: { mac?: Buffer; macSize?: number; other?: Buffer; otherLength?: number; time?: number; error?: number } = {}): Buffer {
  const time = Buffer.alloc(6);
  time.writeUIntBE(fields.time ?? 0x0102_0304_0506, 0, 6);
  const mac = fields.mac ?? Buffer.alloc(32, 0xab);
  const other = fields.other ?? Buffer.alloc(0);
  return Buffer.concat([
    wire('hmac-sha256'),
    time,
    u16(300),
    u16(fields.macSize ?? mac.length),
    mac,
    u16(0x4321),
    u16(fields.error ?? 0),
    u16(fields.otherLength ?? other.length),
    other,
  ]);
}

function refusal(message: Buffer): string {
  try {
    parseMessage(message);
  } catch (error) {
    if (error instanceof RblError && error.code === 'RBL_DNS_BAD_RESPONSE') return error.message;
    throw error;
  }
  return 'parsed';
}

const Q = Buffer.concat([wire('rbl', 'example', 'net'), u16(RR_TYPE.SOA), u16(1)]);
const A = (rdata: Buffer): Buffer => Buffer.concat([header({ an: 1 }), record(wire('x'), RR_TYPE.A, rdata)]);

describe('parseHeader', () => {
  test.each([
    [0x0000, { qr: false, opcode: 0, aa: false, tc: false, rcode: 0 }],
    [0xffff, { qr: true, opcode: 15, aa: true, tc: true, rcode: 15 }],
    [0x8000, { qr: true, opcode: 0, aa: false, tc: false, rcode: 0 }],
    [0x2800, { qr: false, opcode: 5, aa: false, tc: false, rcode: 0 }],
    [0x0400, { qr: false, opcode: 0, aa: true, tc: false, rcode: 0 }],
    [0x0200, { qr: false, opcode: 0, aa: false, tc: true, rcode: 0 }],
    [0x0109, { qr: false, opcode: 0, aa: false, tc: false, rcode: 9 }],
  ])('reads the flags 0x%s bit by bit', (flags, expected) => {
    const message = Buffer.concat([u16(0xbeef), u16(flags), u16(1), u16(2), u16(3), u16(4)]);
    expect(parseHeader(message)).toEqual({ id: 0xbeef, ...expected, qdcount: 1, ancount: 2, nscount: 3, arcount: 4 });
  });

  test('reads a header of exactly 12 octets and refuses 11', () => {
    expect(parseHeader(header()).id).toBe(0x1234);
    expect(() => parseHeader(header().subarray(0, 11))).toThrow('malformed DNS response: 11 bytes, shorter than a header');
  });
});

describe('readName', () => {
  test('reads labels in lower case, and returns the offset after the root', () => {
    expect(readName(Buffer.concat([Buffer.from([9]), wire('RBL', 'Example')]), 1)).toEqual({ name: 'rbl.example', end: 14 });
  });

  test('reads the root as the empty name', () => {
    expect(readName(Buffer.from([0]), 0)).toEqual({ name: '', end: 1 });
  });

  test('returns the offset after the first pointer, not after the name it points to', () => {
    // 0: "zone" root; 6: "a" + pointer to 0; 10: "b" + pointer to 6.
    const message = Buffer.concat([wire('zone'), Buffer.from([1, 0x61, 0xc0, 0]), Buffer.from([1, 0x62, 0xc0, 6])]);
    expect(readName(message, 10)).toEqual({ name: 'b.a.zone', end: 14 });
  });

  test('follows a pointer whose offset needs its high bits (offset 256 and up)', () => {
    const message = Buffer.concat([Buffer.alloc(0x105), wire('far'), Buffer.from([0xc1, 0x05])]);
    expect(readName(message, message.length - 2)).toEqual({ name: 'far', end: message.length });
  });

  // A chain of pointers, each to the next, ending at the root.
  const chain = (jumps: number): Buffer => {
    const out = Buffer.alloc(jumps * 2 + 1);
    for (let i = 0; i < jumps; i++) out.writeUInt16BE(0xc000 | ((i + 1) * 2), i * 2);
    return out;
  };

  test('follows 64 pointers and refuses the 65th as a loop', () => {
    expect(readName(chain(64), 0)).toEqual({ name: '', end: 2 });
    expect(() => readName(chain(65), 0)).toThrow('malformed DNS response: name pointer loop');
  });

  test('reads a name of exactly 255 octets and refuses one of 256 (RFC 1035 §3.1)', () => {
    const long = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63)];
    expect(readName(wire(...long, 'd'.repeat(61)), 0).end).toBe(255);
    expect(() => readName(wire(...long, 'd'.repeat(62)), 0)).toThrow('malformed DNS response: name longer than 255 octets');
  });

  test.each([
    ['a name without its root', Buffer.from([1, 0x61]), 'name runs past the end'],
    ['an empty message', Buffer.alloc(0), 'name runs past the end'],
    ['a label longer than what follows', Buffer.from([3, 0x61, 0x62]), 'label runs past the end'],
    ['a pointer cut after its first octet', Buffer.from([1, 0x61, 0xc0]), 'name pointer runs past the end'],
    ['label type 0x80 (reserved)', Buffer.from([0x80, 0]), 'label type 0x80'],
    ['label type 0x40 (extended, RFC 6891)', Buffer.from([0x41, 0]), 'label type 0x41'],
  ])('refuses %s', (_case, message, words) => {
    expect(() => readName(message, 0)).toThrow(`malformed DNS response: ${words}`);
  });

  test('reads a label that ends exactly at the end of the message when the root follows by pointer', () => {
    expect(readName(Buffer.from([0, 2, 0x61, 0x62, 0xc0, 0]), 1)).toEqual({ name: 'ab', end: 6 });
  });
});

describe('parseMessage', () => {
  test('reads questions, each section, and every field of a record', () => {
    const message = Buffer.concat([
      header({ qd: 1, an: 1, ns: 1, ar: 1 }),
      Q,
      record(wire('2', '0', 'x'), RR_TYPE.A, Buffer.from([127, 0, 0, 2]), 0x01020304, 1),
      record(wire('ns'), RR_TYPE.NS, wire('ns1'), 60, 3),
      record(wire('extra'), RR_TYPE.TXT, Buffer.from([2, 0x68, 0x69]), 7, 255),
    ]);
    const parsed = parseMessage(message);
    expect(parsed.questions).toEqual([{ name: 'rbl.example.net', type: RR_TYPE.SOA, class: 1 }]);
    expect(parsed.answers.map(({ rdata: _rdata, ...rest }) => rest)).toEqual([{ name: '2.0.x', type: RR_TYPE.A, class: 1, ttl: 0x01020304, data: '127.0.0.2' }]);
    expect(parsed.authorities.map((rr) => [rr.name, rr.type, rr.class, rr.ttl, rr.data, rr.rdata.toString('hex')])).toEqual([['ns', RR_TYPE.NS, 3, 60, undefined, wire('ns1').toString('hex')]]);
    expect(parsed.additionals.map((rr) => [rr.name, rr.class, rr.ttl, rr.data])).toEqual([['extra', 255, 7, 'hi']]);
    expect(parsed.tsig).toBeUndefined();
  });

  test.each([
    ['an A record of 4 octets as a dotted quad', A(Buffer.from([10, 64, 0, 2])), '10.64.0.2'],
    ['an A record of 5 octets as nothing', A(Buffer.from([10, 64, 0, 2, 9])), undefined],
    ['an A record of 3 octets as nothing', A(Buffer.from([10, 64, 0])), undefined],
    ['a TXT record as its character-strings joined', Buffer.concat([header({ an: 1 }), record(wire('x'), RR_TYPE.TXT, Buffer.from('\x03abc\x00\x02de', 'latin1'))]), 'abcde'],
    ['an empty TXT record as the empty text', Buffer.concat([header({ an: 1 }), record(wire('x'), RR_TYPE.TXT, Buffer.alloc(0))]), ''],
    ['an empty SOA record as nothing', Buffer.concat([header({ an: 1 }), record(wire('x'), RR_TYPE.SOA, Buffer.alloc(0))]), undefined],
    ['a record of another type with 4 octets as nothing', Buffer.concat([header({ an: 1 }), record(wire('x'), 99, Buffer.from([10, 64, 0, 2]))]), undefined],
    ['another type as nothing', Buffer.concat([header({ an: 1 }), record(wire('x'), RR_TYPE.AAAA, Buffer.alloc(16, 1))]), undefined],
  ])('decodes %s', (_case, message, data) => {
    expect(parseMessage(message).answers[0]?.data).toEqual(data);
  });

  const soa = (timers: number): Buffer => {
    const rdata = Buffer.concat([wire('ns'), wire('hostmaster'), Buffer.from([0, 0, 0x30, 0x39]), Buffer.alloc(timers)]);
    return Buffer.concat([header({ an: 1 }), record(wire('zone'), RR_TYPE.SOA, rdata)]);
  };

  test('reads an SOA record whose five numbers fill its data exactly, and refuses one an octet short', () => {
    expect(parseMessage(soa(16)).answers[0]?.data).toEqual({ mname: 'ns', rname: 'hostmaster', serial: 12345 });
    expect(refusal(soa(15))).toBe('malformed DNS response: SOA record too short');
  });

  test.each([
    ['a question cut before its class', Buffer.concat([header({ qd: 1 }), Q.subarray(0, Q.length - 1)]), 'question runs past the end'],
    ['a record header cut by an octet', Buffer.concat([header({ an: 1 }), record(wire('x'), RR_TYPE.A, Buffer.alloc(0)).subarray(0, 12)]), 'record header runs past the end'],
    ['record data cut by an octet', A(Buffer.from([10, 64, 0, 2])).subarray(0, 12 + 13 + 3), 'record x data runs past the end'],
    ['a TXT character-string longer than its record', Buffer.concat([header({ an: 1 }), record(wire('x'), RR_TYPE.TXT, Buffer.from([3, 0x61, 0x62]))]), 'TXT character-string runs past its record'],
    ['more answers than the message holds', header({ an: 1 }), 'name runs past the end'],
    ['more additional records than the message holds', header({ ar: 1 }), 'name runs past the end'],
  ])('refuses %s', (_case, message, words) => {
    expect(refusal(message)).toBe(`malformed DNS response: ${words}`);
  });

  test('reads a question of exactly its 4 fixed octets and a record of exactly its 10', () => {
    expect(parseMessage(Buffer.concat([header({ qd: 1 }), Q])).questions).toHaveLength(1);
    expect(parseMessage(Buffer.concat([header({ an: 1 }), record(wire('x'), 99, Buffer.alloc(0))])).answers[0]?.rdata.length).toBe(0);
  });
});

describe('parseMessage: the TSIG record (RFC 8945 §4.2, §5.1)', () => {
  const signed = (rdata: Buffer, before: Buffer[] = []): Buffer =>
    Buffer.concat([header({ qd: 1, ar: before.length + 1 }), Q, ...before, record(wire('Unlist-Key'), RR_TYPE.TSIG, rdata, 0, 255)]);

  test('reads every field, and where the record starts', () => {
    const other = Buffer.from([0, 0, 0x65, 0x5f, 0x4c, 0x00]);
    const mac = Buffer.alloc(32, 0xcd);
    const before = [record(wire('opt'), 41, Buffer.alloc(0))];
    const message = signed(tsigRdata({ mac, other, error: 18, time: 0xffff_ffff_fffe }), before);
    const { tsig, additionals } = parseMessage(message);
    expect(tsig).toEqual({
      offset: 12 + Q.length + before[0]!.length,
      keyName: 'unlist-key',
      algorithm: 'hmac-sha256',
      timeSigned: 0xffff_ffff_fffe,
      fudge: 300,
      mac,
      originalId: 0x4321,
      error: 18,
      otherData: other,
    });
    expect(additionals.map((rr) => rr.name)).toEqual(['opt']);
  });

  test('reads a TSIG record with an empty MAC and no other data', () => {
    expect(parseMessage(signed(tsigRdata({ mac: Buffer.alloc(0) }))).tsig).toMatchObject({ mac: Buffer.alloc(0), otherData: Buffer.alloc(0) });
  });

  test.each([
    ['a TSIG record that is not the last additional record', Buffer.concat([header({ ar: 2 }), record(wire('k'), RR_TYPE.TSIG, tsigRdata()), record(wire('opt'), 41, Buffer.alloc(0))]), 'TSIG record is not the last additional record'],
    ['a TSIG record cut inside its fixed fields', signed(Buffer.concat([wire('hmac-sha256'), Buffer.alloc(9)])), 'TSIG record too short'],
    ['a TSIG record that ends right after its fixed fields, with no room for Original ID, Error and Other Len', signed(Buffer.concat([wire('hmac-sha256'), Buffer.alloc(10)])), 'TSIG MAC runs past its record'],
    ['a MAC size past the record', signed(tsigRdata({ mac: Buffer.alloc(4), macSize: 5 })), 'TSIG MAC runs past its record'],
    ['a record with room for the MAC but not the fields after it', signed(tsigRdata({ mac: Buffer.alloc(4) }).subarray(0, 13 + 10 + 4 + 5)), 'TSIG MAC runs past its record'],
    ['an Other Len longer than the data', signed(tsigRdata({ other: Buffer.alloc(6), otherLength: 7 })), 'TSIG other data does not match its record length'],
    ['an Other Len shorter than the data', signed(tsigRdata({ other: Buffer.alloc(6), otherLength: 5 })), 'TSIG other data does not match its record length'],
  ])('refuses %s', (_case, message, words) => {
    expect(refusal(message)).toBe(`malformed DNS response: ${words}`);
  });

  test('reads fixed fields that end exactly at the record end (no MAC, no other data)', () => {
    expect(parseMessage(signed(Buffer.concat([wire('hmac-sha256'), Buffer.alloc(16)]))).tsig).toMatchObject({ mac: Buffer.alloc(0), error: 0 });
  });
});
