/**
 * Event order and replay (design: "Event order"), as pure planner and session-table cases: each
 * scenario is a list of Accounting-Requests as they arrive, each planned against the table and
 * applied to it as the journal would, with what the last one unlists, what it finds stale, and
 * who holds the addresses afterwards.
 */
import { describe, expect, it } from 'vitest';
import { accountingEvent, type EventAttributes } from '../../src/accounting/event.js';
import { planEvent, STALE_REASONS, type EventPlan, type StaleReason } from '../../src/accounting/plan.js';
import { STALE_REASONS as METRIC_STALE_REASONS } from '../../src/http/metrics.js';
import { parsePrefix } from '../../src/net/address.js';
import { SessionTable } from '../../src/sessions/table.js';
import { unlistedText } from '../helpers/accounting.js';

const POOLS = ['10.64.0.0/16', '10.65.0.0/16', '2001:db8:100::/40'].map((text) => parsePrefix(text));
const NAS_A = '192.0.2.10';
const NAS_B = '192.0.2.11';

/** One Accounting-Request as it arrives: through which client, when, with which attributes. */
interface Arrival {
  readonly type: 'Start' | 'Stop' | 'Interim' | 'On' | 'Off';
  readonly client?: string;
  readonly nas?: string;
  readonly session?: string;
  readonly address?: string;
  readonly prefix?: string;
  /** Event-Timestamp, seconds. */
  readonly ts?: number;
  /** Acct-Delay-Time, seconds. */
  readonly delay?: number;
  /** Receive time, ms. */
  readonly at: number;
}

const STATUS = { Start: 1, Stop: 2, Interim: 3, On: 7, Off: 8 } as const;
/** The partner client may unlist only 10.65.0.0/16. */
const CLIENT_POOLS: Readonly<Record<string, ReturnType<typeof parsePrefix>[]>> = { partner: [parsePrefix('10.65.0.0/16')] };

function attributesOf(arrival: Arrival): EventAttributes {
  return {
    statusType: STATUS[arrival.type],
    sessionId: arrival.session,
    userName: undefined,
    nasIpAddress: arrival.nas ?? NAS_A,
    nasIpv6Address: undefined,
    nasIdentifier: undefined,
    framedIpAddress: arrival.address,
    framedIpv6Addresses: [],
    framedIpv6Prefixes: [],
    delegatedIpv6Prefixes: arrival.prefix === undefined ? [] : [arrival.prefix],
    eventTimestamp: arrival.ts,
    acctDelayTime: arrival.delay,
  };
}

/** Plans and applies every arrival in turn; returns the table and the last plan. */
function replay(arrivals: readonly Arrival[], options: { unlistOn?: string[]; maxSessions?: number } = {}): { table: SessionTable; last: EventPlan; plans: EventPlan[] } {
  const table = new SessionTable();
  const plans: EventPlan[] = [];
  for (const arrival of arrivals) {
    const client = arrival.client ?? 'ras1';
    const event = accountingEvent(attributesOf(arrival), client, '127.0.0.1', arrival.at);
    const plan = planEvent(event, table, {
      pools: POOLS,
      clientPools: CLIENT_POOLS[client],
      unlistOn: new Set(options.unlistOn ?? ['start', 'stop', 'accounting-on', 'accounting-off']),
      maxSessions: options.maxSessions ?? 1000,
    });
    // As QueueState applies a commit: upserts, then removals.
    for (const session of plan.upsert) table.upsert(session);
    for (const removal of plan.remove) {
      if (removal.stoppedAt) table.stop(removal, removal.stoppedAt);
      else table.remove(removal.client, removal.nas, removal.sessionId);
    }
    plans.push(plan);
  }
  return { table, last: plans.at(-1)!, plans };
}

const reasons = (plan: EventPlan): StaleReason[] => [...new Set(plan.stale.map((finding) => finding.reason))];
const X = '10.64.0.5';
const S = 1_800_000_000;

