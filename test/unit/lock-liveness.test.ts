/**
 * Whether a state.dir lock's holder still runs (lock-liveness.ts), from the record alone: checked by
 * pid and start time when the holder runs in our PID namespace on this host and boot; otherwise by
 * whether it refreshed the lock while we watched. Locks of 0.3 and older are judged as 0.3 did,
 * except one from another container on this boot, which nothing can check.
 */
import { describe, expect, it } from 'vitest';
import { describeHolder, holderMayStillRun, judgeLock, parseLockRecord, STALE_MS, type LockRecord, type LockVerdict, type OwnIdentity, type ProcessSighting } from '../../src/queue/lock-liveness.js';

const BOOT = '22562985-d653-4867-ad95-5ad286f1cb36';
const OTHER_BOOT = 'ffffffff-0000-0000-0000-000000000000';
const OUR_NS = 'pid:[4026532178]';
const OTHER_NS = 'pid:[4026532301]';

/** We are PID 1 of a container named web-2, started at tick 500. */
const own: OwnIdentity = { pid: 1, host: 'web-2', boot: BOOT, start: '500', pidns: OUR_NS };
/** What our /proc shows: pid 40 runs since tick 300; nothing else runs. */
const look = (pid: number): ProcessSighting => (pid === 40 ? { running: true, start: '300' } : pid === 41 ? { running: true } : { running: false });

const justSeen = { unchangedForMs: 0, sawRefresh: false };
const refreshedWhileWatched = { unchangedForMs: 1000, sawRefresh: true };
const unrefreshedTooLong = { unchangedForMs: STALE_MS, sawRefresh: true };
const almostTooLong = { unchangedForMs: STALE_MS - 1, sawRefresh: false };

/** A lock this release writes: it records where its holder runs, and is refreshed. */
const current = (fields: Partial<LockRecord>): LockRecord => ({ pid: 1, since: 1, nonce: 'n', role: 'serve', host: 'web-2', boot: BOOT, start: '500', pidns: OUR_NS, refreshed: 2, ...fields });
/** A lock 0.2 and 0.3 wrote (git show deff3d9:src/queue/lock.ts): no PID namespace, never refreshed. */
const of03 = (fields: Partial<LockRecord>): LockRecord => ({ pid: 1, since: 1, nonce: 'n', role: 'serve', host: 'web-2', boot: BOOT, start: '500', ...fields });

describe('judging a lock this release wrote', () => {
  it.each([
    // [what, record, watched, verdict]
    ['our own process holds it', current({}), justSeen, 'held'],
    ['our pid, another start: this container PID 1 restarted in the same namespace', current({ start: '499' }), justSeen, 'stale'],
    ['a process of our namespace that runs, with the recorded start', current({ pid: 40, start: '300' }), justSeen, 'held'],
    ['a pid of our namespace reused by a later process', current({ pid: 40, start: '299' }), justSeen, 'stale'],
    ['a pid of our namespace that no longer runs', current({ pid: 77 }), justSeen, 'stale'],
    ['a pid that runs where /proc does not show its start (another user, elsewhere)', current({ pid: 41 }), justSeen, 'held'],
    // The bug: another container's PID 1 looks like ourselves restarted; its pid cannot be seen from here.
    ['PID 1 of another PID namespace, just seen', current({ pidns: OTHER_NS, start: '100' }), justSeen, 'watching'],
    ['PID 1 of another PID namespace, refreshed while we watched', current({ pidns: OTHER_NS, start: '100' }), refreshedWhileWatched, 'held'],
    ['PID 1 of another PID namespace, unrefreshed for almost STALE_MS', current({ pidns: OTHER_NS, start: '100' }), almostTooLong, 'watching'],
    ['PID 1 of another PID namespace, unrefreshed for STALE_MS', current({ pidns: OTHER_NS, start: '100' }), unrefreshedTooLong, 'stale'],
    ['a pid of another namespace that our /proc does not show', current({ pid: 77, pidns: OTHER_NS }), justSeen, 'watching'],
    ['another host, even with our namespace inode', current({ host: 'web-1' }), refreshedWhileWatched, 'held'],
    ['another host that stopped refreshing', current({ host: 'web-1', boot: OTHER_BOOT }), unrefreshedTooLong, 'stale'],
    ['another boot of the same host name: another machine, or before a reboot', current({ boot: OTHER_BOOT }), justSeen, 'watching'],
    ['a holder that could not read its PID namespace', current({ pidns: undefined }), justSeen, 'watching'],
  ] as const)('%s', (_what, record, watched, verdict) => {
    expect(judgeLock(record, own, look, watched)).toBe(verdict);
  });

  it('checks nothing by pid when our own PID namespace cannot be read (a /proc of another namespace)', () => {
    const blind: OwnIdentity = { ...own, pidns: undefined };
    expect(judgeLock(current({ pidns: undefined, pid: 77 }), blind, look, justSeen)).toBe('watching');
    expect(judgeLock(current({ pidns: undefined, pid: 77 }), blind, look, unrefreshedTooLong)).toBe('stale');
  });
});

