/**
 * The planner's rules one at a time (src/accounting/plan.ts, design "What each accounting event
 * does"): which plans need a journal record, the sessions.max eviction batch, events without an
 * Acct-Session-Id, the unlist_on switch per event type, and what each refusal and finding names.
 */
import { describe, expect, it } from 'vitest';
import { accountingEvent, type EventAttributes } from '../../src/accounting/event.js';
import { isEmptyPlan, planEvent, type EventPlan, type PlanContext, type PlannedSession } from '../../src/accounting/plan.js';
import { RblError } from '../../src/errors.js';
import { canonicalPrefix, parsePrefix } from '../../src/net/address.js';
import { SessionTable } from '../../src/sessions/table.js';
import { accountingAttributes, unlistedText } from '../helpers/accounting.js';

const NAS = '192.0.2.10';
const CONTEXT: PlanContext = {
  pools: ['10.64.0.0/16', '2001:db8:100::/40'].map((text) => parsePrefix(text)),
  unlistOn: new Set(['start', 'stop', 'accounting-on', 'accounting-off']),
  maxSessions: 1000,
};
const STATUS = { start: 1, stop: 2, interim: 3, on: 7, off: 8 } as const;
/** An Event-Timestamp (seconds). */
const T0 = 1_700_000_000;
/** The addresses of the session the repeat tests record. */
const SAME = { framedIpAddress: '10.64.0.5', framedIpv6Addresses: ['2001:db8:100::5'] } as const;

function event(type: keyof typeof STATUS, overrides: Partial<EventAttributes> = {}, receivedAt = 50_000, client = 'ras1') {
  const attributes = accountingAttributes({ statusType: STATUS[type], sessionId: 's1', nasIpAddress: NAS, ...overrides });
  return accountingEvent(attributes, client, NAS, receivedAt);
}

const session = (sessionId: string, addresses: string[], updatedAt: number, nas = NAS, client = 'ras1'): PlannedSession => ({ client, nas, sessionId, addresses, updatedAt, eventAt: updatedAt });

function tableOf(sessions: readonly PlannedSession[]): SessionTable {
  const table = new SessionTable();
  for (const recorded of sessions) table.upsert(recorded);
  return table;
}

const EMPTY: EventPlan = { upsert: [], remove: [], evicted: [], unlist: [], refused: [], stale: [] };

describe('isEmptyPlan: a plan needs a journal record when it changes something', () => {
  it.each([
    ['nothing at all', {}, true],
    ['only a finding', { stale: [{ reason: 'unknown_session' as const }] }, true],
    ['only a refusal', { refused: [{ address: '127.0.0.2', error: new RblError('RBL_ADDRESS_PROTECTED', 'x') }] }, true],
    ['a session to record', { upsert: [{ ...session('s1', [], 1), addresses: [canonicalPrefix(parsePrefix('10.64.0.5'))] }] }, false],
    ['a session to forget', { remove: [{ client: 'ras1', nas: NAS, sessionId: 's1' }] }, false],
    ['an address to unlist', { unlist: [canonicalPrefix(parsePrefix('10.64.0.5'))] }, false],
  ])('%s: empty %s', (_case, parts, empty) => {
    expect(isEmptyPlan({ ...EMPTY, ...parts })).toBe(empty);
  });
});

