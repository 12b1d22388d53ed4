/**
 * Merging pending unlists, as pure rules over the queue state: what a new unlist may wait for, the
 * lanes a commit's job goes to, and which failed deliveries newer ones take over.
 */
import { describe, expect, it } from 'vitest';
import { canonicalPrefix, parsePrefix } from '../../src/net/address.js';
import { coveringJob, distinctTargets, rebuiltCover, supersededDeliveries, unlistLanes } from '../../src/queue/merge.js';
import { laneKey, QueueState, type JobState } from '../../src/queue/state.js';

const A = laneKey('bind', 'rbl.example.net');
const B = laneKey('bind', 'rbl6.example.net');

/** A state holding these jobs: [id, targets, pending lanes]. */
function stateWith(jobs: readonly [number, string[], string[]][]): QueueState {
  const state = new QueueState();
  for (const [i, t, p] of jobs) state.apply({ t: 'c', j: { i, t, r: { event: 'stop', client: 'ras1', nas: 'nas1' }, a: 0, p } });
  return state;
}
const job = (state: QueueState, id: number): JobState => state.jobs.get(id)!;
const nothingInFlight = (): boolean => false;

describe('coveringJob', () => {
  it.each<[string, [number, string[], string[]][], (id: number) => boolean, string, number | undefined]>([
    ['the newest pending job of the target in the lane', [[1, ['10.64.0.1'], [A]], [2, ['10.64.0.1', '10.64.0.2'], [A]]], nothingInFlight, A, 2],
    ['none in another lane', [[1, ['10.64.0.1'], [A]]], nothingInFlight, B, undefined],
    ['not one whose call is under way: it may have been sent before the new event', [[1, ['10.64.0.1'], [A]], [2, ['10.64.0.1'], [A]]], (id) => id === 2, A, 1],
    ['none when every one is under way', [[1, ['10.64.0.1'], [A]]], () => true, A, undefined],
  ])('finds %s', (_, jobs, inFlight, lane, expected) => {
    expect(coveringJob(stateWith(jobs), lane, '10.64.0.1', (id) => inFlight(id))).toBe(expected);
  });

  it('forgets a job once its delivery in the lane is done', () => {
    const state = stateWith([[1, ['10.64.0.1'], [A, B]]]);
    state.apply({ t: 'd', l: A, i: [1] });
    expect(coveringJob(state, A, '10.64.0.1', nothingInFlight)).toBeUndefined();
    expect(coveringJob(state, B, '10.64.0.1', nothingInFlight)).toBe(1);
    expect(state.pendingTargetCount()).toBe(1);
  });
});

describe('unlistLanes', () => {
  const C = laneKey('pdns', 'rbl.example.net');
  const lanes = [A, B, C];

  it('goes to every lane, the very list given, when no lane has all the targets pending', () => {
    const state = stateWith([[1, ['10.64.0.1'], [A]]]);
    const merged = new Map<string, string[]>();
    expect(unlistLanes(state, lanes, ['10.64.0.1', '10.64.0.2'], nothingInFlight, merged)).toBe(lanes);
    expect(merged.size).toBe(0);
  });

  it('merges into the lanes where each target has a pending delivery, naming what each covers, and goes to the others', () => {
    const state = stateWith([
      [1, ['10.64.0.1'], [A, C]],
      [2, ['10.64.0.2'], [A]],
      [3, ['10.64.0.2'], [C]],
    ]);
    const merged = new Map<string, string[]>();
    expect(unlistLanes(state, lanes, ['10.64.0.1', '10.64.0.2'], nothingInFlight, merged)).toEqual([B]);
    expect(merged).toEqual(
      new Map([
        [`1 ${A}`, ['10.64.0.1']],
        [`2 ${A}`, ['10.64.0.2']],
        [`1 ${C}`, ['10.64.0.1']],
        [`3 ${C}`, ['10.64.0.2']],
      ]),
    );
  });

  it('leaves out the merged lanes alike when nobody waits on the deliveries, and not those whose only cover is in flight', () => {
    const state = stateWith([[1, ['10.64.0.1'], [A, B]]]);
    expect(unlistLanes(state, lanes, ['10.64.0.1'], nothingInFlight, undefined)).toEqual([C]);
    expect(unlistLanes(state, lanes, ['10.64.0.1'], (_id, lane) => lane === B, undefined)).toEqual([B, C]);
  });
});

describe('distinctTargets', () => {
  it('keeps the first of each canonical text, in order', () => {
    const prefixes = ['10.64.0.2', '10.64.0.1', '10.64.0.2/32', '2001:db8::1', '2001:DB8::1'].map((text) => canonicalPrefix(parsePrefix(text)));
    expect(distinctTargets(prefixes).map((prefix) => prefix.text)).toEqual(['10.64.0.2', '10.64.0.1', '2001:db8::1']);
  });
});

