import { describe, expect, it } from 'vitest';
import { accountingEvent, type EventAttributes } from '../../src/accounting/event.js';
import { planEvent, isEmptyPlan, type PlannedSession, type SessionLookup } from '../../src/accounting/plan.js';
import { parsePrefix } from '../../src/net/address.js';
import type { CanonicalSession } from '../../src/sessions/session.js';
import { SessionTable } from '../../src/sessions/table.js';
import { accountingAttributes, unlistedText } from '../helpers/accounting.js';

/** A planned session with its canonical addresses as text, to compare with a recorded one. */
const withTexts = (session: CanonicalSession) => ({ ...session, addresses: session.addresses.map((address) => address.text) });

const context = {
  pools: ['10.64.0.0/16', '2001:db8:100::/40'].map((text) => parsePrefix(text)),
  unlistOn: new Set(['stop', 'start', 'accounting-on', 'accounting-off']),
  maxSessions: 1000,
};

const attributes = (overrides: Partial<EventAttributes>): EventAttributes =>
  accountingAttributes({ statusType: 2, sessionId: 's1', userName: 'alice', nasIpAddress: '192.0.2.10', ...overrides });

/** A real session table holding the sessions, recorded in this order. */
function table(sessions: PlannedSession[]): SessionLookup {
  const real = new SessionTable();
  for (const session of sessions) real.upsert(session);
  return real;
}

const recorded = (nas: string, sessionId: string, client: string, addresses: string[], updatedAt: number): PlannedSession => ({
  nas,
  sessionId,
  client,
  addresses,
  updatedAt,
  eventAt: updatedAt,
});

const event = (overrides: Partial<EventAttributes>) => accountingEvent(attributes(overrides), 'ras1', '192.0.2.10', 1000);