describe('judging a lock of 0.3 or older, as those releases did', () => {
  it.each([
    ['our pid, another start: a container PID 1 restarted', of03({ start: '499' }), 'stale'],
    ['our pid, no start recorded (0.1)', { pid: 1, since: 1 }, 'stale'],
    ['a process of ours that runs, with the recorded start', of03({ pid: 40, start: '300' }), 'held'],
    ['a pid that runs, no start recorded (0.1)', { pid: 40, since: 1 }, 'held'],
    ['a pid reused by a later process', of03({ pid: 40, start: '299' }), 'stale'],
    ['a pid that no longer runs', of03({ pid: 77 }), 'stale'],
    ['before a reboot, though its pid runs now', of03({ pid: 40, start: '300', boot: OTHER_BOOT }), 'stale'],
    // 0.3 lost records here: another container, whose PID 1 we cannot see; the operator must decide.
    ['another host name on this boot: another container', of03({ host: 'web-1', start: '100' }), 'unverifiable'],
  ] as const)('%s', (_what, record, verdict: LockVerdict) => {
    // However long we watch: these locks are never refreshed.
    expect(judgeLock(record, own, look, justSeen)).toBe(verdict);
    expect(judgeLock(record, own, look, unrefreshedTooLong)).toBe(verdict);
  });
});

describe('the lock record', () => {
  it.each([
    ['this release', '{"pid":1,"host":"web-2","boot":"b","start":"5","pidns":"pid:[7]","since":3,"nonce":"n","role":"serve","refreshed":4}', current({ boot: 'b', start: '5', pidns: 'pid:[7]', since: 3, refreshed: 4 })],
    ['0.3', '{"pid":1,"boot":"b","start":"5","since":3,"nonce":"n","host":"web-2","role":"serve"}', of03({ boot: 'b', start: '5', since: 3 })],
    ['0.1', '{"pid":7,"since":3}', { pid: 7, since: 3 }],
    ['fields of the wrong type are left out', '{"pid":7,"since":"x","host":5,"refreshed":"4"}', { pid: 7, since: 0 }],
  ])('reads what %s wrote', (_what, text, record) => {
    expect(Object.fromEntries(Object.entries(parseLockRecord(text)!).filter(([, value]) => value !== undefined))).toEqual(record);
  });

  it.each(['', '{"pid":', 'null', '[]', '{"since":1}', '{"pid":"1"}'])('is not a lock record: %j', (text) => {
    expect(parseLockRecord(text)).toBeUndefined();
  });

  it('describes its holder: who, where, since when, and how long ago it was refreshed', () => {
    const record = current({ pidns: OTHER_NS, host: 'web-1', since: Date.UTC(2025, 0, 2, 3, 4, 5), refreshed: Date.UTC(2025, 0, 2, 3, 5, 0) });
    expect(describeHolder(record, Date.UTC(2025, 0, 2, 3, 5, 1, 500))).toBe(
      `rbl-unlist serve, pid 1 in PID namespace ${OTHER_NS} on host web-1 (boot ${BOOT}), since 2025-01-02T03:04:05.000Z, last refreshed 2025-01-02T03:05:00.000Z (1.5 s ago)`,
    );
    expect(describeHolder({ pid: 7, since: 0 }, 0)).toBe('rbl-unlist serve, pid 7, since 1970-01-01T00:00:00.000Z, never refreshed');
  });
});

describe('whether the holder of a lock found stale may still run', () => {
  it.each([
    // [what, record, may still run]
    ['a process of our namespace: judged dead by its pid', current({ pid: 77 }), false],
    ['our pid with another start: judged dead by its start time', current({ start: '499' }), false],
    ['PID 1 of another PID namespace: only its refreshes stopped', current({ pidns: OTHER_NS, start: '100' }), true],
    ['another host', current({ host: 'web-1', boot: OTHER_BOOT }), true],
    ['the same host name on another boot: another machine, or before a reboot', current({ boot: OTHER_BOOT }), true],
    ['a holder that could not read its PID namespace', current({ pidns: undefined }), true],
    ['a 0.3 lock: judged by boot and pid, never by refreshes', of03({ boot: OTHER_BOOT }), false],
  ] as const)('%s', (_what, record, mayRun) => {
    expect(holderMayStillRun(record, own)).toBe(mayRun);
  });

  it('is true when this process cannot read its own PID namespace, even for a lock naming it', () => {
    // Without our namespace nothing is known to run here: the lock was judged by its refreshes alone.
    expect(holderMayStillRun(current({}), { ...own, pidns: undefined })).toBe(true);
  });
});
