import { describe, expect, it } from 'vitest';
import { unlistRefusal } from '../../src/accounting/policy.js';
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
  ] as const)('%s with %o: %s', (address, options, code) => {
    // Even a configured pool that covers 127.0.0.0/8 or ::/0 never lets a protected address through.
    expect(unlistRefusal(parsePrefix(address), { pools, ...options })?.code).toBe(code);
  });

  it('refuses a prefix that only overlaps a pool', () => {
    expect(unlistRefusal(parsePrefix('10.0.0.0/8'), { pools: [parsePrefix('10.64.0.0/16')] })?.code).toBe('RBL_ADDRESS_OUTSIDE_POOLS');
  });
});
