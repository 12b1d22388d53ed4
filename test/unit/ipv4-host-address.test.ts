/**
 * A Stop's Framed-IP-Address takes a short way to its canonical value (net/address.ts
 * canonicalIPv4Host): a dotted quad without leading zeros is its own canonical text. It must give
 * exactly what the general path gives, and nothing for text that path would change or refuse.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { framedAddresses } from '../../src/accounting/event.js';
import { canonicalIPv4Host, canonicalPrefix, hostPrefix, parsePrefix } from '../../src/net/address.js';
import { accountingAttributes } from '../helpers/accounting.js';

describe('the canonical /32 of a dotted quad', () => {
  it('is the value the general path makes: same family, bytes, length and text, frozen', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (bytes) => {
        const text = [...bytes].join('.');
        const quick = canonicalIPv4Host(text);
        const general = canonicalPrefix(hostPrefix(parsePrefix(text).bytes));
        expect(quick).toEqual(general);
        expect(quick!.bytes.equals(general.bytes)).toBe(true);
        expect(Object.isFrozen(quick)).toBe(true);
      }),
    );
  });

  it.each(['010.0.0.1', '10.0.0', '10.0.0.256', '10.0.0.1/32', ' 10.0.0.1', '::1', '2001:db8::1', ''])(
    'is not made of %j (no IPv4 host, or text that is not canonical)',
    (text) => {
      expect(canonicalIPv4Host(text)).toBeUndefined();
    },
  );

  it('is what a Stop names by Framed-IP-Address, and a text that is no dotted quad names nothing', () => {
    const stop = (framedIpAddress: string) => framedAddresses(accountingAttributes({ statusType: 2, sessionId: 's1', framedIpAddress }));
    expect(stop('10.64.0.5').map((address) => address.text)).toEqual(['10.64.0.5']);
    expect(stop('010.64.0.5')).toEqual([]);
    expect(stop('host.example')).toEqual([]);
  });
});
