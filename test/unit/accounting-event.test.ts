/**
 * An Accounting-Request's attributes as an event (src/accounting/event.ts): its type (RFC 2866 §5.1),
 * the NAS key, the addresses it names (RFC 2865 §5.8, RFC 3162, RFC 4818, RFC 6911), and its time
 * (RFC 2866 §5.2 Acct-Delay-Time, RFC 2869 §5.3 Event-Timestamp), field by field.
 */
import { describe, expect, it } from 'vitest';
import { accountingEvent, eventType, framedAddresses, nasKey, type EventAttributes } from '../../src/accounting/event.js';
import { accountingAttributes } from '../helpers/accounting.js';

const attributes = (overrides: Partial<EventAttributes> = {}): EventAttributes =>
  accountingAttributes({ statusType: 1, sessionId: 'sess-1', userName: 'alice', ...overrides });

describe('the event type of an Acct-Status-Type', () => {
  it.each([
    [1, 'start'],
    [2, 'stop'],
    [3, 'interim'],
    [7, 'accounting-on'],
    [8, 'accounting-off'],
    [0, 'other'],
    [4, 'other'],
    [9, 'other'],
    [15, 'other'],
    [undefined, 'other'],
  ] as const)('is %s -> %s', (statusType, type) => {
    expect(eventType(statusType)).toBe(type);
  });
});

describe('the NAS key', () => {
  it.each([
    ['the source address when the packet names no NAS', {}, '198.51.100.1'],
    ['NAS-IP-Address over the source (a proxy forwards many NASes)', { nasIpAddress: '192.0.2.10' }, '192.0.2.10'],
    ['NAS-IPv6-Address when there is no NAS-IP-Address', { nasIpv6Address: '2001:db8::10' }, '2001:db8::10'],
    ['NAS-IP-Address over NAS-IPv6-Address', { nasIpAddress: '192.0.2.10', nasIpv6Address: '2001:db8::10' }, '192.0.2.10'],
    ['the address and NAS-Identifier', { nasIpv6Address: '2001:db8::10', nasIdentifier: 'bras-7' }, '2001:db8::10/bras-7'],
    ['the source and an empty NAS-Identifier', { nasIdentifier: '' }, '198.51.100.1/'],
  ] as const)('is %s', (_case, overrides, key) => {
    expect(nasKey(attributes(overrides), '198.51.100.1')).toBe(key);
  });
});

describe('the addresses an event names', () => {
  it.each([
    ['none', {}, []],
    ['Framed-IP-Address as a host', { framedIpAddress: '10.64.0.5' }, ['10.64.0.5']],
    ['255.255.255.255 (let the user choose, RFC 2865 §5.8) as nothing', { framedIpAddress: '255.255.255.255' }, []],
    ['255.255.255.254 (let the NAS choose) as nothing', { framedIpAddress: '255.255.255.254' }, []],
    ['0.0.0.0 as nothing', { framedIpAddress: '0.0.0.0' }, []],
    ['255.255.255.253 as the address it is', { framedIpAddress: '255.255.255.253' }, ['255.255.255.253']],
    ['0.0.0.1 as the address it is', { framedIpAddress: '0.0.0.1' }, ['0.0.0.1']],
    ['a Framed-IP-Address that is no address as nothing', { framedIpAddress: 'not-an-address' }, []],
    ['each Framed-IPv6-Address as a host, in canonical text', { framedIpv6Addresses: ['2001:DB8:0:0::1', '2001:db8::2'] }, ['2001:db8::1', '2001:db8::2']],
    ['each Framed-IPv6-Prefix as a prefix', { framedIpv6Prefixes: ['2001:db8:100:1::/64'] }, ['2001:db8:100:1::/64']],
    ['each Delegated-IPv6-Prefix as a prefix', { delegatedIpv6Prefixes: ['2001:db8:200::/56', '2001:db8:300::/56'] }, ['2001:db8:200::/56', '2001:db8:300::/56']],
    ['a prefix that is no prefix as nothing, keeping the others', { delegatedIpv6Prefixes: ['2001:db8::/129', '2001:db8:200::/56'] }, ['2001:db8:200::/56']],
    [
      'all four attributes, in the order IPv4, IPv6 addresses, Framed prefixes, delegated prefixes',
      { delegatedIpv6Prefixes: ['2001:db8:200::/56'], framedIpv6Prefixes: ['2001:db8:100::/64'], framedIpv6Addresses: ['2001:db8::9'], framedIpAddress: '10.64.0.5' },
      ['10.64.0.5', '2001:db8::9', '2001:db8:100::/64', '2001:db8:200::/56'],
    ],
  ] as const)('reads %s', (_case, overrides, texts) => {
    expect(framedAddresses(attributes(overrides)).map((prefix) => prefix.text)).toEqual(texts);
  });

  it('reads addresses as hosts and prefixes with their length', () => {
    const read = framedAddresses(attributes({ framedIpAddress: '10.64.0.5', framedIpv6Addresses: ['2001:db8::1'], framedIpv6Prefixes: ['2001:db8:100::/48'] }));
    expect(read.map((prefix) => [prefix.family, prefix.prefixLength])).toEqual([
      [4, 32],
      [6, 128],
      [6, 48],
    ]);
  });
});

describe('the accounting event', () => {
  it('carries the client, session, user, addresses and receive time of the packet', () => {
    const event = accountingEvent(attributes({ statusType: 2, nasIpAddress: '192.0.2.10', framedIpAddress: '10.64.0.5', eventTimestamp: 1_700_000_000 }), 'ras1', '198.51.100.1', 5_000_000);
    expect({ ...event, addresses: event.addresses.map((prefix) => prefix.text) }).toEqual({
      type: 'stop',
      client: 'ras1',
      nas: '192.0.2.10',
      sessionId: 'sess-1',
      userName: 'alice',
      addresses: ['10.64.0.5'],
      receivedAt: 5_000_000,
      at: 5_000_000,
      nasTime: 1_700_000_000,
    });
  });

  it.each([
    ['without Acct-Delay-Time: when it arrived', undefined, 5_000_000],
    ['with Acct-Delay-Time 0: when it arrived', 0, 5_000_000],
    ['with Acct-Delay-Time 30: 30 s before it arrived', 30, 4_970_000],
  ])('happened %s (RFC 2866 §5.2)', (_case, acctDelayTime, at) => {
    expect(accountingEvent(attributes({ acctDelayTime }), 'ras1', '198.51.100.1', 5_000_000).at).toBe(at);
  });

  it.each([
    ['an Event-Timestamp', 1_700_000_000, 1_700_000_000],
    ['no Event-Timestamp', undefined, undefined],
    ['an Event-Timestamp of 0 (a NAS without a clock)', 0, undefined],
    ['an Event-Timestamp of 1', 1, 1],
  ])('has the NAS time of %s', (_case, eventTimestamp, nasTime) => {
    expect(accountingEvent(attributes({ eventTimestamp }), 'ras1', '198.51.100.1', 0).nasTime).toBe(nasTime);
  });
});