describe('event order: a stale event unlists nothing and steals nothing', () => {
  const cases: { name: string; arrivals: Arrival[]; stale: StaleReason[]; owner: string | undefined; then: Arrival; thenUnlists?: string }[] = [
    {
      name: 'a replayed Start (same NAS, Event-Timestamp) of a session that stopped, after another took the address',
      arrivals: [
        { type: 'Start', session: 'A', address: X, ts: S, at: 1000 },
        { type: 'Stop', session: 'A', address: X, ts: S + 60, at: 61_000 },
        { type: 'Start', session: 'B', address: X, ts: S + 120, at: 121_000 },
        { type: 'Start', session: 'A', address: X, ts: S, at: 500_000 },
      ],
      stale: ['session_stopped'],
      owner: 'B',
      then: { type: 'Stop', session: 'B', ts: S + 600, at: 601_000 },
    },
    {
      name: 'a replayed Start without Event-Timestamp from another NAS than the new holder',
      arrivals: [
        { type: 'Start', session: 'A', nas: NAS_A, address: X, at: 1000 },
        { type: 'Stop', session: 'A', nas: NAS_A, at: 61_000 },
        { type: 'Start', session: 'B', nas: NAS_B, address: X, at: 121_000 },
        { type: 'Start', session: 'A', nas: NAS_A, address: X, at: 500_000 },
      ],
      stale: ['session_stopped'],
      owner: 'B',
      then: { type: 'Stop', session: 'B', nas: NAS_B, at: 601_000 },
    },
    {
      name: 'a Start delayed in the network (Acct-Delay-Time) that arrives after the next holder’s Start',
      arrivals: [
        { type: 'Start', session: 'B', nas: NAS_B, address: X, at: 100_000 },
        { type: 'Start', session: 'A', nas: NAS_A, address: X, delay: 40, at: 110_000 },
      ],
      stale: ['address_taken'],
      owner: 'B',
      then: { type: 'Stop', session: 'B', nas: NAS_B, at: 601_000 },
    },
    {
      name: 'an out-of-order Interim-Update of the previous holder (same NAS, older Event-Timestamp)',
      arrivals: [
        { type: 'Start', session: 'A', address: X, ts: S, at: 1000 },
        { type: 'Start', session: 'B', address: X, ts: S + 120, at: 121_000 },
        { type: 'Interim', session: 'A', address: X, ts: S + 100, at: 130_000 },
      ],
      stale: ['address_taken'],
      owner: 'B',
      then: { type: 'Stop', session: 'B', ts: S + 600, at: 601_000 },
    },
    {
      name: 'an Interim-Update of a session older than its own last record',
      arrivals: [
        { type: 'Start', session: 'A', address: X, ts: S, at: 1000 },
        { type: 'Interim', session: 'A', address: '10.64.0.6', ts: S + 300, at: 301_000 },
        { type: 'Interim', session: 'A', address: X, ts: S + 100, at: 310_000 },
      ],
      stale: ['out_of_order'],
      owner: undefined,
      then: { type: 'Stop', session: 'A', ts: S + 600, at: 601_000 },
      thenUnlists: '10.64.0.6',
    },
    {
      name: 'a partner client’s Interim-Update claiming an address outside its own pools',
      arrivals: [
        { type: 'Start', session: 'real', address: X, ts: S, at: 1000 },
        { type: 'Interim', client: 'partner', session: 'fake', address: X, ts: S + 999, at: 200_000 },
      ],
      stale: [],
      owner: 'real',
      then: { type: 'Stop', session: 'real', ts: S + 600, at: 601_000 },
    },
  ];

  it.each(cases)('$name', ({ arrivals, stale, owner, then, thenUnlists }) => {
    const { table, last } = replay(arrivals);
    expect(reasons(last)).toEqual(stale);
    expect(unlistedText(last)).toEqual([]);
    expect(last.upsert).toEqual([]);
    // The holder keeps the address; unlisting nothing, the stale event changed no ownership.
    expect(table.ownerOf(X)?.sessionId).toBe(owner);
    // The real holder's Stop (without an address) still unlists it.
    const { last: stop } = replay([...arrivals, then]);
    expect(stop.stale).toEqual([]);
    expect(unlistedText(stop)).toContain(thenUnlists ?? X);
  });

  it('records a Start that reuses a stopped Acct-Session-Id when the NAS’s clock shows it came later', () => {
    const { table, last } = replay([
      { type: 'Start', session: '1', address: X, ts: S, at: 1000 },
      { type: 'Stop', session: '1', ts: S + 60, at: 61_000 },
      { type: 'On', ts: S + 100, at: 101_000 },
      { type: 'Start', session: '1', address: '10.64.0.7', ts: S + 130, at: 131_000 },
    ]);
    expect(last.stale).toEqual([]);
    expect(table.ownerOf('10.64.0.7')?.sessionId).toBe('1');
  });

  it('records a Start that reuses an Acct-Session-Id after an Accounting-On without Event-Timestamp, and unlists its address', () => {
    const { table, last } = replay([
      { type: 'Start', session: '1', address: X, ts: S, at: 1000 },
      { type: 'Interim', session: '1', address: X, ts: S + 300, at: 301_000 },
      { type: 'On', at: 400_000 },
      { type: 'Start', session: '1', address: '10.64.0.7', ts: S + 430, at: 431_000 },
    ]);
    expect(last.stale).toEqual([]);
    expect(unlistedText(last)).toEqual(['10.64.0.7']);
    expect(table.ownerOf('10.64.0.7')?.sessionId).toBe('1');
  });

  it('still takes a replay of the old session’s Start or Interim for one after such an Accounting-On', () => {
    const before: Arrival[] = [
      { type: 'Start', session: '1', address: X, ts: S, at: 1000 },
      { type: 'Interim', session: '1', address: X, ts: S + 300, at: 301_000 },
      { type: 'On', at: 400_000 },
    ];
    for (const replayed of [before[0]!, before[1]!]) {
      const { table, last } = replay([...before, { ...replayed, at: 900_000 }]);
      expect(reasons(last)).toEqual(['session_stopped']);
      expect(unlistedText(last)).toEqual([]);
      expect(table.ownerOf(X)).toBeUndefined();
    }
  });

  it('records a Start that reuses the Acct-Session-Id of a session whose Stop had no Event-Timestamp', () => {
    const { last } = replay([
      { type: 'Start', session: '1', address: X, ts: S, at: 1000 },
      { type: 'Stop', session: '1', at: 61_000 },
      { type: 'Start', session: '1', address: X, ts: S + 100, at: 101_000 },
    ]);
    expect(last.stale).toEqual([]);
    expect(unlistedText(last)).toEqual([X]);
    const { last: replayed } = replay([
      { type: 'Start', session: '1', address: X, ts: S, at: 1000 },
      { type: 'Stop', session: '1', at: 61_000 },
      { type: 'Start', session: '1', address: X, ts: S, at: 101_000 },
    ]);
    expect(reasons(replayed)).toEqual(['session_stopped']);
  });

  it('judges a replay by the Stop’s own Event-Timestamp when it has one: an Interim sent before the Stop stays stale', () => {
    const { last } = replay([
      { type: 'Start', session: '1', address: X, ts: S, at: 1000 },
      { type: 'Stop', session: '1', address: X, ts: S + 60, at: 61_000 },
      { type: 'Interim', session: '1', address: X, ts: S + 30, at: 500_000 },
    ]);
    expect(reasons(last)).toEqual(['session_stopped']);
  });

  it('unlists what a session held when a Start reuses its Acct-Session-Id with other addresses (its Stop was lost)', () => {
    const Y = '10.64.0.9';
    const { table, last } = replay([
      { type: 'Start', session: '1', address: X, prefix: '2001:db8:100:100::/56', ts: S, at: 1000 },
      { type: 'Start', session: '1', address: Y, prefix: '2001:db8:100:100::/56', ts: S + 100, at: 101_000 },
    ]);
    expect(last.stale).toEqual([]);
    expect(unlistedText(last).sort()).toEqual(['10.64.0.5', '10.64.0.9', '2001:db8:100:100::/56']);
    expect(table.ownerOf(Y)?.sessionId).toBe('1');
    expect(table.ownerOf(X)).toBeUndefined();
    // Without `stop` in unlist_on nothing that ended is unlisted; without `start`, only what ended.
    const { last: noStop } = replay(
      [
        { type: 'Start', session: '1', address: X, ts: S, at: 1000 },
        { type: 'Start', session: '1', address: Y, ts: S + 100, at: 101_000 },
      ],
      { unlistOn: ['start'] },
    );
    expect(unlistedText(noStop)).toEqual([Y]);
    // The prefix both Starts name stays with its customer: not unlisted as ended.
    const { last: noStart } = replay(
      [
        { type: 'Start', session: '1', address: X, prefix: '2001:db8:100:100::/56', ts: S, at: 1000 },
        { type: 'Start', session: '1', address: Y, prefix: '2001:db8:100:100::/56', ts: S + 100, at: 101_000 },
      ],
      { unlistOn: ['stop'] },
    );
    expect(unlistedText(noStart)).toEqual([X]);
  });

  it('leaves an address another session took since, when a Start reuses the Acct-Session-Id of its former holder', () => {
    const { table, last } = replay([
      { type: 'Start', session: '1', nas: NAS_A, address: X, ts: S, at: 1000 },
      { type: 'Start', session: 'B', nas: NAS_B, address: X, ts: S, at: 50_000 },
      { type: 'Start', session: '1', nas: NAS_A, address: '10.64.0.9', ts: S + 100, at: 101_000 },
    ]);
    expect(unlistedText(last)).toEqual(['10.64.0.9']);
    expect(table.ownerOf(X)?.sessionId).toBe('B');
  });

  it('unlists nothing that ended when an Interim-Update names other addresses, nor on a replay of the old Start', () => {
    const before: Arrival[] = [
      { type: 'Start', session: '1', address: X, ts: S, at: 1000 },
      { type: 'Interim', session: '1', address: '10.64.0.9', ts: S + 100, at: 101_000 },
    ];
    const { table, last } = replay(before);
    expect(unlistedText(last)).toEqual([]);
    expect(table.ownerOf('10.64.0.9')?.sessionId).toBe('1');
    const { last: replayed } = replay([...before, { ...before[0]!, at: 500_000 }]);
    expect(reasons(replayed)).toEqual(['out_of_order']);
    expect(unlistedText(replayed)).toEqual([]);
  });

  it('lets a Stop whose NAS clock is newer than the holder’s Start unlist (the holder’s own Stop was lost)', () => {
    const { last } = replay([
      { type: 'Start', session: 'A', address: X, ts: S, at: 1000 },
      { type: 'Stop', session: 'B', address: X, ts: S + 300, at: 301_000 },
    ]);
    expect(unlistedText(last)).toEqual([X]);
  });

  it('skips a Stop from another NAS for an address a session holds, however late it arrives', () => {
    const { last } = replay([
      { type: 'Start', session: 'A', nas: NAS_A, address: X, ts: S, at: 1000 },
      { type: 'Stop', session: 'B', nas: NAS_B, address: X, ts: S + 300, at: 301_000 },
    ]);
    expect(unlistedText(last)).toEqual([]);
    expect(reasons(last)).toEqual(['address_taken']);
  });
});

