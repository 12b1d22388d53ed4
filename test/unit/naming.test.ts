import { describe, expect, it } from 'vitest';
import { dnsblNames } from '../../src/backends/naming.js';
import { parsePrefix } from '../../src/net/address.js';

describe('DNSBL names (RFC 5782)', () => {
  it.each([
    ['192.0.2.99', 'rbl.example.net', ['99.2.0.192.rbl.example.net']],
    ['10.64.0.5', 'RBL.Example.NET.', ['5.0.64.10.rbl.example.net']],
    ['2001:db8:1:2::ba5', 'rbl.example.net', ['5.a.b.0.0.0.0.0.0.0.0.0.0.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.rbl.example.net']],
    ['2001:db8:1:2::/64', 'rbl.example.net', ['2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.rbl.example.net', '*.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.rbl.example.net']],
    ['2001:db8:1:200::/56', 'z', ['2.0.1.0.0.0.8.b.d.0.1.0.0.2.z', '*.2.0.1.0.0.0.8.b.d.0.1.0.0.2.z']],
    ['10.64.1.0/24', 'z', ['1.64.10.z', '*.1.64.10.z']],
  ])('names %s in %s', (address, zone, names) => {
    expect(dnsblNames(parsePrefix(address), zone)).toEqual(names);
  });

  it('covers a prefix between nibble boundaries with every aligned prefix inside it and nothing outside', () => {
    const names = dnsblNames(parsePrefix('2001:db8:1:4::/62'), 'z');
    expect(names.filter((name) => !name.startsWith('*.'))).toEqual([
      '4.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.z',
      '5.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.z',
      '6.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.z',
      '7.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.z',
    ]);
    expect(names).toHaveLength(8);
  });
});
