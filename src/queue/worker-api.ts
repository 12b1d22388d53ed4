/**
 * What the delivery worker (worker.ts) asks of, and reports to, the store, and how it is tuned.
 * Apart from the worker so that the modules on either side of it share these types without
 * importing the worker itself: its retries (lane-retries.ts) report through the same host, and the
 * store's continuations (continuations.ts) take the parts of a call done in part as they are named here.
 */
import type { RblError } from '../errors.js';
import type { IpPrefix } from '../net/address.js';
import type { BackoffPolicy } from './backoff.js';
import type { JobState } from './state.js';

/** A job a call did in part: the targets it unlisted (a target of it failed). */
export interface PartDone {
  readonly job: JobState;
  readonly unlisted: readonly string[];
}

/** What the worker asks of, and reports to, the store. */
export interface WorkerHost {
  /** The job, if its delivery in this lane is still pending. */
  pendingJob(id: number, lane: string): JobState | undefined;
  /** The job's targets as prefixes, in the order of its text targets (never parsed again per call). */
  targetPrefixes(job: JobState): readonly IpPrefix[];
  delivered(lane: string, jobs: readonly JobState[]): void;
  /**
   * Jobs a call unlisted in part (`unlisted`; a target of each failed): each goes on in this lane
   * alone as a new job of its targets left, and the part done is reported delivered. Returns the
   * new jobs by the old ids; one no longer pending in the lane has none.
   */
  continuedInPart(lane: string, parts: readonly PartDone[]): ReadonlyMap<number, JobState>;
  retryScheduled(lane: string, jobs: readonly JobState[], error: Error, attempt: number, delayMs: number): void;
  deadLettered(lane: string, job: JobState, error: RblError): void;
}

export interface WorkerOptions {
  /** Most targets in one Backend.unlist call. */
  readonly maxTargets: number;
  /** Calls in flight per lane. */
  readonly concurrency: number;
  readonly backoff: BackoffPolicy;
  readonly random: () => number;
}