describe('sessions.max', () => {
  const full = (count: number): PlannedSession[] => Array.from({ length: count }, (_, i) => session(`old-${i}`, [`10.64.${i >> 8}.${i & 255}`], 1 + i));

  it.each([
    ['one below the cap: evicts nothing', 4, 5, []],
    ['at the cap: evicts the oldest', 5, 5, ['old-0']],
    ['past the cap (lowered by a reload): evicts down to one below it', 7, 5, ['old-0', 'old-1', 'old-2']],
    ['at a cap of 2,500: evicts a batch of a thousandth of the cap, rounded up', 2500, 2500, ['old-0', 'old-1', 'old-2']],
    ['at a cap of 2,000: a batch of exactly 2', 2000, 2000, ['old-0', 'old-1']],
  ] as const)('a new session %s', (_case, size, maxSessions, evicted) => {
    const plan = planEvent(event('start', { sessionId: 'new', framedIpAddress: '10.65.0.1' }), tableOf(full(size)), {
      ...CONTEXT,
      pools: [parsePrefix('10.0.0.0/8')],
      maxSessions,
    });
    expect(plan.evicted.map((s) => s.sessionId)).toEqual(evicted);
    expect(plan.remove).toEqual(plan.evicted.map(({ client, nas, sessionId }) => ({ client, nas, sessionId })));
    expect(plan.upsert.map((s) => s.sessionId)).toEqual(['new']);
  });

  it('evicts at most 10,000 sessions for one new session, however far a reload lowered the cap below the table', () => {
    const table = tableOf(full(12_000));
    const plan = planEvent(event('start', { sessionId: 'new', framedIpAddress: '10.65.0.1' }), table, { ...CONTEXT, pools: [parsePrefix('10.0.0.0/8')], maxSessions: 100 });
    expect(plan.evicted).toHaveLength(10_000);
    expect(plan.evicted[0]!.sessionId).toBe('old-0');
    expect(plan.evicted.at(-1)!.sessionId).toBe('old-9999');
    expect(plan.upsert.map((s) => s.sessionId)).toEqual(['new']);
  });

  it('evicts nothing to refresh a session it already holds, even at the cap', () => {
    const plan = planEvent(event('interim', { sessionId: 'old-4', framedIpAddress: '10.64.0.4' }), tableOf(full(5)), { ...CONTEXT, maxSessions: 5 });
    expect(plan.evicted).toEqual([]);
    expect(plan.remove).toEqual([]);
    expect(plan.upsert.map((s) => s.sessionId)).toEqual(['old-4']);
  });

  it('evicts nothing for a Start it does not record (no address)', () => {
    const plan = planEvent(event('start', { sessionId: 'new' }), tableOf(full(5)), { ...CONTEXT, maxSessions: 5 });
    expect(plan).toEqual(EMPTY);
  });
});

