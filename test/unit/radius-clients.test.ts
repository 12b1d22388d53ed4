import { describe, expect, it } from 'vitest';
import type { ClientConfig } from '../../src/config/load.js';
import { parsePrefix } from '../../src/net/address.js';
import { matchClient, sourceAddressBytes } from '../../src/radius/clients.js';

const client = (name: string, address: string): ClientConfig => ({
  name,
  address: parsePrefix(address),
  secret: Buffer.from(name),
  secretSource: 'test',
  pools: [],
});

const clients: readonly ClientConfig[] = [
  client('wide', '192.0.2.0/24'),
  client('ras1', '192.0.2.10/32'),
  client('odd', '192.0.2.128/25'),
  client('v6-net', '2001:db8::/32'),
  client('v6-host', '2001:db8::10'),
  client('loopback', '127.0.0.1'),
  client('ten', '10.0.0.0/9'),
];

describe('client matching by source address', () => {
  it.each([
    { source: '192.0.2.10', client: 'ras1', why: 'a host entry beats the network holding it' },
    { source: '192.0.2.11', client: 'wide', why: 'a network entry holds its other hosts' },
    { source: '192.0.2.200', client: 'odd', why: 'a /25 beats the /24 around it' },
    { source: '2001:db8::10', client: 'v6-host', why: 'IPv6 host entry' },
    { source: '2001:db8:0:1::5', client: 'v6-net', why: 'IPv6 network entry' },
    { source: '::ffff:192.0.2.10', client: 'ras1', why: 'an IPv4-mapped source counts as IPv4' },
    { source: '127.0.0.1', client: 'loopback', why: 'loopback host' },
    { source: '198.51.100.1', client: undefined, why: 'an unknown source matches nothing' },
    { source: '2001:db9::1', client: undefined, why: 'an unknown IPv6 source matches nothing' },
    { source: 'not-an-address', client: undefined, why: 'garbage matches nothing' },
    { source: '192.0.2.127', client: 'wide', why: 'the address just below a /25 is outside it' },
    { source: '192.0.2.128', client: 'odd', why: 'the first address of a /25 is inside it' },
    { source: '10.127.255.255', client: 'ten', why: 'the last address of a /9' },
    { source: '10.128.0.0', client: undefined, why: 'the address just past a /9' },
    { source: '::fffe:192.0.2.10', client: undefined, why: 'only ::ffff: maps IPv4, not ::fffe:' },
    { source: '::ff:ffff:192.0.2.10', client: undefined, why: 'a mapped-looking address with a non-zero ninth octet is IPv6' },
    { source: '1::ffff:192.0.2.10', client: undefined, why: 'a mapped-looking address with a non-zero first octet is IPv6' },
    { source: '::c000:20a', client: undefined, why: 'an IPv4-compatible address is not mapped' },
  ])('$why ($source)', ({ source, client: expected }) => {
    expect(matchClient(clients, source)?.name).toBe(expected);
  });

  it('keeps the config order among equally specific entries', () => {
    const twice = [client('first', '10.0.0.0/8'), client('second', '10.0.0.0/8')];
    expect(matchClient(twice, '10.1.2.3')?.name).toBe('first');
  });

  it('sees a new client list at once (a SIGHUP reload)', () => {
    expect(matchClient([client('a', '10.0.0.1')], '10.0.0.1')?.name).toBe('a');
    expect(matchClient([client('b', '10.0.0.1')], '10.0.0.1')?.name).toBe('b');
  });

  it('gives the same answer for a source it has seen before, known or not', () => {
    for (let i = 0; i < 2; i++) {
      expect(matchClient(clients, '192.0.2.10')?.name).toBe('ras1');
      expect(matchClient(clients, 'still-not-an-address')).toBeUndefined();
      expect(sourceAddressBytes('::ffff:192.0.2.10')).toEqual(Buffer.from([192, 0, 2, 10]));
      expect(sourceAddressBytes('2001:db8::10')).toHaveLength(16);
    }
  });

  it('matches no IPv4 client for an IPv6 source that starts with the same octets', () => {
    expect(matchClient([client('v4', '32.1.13.184/32')], '2001:db8::')).toBeUndefined();
  });
});
