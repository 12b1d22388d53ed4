import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isIPv4 } from 'node:net';
import { formatAddressBytes, formatPrefix, parseIPv4Bytes, parsePrefix, prefixContains } from '../../src/net/address.js';
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
  ])('reads %s as %s', (input, canonical) => {
    expect(formatPrefix(parsePrefix(input))).toBe(canonical);
  });

  it.each(['', '10.64.0', '10.64.0.256', '010.1.1.1', '10.64.0.5/33', '2001:db8::1/129', '2001:db8:::1', '1:2:3:4:5:6:7:8:9', 'gggg::1', 'host.example', '10.0.0.1/x', '1::2::3'])(
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
  });
});
