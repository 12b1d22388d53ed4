/**
 * A Stop's journal record: what a backlog appends hundreds of thousands of. It names the session
 * and the NAS's stop time (what the stopped-session memory keeps), not the receive time, and the
 * rows formats 2 and 3 wrote with the receive time still replay the same.
 */
import { describe, expect, it } from 'vitest';
import { encodeRecord } from '../../src/queue/record.js';
import { QueueState, removalRow, sessionRow, type JournalRecord } from '../../src/queue/state.js';
import { stoppedRowsOf } from '../helpers/stopped-rows.js';

function stateOf(records: Iterable<JournalRecord>): QueueState {
  const state = new QueueState();
  for (const record of records) state.apply(record);
  return state;
}

const HEADER: JournalRecord = { t: 'h', v: 3, seq: 1, at: 0 };

describe("a Stop's journal record", () => {
  it('names the session and the NAS stop time only: 72 bytes framed, 14 fewer than with the receive time', () => {
    const row = removalRow({ client: 'bench-nas', nas: '192.0.2.10', sessionId: 'b-123456', stoppedAt: { at: 1_764_459_616_123, nasTime: 1_764_459_616 } });
    expect(row).toEqual(['bench-nas', '192.0.2.10', 'b-123456', 1_764_459_616]);
    expect(encodeRecord({ t: 'c', r: [row] }).length).toBe(72);
    expect(encodeRecord({ t: 'c', r: [['bench-nas', '192.0.2.10', 'b-123456', 1_764_459_616_123, 1_764_459_616]] }).length).toBe(86);
  });

  it('keeps a stop without an Event-Timestamp as a stop, apart from a session only forgotten', () => {
    expect(removalRow({ client: 'ras1', nas: 'n', sessionId: 's', stoppedAt: { at: 5, nasTime: undefined } })).toEqual(['ras1', 'n', 's', 0]);
    expect(removalRow({ client: 'ras1', nas: 'n', sessionId: 's' })).toEqual(['ras1', 'n', 's']);
  });

  it('replays to the same state whether the row has the receive time (formats 2 and 3 before) or not', () => {
    const open = (sessionId: string): JournalRecord => ({
      t: 'c',
      u: [sessionRow({ client: 'ras1', nas: 'n', sessionId, addresses: ['10.64.0.1'], updatedAt: 9000, eventAt: 9000 })],
    });
    const old = stateOf([HEADER, open('a'), { t: 'c', r: [['ras1', 'n', 'a', 9500, 1_800_000_200]] }, { t: 'c', r: [['ras1', 'n', 'b', 9600, 0]] }]);
    const now = stateOf([HEADER, open('a'), { t: 'c', r: [['ras1', 'n', 'a', 1_800_000_200]] }, { t: 'c', r: [['ras1', 'n', 'b', 0]] }]);
    for (const state of [old, now]) {
      expect(state.sessions.get('ras1', 'n', 'a')).toBeUndefined();
      expect(state.sessions.stoppedAt('ras1', 'n', 'a')).toEqual({ nasTime: 1_800_000_200 });
      expect(state.sessions.stoppedAt('ras1', 'n', 'b')).toEqual({ nasTime: undefined });
      expect(state.sessions.stoppedAt('ras1', 'n', 'c')).toBeUndefined();
    }
    expect(stoppedRowsOf(now.sessions.stoppedColumns(1024))).toEqual(stoppedRowsOf(old.sessions.stoppedColumns(1024)));
  });

  it('forgets a session with a three-long row without remembering it as stopped', () => {
    const state = stateOf([
      HEADER,
      { t: 'c', u: [sessionRow({ client: 'ras1', nas: 'n', sessionId: 'old', addresses: ['10.64.0.1'], updatedAt: 9000, eventAt: 9000 })] },
      { t: 'c', r: [['ras1', 'n', 'old']] },
    ]);
    expect(state.sessions.get('ras1', 'n', 'old')).toBeUndefined();
    expect(state.sessions.stoppedAt('ras1', 'n', 'old')).toBeUndefined();
  });
});
