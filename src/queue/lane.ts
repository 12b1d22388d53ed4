/**
 * A lane: the deliveries of one backend and zone, with their own queue, calls in flight, backoff
 * and held jobs, so one zone's outage never holds up another (worker.ts runs them).
 */
import type { Backend } from '../backends/types.js';
import { HeldJobs } from './held-jobs.js';
import type { RefusalPass } from './refusal-pass.js';

export interface Lane {
  readonly key: string;
  readonly zone: string;
  backend: Backend;
  /** Job ids in arrival order; `head` is the next to take. */
  queue: number[];
  head: number;
  /**
   * Jobs put back by a transient failure, taken first from `frontHead` on: after an outage this is
   * the whole backlog, and shifting a 20,000-element array per job made each batch quadratic.
   */
  front: number[];
  frontHead: number;
  /** Jobs of a batch refused permanently, or refused (RblError.refusal), retried one per call. */
  solo: number[];
  /** Set while the jobs of a refused batch are tried one per call (refusal-pass.ts). */
  refusals: RefusalPass | undefined;
  /** Jobs that failed for themselves (a name an HTTP API keeps failing), and their wait (held-jobs.ts). */
  readonly held: HeldJobs;
  /** Calls the backend took names of: whether the API took others since a held name was refused. */
  callsThrough: number;
  /** Held jobs refused (an HTTP 403) while the API took no other name, each with `callsThrough` then. */
  readonly refusedWhen: Map<number, number>;
  heldTimer: NodeJS.Timeout | undefined;
  /** When the held jobs' wait ends (epoch ms). */
  heldDueAt: number;
  readonly inFlight: Set<number>;
  /** Calls in flight to the lane's current backend: the slots of `concurrency`, and those a small batch waits for (see #kick). */
  callsToBackend: number;
  /** Of those, calls of held jobs alone (held-jobs.ts): a small batch does not wait for them. */
  heldOnlyCalls: number;
  /** Counts the backend replacements, so a call's end is told apart from a call to a former backend. */
  backendGeneration: number;
  failures: number;
  timer: NodeJS.Timeout | undefined;
  retryAt: number;
  kickScheduled: boolean;
  removed: boolean;
}

/**
 * Jobs queued in the lane and not yet taken, new ones and those put back after a failure (some may
 * have been delivered or dropped meanwhile). Jobs retried alone after a permanent refusal go one
 * call at a time: they are few, and the server refused them once.
 */
export function waitingJobs(lane: Lane): number {
  return lane.queue.length - lane.head + (lane.front.length - lane.frontHead);
}

export function newLane(key: string, backend: Backend, zone: string): Lane {
  return { key, zone, backend, queue: [], head: 0, front: [], frontHead: 0, solo: [], refusals: undefined, held: new HeldJobs(), callsThrough: 0, refusedWhen: new Map(), heldTimer: undefined, heldDueAt: 0, inFlight: new Set(), callsToBackend: 0, heldOnlyCalls: 0, backendGeneration: 0, failures: 0, timer: undefined, retryAt: 0, kickScheduled: false, removed: false };
}