describe("a client's max_sessions", () => {
  /** `count` sessions of `client`, the k-th updated at `from + k`. */
  const of = (client: string, count: number, from: number): PlannedSession[] =>
    Array.from({ length: count }, (_, k) => session(`${client}-${k}`, [`10.${client === 'ras1' ? 64 : 65}.${k >> 8}.${k & 255}`], from + k, NAS, client));
  const start = (client: string) => event('start', { sessionId: 'new', framedIpAddress: client === 'ras1' ? '10.64.200.1' : '10.65.200.1' }, 50_000, client);
  const context = (clientMaxSessions: number | undefined, maxSessions = 1000): PlanContext => ({ ...CONTEXT, pools: [parsePrefix('10.0.0.0/8')], maxSessions, clientMaxSessions });
  const ids = (sessions: readonly { readonly sessionId: string }[]): string[] => sessions.map((s) => s.sessionId);

  it("evicts the client's own oldest at its cap, though another client's are older", () => {
    // ras2's sessions are all older than ras1's.
    const table = tableOf([...of('ras2', 3, 1), ...of('ras1', 4, 100)]);
    const plan = planEvent(start('ras1'), table, context(4));
    expect(ids(plan.evicted)).toEqual(['ras1-0']);
    expect(plan.evictedForClient).toBe(1);
    expect(plan.remove).toEqual([{ client: 'ras1', nas: NAS, sessionId: 'ras1-0' }]);
    expect(ids(plan.upsert)).toEqual(['new']);
  });

  it('evicts nothing below the cap, and nothing for another client whose own cap is not set', () => {
    const table = tableOf([...of('ras2', 3, 1), ...of('ras1', 4, 100)]);
    expect(planEvent(start('ras1'), table, context(5))).toMatchObject({ evicted: [], remove: [] });
    expect(planEvent(start('ras1'), table, context(5)).evictedForClient).toBeUndefined();
    expect(planEvent(start('ras2'), table, context(undefined)).evicted).toEqual([]);
  });

  it('works off a cap a reload lowered: down to one below it, a thousandth of the cap at least', () => {
    const table = tableOf([...of('ras2', 3, 1), ...of('ras1', 2600, 100)]);
    expect(ids(planEvent(start('ras1'), table, context(10, 10_000)).evicted)).toEqual(Array.from({ length: 2591 }, (_, k) => `ras1-${k}`));
    expect(ids(planEvent(start('ras1'), table, context(2500, 10_000)).evicted)).toEqual(Array.from({ length: 101 }, (_, k) => `ras1-${k}`));
  });

  it('leaves sessions.max to evict the oldest of all as well when the whole table is full, each session once', () => {
    // The table is full (7 of 7) and ras1 at its cap (4 of 4): ras1's own oldest goes for its cap,
    // then the oldest of all (ras2's) for sessions.max, whose batch of one must not count ras1-0 again.
    const table = tableOf([...of('ras1', 4, 1), ...of('ras2', 3, 10)]);
    const plan = planEvent(start('ras1'), table, context(4, 7));
    expect(ids(plan.evicted)).toEqual(['ras1-0']);
    expect(plan.evictedForClient).toBe(1);
    // 7 sessions less the one evicted are below sessions.max: nothing more goes.
    const fuller = tableOf([...of('ras1', 4, 1), ...of('ras2', 4, 10)]);
    const both = planEvent(start('ras1'), fuller, context(4, 7));
    expect(ids(both.evicted)).toEqual(['ras1-0', 'ras1-1']);
    expect(both.evictedForClient).toBe(1);
    // ras2's oldest is younger than ras1's: sessions.max took ras1-1 (the oldest not yet taken), not ras1-0 twice.
    expect(new Set(both.remove.map((r) => r.sessionId)).size).toBe(both.remove.length);
  });

  it("stops sessions.max at its own count when the client's evicted sessions are younger than the oldest of all", () => {
    // ras2's sessions are older than ras1's, ras1 is at its cap (4 of 4) and the table full (8 of
    // 7): ras1-0 goes for the cap, and of the two oldest of all (ras2-0, ras2-1) only one more is due.
    const table = tableOf([...of('ras2', 4, 1), ...of('ras1', 4, 100)]);
    const plan = planEvent(start('ras1'), table, context(4, 7));
    expect(ids(plan.evicted)).toEqual(['ras1-0', 'ras2-0']);
    expect(plan.evictedForClient).toBe(1);
  });

  it('counts only the sessions of the client itself, whichever NASes it has', () => {
    const table = tableOf([session('a', ['10.64.0.1'], 1, '192.0.2.10'), session('b', ['10.64.0.2'], 2, '192.0.2.11'), ...of('ras2', 5, 0)]);
    expect(ids(planEvent(start('ras1'), table, context(2)).evicted)).toEqual(['a']);
  });
});

