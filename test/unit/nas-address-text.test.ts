import { describe, expect, it } from 'vitest';
import { formatAddressBytes } from '../../src/net/address.js';
import { nasAddressText } from '../../src/radius/nas-address-text.js';

describe('the text of a NAS-IP-Address', () => {
  it('is the dotted address of the four octets at the offset, the same each time it is asked', () => {
    const bytes = Uint8Array.from([9, 9, 192, 0, 2, 1, 255, 255, 255, 255, 0, 0, 0, 0]);
    expect(nasAddressText(bytes, 2)).toBe('192.0.2.1');
    expect(nasAddressText(bytes, 2)).toBe('192.0.2.1');
    expect(nasAddressText(bytes, 6)).toBe('255.255.255.255');
    expect(nasAddressText(bytes, 10)).toBe('0.0.0.0');
  });

  it('stays right past the addresses it remembers (a flood of forged ones)', () => {
    const bytes = new Uint8Array(4);
    for (let i = 0; i < 10_000; i++) {
      bytes.set([10, (i >> 16) & 255, (i >> 8) & 255, i & 255]);
      expect(nasAddressText(bytes, 0)).toBe(formatAddressBytes(bytes));
    }
    bytes.set([10, 0, 0, 7]);
    expect(nasAddressText(bytes, 0)).toBe('10.0.0.7');
  });
});
