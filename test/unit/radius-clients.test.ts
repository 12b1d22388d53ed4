import { describe, expect, it } from 'vitest';
import type { ClientConfig } from '../../src/config/load.js';
import { parsePrefix } from '../../src/net/address.js';
import { matchClient } from '../../src/radius/clients.js';

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
});
