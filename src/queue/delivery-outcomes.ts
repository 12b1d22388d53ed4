/**
 * What the store does with each outcome of a delivery the worker reports (worker-api.ts): a call
 * that went through is one record and its waiters are done; one that failed for now is reported
 * with its next try, and a failed delivery whose targets newer pending ones all cover is dropped
 * for those (merge.ts); one refused for good becomes a dead letter whose waiters fail. Apart from
 * the store, which holds the state and the journal these are recorded in; a call done in part goes
 * on as new jobs (continuations.ts).
 */
import { RblError } from '../errors.js';
import type { ContinuationHost } from './continuations.js';
import { supersededDeliveries } from './merge.js';
import { jobView, splitLane, type JobState } from './state.js';
import { deliveryKey } from './waiters.js';

/** What the outcomes need of the store: what the continuations do, and which calls are in flight. */
export interface OutcomeHost extends Pick<ContinuationHost, 'state' | 'record' | 'emit' | 'waiters' | 'attempts'> {
  /** The delivery is in a call under way: it cannot be superseded. */
  readonly inFlight: (id: number, lane: string) => boolean;
}

/** The store's side of the worker's reports: each method is what one outcome of a call does to the queue. */
export class DeliveryOutcomes {
  readonly #host: OutcomeHost;

  constructor(host: OutcomeHost) {
    this.#host = host;
  }

  /** One record and one event for the whole call; then the waiters, since the delivery is recorded. */
  delivered(lane: string, jobs: readonly JobState[]): void {
    this.#host.record({ t: 'd', l: lane, i: jobs.map((job) => job.id) });
    this.#host.emit({ type: 'delivered', ...splitLane(lane), jobs: jobs.map(jobView), at: Date.now() });
    if (this.#host.waiters.size > 0) for (const job of jobs) this.#host.waiters.done(deliveryKey(job.id, lane));
    if (this.#host.attempts.size > 0) for (const job of jobs) this.#host.attempts.forget(job.id, lane);
  }

  retryScheduled(lane: string, failed: readonly JobState[], error: Error, attempt: number, delayMs: number): void {
    // A job dropped while its call was under way (pools narrowed, the backend left) is not retried.
    const jobs = failed.filter((job) => job.pending.includes(lane));
    if (jobs.length === 0) return;
    const targets = [...new Set(jobs.flatMap((job) => job.targets))];
    this.#host.emit({ type: 'retry-scheduled', ...splitLane(lane), jobs: jobs.map(jobView), targets, error, attempt, delayMs });
    const code = error instanceof RblError ? error.code : error.name;
    for (const job of jobs) {
      this.#host.attempts.failed(job.id, lane, code, error.message, Date.now() + delayMs);
      job.sendPrefixes = undefined;
    }
    this.#mergeSuperseded(lane, jobs);
  }

  deadLettered(lane: string, job: JobState, error: RblError): void {
    if (!job.pending.includes(lane)) return;
    const now = Date.now();
    const view = jobView(job);
    this.recordDeadLetter(lane, job, error, now);
    this.#host.emit({ type: 'dead-lettered', ...splitLane(lane), job: view, error, latencyMs: now - job.createdAt });
  }

  /** Journals the delivery as a dead letter and fails whoever waits on it; the caller reports it. */
  recordDeadLetter(lane: string, job: JobState, error: RblError, at: number): void {
    this.#host.record({ t: 'x', l: lane, i: job.id, a: at, c: error.code, m: error.message });
    job.sendPrefixes = undefined;
    this.#host.waiters.failed(deliveryKey(job.id, lane), error);
    this.#host.attempts.forget(job.id, lane);
  }

  /** Failed deliveries whose targets newer pending ones all cover are dropped; their waiters wait for those. */
  #mergeSuperseded(lane: string, jobs: readonly JobState[]): void {
    const state = this.#host.state();
    const inFlight = this.#host.inFlight;
    // The failed jobs, and the older queued ones of their targets: a call in flight when those
    // failed could not supersede them, and the failed jobs, queued again now, can.
    const candidates = new Map<number, JobState>();
    for (const job of jobs) {
      candidates.set(job.id, job);
      for (const target of job.targets) {
        for (const id of state.pendingJobsFor(lane, target) ?? []) {
          const older = id < job.id && !candidates.has(id) && !inFlight(id, lane) ? state.jobs.get(id) : undefined;
          if (older) candidates.set(id, older);
        }
      }
    }
    const superseded = supersededDeliveries(state, lane, [...candidates.values()], inFlight);
    if (superseded.length === 0) return;
    this.#host.record({ t: 'g', d: superseded.map(({ id }) => [id, lane]) });
    for (const { id, by } of superseded) {
      this.#host.waiters.moved(deliveryKey(id, lane), by);
      this.#host.attempts.forget(id, lane);
    }
  }
}