describe('the pending jobs of a target', () => {
  const pendingFor = (state: QueueState, target: string): number[] => [...(state.pendingJobsFor(A, target) ?? [])];

  it('holds one job, then several, then fewer as their deliveries are done, in any order', () => {
    const state = stateWith([[1, ['10.64.0.1'], [A]]]);
    expect(pendingFor(state, '10.64.0.1')).toEqual([1]);
    state.apply({ t: 'c', j: { i: 2, t: ['10.64.0.1'], r: { event: 'stop', client: 'ras1', nas: 'nas1' }, a: 0, p: [A] } });
    state.apply({ t: 'c', j: { i: 3, t: ['10.64.0.1', '10.64.0.2'], r: { event: 'stop', client: 'ras1', nas: 'nas1' }, a: 0, p: [A] } });
    expect(pendingFor(state, '10.64.0.1')).toEqual([1, 2, 3]);
    state.apply({ t: 'd', l: A, i: [2] });
    expect(pendingFor(state, '10.64.0.1')).toEqual([1, 3]);
    state.apply({ t: 'd', l: A, i: [1, 3] });
    expect(state.pendingJobsFor(A, '10.64.0.1')).toBeUndefined();
    expect(state.pendingJobsFor(A, '10.64.0.2')).toBeUndefined();
    expect(state.pendingTargetCount()).toBe(0);
  });

  it('keeps a lone job when another job of the target is done, and counts a job applied twice once', () => {
    const state = stateWith([[1, ['10.64.0.1'], [A]]]);
    // A job row read again (a snapshot replayed over records of the same job) replaces it.
    state.apply({ t: 'c', j: { i: 1, t: ['10.64.0.1'], r: { event: 'stop', client: 'ras1', nas: 'nas1' }, a: 0, p: [A] } });
    expect(pendingFor(state, '10.64.0.1')).toEqual([1]);
    state.apply({ t: 'd', l: A, i: [7] });
    expect(pendingFor(state, '10.64.0.1')).toEqual([1]);
    expect(state.pendingTargetCount()).toBe(1);
    expect(state.pendingCount).toBe(1);
  });
});

describe('supersededDeliveries', () => {
  it('takes over a failed delivery whose every target has a newer pending one, naming them', () => {
    const state = stateWith([
      [1, ['10.64.0.1', '10.64.0.2'], [A]],
      [2, ['10.64.0.1'], [A]],
      [3, ['10.64.0.2'], [A]],
    ]);
    expect(supersededDeliveries(state, A, [job(state, 1)], () => false)).toEqual([{ id: 1, by: new Map([[`2 ${A}`, new Set(['10.64.0.1'])], [`3 ${A}`, new Set(['10.64.0.2'])]]) }]);
  });

  it('keeps a failed delivery with a target nothing newer covers, or covered only by an older one', () => {
    const state = stateWith([
      [1, ['10.64.0.1'], [A]],
      [2, ['10.64.0.1', '10.64.0.2'], [A]],
      [3, ['10.64.0.1'], [B]],
    ]);
    expect(supersededDeliveries(state, A, [job(state, 2)], () => false)).toEqual([]);
    expect(supersededDeliveries(state, B, [job(state, 3)], () => false)).toEqual([]);
    expect(supersededDeliveries(state, A, [job(state, 1)], () => false)).toEqual([{ id: 1, by: new Map([[`2 ${A}`, new Set(['10.64.0.1'])]]) }]);
  });

  it('does not count a newer delivery in flight as covering: its delete may have gone out before the Stop that merged into the older job', () => {
    const state = stateWith([
      [1, ['10.64.0.1'], [A]],
      [2, ['10.64.0.1'], [A]],
    ]);
    expect(supersededDeliveries(state, A, [job(state, 1)], (id) => id === 2)).toEqual([]);
    expect(supersededDeliveries(state, A, [job(state, 1)], () => false)).toEqual([{ id: 1, by: new Map([[`2 ${A}`, new Set(['10.64.0.1'])]]) }]);
  });
});

describe('rebuiltCover', () => {
  const state = stateWith([
    [1, ['10.64.0.1'], [A]],
    [2, ['10.64.0.1'], [A]],
    [3, ['10.64.0.1'], [A]],
  ]);
  const none = (): boolean => false;
  it('waits on the newest delivery neither in flight nor held, as a commit merges', () => {
    expect(rebuiltCover(state, A, '10.64.0.1', (id) => id === 3, none)).toEqual({ wait: 2 });
  });
  it('else on the newest held one, which goes again after now, not on a newer call in flight', () => {
    const held = (id: number): boolean => id === 1;
    expect(rebuiltCover(state, A, '10.64.0.1', (id) => id >= 2 || held(id), held)).toEqual({ wait: 1 });
  });
  it('asks for a new delivery when only calls in flight cover the target, and for nothing when none is pending', () => {
    expect(rebuiltCover(state, A, '10.64.0.1', () => true, none)).toEqual({ again: 3 });
    expect(rebuiltCover(state, B, '10.64.0.1', none, none)).toBeUndefined();
  });
});