describe('what a Start or Interim-Update records', () => {
  it('records the receive time, the event time (less Acct-Delay-Time) and the NAS time', () => {
    const plan = planEvent(event('interim', { framedIpAddress: '10.64.0.5', acctDelayTime: 20, eventTimestamp: 1_700_000_000 }), tableOf([]), CONTEXT);
    expect(plan.upsert.map((s) => ({ ...s, addresses: s.addresses.map((a) => a.text) }))).toEqual([{ client: 'ras1', nas: NAS, sessionId: 's1', addresses: ['10.64.0.5'], updatedAt: 50_000, eventAt: 30_000, nasTime: 1_700_000_000 }]);
    expect(unlistedText(plan)).toEqual([]);
  });

  it('unlists a Start without an Acct-Session-Id but records nothing, having no key to record it by', () => {
    const plan = planEvent(event('start', { sessionId: undefined, framedIpAddress: '10.64.0.5' }), tableOf([]), CONTEXT);
    expect({ ...plan, unlist: unlistedText(plan) }).toEqual({ ...EMPTY, unlist: ['10.64.0.5'] });
  });

  it('unlists an address a Start names twice once', () => {
    const plan = planEvent(event('start', { framedIpv6Addresses: ['2001:db8:100::5', '2001:db8:100:0::5'] }), tableOf([]), CONTEXT);
    expect(unlistedText(plan)).toEqual(['2001:db8:100::5']);
  });

  it('unlists and refuses each address of a long list once, however often it is named', () => {
    const own = Array.from({ length: 20 }, (_, k) => `2001:db8:100::${(k % 7) + 1}`);
    const plan = planEvent(event('start', { framedIpAddress: '198.51.100.7', framedIpv6Addresses: [...own, '2001:db8:100::1', '198.51.100.7'] }), tableOf([]), CONTEXT);
    expect(unlistedText(plan)).toEqual(['2001:db8:100::1', '2001:db8:100::2', '2001:db8:100::3', '2001:db8:100::4', '2001:db8:100::5', '2001:db8:100::6', '2001:db8:100::7']);
    expect(plan.refused.map(({ address }) => address)).toEqual(['198.51.100.7']);
  });

  it('unlists the addresses of an Accounting-On of a large NAS each once', () => {
    const recorded = Array.from({ length: 5000 }, (_, k) => session(`s${k}`, [`10.64.${k >> 8}.${k & 255}`, `2001:db8:100:${k.toString(16)}::/64`], 10_000));
    const plan = planEvent(event('on'), tableOf(recorded), CONTEXT);
    expect(plan.unlist).toHaveLength(10_000);
    expect(new Set(unlistedText(plan)).size).toBe(10_000);
    expect(plan.remove).toHaveLength(5000);
  });

  it('unlists once, and checks the owner once, an address a Stop names twice and its session recorded', () => {
    const recorded = [session('s1', ['10.64.0.5', '10.64.0.6', '10.64.0.6'], 10_000)];
    const plan = planEvent(event('stop', { framedIpv6Addresses: ['2001:db8:100::5', '2001:db8:100:0::5'], framedIpAddress: '10.64.0.5' }), tableOf(recorded), CONTEXT);
    expect(unlistedText(plan)).toEqual(['10.64.0.5', '2001:db8:100::5', '10.64.0.6']);
    expect(plan.stale).toEqual([]);
  });

  it('finds an address a Stop names twice taken once, by the newer session that holds it', () => {
    const recorded = [session('s1', ['10.64.0.5'], 10_000), session('s2', ['10.64.0.5'], 60_000)];
    const plan = planEvent(event('stop', { framedIpv6Addresses: ['2001:db8:100::5', '2001:db8:100::5'], framedIpAddress: '10.64.0.5' }), tableOf(recorded), CONTEXT);
    expect(plan.stale.map(({ reason, address }) => [reason, address])).toEqual([['address_taken', '10.64.0.5']]);
    expect(unlistedText(plan)).toEqual(['2001:db8:100::5']);
  });

  it("unlists what a Stop without addresses finds its session recorded, each once", () => {
    const plan = planEvent(event('stop'), tableOf([session('s1', ['10.64.0.7', '10.64.0.7', '10.64.0.8'], 10_000)]), CONTEXT);
    expect(unlistedText(plan)).toEqual(['10.64.0.7', '10.64.0.8']);
    expect(plan.remove).toEqual([{ client: 'ras1', nas: NAS, sessionId: 's1', stoppedAt: { at: 50_000, nasTime: undefined } }]);
  });

  it('records only the addresses it may unlist, and names the others with their error', () => {
    const plan = planEvent(event('start', { framedIpAddress: '198.51.100.7', framedIpv6Addresses: ['2001:db8:100::5'] }), tableOf([]), CONTEXT);
    expect(plan.upsert.map((s) => s.addresses.map((a) => a.text))).toEqual([['2001:db8:100::5']]);
    expect(unlistedText(plan)).toEqual(['2001:db8:100::5']);
    expect(plan.refused.map(({ address, error }) => [address, error.code])).toEqual([['198.51.100.7', 'RBL_ADDRESS_OUTSIDE_POOLS']]);
  });

  it('names a refused address once, though the Start both records and unlists it', () => {
    const plan = planEvent(event('start', { framedIpAddress: '127.0.0.2' }), tableOf([]), CONTEXT);
    expect(plan.refused.map(({ address }) => address)).toEqual(['127.0.0.2']);
    expect(plan.upsert).toEqual([]);
  });

  it('finds an Interim-Update older than its own session’s last one out of order, naming that record', () => {
    const known = session('s1', ['10.64.0.5'], 60_000);
    const plan = planEvent(event('interim', { framedIpAddress: '10.64.0.5' }), tableOf([known]), CONTEXT);
    expect(plan).toEqual({ ...EMPTY, stale: [{ reason: 'out_of_order', owner: { ...known, nasTime: undefined } }] });
  });

  it('finds a Start for an address a session with a newer event holds, naming address and holder, and records and unlists nothing', () => {
    const holder = session('s2', ['10.64.0.5'], 60_000);
    const plan = planEvent(event('start', { framedIpAddress: '10.64.0.5' }), tableOf([holder]), CONTEXT);
    expect(plan).toEqual({ ...EMPTY, stale: [{ reason: 'address_taken', address: '10.64.0.5', owner: { ...holder, nasTime: undefined } }] });
  });

  it('changes nothing for a Start said again with its Event-Timestamp after the duplicate cache forgot it, so it takes no address back from a newer session of another NAS', () => {
    const T = 1_700_000_000;
    const table = tableOf([]);
    const apply = (plan: EventPlan): EventPlan => {
      for (const recorded of plan.upsert) table.upsert(recorded);
      for (const removed of plan.remove) table.stop(removed, removed.stoppedAt!);
      return plan;
    };
    apply(planEvent(event('start', { sessionId: 'A', framedIpAddress: '10.64.0.5', eventTimestamp: T }, 10_000), table, CONTEXT));
    apply(planEvent(event('start', { sessionId: 'B', framedIpAddress: '10.64.0.5', nasIpAddress: '192.0.2.11' }, 20_000), table, CONTEXT));
    // A's Start once more, a minute on: the same packet a proxy sent late, or an attacker replayed.
    const again = apply(planEvent(event('start', { sessionId: 'A', framedIpAddress: '10.64.0.5', eventTimestamp: T }, 80_000), table, CONTEXT));
    expect(again).toEqual(EMPTY);
    expect(table.ownerOf('10.64.0.5')?.sessionId).toBe('B');
    // So B's Stop unlists what B was listed for.
    const stop = planEvent(event('stop', { sessionId: 'B', nasIpAddress: '192.0.2.11' }, 90_000), table, CONTEXT);
    expect(unlistedText(stop)).toEqual(['10.64.0.5']);
  });

  it.each([
    ['the same Event-Timestamp and addresses: a repeat', T0, T0, SAME, undefined],
    ['the same Event-Timestamp and no address: a repeat', T0, T0, {}, undefined],
    ['the same Event-Timestamp and one address fewer', T0, T0, { framedIpAddress: '10.64.0.5' }, ['10.64.0.5']],
    ['the same Event-Timestamp and an address more (assigned in that second)', T0, T0, { ...SAME, framedIpv6Addresses: ['2001:db8:100::5', '2001:db8:100::6'] }, ['10.64.0.5', '2001:db8:100::5', '2001:db8:100::6']],
    ['the same Event-Timestamp and other addresses', T0, T0, { framedIpAddress: '10.64.0.6' }, ['10.64.0.6']],
    ['a later Event-Timestamp and the same addresses', T0, T0 + 60, SAME, ['10.64.0.5', '2001:db8:100::5']],
    ['no Event-Timestamp and the same addresses (nothing tells a repeat from a new one)', T0, undefined, SAME, ['10.64.0.5', '2001:db8:100::5']],
    ['no Event-Timestamp from a NAS that never sends one, and the same addresses', undefined, undefined, SAME, ['10.64.0.5', '2001:db8:100::5']],
  ] as const)('an Interim-Update of a recorded session, with %s', (_case, recordedAt, eventTimestamp, addresses, recorded) => {
    const table = tableOf([{ ...session('s1', ['10.64.0.5', '2001:db8:100::5'], 10_000), nasTime: recordedAt }]);
    const plan = planEvent(event('interim', { ...addresses, eventTimestamp }, 70_000), table, CONTEXT);
    if (recorded === undefined) expect(plan).toEqual(EMPTY);
    else expect(plan.upsert.map((s) => s.addresses.map((a) => a.text))).toEqual([recorded]);
  });

  it('lets a Start take an address from a session with an older event', () => {
    const holder = session('s2', ['10.64.0.5'], 40_000);
    const plan = planEvent(event('start', { framedIpAddress: '10.64.0.5' }), tableOf([holder]), CONTEXT);
    expect(plan.stale).toEqual([]);
    expect(unlistedText(plan)).toEqual(['10.64.0.5']);
  });
});

