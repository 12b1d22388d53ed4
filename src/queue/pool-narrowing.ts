/**
 * What becomes of pending unlists when the pools they were judged against narrow (a reload, or a
 * start on a changed config), pure code over the queue state. The safety rule holds for what is
 * still to be sent, not only for what arrives: an address outside the configured pools (or its
 * client's) is never unlisted. A job whose targets are all outside now has its pending deliveries
 * dropped; one with some inside continues as a new job of those, as a handover does (same reason
 * and time, new id), so the journal needs no record of a new kind.
 */
import type { IpPrefix } from '../net/address.js';
import type { Drop } from './handover.js';
import type { JobState } from './state.js';

/** Whether the target may be unlisted for the client that sent the event, by the config now. */
export type MayUnlist = (target: IpPrefix, client: string) => boolean;

/** A job that goes on with only these of its targets, in the lanes where it is pending. */
export interface Narrowing {
  readonly id: number;
  readonly targets: string[];
  readonly lanes: string[];
}

export interface PoolNarrowing {
  readonly narrowed: Narrowing[];
  /** Pending deliveries of jobs none of whose targets may be unlisted now. */
  readonly drops: Drop[];
  /** The targets refused, each once, for the warning. */
  readonly refused: string[];
}

/**
 * The pending deliveries whose targets the pools no longer allow. `prefixesOf` gives a job's
 * targets parsed, in order; undefined for one that does not parse, which no pool allows.
 */
export function narrowToPools(jobs: Iterable<JobState>, mayUnlist: MayUnlist, prefixesOf: (job: JobState) => readonly (IpPrefix | undefined)[]): PoolNarrowing {
  const narrowed: Narrowing[] = [];
  const drops: Drop[] = [];
  const refused = new Set<string>();
  for (const job of jobs) {
    if (job.pending.length === 0) continue;
    const prefixes = prefixesOf(job);
    const allowed: string[] = [];
    for (let i = 0; i < job.targets.length; i++) {
      const prefix = prefixes[i];
      if (prefix !== undefined && mayUnlist(prefix, job.reason.client)) allowed.push(job.targets[i]!);
      else refused.add(job.targets[i]!);
    }
    if (allowed.length === job.targets.length) continue;
    if (allowed.length > 0) narrowed.push({ id: job.id, targets: allowed, lanes: [...job.pending] });
    else for (const lane of job.pending) drops.push([job.id, lane]);
  }
  return { narrowed, drops, refused: [...refused] };
}
