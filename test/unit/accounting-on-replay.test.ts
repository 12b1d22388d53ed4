/**
 * A replayed or delayed Accounting-On/Off, older than every session its NAS has now, is judged
 * from the session table's per-NAS time bounds (src/sessions/earliest-times.ts) without a scan of
 * the whole table: a captured Accounting-On of a large NAS, replayed from new source ports past
 * the duplicate cache, cost about a second of the event loop each time. The shortcut must never
 * change a plan: the property below holds every Accounting-On/Off against the same event planned
 * with the scan forced.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accountingEvent, type AccountingEvent } from '../../src/accounting/event.js';
import { planEvent, type EventPlan, type PlanContext, type SessionLookup } from '../../src/accounting/plan.js';
import { parsePrefix } from '../../src/net/address.js';
import { SessionTable } from '../../src/sessions/table.js';
import { accountingAttributes } from '../helpers/accounting.js';

const CONTEXT: PlanContext = {
  pools: [parsePrefix('10.64.0.0/16')],
  unlistOn: new Set(['start', 'stop', 'accounting-on', 'accounting-off']),
  maxSessions: 100_000,
};
const T0 = 1_700_000_000;

/** An Accounting-On (7) or Off (8) of `nas` through client `client`, received at `receivedAt` ms. */
function restart(nas: string, receivedAt: number, eventTimestamp: number | undefined, statusType = 7, client = 'ras1'): AccountingEvent {
  const attributes = accountingAttributes({ statusType, nasIpAddress: nas, ...(eventTimestamp === undefined ? {} : { eventTimestamp }) });
  return accountingEvent(attributes, client, nas, receivedAt);
}

/** Applies a plan to the table as the queue store commits one. */
function commit(table: SessionTable, plan: EventPlan): void {
  for (const removal of plan.remove) {
    if (removal.stoppedAt) table.stop(removal, removal.stoppedAt);
    else table.remove(removal.client, removal.nas, removal.sessionId);
  }
  for (const session of plan.upsert) table.upsert(session);
}

/** The real table, counting its whole-table scans. */
function counted(table: SessionTable): { lookup: SessionLookup; scans: () => number } {
  let scans = 0;
  const lookup: SessionLookup = {
    get: (client, nas, sessionId) => table.get(client, nas, sessionId),
    ownerOf: (address) => table.ownerOf(address),
    sessionsOfNas: (client, nas) => {
      scans++;
      return table.sessionsOfNas(client, nas);
    },
    earliestOfNas: (client, nas) => table.earliestOfNas(client, nas),
    stoppedAt: (client, nas, sessionId) => table.stoppedAt(client, nas, sessionId),
    oldest: (count, client) => table.oldest(count, client),
    sessionsOfClient: (client) => table.sessionsOfClient(client),
    get size() {
      return table.size;
    },
  };
  return { lookup, scans: () => scans };
}

/** The real table with no time bounds known: every Accounting-On/Off scans, as before the shortcut. */
function scanning(table: SessionTable): SessionLookup {
  const lookup = counted(table).lookup;
  return { ...lookup, earliestOfNas: (client, nas) => (table.earliestOfNas(client, nas) ? { at: -Infinity, atWithoutNasTime: -Infinity, nasTime: -Infinity } : undefined), get size() { return table.size; } };
}

