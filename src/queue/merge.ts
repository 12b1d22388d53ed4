/**
 * How the backlog stays bounded by targets rather than events (pure code over the queue state):
 * a new unlist of a target whose delivery in a lane is pending and not yet sent waits for that one
 * instead of making another (the lanes a commit's job goes to); and a delivery whose call failed
 * while newer pending deliveries took up all its targets is superseded by them, since they are sent
 * later and unlist everything it would have.
 */
import type { CanonicalPrefix } from '../net/address.js';
import type { JobState, QueueState } from './state.js';
import { deliveryKey } from './waiters.js';

/** The newest job whose delivery of `target` in `lane` is pending and not in flight, if any. */
export function coveringJob(state: QueueState, lane: string, target: string, inFlight: (id: number, lane: string) => boolean): number | undefined {
  let best: number | undefined;
  for (const id of state.pendingJobsFor(lane, target) ?? []) {
    if ((best === undefined || id > best) && !inFlight(id, lane)) best = id;
  }
  return best;
}

/** The targets without repeats (by canonical text), in order; an Accounting-On may name thousands. */
export function distinctTargets(prefixes: readonly CanonicalPrefix[]): CanonicalPrefix[] {
  const seen = new Set<string>();
  const out: CanonicalPrefix[] = [];
  for (const prefix of prefixes) {
    if (seen.has(prefix.text)) continue;
    seen.add(prefix.text);
    out.push(prefix);
  }
  return out;
}

/**
 * The lanes a new unlist of `targets` goes to: all of `laneKeys` (that very list, not copied) unless
 * some lane merges it into pending deliveries, then those that do not. Each delivery merged into
 * goes in `merged`, when given, with the targets of it it covers: the map the commit's caller waits
 * on, passed in rather than returned so that a commit makes no object more than it did.
 */
export function unlistLanes(
  state: QueueState,
  laneKeys: readonly string[],
  targets: readonly string[],
  inFlight: (id: number, lane: string) => boolean,
  merged: Map<string, string[]> | undefined,
): readonly string[] {
  let some: string[] | undefined;
  for (let i = 0; i < laneKeys.length; i++) {
    const lane = laneKeys[i]!;
    const cover = coveringJobs(state, lane, targets, inFlight);
    if (cover === undefined) {
      some?.push(lane);
      continue;
    }
    if (merged) {
      for (let t = 0; t < cover.length; t++) {
        const key = deliveryKey(cover[t]!, lane);
        const own = merged.get(key);
        if (own) own.push(targets[t]!);
        else merged.set(key, [targets[t]!]);
      }
    }
    some ??= laneKeys.slice(0, i);
  }
  return some ?? laneKeys;
}

/** The pending, unsent jobs that would unlist every one of `targets` in `lane`; undefined when one has none. */
function coveringJobs(state: QueueState, lane: string, targets: readonly string[], inFlight: (id: number, lane: string) => boolean): number[] | undefined {
  const ids: number[] = [];
  for (const target of targets) {
    const id = coveringJob(state, lane, target, inFlight);
    if (id === undefined) return undefined;
    ids.push(id);
  }
  return ids;
}

/**
 * What a waiter left on a delivery that never reached the disk waits on for `target` after a
 * rebuild: as a commit merges, the newest pending delivery that is neither in flight nor held,
 * else the newest held one (it goes again after now); when only calls in flight cover it, which may
 * have gone out before the Stop, a new delivery (`again`, of the newest of those jobs' request);
 * nothing when no delivery is pending.
 */
export function rebuiltCover(
  state: QueueState,
  lane: string,
  target: string,
  inFlight: (id: number, lane: string) => boolean,
  held: (id: number, lane: string) => boolean,
): { readonly wait: number } | { readonly again: number } | undefined {
  const queued = coveringJob(state, lane, target, inFlight) ?? coveringJob(state, lane, target, (id) => !held(id, lane));
  if (queued !== undefined) return { wait: queued };
  const calling = coveringJob(state, lane, target, () => false);
  return calling === undefined ? undefined : { again: calling };
}

/** A delivery that newer ones take over: its job id and the delivery keys that cover its targets, each with those it covers. */
export interface Superseded {
  readonly id: number;
  readonly by: ReadonlyMap<string, ReadonlySet<string>>;
}

/**
 * Of `jobs`, pending in `lane`, those whose every target has a newer pending delivery in the lane
 * that is not in flight (nor held): a call sent before may have gone out before the Stop that
 * merged into the job came, and its delete says nothing of the address since.
 */
export function supersededDeliveries(state: QueueState, lane: string, jobs: readonly JobState[], inFlight: (id: number, lane: string) => boolean): Superseded[] {
  const out: Superseded[] = [];
  for (const job of jobs) {
    if (!job.pending.includes(lane)) continue;
    const by = new Map<string, Set<string>>();
    let covered = true;
    for (const target of job.targets) {
      let newest = -1;
      for (const id of state.pendingJobsFor(lane, target) ?? []) if (id > job.id && id > newest && !inFlight(id, lane)) newest = id;
      if (newest === -1) {
        covered = false;
        break;
      }
      const key = deliveryKey(newest, lane);
      const targets = by.get(key);
      if (targets) targets.add(target);
      else by.set(key, new Set([target]));
    }
    if (covered) out.push({ id: job.id, by });
  }
  return out;
}