describe('Accounting-On/Off forgets only what is older than itself', () => {
  const before: Arrival[] = [
    { type: 'On', ts: S, at: 1000 },
    { type: 'Start', session: 'old', address: '10.64.0.1', ts: S - 50, at: 2000 },
    { type: 'Start', session: 'new1', address: '10.64.0.2', ts: S + 10, at: 11_000 },
    { type: 'Start', session: 'new2', address: '10.64.0.3', prefix: '2001:db8:100:300::/56', ts: S + 20, at: 21_000 },
  ];

  it('a replayed Accounting-On leaves the sessions started after it', () => {
    const { table, last } = replay([...before, { type: 'On', ts: S, at: 900_000 }]);
    expect(unlistedText(last)).toEqual(['10.64.0.1']);
    expect(reasons(last)).toEqual(['sessions_newer']);
    expect(table.get('ras1', NAS_A, 'new1')).toBeDefined();
    expect(table.ownerOf('2001:db8:100:300::/56')?.sessionId).toBe('new2');
  });

  it('a newer Accounting-On forgets them all, and a replayed Start of one of them is stale after it', () => {
    const { table, last } = replay([...before, { type: 'Off', ts: S + 30, at: 31_000 }]);
    expect(unlistedText(last).sort()).toEqual(['10.64.0.1', '10.64.0.2', '10.64.0.3', '2001:db8:100:300::/56']);
    expect(table.size).toBe(0);
    const { last: replayed } = replay([...before, { type: 'Off', ts: S + 30, at: 31_000 }, before[2]!]);
    expect(reasons(replayed)).toEqual(['session_stopped']);
  });

  it('a partner client naming another client’s NAS forgets nothing', () => {
    const { table, last } = replay([...before, { type: 'On', client: 'partner', ts: S + 1000, at: 990_000 }]);
    expect(unlistedText(last)).toEqual([]);
    expect(last.remove).toEqual([]);
    expect(table.size).toBe(3);
  });
});

