/**
 * How the backlog stays bounded by targets rather than events (pure code over the queue state):
 * a new unlist of a target whose delivery in a lane is pending and not yet sent waits for that one
 * instead of making another; and a delivery whose call failed while newer pending deliveries took up
 * all its targets is superseded by them, since they are sent later and unlist everything it would have.
 */
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
