/**
 * Pending unlists when the pools narrow (a reload, a start on a changed config): which jobs go on
 * whole, which go on with the targets still allowed, which are dropped. Pure rules here; what the
 * store journals and sends: queue-pools-narrowed.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { parsePrefix, prefixContains } from '../../src/net/address.js';
import { narrowToPools } from '../../src/queue/pool-narrowing.js';
import { laneKey, QueueState, type JobRow } from '../../src/queue/state.js';

const LANE = laneKey('bind', 'rbl.example.net');
const API = laneKey('api', 'rbl.example.net');

function row(i: number, targets: string[], p: string[], client = 'ras1', x: JobRow['x'] = undefined): JobRow {
  return { i, t: targets, r: { event: 'accounting-on', client, nas: 'nas1' }, a: 1000 + i, p, ...(x ? { x } : {}) };
}

function stateWith(...rows: JobRow[]): QueueState {
  const state = new QueueState();
  for (const j of rows) state.apply({ t: 'c', j });
  return state;
}

const inside = (pool: string) => (target: ReturnType<typeof parsePrefix>) => prefixContains(parsePrefix(pool), target);
const parsed = (job: { targets: readonly string[] }) => job.targets.map((target) => parsePrefix(target));

describe('narrowToPools', () => {
  it('leaves jobs wholly inside alone, narrows those partly inside, and drops every pending lane of those wholly outside', () => {
    const state = stateWith(row(1, ['10.64.0.1'], [LANE, API]), row(2, ['10.64.0.2', '10.65.0.2', '10.64.0.3'], [LANE, API]), row(3, ['10.65.0.4', '10.65.0.5'], [LANE, API]));
    expect(narrowToPools(state.jobs.values(), inside('10.64.0.0/16'), parsed)).toEqual({
      narrowed: [{ id: 2, targets: ['10.64.0.2', '10.64.0.3'], lanes: [LANE, API] }],
      drops: [
        [3, LANE],
        [3, API],
      ],
      refused: ['10.65.0.2', '10.65.0.4', '10.65.0.5'],
    });
  });

  it('passes each target with the client of its event', () => {
    const state = stateWith(row(1, ['10.64.0.1'], [LANE], 'ras1'), row(2, ['10.64.0.1'], [LANE], 'ras2'));
    const asked: string[] = [];
    const result = narrowToPools(state.jobs.values(), (_, client) => (asked.push(client), client === 'ras1'), parsed);
    expect(asked).toEqual(['ras1', 'ras2']);
    expect(result.drops).toEqual([[2, LANE]]);
  });

  it('leaves dead letters alone: a retry brings them back to pending, and they are judged then', () => {
    const state = stateWith(row(1, ['10.65.0.1'], [], 'ras1', [[LANE, 5, 'RBL_DNS_REFUSED', 'REFUSED']]));
    expect(narrowToPools(state.jobs.values(), () => false, parsed)).toEqual({ narrowed: [], drops: [], refused: [] });
  });

  it('refuses a target whose journaled text does not parse: no pool holds it', () => {
    const state = stateWith(row(1, ['10.64.0.1', 'not-an-address'], [LANE]));
    const lenient = (job: { targets: readonly string[] }) => job.targets.map((target) => (target.startsWith('10.') ? parsePrefix(target) : undefined));
    expect(narrowToPools(state.jobs.values(), () => true, lenient)).toEqual({ narrowed: [{ id: 1, targets: ['10.64.0.1'], lanes: [LANE] }], drops: [], refused: ['not-an-address'] });
  });

  it('changes nothing when the pools allow everything', () => {
    const state = stateWith(row(1, ['10.64.0.1', '2001:db8::/56'], [LANE]));
    expect(narrowToPools(state.jobs.values(), () => true, parsed)).toEqual({ narrowed: [], drops: [], refused: [] });
  });
});