describe('a Stop unlists what its session recorded', () => {
  it('unlists the delegated /56 of the Start when the Stop repeats only the IPv4 address', () => {
    const { last, table } = replay([
      { type: 'Start', session: 'A', address: X, prefix: '2001:db8:100:500::/56', at: 1000 },
      { type: 'Stop', session: 'A', address: X, at: 60_000 },
    ], { unlistOn: ['stop'] });
    expect(unlistedText(last)).toEqual([X, '2001:db8:100:500::/56']);
    expect(table.size).toBe(0);
  });

  it('never records an address outside the client’s pools', () => {
    const { table, last } = replay([{ type: 'Start', client: 'partner', session: 'p', address: X, prefix: '2001:db8:100:600::/56', at: 1000 }]);
    expect(table.size).toBe(0);
    expect(last.refused.map((r) => r.address)).toEqual([X, '2001:db8:100:600::/56']);
  });
});

describe('stale reasons', () => {
  it('are the ones the metric documents', () => {
    expect([...METRIC_STALE_REASONS]).toEqual([...STALE_REASONS]);
  });
});

describe('sessions.max', () => {
  it('evicts the oldest session to make room, and says which', () => {
    const { table, last } = replay(
      [
        { type: 'Start', session: 'first', address: '10.64.0.1', at: 1000 },
        { type: 'Start', session: 'second', address: '10.64.0.2', at: 2000 },
        { type: 'Interim', session: 'first', at: 3000 },
        { type: 'Start', session: 'third', address: '10.64.0.3', at: 4000 },
      ],
      { maxSessions: 2 },
    );
    expect(last.evicted.map((s) => s.sessionId)).toEqual(['second']);
    expect([...table.entries()].map((s) => s.sessionId).sort()).toEqual(['first', 'third']);
  });
});

describe('an Interim-Update without addresses', () => {
  it('refreshes its session but does not take back an address a newer session holds', () => {
    const { table, last } = replay([
      { type: 'Start', session: 'A', nas: NAS_A, address: X, prefix: '2001:db8:100:700::/56', at: 1000 },
      { type: 'Start', session: 'B', nas: NAS_B, address: X, at: 2000 },
      { type: 'Interim', session: 'A', nas: NAS_A, at: 3000 },
    ]);
    expect(last.upsert.map((s) => s.addresses.map((a) => a.text))).toEqual([['2001:db8:100:700::/56']]);
    expect(table.ownerOf(X)?.sessionId).toBe('B');
  });
});
