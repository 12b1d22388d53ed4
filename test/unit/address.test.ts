import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isIPv4 } from 'node:net';
import { formatAddressBytes, formatPrefix, hostPrefix, parseAddress, parseIPv4Bytes, parsePrefix, prefixContains, prefixesOverlap, sameAddress } from '../../src/net/address.js';
import { isRblError } from '../../src/errors.js';

describe('address parsing', () => {
  it.each([
    ['10.64.0.5', '10.64.0.5'],
    ['10.64.0.0/16', '10.64.0.0/16'],
    ['10.64.3.7/16', '10.64.0.0/16'],
    ['2001:db8::1', '2001:db8::1'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:100::/40', '2001:db8:100::/40'],
    ['::1', '::1'],
    ['::', '::'],
    ['::ffff:127.0.0.2', '::ffff:7f00:2'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['fe80::1%eth0', 'fe80::1'],
    [' 10.64.0.5 ', '10.64.0.5'],
    ['10.64.31.7/19', '10.64.0.0/19'],
    ['10.64.63.255/18', '10.64.0.0/18'],
    ['255.255.255.255/1', '128.0.0.0/1'],
    ['10.64.0.5/0', '0.0.0.0/0'],
    ['2001:db8:3ff:ffff::/39', '2001:db8:200::/39'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
    ['1::1.2.3.4', '1::102:304'],
    ['::1.2.3.4', '::102:304'],
    ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4'],
    ['1:0:2:0:0:0:3:4', '1:0:2::3:4'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['1:2:3:4:5:6:0:0', '1:2:3:4:5:6::'],
    ['0:0:1:2:3:4:5:6', '::1:2:3:4:5:6'],
    ['1::', '1::'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
  ])('reads %s as %s', (input, canonical) => {
    expect(formatPrefix(parsePrefix(input))).toBe(canonical);
  });

  it.each(['', '10.64.0', '10.64.0.256', '010.1.1.1', '10.64.0.5/33', '2001:db8::1/129', '2001:db8:::1', '1:2:3:4:5:6:7:8:9', 'gggg::1', 'host.example', '10.0.0.1/x', '1::2::3', '10.0.0.0/', '10.0.0.0/1234', '1:2:3:4:5:6:7:1.2.3.4', '::1.2.3', '::1.2.3.4:5', '1:2:3:4:5:6:7', ':', '1.2.3.4.5', '1.2.3.', '.1.2.3', '1..2.3', '1.2.3.1000', ':::', '12345::1', '10-64-0-5', '1:2:3:4::5:6:7:8', '10.0.0.0/x8', '10.0.0.0/8x'])(
    'refuses "%s" with RBL_ADDRESS_INVALID naming it',
    (input) => {
      let caught: unknown;
      try {
        parsePrefix(input);
      } catch (error) {
        caught = error;
      }
      expect(isRblError(caught, 'RBL_ADDRESS_INVALID')).toBe(true);
      expect((caught as Error).message).toContain(`"${input}"`);
    },
  );

  it('reads IPv4 text exactly as node:net isIPv4 accepts it', () => {
    const octet = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.constantFrom('', '00', '01', '007', '1a', ' 1', '-1'));
    fc.assert(
      fc.property(fc.array(octet, { minLength: 1, maxLength: 6 }), fc.constantFrom('.', ':', '..'), (parts, separator) => {
        const text = parts.join(separator);
        expect(parseIPv4Bytes(text) !== undefined).toBe(isIPv4(text));
        if (isIPv4(text)) expect([...parseIPv4Bytes(text)!]).toEqual(text.split('.').map(Number));
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips every IPv6 address through canonical text', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const text = formatAddressBytes(bytes);
        expect(parsePrefix(text).bytes.equals(Buffer.from(bytes))).toBe(true);
      }),
    );
  });

  it('tells whether a prefix lies inside another', () => {
    expect(prefixContains(parsePrefix('10.64.0.0/16'), parsePrefix('10.64.200.1'))).toBe(true);
    expect(prefixContains(parsePrefix('10.64.0.0/16'), parsePrefix('10.65.0.1'))).toBe(false);
    expect(prefixContains(parsePrefix('10.64.0.0/16'), parsePrefix('10.0.0.0/8'))).toBe(false);
    expect(prefixContains(parsePrefix('2001:db8:100::/40'), parsePrefix('2001:db8:1ff:ff00::/56'))).toBe(true);
    expect(prefixContains(parsePrefix('2001:db8:100::/40'), parsePrefix('10.64.0.1'))).toBe(false);
    // A shorter prefix is never inside a longer one, even when they start the same.
    expect(prefixContains(parsePrefix('10.0.0.0/16'), parsePrefix('10.0.0.0/8'))).toBe(false);
    expect(prefixContains(parsePrefix('10.0.0.0/8'), parsePrefix('10.0.0.0/8'))).toBe(true);
  });

  it('says which prefix lengths are allowed for the family', () => {
    expect(() => parsePrefix('10.0.0.0/33')).toThrow('"10.0.0.0/33" has a bad prefix length (0 to 32)');
    expect(() => parsePrefix('2001:db8::/129')).toThrow('"2001:db8::/129" has a bad prefix length (0 to 128)');
    expect(() => parsePrefix('nonsense')).toThrow('"nonsense" is not an IPv4 or IPv6 address or prefix');
  });

  it('reads an address, and refuses a prefix where an address is expected', () => {
    expect(parseAddress('10.64.0.5')).toEqual({ family: 4, bytes: Buffer.from([10, 64, 0, 5]), prefixLength: 32 });
    expect(parseAddress('2001:db8::1').prefixLength).toBe(128);
    expect(() => parseAddress('10.64.0.5/32')).toThrow('"10.64.0.5/32" is a prefix where an address is expected');
  });

  it('tells whether two prefixes share an address, in either order', () => {
    const wide = parsePrefix('10.64.0.0/16');
    expect(prefixesOverlap(wide, parsePrefix('10.64.1.0/24'))).toBe(true);
    expect(prefixesOverlap(parsePrefix('10.64.1.0/24'), wide)).toBe(true);
    expect(prefixesOverlap(wide, parsePrefix('10.65.0.0/16'))).toBe(false);
    expect(prefixesOverlap(wide, parsePrefix('2001:db8::/32'))).toBe(false);
  });

  it('makes a host prefix of 4 or 16 octets', () => {
    expect(hostPrefix(Uint8Array.from([10, 64, 0, 5]))).toEqual({ family: 4, bytes: Buffer.from([10, 64, 0, 5]), prefixLength: 32 });
    expect(formatPrefix(hostPrefix(Buffer.alloc(16, 0x11)))).toBe('1111:1111:1111:1111:1111:1111:1111:1111');
    expect(hostPrefix(Buffer.alloc(16)).family).toBe(6);
  });

  it('keeps the prefix length in the text only when it is shorter than a host', () => {
    expect(formatPrefix(parsePrefix('10.64.0.5/32'))).toBe('10.64.0.5');
    expect(formatPrefix(parsePrefix('10.64.0.4/31'))).toBe('10.64.0.4/31');
    expect(formatPrefix(parsePrefix('2001:db8::1/128'))).toBe('2001:db8::1');
    expect(formatPrefix(parsePrefix('2001:db8::/127'))).toBe('2001:db8::/127');
  });
});

describe('same address', () => {
  it.each([
    ['::1', '0:0:0:0:0:0:0:1', true],
    ['::1', '::0:1', true],
    ['::1', '0::1', true],
    ['2001:db8::53', '2001:db8:0::53', true],
    ['2001:db8::53', '2001:DB8:0:0:0:0:0:53', true],
    ['fe80::1%eth0', 'fe80::1', true],
    // RFC 4291 §2.5.5.2: an IPv4-mapped address is the IPv4 host, as a udp6 socket reports it.
    ['::ffff:127.0.0.1', '::ffff:7f00:1', true],
    ['::ffff:127.0.0.1', '127.0.0.1', true],
    ['127.0.0.1', '127.0.0.1', true],
    ['::1', '::2', false],
    ['::1', '127.0.0.1', false],
    ['::ffff:127.0.0.1', '127.0.0.2', false],
    // ::127.0.0.1 is IPv4-compatible, not IPv4-mapped (RFC 4291 §2.5.5.1): another address.
    ['::127.0.0.1', '127.0.0.1', false],
    ['127.0.0.1', 'localhost', false],
    ['', '', false],
  ])('tells whether %s and %s are the same host: %s', (a, b, same) => {
    expect(sameAddress(a, b)).toBe(same);
    expect(sameAddress(b, a)).toBe(same);
  });
});
