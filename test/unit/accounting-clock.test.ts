/**
 * Which of two accounting events came first (src/accounting/order.ts, design "Event order"):
 * Event-Timestamp (RFC 2869 §5.3) orders only events of the same client and NAS, otherwise the
 * receive time less Acct-Delay-Time (RFC 2866 §5.2) does; only the NAS clock proves an order.
 */
import { describe, expect, it } from 'vitest';
import { happenedBefore, provablyAfter, restartedAfter, sessionTime, type EventTime } from '../../src/accounting/order.js';

const at = (ms: number, nasTime: number | undefined, client = 'ras1', nas = '192.0.2.10'): EventTime => ({ client, nas, at: ms, nasTime });

describe('happenedBefore', () => {
  it.each([
    ['same NAS: the NAS clock decides, against the receive time', at(2000, 100), at(1000, 200), true],
    ['same NAS: a later NAS time is not before', at(1000, 200), at(2000, 100), false],
    ['same NAS: the same NAS second is not before', at(1000, 100), at(2000, 100), false],
    ['same NAS, one side without a NAS time: the receive time decides', at(1000, undefined), at(2000, 50), true],
    ['same NAS, the other side without a NAS time: the receive time decides', at(1000, 200), at(2000, undefined), true],
    ['another client: the receive time decides', at(1000, 200, 'ras2'), at(2000, 100), true],
    ['another NAS: the receive time decides', at(1000, 200, 'ras1', '192.0.2.11'), at(2000, 100), true],
    ['another NAS, later receive time', at(2000, 100, 'ras1', '192.0.2.11'), at(1000, 200), false],
    ['the same receive time is not before', at(1000, undefined), at(1000, undefined), false],
    ['a NAS time of 0 still orders (a clock at the epoch)', at(2000, 0), at(1000, 1), true],
  ] as const)('%s', (_case, a, b, before) => {
    expect(happenedBefore(a, b)).toBe(before);
  });
});

describe('provablyAfter', () => {
  it.each([
    ['a later NAS time of the same NAS', at(1000, 200), at(2000, 100), true],
    ['the same NAS second', at(2000, 100), at(1000, 100), false],
    ['an earlier NAS time', at(2000, 100), at(1000, 200), false],
    ['a later receive time without NAS times', at(2000, undefined), at(1000, undefined), false],
    ['a later receive time, the other without a NAS time', at(2000, 200), at(1000, undefined), false],
    ['a later NAS time of another client', at(1000, 200, 'ras2'), at(1000, 100), false],
    ['a later NAS time of another NAS', at(1000, 200, 'ras1', '192.0.2.11'), at(1000, 100), false],
  ] as const)('holds for %s: %s', (_case, a, b, after) => {
    expect(provablyAfter(a, b)).toBe(after);
  });
});

describe('restartedAfter', () => {
  it.each([
    ['a NAS time after the stop', 200, 100, true],
    ['the stop second', 100, 100, false],
    ['a NAS time before the stop', 50, 100, false],
    ['no NAS time on the event (a replay arrives "now")', undefined, 100, false],
    ['no NAS time on the stop', 200, undefined, false],
  ] as const)('holds for %s: %s', (_case, eventNasTime, stopNasTime, restarted) => {
    expect(restartedAfter(at(9_000, eventNasTime), { nasTime: stopNasTime })).toBe(restarted);
  });
});

describe('sessionTime', () => {
  it('is the time of the session’s newest Start or Interim-Update, by its own client and NAS', () => {
    const session = { client: 'ras1', nas: '192.0.2.10', sessionId: 's', addresses: [], updatedAt: 5, eventAt: 4, nasTime: 3 };
    expect(sessionTime(session)).toEqual({ client: 'ras1', nas: '192.0.2.10', at: 4, nasTime: 3 });
  });
});
