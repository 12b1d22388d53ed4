/**
 * What becomes of pending deliveries whose lane (backend and zone) left the config, pure code over
 * the queue state. A backend leaves when it is removed, and also when its name changes: without
 * `name:`, a new `server:` is a new backend. Its pending unlists go to the backends that serve the
 * same zone now, so moving a zone to another primary (the moment a backlog is most likely: the old
 * one went down) loses none, and the next customer does not inherit a listing. Only a zone that no
 * backend serves any more drops them.
 *
 * A backend that serves the zone may already have unlisted the job's addresses (it was configured
 * beside the one that left): it gets them again, and a delete of a name that is gone deletes
 * nothing. That is the cost of never knowing less than the journal knows; a lost delivery is a
 * listing nobody removes. For the same reason a zone that no backend serves any more keeps its
 * deliveries, as dead letters: a reload that dropped a backend by mistake (a config file read
 * half-written) loses nothing, and `queue retry` sends them once a backend serves the zone again.
 */
import { splitLane, type JobState } from './state.js';

/**
 * A job's pending deliveries in lanes that left (`from`), given to the lanes that serve their zones
 * now (`to`). The store journals it as a new job with the same targets, reason and time for `to`,
 * and the old deliveries dropped: records 0.3 reads too, so a downgrade still reads the journal.
 */
export interface HandOver {
  readonly id: number;
  readonly from: string[];
  readonly to: string[];
}

/** One job's pending delivery in a lane that left. */
export type Drop = [id: number, lane: string];

export interface LaneChanges {
  readonly handOvers: HandOver[];
  /** Deliveries whose zone's configured lanes all have the job already (pending or dead-lettered): nothing is lost by dropping them. */
  readonly drops: Drop[];
  /** Deliveries of a zone no configured lane serves: to be kept as dead letters. */
  readonly unserved: Drop[];
}

/**
 * For every pending delivery of `jobs` in a lane not in `configured`: the configured lanes of the
 * same zone where that job is neither pending nor dead-lettered; a drop when every such lane has
 * it already; unserved when the zone has no configured lane. Dead letters stay where they are:
 * `queue retry` re-drives them, and then they come through here.
 */
export function laneChanges(jobs: Iterable<JobState>, configured: readonly string[]): LaneChanges {
  const current = new Set(configured);
  const lanesByZone = new Map<string, string[]>();
  for (const lane of configured) {
    const { zone } = splitLane(lane);
    const lanes = lanesByZone.get(zone) ?? [];
    lanes.push(lane);
    lanesByZone.set(zone, lanes);
  }
  const handOvers: HandOver[] = [];
  const drops: Drop[] = [];
  const unserved: Drop[] = [];
  for (const job of jobs) {
    let handOver: HandOver | undefined;
    for (const lane of job.pending) {
      if (current.has(lane)) continue;
      const serving = lanesByZone.get(splitLane(lane).zone) ?? [];
      if (serving.length === 0) {
        unserved.push([job.id, lane]);
        continue;
      }
      const heirs = serving.filter((heir) => !job.pending.includes(heir) && !job.dead.some((dead) => dead.lane === heir));
      if (heirs.length === 0) {
        drops.push([job.id, lane]);
        continue;
      }
      handOver ??= { id: job.id, from: [], to: [] };
      handOver.from.push(lane);
      // Two lanes of one zone that left hand over to the same heirs: each is listed once.
      for (const heir of heirs) if (!handOver.to.includes(heir)) handOver.to.push(heir);
    }
    if (handOver) handOvers.push(handOver);
  }
  return { handOvers, drops, unserved };
}
