import { describe, expect, it } from 'vitest';
import { poolPolicy, unlistRefusal } from '../../src/accounting/policy.js';
import { parsePrefix } from '../../src/net/address.js';

const pools = ['10.64.0.0/16', '2001:db8:100::/40', '127.0.0.0/8', '::/0'].map((text) => parsePrefix(text));

describe('the safety rules', () => {
  it.each([
    ['10.64.0.5', {}, undefined],
    ['10.65.0.5', {}, 'RBL_ADDRESS_OUTSIDE_POOLS'],
    ['10.65.0.5', { force: true }, undefined],
    ['127.0.0.2', {}, 'RBL_ADDRESS_PROTECTED'],
    ['127.0.0.2', { force: true }, 'RBL_ADDRESS_PROTECTED'],
    ['::1', { force: true }, 'RBL_ADDRESS_PROTECTED'],
    ['::ffff:127.0.0.2', { force: true }, 'RBL_ADDRESS_PROTECTED'],
    ['::ffff:10.64.0.1', {}, undefined],
    ['2001:db8:100:1::/64', {}, undefined],
    ['10.64.7.1', { clientPools: [parsePrefix('10.64.0.0/22')] }, 'RBL_ADDRESS_OUTSIDE_POOLS'],
    ['10.64.2.1', { clientPools: [parsePrefix('10.64.0.0/22')] }, undefined],
    ['10.64.3.255', { clientPools: [parsePrefix('10.64.0.0/22')] }, undefined],
    ['10.64.4.0', { clientPools: [parsePrefix('10.64.0.0/22')] }, 'RBL_ADDRESS_OUTSIDE_POOLS'],
    ['10.64.0.0/21', { clientPools: [parsePrefix('10.64.0.0/22')] }, 'RBL_ADDRESS_OUTSIDE_POOLS'],
    ['10.64.0.0/22', { clientPools: [parsePrefix('10.64.0.0/22')] }, undefined],
    ['10.64.1.0/24', { clientPools: [parsePrefix('10.64.0.0/22'), parsePrefix('2001:db8:100::/40')] }, undefined],
  ] as const)('%s with %o: %s', (address, options, code) => {
    // Even a configured pool that covers 127.0.0.0/8 or ::/0 never lets a protected address through.
    expect(unlistRefusal(parsePrefix(address), { pools, ...options })?.code).toBe(code);
  });

  it('refuses a prefix that only overlaps a pool', () => {
    expect(unlistRefusal(parsePrefix('10.0.0.0/8'), { pools: [parsePrefix('10.64.0.0/16')] })?.code).toBe('RBL_ADDRESS_OUTSIDE_POOLS');
  });
});

describe('the words of a refusal', () => {
  const policy = { pools: [parsePrefix('10.64.0.0/16')], clientPools: [parsePrefix('10.64.0.0/22')] };
  it.each([
    ['127.0.0.2', policy, 'RBL_ADDRESS_PROTECTED: 127.0.0.2 is in a range reserved for DNSBL test entries (RFC 5782 §5); it is never unlisted'],
    ['10.65.0.0/24', policy, 'RBL_ADDRESS_OUTSIDE_POOLS: 10.65.0.0/24 is outside the configured pools; it is not unlisted'],
    ['10.64.9.1', policy, "RBL_ADDRESS_OUTSIDE_POOLS: 10.64.9.1 is outside this client's pools; it is not unlisted"],
  ] as const)('%s', (address, options, words) => {
    const error = unlistRefusal(parsePrefix(address), options);
    expect(`${error?.code}: ${error?.message}`).toBe(words);
  });
});

describe('what overlaps the RFC 5782 §5 test ranges', () => {
  it.each([
    ['0.0.0.0/0, which contains 127.0.0.0/8', '0.0.0.0/0', true],
    ['127.255.255.255', '127.255.255.255', true],
    ['128.0.0.1', '128.0.0.1', false],
    ['126.255.255.255', '126.255.255.255', false],
    ['::/0, which contains ::1', '::/0', true],
    ['::2', '::2', false],
    ['::ffff:128.0.0.1', '::ffff:128.0.0.1', false],
  ] as const)('%s: refused even with force, %s', (_case, address, refused) => {
    expect(unlistRefusal(parsePrefix(address), { pools: [], force: true })?.code).toBe(refused ? 'RBL_ADDRESS_PROTECTED' : undefined);
  });

  it('an empty list of client pools narrows nothing', () => {
    expect(unlistRefusal(parsePrefix('10.64.9.1'), { pools: [parsePrefix('10.64.0.0/16')], clientPools: [] })).toBeUndefined();
  });

  it('judges queued unlists by the pools and the sending client\'s own pools, as a new event is; a client no longer configured by the global pools', () => {
    const may = poolPolicy([parsePrefix('10.64.0.0/16')], [{ name: 'ras1', pools: [parsePrefix('10.64.0.0/22')] }, { name: 'ras2' }]);
    expect(may(parsePrefix('10.64.1.1'), 'ras1')).toBe(true);
    expect(may(parsePrefix('10.64.9.1'), 'ras1')).toBe(false);
    expect(may(parsePrefix('10.64.9.1'), 'ras2')).toBe(true);
    expect(may(parsePrefix('10.64.9.1'), 'gone')).toBe(true);
    expect(may(parsePrefix('10.65.0.1'), 'gone')).toBe(false);
    expect(may(parsePrefix('127.0.0.2'), 'ras2')).toBe(false);
  });
});