describe('what a Stop does', () => {
  it('remembers its session as stopped at the event time and NAS time', () => {
    const plan = planEvent(event('stop', { framedIpAddress: '10.64.0.5', acctDelayTime: 5, eventTimestamp: 1_700_000_000 }), tableOf([]), CONTEXT);
    expect(plan.remove).toEqual([{ client: 'ras1', nas: NAS, sessionId: 's1', stoppedAt: { at: 45_000, nasTime: 1_700_000_000 } }]);
  });

  it('unlists the address of a Stop without an Acct-Session-Id and forgets no session', () => {
    const plan = planEvent(event('stop', { sessionId: undefined, framedIpAddress: '10.64.0.5' }), tableOf([]), CONTEXT);
    expect({ ...plan, unlist: unlistedText(plan) }).toEqual({ ...EMPTY, unlist: ['10.64.0.5'] });
  });

  it('leaves to its session an address a Stop without an Acct-Session-Id names', () => {
    const plan = planEvent(event('stop', { sessionId: undefined, framedIpAddress: '10.64.0.5' }), tableOf([session('s1', ['10.64.0.5'], 1)]), CONTEXT);
    expect(plan.remove).toEqual([]);
    expect(plan.stale).toEqual([{ reason: 'address_taken', address: '10.64.0.5', owner: { ...session('s1', ['10.64.0.5'], 1), nasTime: undefined } }]);
  });

  it.each([
    ['another client', 'ras1', 'ras2', NAS],
    ['another NAS', 'ras1', 'ras1', '192.0.2.11'],
  ] as const)('leaves an address to its holder when the Stop has the holder’s Acct-Session-Id but comes from %s', (_case, holderClient, client, nas) => {
    const holder = session('s1', ['10.64.0.5'], 60_000, NAS, holderClient);
    const stop = event('stop', { nasIpAddress: nas, framedIpAddress: '10.64.0.5' }, 70_000, client);
    const plan = planEvent(stop, tableOf([holder]), CONTEXT);
    expect(unlistedText(plan)).toEqual([]);
    expect(plan.stale.map((finding) => [finding.reason, finding.address])).toEqual([['address_taken', '10.64.0.5']]);
  });

  it('forgets its session but unlists nothing when stop is not in unlist_on', () => {
    const plan = planEvent(event('stop', { framedIpAddress: '10.64.0.5' }), tableOf([session('s1', ['10.64.0.5'], 1)]), { ...CONTEXT, unlistOn: new Set(['start']) });
    expect(unlistedText(plan)).toEqual([]);
    expect(plan.remove).toHaveLength(1);
  });

  it('unlists its own address and the ones its session recorded, once each', () => {
    const plan = planEvent(event('stop', { framedIpAddress: '10.64.0.5' }), tableOf([session('s1', ['10.64.0.5', '2001:db8:100::/56'], 1)]), CONTEXT);
    expect(unlistedText(plan)).toEqual(['10.64.0.5', '2001:db8:100::/56']);
  });

  describe('of an earlier session under a reused Acct-Session-Id (replayed, or late)', () => {
    // s1 now: started at T0 + 1000 by the NAS's clock, after a reboot, holding 10.64.0.9.
    const live = { ...session('s1', ['10.64.0.9'], 60_000), nasTime: T0 + 1000 };
    const oldStop = (overrides: Partial<EventAttributes> = {}) => event('stop', { framedIpAddress: '10.64.0.5', eventTimestamp: T0 + 60, ...overrides }, 90_000);

    it('ends nothing that runs now: the session and what it holds stay, and what it named that nobody holds is unlisted', () => {
      const plan = planEvent(oldStop(), tableOf([live]), CONTEXT);
      expect(plan.remove).toEqual([]);
      expect(unlistedText(plan)).toEqual(['10.64.0.5']);
      expect(plan.stale).toEqual([{ reason: 'out_of_order', owner: live }]);
    });

    it('leaves listed what it names that another session holds now', () => {
      const other = { ...session('s2', ['10.64.0.7'], 70_000), nasTime: T0 + 1100 };
      const plan = planEvent(oldStop(), tableOf([live, other]), CONTEXT);
      expect(unlistedText(plan)).toEqual(['10.64.0.5']);
      const both = planEvent(event('stop', { framedIpAddress: '10.64.0.7', eventTimestamp: T0 + 60 }, 90_000), tableOf([live, other]), CONTEXT);
      expect(unlistedText(both)).toEqual([]);
      expect(both.remove).toEqual([]);
    });

    it('unlists nothing when stop is not in unlist_on', () => {
      const plan = planEvent(oldStop(), tableOf([live]), { ...CONTEXT, unlistOn: new Set(['start']) });
      expect(unlistedText(plan)).toEqual([]);
      expect(plan.remove).toEqual([]);
    });

    it.each([
      ['an earlier NAS time but the address it holds (the NAS clock stepped back)', { framedIpAddress: '10.64.0.9' }],
      ['an earlier NAS time and no address (nothing to tell it by)', { framedIpAddress: undefined }],
      ['an earlier NAS time, naming the address it holds beside another', { framedIpAddress: '10.64.0.9', framedIpv6Addresses: ['2001:db8:100::5'] }],
      ['the same NAS time as the record', { eventTimestamp: T0 + 1000 }],
      ['a later NAS time', { eventTimestamp: T0 + 1001 }],
      ['no Event-Timestamp (receive times prove nothing of a reused id)', { eventTimestamp: undefined }],
    ] as const)('is the running session’s own Stop with %s: it ends it and unlists what it holds', (_case, overrides) => {
      const plan = planEvent(oldStop(overrides), tableOf([live]), CONTEXT);
      expect(plan.remove).toHaveLength(1);
      expect(unlistedText(plan)).toEqual([...new Set([...(oldStop(overrides).addresses.map((address) => address.text)), '10.64.0.9'])]);
      expect(plan.stale).toEqual([]);
    });
  });

  it('keeps an address outside the pools listed and names it', () => {
    const plan = planEvent(event('stop', { framedIpAddress: '198.51.100.7' }), tableOf([]), CONTEXT);
    expect(unlistedText(plan)).toEqual([]);
    expect(plan.refused.map(({ address, error }) => [address, error.code])).toEqual([['198.51.100.7', 'RBL_ADDRESS_OUTSIDE_POOLS']]);
  });
});