describe('what each accounting event does', () => {
  it('unlists the Framed-IP-Address of a Stop', () => {
    const plan = planEvent(event({ framedIpAddress: '10.64.0.5' }), table([]), context);
    expect(unlistedText(plan)).toEqual(['10.64.0.5']);
  });

  it('unlists every IPv6 address and prefix of a Stop', () => {
    const plan = planEvent(
      event({ framedIpv6Addresses: ['2001:db8:100::5'], framedIpv6Prefixes: ['2001:db8:101:1::/64'], delegatedIpv6Prefixes: ['2001:db8:102::/56'] }),
      table([]),
      context,
    );
    expect(unlistedText(plan)).toEqual(['2001:db8:100::5', '2001:db8:101:1::/64', '2001:db8:102::/56']);
  });

  it('records a Start and unlists its address so the new user inherits no listing', () => {
    const plan = planEvent(event({ statusType: 1, framedIpAddress: '10.64.0.5' }), table([]), context);
    expect(plan.upsert.map(withTexts)).toEqual([{ nas: '192.0.2.10', sessionId: 's1', client: 'ras1', addresses: ['10.64.0.5'], updatedAt: 1000, eventAt: 1000, nasTime: undefined }]);
    expect(unlistedText(plan)).toEqual(['10.64.0.5']);
  });

  it('records a Start without unlisting when start is not in unlist_on', () => {
    const plan = planEvent(event({ statusType: 1, framedIpAddress: '10.64.0.5' }), table([]), { ...context, unlistOn: new Set(['stop']) });
    expect(unlistedText(plan)).toEqual([]);
    expect(plan.upsert).toHaveLength(1);
  });

  it('refreshes a session on Interim-Update and unlists nothing', () => {
    const known = recorded('192.0.2.10', 's1', 'ras1', ['10.64.0.5'], 1);
    const plan = planEvent(event({ statusType: 3 }), table([known]), context);
    expect(plan.upsert.map(withTexts)).toEqual([{ ...known, updatedAt: 1000, eventAt: 1000, nasTime: undefined }]);
    expect(unlistedText(plan)).toEqual([]);
  });

  it('resolves a Stop without an address from the session table and forgets the session', () => {
    const known = recorded('192.0.2.10', 's1', 'ras1', ['10.64.0.5'], 1);
    const plan = planEvent(event({}), table([known]), context);
    expect(unlistedText(plan)).toEqual(['10.64.0.5']);
    expect(plan.remove).toEqual([{ client: 'ras1', nas: '192.0.2.10', sessionId: 's1', stoppedAt: { at: 1000, nasTime: undefined } }]);
  });

  it('skips a stale Stop whose address belongs to a newer session', () => {
    const newer = recorded('192.0.2.10', 's2', 'ras1', ['10.64.0.5'], 2);
    const plan = planEvent(event({ framedIpAddress: '10.64.0.5' }), table([newer]), context);
    expect(unlistedText(plan)).toEqual([]);
    expect(plan.stale).toEqual([{ reason: 'address_taken', address: '10.64.0.5', owner: newer }]);
  });

  it('unlists every session of the NAS on Accounting-On and touches no other NAS', () => {
    const sessions = [
      recorded('192.0.2.10', 'a', 'ras1', ['10.64.0.1'], 1),
      recorded('192.0.2.10', 'b', 'ras1', ['10.64.0.2', '2001:db8:100::/56'], 1),
      recorded('192.0.2.11', 'c', 'ras1', ['10.64.0.3'], 1),
    ];
    const plan = planEvent(event({ statusType: 7, sessionId: undefined }), table(sessions), context);
    expect(unlistedText(plan)).toEqual(['10.64.0.1', '10.64.0.2', '2001:db8:100::/56']);
    const stoppedAt = { at: 1000, nasTime: undefined };
    expect(plan.remove).toEqual([{ client: 'ras1', nas: '192.0.2.10', sessionId: 'a', stoppedAt }, { client: 'ras1', nas: '192.0.2.10', sessionId: 'b', stoppedAt }]);
  });

  it('on Accounting-On skips an address that a newer session of another NAS holds now', () => {
    const old = recorded('192.0.2.10', 'lost-stop', 'ras1', ['10.64.0.1', '10.64.0.2'], 1);
    const newer = recorded('192.0.2.11', 'b', 'ras2', ['10.64.0.1'], 2);
    const plan = planEvent(event({ statusType: 7, sessionId: undefined }), table([old, newer]), context);
    expect(unlistedText(plan)).toEqual(['10.64.0.2']);
    expect(plan.stale).toEqual([{ reason: 'address_taken', address: '10.64.0.1', owner: newer }]);
    expect(plan.remove).toEqual([{ client: 'ras1', nas: '192.0.2.10', sessionId: 'lost-stop', stoppedAt: { at: 1000, nasTime: undefined } }]);
  });

  it('refuses and unlists each address once, however often the event and its session name it', () => {
    const start = planEvent(event({ statusType: 1, framedIpv6Addresses: ['2001:db8:999::1', '2001:db8:999::1'] }), table([]), context);
    expect(start.refused.map((r) => r.address)).toEqual(['2001:db8:999::1']);
    const session = recorded('192.0.2.10', 's1', 'ras1', ['10.64.0.9', '10.64.0.10'], 1);
    const stop = planEvent(event({ framedIpAddress: '10.64.0.9', framedIpv6Addresses: ['2001:db8:100::9', '2001:db8:100::9'] }), table([session]), context);
    expect(unlistedText(stop)).toEqual(['10.64.0.9', '2001:db8:100::9', '10.64.0.10']);
    const outside = planEvent(event({ framedIpv6Addresses: ['2001:db8:999::2', '2001:db8:999::2'] }), table([]), context);
    expect(outside.refused.map((r) => r.address)).toEqual(['2001:db8:999::2']);
  });

  it('keeps addresses outside the pools and the RFC 5782 test range listed', () => {
    const plan = planEvent(event({ framedIpAddress: '127.0.0.2' }), table([]), context);
    expect(unlistedText(plan)).toEqual([]);
    expect(plan.refused.map((r) => r.error.code)).toEqual(['RBL_ADDRESS_PROTECTED']);
    const outside = planEvent(event({ framedIpAddress: '198.51.100.7' }), table([]), context);
    expect(outside.refused.map((r) => r.error.code)).toEqual(['RBL_ADDRESS_OUTSIDE_POOLS']);
  });

  it('answers a Stop with no address and no session (FreeRADIUS status_check = request), changes nothing and says so', () => {
    const plan = planEvent(event({ userName: 'test_user_please_reject_me', sessionId: undefined }), table([]), context);
    expect(isEmptyPlan(plan)).toBe(true);
    expect(plan.stale).toEqual([{ reason: 'unknown_session' }]);
  });

  it.each([
    [{ framedIpAddress: '255.255.255.255' }, []],
    [{ framedIpAddress: '255.255.255.254' }, []],
    [{ framedIpAddress: '0.0.0.0' }, []],
    [{ statusType: 15 }, []],
    [{ statusType: undefined, framedIpAddress: '10.64.0.5' }, []],
  ] as const)('unlists nothing for %o', (overrides, unlist) => {
    expect(unlistedText(planEvent(event(overrides), table([]), context))).toEqual(unlist);
  });

  it('tells NASes apart by NAS-IP-Address, then source, plus NAS-Identifier', () => {
    expect(event({ nasIpAddress: undefined }).nas).toBe('192.0.2.10');
    expect(accountingEvent(attributes({ nasIpAddress: undefined, nasIdentifier: 'bras-7' }), 'r', '198.51.100.1', 0).nas).toBe('198.51.100.1/bras-7');
    expect(accountingEvent(attributes({ nasIpAddress: '192.0.2.99' }), 'r', '198.51.100.1', 0).nas).toBe('192.0.2.99');
  });
});
