/**
 * Pending deliveries of a backend that left the config, as pure rules over the queue state: which
 * lanes take them over, which are dropped (another lane of the zone has them) and which are kept
 * as dead letters (no lane serves the zone). (What the store journals for them, and its replay:
 * queue-backend-left.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { laneChanges } from '../../src/queue/handover.js';
import { laneKey, QueueState, type JobRow } from '../../src/queue/state.js';

const ZONE = 'rbl.example.net';
const OTHER_ZONE = 'rbl6.example.net';
const OLD = laneKey('dns-update 127.0.0.1:5301', ZONE);
const OLD_OTHER = laneKey('dns-update 127.0.0.1:5301', OTHER_ZONE);
const NEW = laneKey('dns-update 127.0.0.1:5302', ZONE);
const API = laneKey('http api.example.net', ZONE);

function row(i: number, p: string[], x: JobRow['x'] = undefined): JobRow {
  return { i, t: [`10.64.0.${i}`], r: { event: 'stop', client: 'ras1', nas: 'nas1', sessionId: `s${i}` }, a: 1000 + i, p, ...(x ? { x } : {}) };
}

function stateWith(...rows: JobRow[]): QueueState {
  const state = new QueueState();
  for (const j of rows) state.apply({ t: 'c', j });
  return state;
}

describe('laneChanges', () => {
  it('hands a lane that left to every configured lane of its zone', () => {
    const state = stateWith(row(1, [OLD]), row(2, [OLD, OLD_OTHER]));
    expect(laneChanges(state.jobs.values(), [NEW, API])).toEqual({
      handOvers: [
        { id: 1, from: [OLD], to: [NEW, API] },
        { id: 2, from: [OLD], to: [NEW, API] },
      ],
      drops: [],
      unserved: [[2, OLD_OTHER]],
    });
  });

  it('changes nothing while every pending lane is configured', () => {
    const state = stateWith(row(1, [OLD, NEW]));
    expect(laneChanges(state.jobs.values(), [OLD, NEW])).toEqual({ handOvers: [], drops: [], unserved: [] });
  });

  it('does not hand a job to a lane where it is already pending or dead-lettered', () => {
    const state = stateWith(row(1, [OLD, NEW]), row(2, [OLD], [[API, 5, 'RBL_HTTP_STATUS', 'HTTP 403']]));
    expect(laneChanges(state.jobs.values(), [NEW, API])).toEqual({
      handOvers: [
        { id: 1, from: [OLD], to: [API] },
        { id: 2, from: [OLD], to: [NEW] },
      ],
      drops: [],
      unserved: [],
    });
    // Already pending in the one lane that serves the zone: nothing to hand over, nothing lost.
    expect(laneChanges(state.jobs.values(), [NEW])).toEqual({ handOvers: [{ id: 2, from: [OLD], to: [NEW] }], drops: [[1, OLD]], unserved: [] });
    // Dead-lettered in the one lane that serves the zone: that dead letter holds it.
    expect(laneChanges(state.jobs.values(), [API])).toEqual({ handOvers: [{ id: 1, from: [OLD, NEW], to: [API] }], drops: [[2, OLD]], unserved: [] });
  });

  it('leaves dead letters of a lane that left where they are', () => {
    const state = stateWith(row(1, [], [[OLD, 5, 'RBL_DNS_REFUSED', 'REFUSED']]));
    expect(laneChanges(state.jobs.values(), [NEW])).toEqual({ handOvers: [], drops: [], unserved: [] });
  });

  it('names each heir once when two lanes of a zone left, and gives each zone its own', () => {
    const OLDER = laneKey('dns-update 127.0.0.1:5300', ZONE);
    const NEW_OTHER = laneKey('dns-update 127.0.0.1:5302', OTHER_ZONE);
    const state = stateWith(row(1, [OLDER, OLD, OLD_OTHER]));
    expect(laneChanges(state.jobs.values(), [NEW, NEW_OTHER])).toEqual({
      handOvers: [{ id: 1, from: [OLDER, OLD, OLD_OTHER], to: [NEW, NEW_OTHER] }],
      drops: [],
      unserved: [],
    });
  });

  it('keeps every pending delivery, none dropped, when no backend is configured', () => {
    const state = stateWith(row(1, [OLD]), row(2, [OLD, OLD_OTHER]));
    expect(laneChanges(state.jobs.values(), [])).toEqual({
      handOvers: [],
      drops: [],
      unserved: [
        [1, OLD],
        [2, OLD],
        [2, OLD_OTHER],
      ],
    });
  });
});