describe('what Accounting-On and Accounting-Off do', () => {
  const sessions = [session('a', ['10.64.0.1'], 1), session('b', ['10.64.0.2'], 2)];

  it.each([
    ['Accounting-On with only accounting-off in unlist_on', 'on', ['accounting-off'], []],
    ['Accounting-Off with only accounting-on in unlist_on', 'off', ['accounting-on'], []],
    ['Accounting-Off with accounting-off in unlist_on', 'off', ['accounting-off'], ['10.64.0.1', '10.64.0.2']],
  ] as const)('%s forgets every older session and unlists %j', (_case, type, unlistOn, unlist) => {
    const plan = planEvent(event(type, { sessionId: undefined }), tableOf(sessions), { ...CONTEXT, unlistOn: new Set(unlistOn) });
    expect(unlistedText(plan)).toEqual(unlist);
    expect(plan.remove.map((removal) => removal.sessionId)).toEqual(['a', 'b']);
  });

  it('leaves a session whose event is as new as the Accounting-On, and says so once', () => {
    const plan = planEvent(event('on', { sessionId: undefined }, 2), tableOf([...sessions, session('c', ['10.64.0.3'], 3)]), CONTEXT);
    expect(plan.remove.map((removal) => removal.sessionId)).toEqual(['a']);
    expect(unlistedText(plan)).toEqual(['10.64.0.1']);
    expect(plan.stale).toEqual([{ reason: 'sessions_newer' }]);
  });

  it('finds nothing stale when it forgets every session', () => {
    expect(planEvent(event('on', { sessionId: undefined }), tableOf(sessions), CONTEXT).stale).toEqual([]);
  });
});

describe('an event of another type', () => {
  it('changes nothing and finds nothing', () => {
    const plan = planEvent(event('start', { statusType: 15, framedIpAddress: '10.64.0.5' }), tableOf([session('s1', ['10.64.0.5'], 1)]), CONTEXT);
    expect(plan).toEqual(EMPTY);
  });
});