describe('a replayed Accounting-On', () => {
  it('is judged without a scan once the NAS has only sessions newer than it, and changes nothing', () => {
    const table = new SessionTable();
    const nas = '192.0.2.10';
    // 300 sessions before the NAS restarted, then the restart, then 200 sessions after it.
    for (let i = 0; i < 300; i++) table.upsert({ client: 'ras1', nas, sessionId: `old-${i}`, addresses: [`10.64.${10 + (i >> 8)}.${i & 255}`], updatedAt: 10_000 + i, eventAt: 10_000 + i, nasTime: T0 + i });
    // The Accounting-On itself came late: a session started after the restart was recorded first, and stays.
    table.upsert({ client: 'ras1', nas, sessionId: 'first-after', addresses: ['10.64.3.1'], updatedAt: 19_000, eventAt: 19_000, nasTime: T0 + 1001 });
    const on = restart(nas, 20_000, T0 + 1000);
    const { lookup, scans } = counted(table);
    const real = planEvent(on, lookup, CONTEXT);
    expect(real.remove).toHaveLength(300);
    expect(real.stale).toEqual([{ reason: 'sessions_newer' }]);
    commit(table, real);
    for (let i = 0; i < 200; i++) table.upsert({ client: 'ras1', nas, sessionId: `new-${i}`, addresses: [`10.64.2.${i}`], updatedAt: 21_000 + i, eventAt: 21_000 + i, nasTime: T0 + 1001 + i });
    expect(scans()).toBe(1);

    // The replays arrive later by this host's clock, from new source ports: only the NAS's clock shows them old.
    for (let replay = 0; replay < 50; replay++) {
      const plan = planEvent(restart(nas, 30_000 + replay, T0 + 1000), lookup, CONTEXT);
      expect(plan).toEqual({ upsert: [], remove: [], evicted: [], unlist: [], refused: [], stale: [{ reason: 'sessions_newer' }] });
    }
    // The first replay scans (the removed sessions still lower the NAS's bound) and makes the bound exact; the rest do not.
    expect(scans()).toBe(2);
    expect(table.size).toBe(201);
  });

  it("is judged without any scan when the restart ended all of its NAS's sessions", () => {
    const table = new SessionTable();
    const nas = '192.0.2.10';
    for (let i = 0; i < 100; i++) table.upsert({ client: 'ras1', nas, sessionId: `old-${i}`, addresses: [`10.64.1.${i}`], updatedAt: 10_000 + i, eventAt: 10_000 + i, nasTime: T0 + i });
    const { lookup, scans } = counted(table);
    commit(table, planEvent(restart(nas, 20_000, T0 + 1000), lookup, CONTEXT));
    // The NAS's scope went with its last session; those recorded since bound it afresh.
    table.upsert({ client: 'ras1', nas, sessionId: 'new', addresses: ['10.64.2.1'], updatedAt: 21_000, eventAt: 21_000, nasTime: T0 + 1001 });
    for (let replay = 0; replay < 10; replay++) expect(planEvent(restart(nas, 30_000, T0 + 1000), lookup, CONTEXT).remove).toEqual([]);
    expect(scans()).toBe(1);
  });

  it('still scans and wipes when it is newer than a session: a real restart', () => {
    const table = new SessionTable();
    const nas = '192.0.2.10';
    table.upsert({ client: 'ras1', nas, sessionId: 'a', addresses: ['10.64.0.1'], updatedAt: 10_000, eventAt: 10_000, nasTime: T0 });
    const { lookup } = counted(table);
    expect(planEvent(restart(nas, 20_000, T0 - 1), lookup, CONTEXT).remove).toEqual([]);
    // The scan above made the bound exact; a restart one second after the session still ends it.
    expect(planEvent(restart(nas, 20_000, T0 + 1), lookup, CONTEXT).remove.map((removal) => removal.sessionId)).toEqual(['a']);
  });

  it("at the very time of the NAS's earliest session leaves it, judged without a scan, by either clock", () => {
    const table = new SessionTable();
    const nas = '192.0.2.10';
    table.upsert({ client: 'ras1', nas, sessionId: 'clocked', addresses: ['10.64.0.1'], updatedAt: 10_000, eventAt: 10_000, nasTime: T0 });
    table.upsert({ client: 'ras1', nas, sessionId: 'unclocked', addresses: ['10.64.0.2'], updatedAt: 12_000, eventAt: 12_000 });
    const { lookup, scans } = counted(table);
    const newer = [{ reason: 'sessions_newer' }];
    // Its own clock against the clocked session, receive time against the other; then receive time against both.
    expect(planEvent(restart(nas, 12_000, T0), lookup, CONTEXT).stale).toEqual(newer);
    expect(planEvent(restart(nas, 10_000, undefined), lookup, CONTEXT).stale).toEqual(newer);
    expect(scans()).toBe(0);
  });

  it('without Event-Timestamp is judged by receive time, and a replay of it looks as new as its arrival', () => {
    const table = new SessionTable();
    const nas = '192.0.2.10';
    table.upsert({ client: 'ras1', nas, sessionId: 'a', addresses: ['10.64.0.1'], updatedAt: 10_000, eventAt: 10_000 });
    const { lookup, scans } = counted(table);
    expect(planEvent(restart(nas, 9_000, undefined), lookup, CONTEXT).stale).toEqual([{ reason: 'sessions_newer' }]);
    expect(scans()).toBe(0);
    expect(planEvent(restart(nas, 11_000, undefined), lookup, CONTEXT).remove.map((removal) => removal.sessionId)).toEqual(['a']);
    // A NAS clock on the On does not order it against a session recorded without one: receive time does.
    expect(planEvent(restart(nas, 11_000, T0 - 5), lookup, CONTEXT).remove.map((removal) => removal.sessionId)).toEqual(['a']);
    expect(planEvent(restart(nas, 9_000, T0 + 5), lookup, CONTEXT).remove).toEqual([]);
  });

  it('plans exactly what the scan plans, whatever the sessions, their clocks and the removals before it', () => {
    const nases = ['192.0.2.10', '192.0.2.11'];
    const sessionArbitrary = fc.record({
      nas: fc.constantFrom(...nases),
      client: fc.constantFrom('ras1', 'ras2'),
      id: fc.integer({ min: 0, max: 15 }),
      address: fc.integer({ min: 1, max: 20 }),
      at: fc.integer({ min: 0, max: 40 }),
      lag: fc.integer({ min: -2, max: 3 }),
      nasTime: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
    });
    const step = fc.oneof(
      fc.record({ kind: fc.constant('record' as const), session: sessionArbitrary }),
      fc.record({ kind: fc.constant('forget' as const), nas: fc.constantFrom(...nases), client: fc.constantFrom('ras1', 'ras2'), id: fc.integer({ min: 0, max: 15 }) }),
      fc.record({
        kind: fc.constant('restart' as const),
        nas: fc.constantFrom(...nases),
        client: fc.constantFrom('ras1', 'ras2'),
        at: fc.integer({ min: 0, max: 45 }),
        nasTime: fc.option(fc.integer({ min: 0, max: 45 }), { nil: undefined }),
        off: fc.boolean(),
      }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const table = new SessionTable();
        for (const action of steps) {
          if (action.kind === 'record') {
            const { session } = action;
            const at = 100_000 + session.at * 1000;
            table.upsert({
              client: session.client,
              nas: session.nas,
              sessionId: `s${session.id}`,
              addresses: [`10.64.0.${session.address}`],
              updatedAt: at,
              // A lag below zero is an event time after the receive time; the table keeps it within bounds.
              eventAt: at - session.lag * 1000,
              ...(session.nasTime === undefined ? {} : { nasTime: T0 + session.nasTime }),
            });
          } else if (action.kind === 'forget') {
            table.remove(action.client, action.nas, `s${action.id}`);
          } else {
            const event = restart(action.nas, 100_000 + action.at * 1000, action.nasTime === undefined ? undefined : T0 + action.nasTime, action.off ? 8 : 7, action.client);
            // Planned first: a scan makes the bounds exact, and the bounds left loose by removals are what this holds.
            const planned = planEvent(event, table, CONTEXT);
            const expected = planEvent(event, scanning(table), CONTEXT);
            expect(planned).toEqual(expected);
            commit(table, planned);
          }
        }
      }),
      { numRuns: 400 },
    );
  });
});
