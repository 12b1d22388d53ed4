/** Naming a packet's attributes for logs: each dictionary type, VALUE names, and the vendor layouts of RFC 2865 §5.26. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeAttributes, splitVendorSpecific } from '../../src/radius/describe.js';
import { readDictionaries, type Dictionary } from '../../src/radius/dictionary.js';
import { parsePacket } from '../../src/radius/packet.js';
import { tempDir } from '../helpers/peers.js';
import { buildAccountingRequest, type AttributeEntry } from '../helpers/radius-packets.js';

const DICTIONARY = `
ATTRIBUTE T-String 1 string
ATTRIBUTE T-Text 2 text
ATTRIBUTE T-Integer 3 integer
ATTRIBUTE T-Date 4 date
ATTRIBUTE T-Uint32 5 uint32
ATTRIBUTE T-Short 6 short
ATTRIBUTE T-Uint16 7 uint16
ATTRIBUTE T-Byte 9 byte
ATTRIBUTE T-Uint8 10 uint8
ATTRIBUTE T-Ip 11 ipaddr
ATTRIBUTE T-Ip6 12 ipv6addr
ATTRIBUTE T-Prefix 13 ipv6prefix
ATTRIBUTE T-Octets 14 octets
VALUE T-Integer Three 3
VALUE T-Date Named-Date 3
VALUE T-Uint32 Named-Uint32 3
VALUE T-Short Seven 7
VALUE T-Uint16 Named-Uint16 7
VALUE T-Byte One 1
VALUE T-Uint8 Named-Uint8 1
VENDOR V11 100
VENDOR V22 200 format=2,2
VENDOR V40 300 format=4,0
VENDOR V11c 400 format=1,1,c
BEGIN-VENDOR V22
ATTRIBUTE V22-Name 513 string
END-VENDOR V22
`;

const u16 = (value: number): Buffer => Buffer.from([value >> 8, value & 0xff]);
const u32 = (value: number): Buffer => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
};

let dictionary: Dictionary;
let remove: () => void;
beforeAll(() => {
  const temp = tempDir('describe');
  remove = temp.remove;
  writeFileSync(join(temp.dir, 'dictionary'), DICTIONARY);
  dictionary = readDictionaries([join(temp.dir, 'dictionary')]);
});
afterAll(() => remove());

function described(attributes: readonly AttributeEntry[]) {
  const parsed = parsePacket(buildAccountingRequest({ identifier: 1, secret: 's', attributes }));
  if (!parsed.ok) throw new Error(parsed.reason);
  return describeAttributes(parsed.packet, dictionary);
}

describe('describeAttributes', () => {
  it.each([
    { what: 'a string', entry: [1, Buffer.from('héllo')], value: 'héllo' },
    { what: 'a text', entry: [2, Buffer.from('text')], value: 'text' },
    { what: 'an integer with a VALUE name', entry: [3, u32(3)], value: 'Three' },
    { what: 'an integer without one', entry: [3, u32(4)], value: 4 },
    { what: 'an integer of the wrong size', entry: [3, Buffer.from([0, 0, 3])], value: '0x000003' },
    { what: 'a date with a VALUE name', entry: [4, u32(3)], value: 'Named-Date' },
    { what: 'a date', entry: [4, u32(1_700_000_000)], value: 1_700_000_000 },
    { what: 'a uint32 with a VALUE name', entry: [5, u32(3)], value: 'Named-Uint32' },
    { what: 'a short with a VALUE name', entry: [6, u16(7)], value: 'Seven' },
    { what: 'a short of the wrong size', entry: [6, Buffer.from([0, 0, 7])], value: '0x000007' },
    { what: 'a uint16 with a VALUE name', entry: [7, u16(7)], value: 'Named-Uint16' },
    { what: 'a uint16', entry: [7, u16(8)], value: 8 },
    { what: 'a byte with a VALUE name', entry: [9, Buffer.from([1])], value: 'One' },
    { what: 'a byte of the wrong size', entry: [9, Buffer.from([0, 1])], value: '0x0001' },
    { what: 'a uint8 with a VALUE name', entry: [10, Buffer.from([1])], value: 'Named-Uint8' },
    { what: 'a uint8', entry: [10, Buffer.from([5])], value: 5 },
    { what: 'an ipaddr', entry: [11, Buffer.from([10, 64, 0, 1])], value: '10.64.0.1' },
    { what: 'an ipaddr of the wrong size', entry: [11, Buffer.from([10, 64, 0])], value: '0x0a4000' },
    { what: 'an ipv6addr', entry: [12, Buffer.from([0x20, 0x01, 0x0d, 0xb8, ...Buffer.alloc(11), 1])], value: '2001:db8::1' },
    { what: 'an ipv6addr of the wrong size', entry: [12, Buffer.from([10, 64, 0, 1])], value: '0x0a400001' },
    { what: 'an ipv6prefix', entry: [13, Buffer.from([0, 64, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0])], value: '2001:db8::/64' },
    { what: 'a broken ipv6prefix', entry: [13, Buffer.from([0, 200])], value: '0x00c8' },
    { what: 'octets', entry: [14, Buffer.from([0xab, 0x01])], value: '0xab01' },
  ] as const)('shows $what', ({ entry, value }) => {
    const name = dictionary.attribute(0, entry[0])!.name;
    expect(described([entry])).toEqual([{ name, value }]);
  });

  it('names attributes by the built-in dictionaries when none is given or loaded', () => {
    const parsed = parsePacket(buildAccountingRequest({ identifier: 1, secret: 's', attributes: [[1, Buffer.from('alice')]] }));
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(describeAttributes(parsed.packet)).toEqual([{ name: 'User-Name', value: 'alice' }]);
  });

  it('names an attribute the dictionary lacks by its number, with its octets', () => {
    expect(described([[99, Buffer.from([1, 2])]])).toEqual([{ name: 'Attr-99', value: '0x0102' }]);
  });

  it('shows an empty attribute that ends the packet', () => {
    const octets = dictionary.attribute(0, 14)!.name;
    expect(described([[1, Buffer.from('x')], [14, Buffer.alloc(0)]])).toEqual([
      { name: 'T-String', value: 'x' },
      { name: octets, value: '0x' },
    ]);
  });

  it('shows a Vendor-Specific it cannot split as raw octets with the reason, and goes on', () => {
    expect(described([[26, Buffer.from([0, 0, 0, 100])], [1, Buffer.from('after')]])).toEqual([
      { name: 'Vendor-Specific', value: '0x00000064', error: 'Vendor-Specific of 4 octets has no room for a vendor attribute' },
      { name: 'T-String', value: 'after' },
    ]);
  });
});

describe('splitVendorSpecific', () => {
  const vsa = (vendor: number, ...rest: number[]): Buffer => Buffer.concat([u32(vendor), Buffer.from(rest)]);

  it.each([
    { what: 'format=1,1 sub-attributes, two in one', value: vsa(100, 1, 3, 0x41, 2, 3, 0x42), out: [{ name: 'Vendor-100-Attr-1', value: '0x41' }, { name: 'Vendor-100-Attr-2', value: '0x42' }] },
    { what: 'format=2,2 with a named attribute', value: Buffer.concat([u32(200), u16(513), u16(7), Buffer.from('abc')]), out: [{ name: 'V22-Name', value: 'abc' }] },
    { what: 'format=4,0: one attribute fills the rest', value: Buffer.concat([u32(300), u32(7), Buffer.from('xyz')]), out: [{ name: 'Vendor-300-Attr-7', value: '0x78797a' }] },
    { what: 'format=1,1,c: a continuation octet after the length', value: vsa(400, 1, 4, 0, 0x41), out: [{ name: 'Vendor-400-Attr-1', value: '0x41' }] },
    { what: 'an unknown vendor as format=1,1', value: vsa(999, 9, 2), out: [{ name: 'Vendor-999-Attr-9', value: '0x' }] },
    { what: 'the highest vendor id, 0xffffff', value: vsa(0xffffff, 9, 2), out: [{ name: 'Vendor-16777215-Attr-9', value: '0x' }] },
  ])('splits $what', ({ value, out }) => {
    expect(splitVendorSpecific(value, dictionary)).toEqual(out);
  });

  it.each([
    { what: 'a vendor id alone', value: vsa(100), error: 'Vendor-Specific of 4 octets has no room for a vendor attribute' },
    { what: 'a non-zero first vendor octet', value: vsa(0x01000064, 1, 3, 0x41), error: 'vendor id 16777316 has a non-zero first octet' },
    { what: 'a header cut short', value: vsa(200, 0, 1, 0), error: 'vendor 200 attribute at octet 4 is truncated' },
    { what: 'a single octet after the vendor id, as a truncated attribute', value: vsa(100, 1), error: 'vendor 100 attribute at octet 4 is truncated' },
    { what: 'a length below the header', value: vsa(100, 5, 1, 0x41), error: 'vendor 100 attribute 5 has length 1, which does not fit 3 octets left (format=1,1)' },
    { what: 'a length past the end', value: vsa(100, 5, 4, 0x41), error: 'vendor 100 attribute 5 has length 4, which does not fit 3 octets left (format=1,1)' },
    { what: 'a second attribute past the end', value: vsa(100, 1, 3, 0x41, 2, 9, 0x42), error: 'vendor 100 attribute 2 has length 9, which does not fit 3 octets left (format=1,1)' },
  ])('refuses $what', ({ value, error }) => {
    expect(splitVendorSpecific(value, dictionary)).toEqual({ error });
  });
});
