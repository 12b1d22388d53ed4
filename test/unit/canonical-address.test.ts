/**
 * One canonical address value per event: accounting/event.ts turns each address the packet names
 * into an IpPrefix carrying its RFC 5952 text, made once; the planner, the safety rules and the
 * journal's unlist list use that text as it is.
 */
import { describe, expect, it } from 'vitest';
import { accountingEvent, framedAddresses, type EventAttributes } from '../../src/accounting/event.js';
import { planEvent } from '../../src/accounting/plan.js';
import { canonicalPrefix, formatPrefix, parsePrefix } from '../../src/net/address.js';
import { SessionTable } from '../../src/sessions/table.js';
import { accountingAttributes, unlistedText } from '../helpers/accounting.js';

const attributes = (overrides: Partial<EventAttributes>): EventAttributes =>
  accountingAttributes({ statusType: 2, sessionId: 's1', nasIpAddress: '192.0.2.10', ...overrides });

describe('the canonical address of an event', () => {
  it.each([
    ['an IPv4 address', { framedIpAddress: '10.64.0.5' }, '10.64.0.5'],
    ['an IPv6 address written long and in capitals', { framedIpv6Addresses: ['2001:DB8:100:0:0:0:0:5'] }, '2001:db8:100::5'],
    ['an IPv6 prefix with host bits set', { framedIpv6Prefixes: ['2001:db8:100:1::9/64'] }, '2001:db8:100:1::/64'],
    ['a delegated prefix', { delegatedIpv6Prefixes: ['2001:0db8:0200::/56'] }, '2001:db8:200::/56'],
  ])('is made once from %s, frozen, with its RFC 5952 text', (_what, overrides, text) => {
    const [address] = framedAddresses(attributes(overrides));
    expect(address!.text).toBe(text);
    expect(Object.isFrozen(address)).toBe(true);
    expect(formatPrefix(address!)).toBe(text);
    expect(formatPrefix({ family: address!.family, bytes: address!.bytes, prefixLength: address!.prefixLength })).toBe(text);
  });

  it('is what formatPrefix returns without formatting again', () => {
    const carried = { ...parsePrefix('10.64.0.5'), text: 'carried' };
    expect(formatPrefix(carried)).toBe('carried');
    expect(canonicalPrefix(parsePrefix('2001:DB8::1')).text).toBe('2001:db8::1');
  });

  it('is the text a Stop unlists, and the text a refusal names', () => {
    const event = accountingEvent(attributes({ framedIpAddress: '10.64.0.5', framedIpv6Addresses: ['2001:DB8:0:0:0:0:0:7'] }), 'ras1', '192.0.2.10', 1000);
    const plan = planEvent(event, new SessionTable(), { pools: [parsePrefix('10.64.0.0/16')], unlistOn: new Set(['stop']), maxSessions: 10 });
    expect(unlistedText(plan)).toEqual(['10.64.0.5']);
    expect(plan.refused.map((refusal) => refusal.address)).toEqual(['2001:db8::7']);
    expect(plan.refused[0]!.error.message).toContain('2001:db8::7');
  });

  it('is handed on by the plan as the very value decoding made, not parsed or formatted again', () => {
    const event = accountingEvent(attributes({ framedIpAddress: '10.64.0.5' }), 'ras1', '192.0.2.10', 1000);
    const plan = planEvent(event, new SessionTable(), { pools: [parsePrefix('10.64.0.0/16')], unlistOn: new Set(['stop']), maxSessions: 10 });
    expect(plan.unlist).toHaveLength(1);
    expect(plan.unlist[0]).toBe(event.addresses[0]);
  });
});
