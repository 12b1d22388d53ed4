/**
 * What a lane does when a call to its backend ends, other than sending the next: the jobs of a call
 * that failed for now go back to the lane's front and the lane pauses (exponential backoff with
 * jitter, or the server's Retry-After); names that failed for themselves are held on a wait of
 * their own (held-jobs.ts); a refused call's jobs go one per call (refusal-pass.ts); a job failing
 * for good becomes a dead letter; and a call that went through, in whole or in part, ends the
 * lane's failure count. Apart from the worker, which takes the batches and makes the calls
 * (worker.ts), so each reads as one thing; the lanes' state stays in lane.ts, and the worker
 * starts what a retry's timer sends (RetryKicks).
 */
import { RblError } from '../errors.js';
import type { IpPrefix } from '../net/address.js';
import type { TargetFailures } from '../backends/target-failures.js';
import { callOutcome } from './call-outcome.js';
import { RefusalPass } from './refusal-pass.js';
import type { Lane } from './lane.js';
import { backoffDelay } from './backoff.js';
import type { JobState } from './state.js';
import type { WorkerHost, WorkerOptions } from './worker-api.js';

/** What the retries ask of the worker that runs the lanes. */
export interface RetryKicks {
  /** No new calls start (the worker is closing): no timer is set to start one. */
  closed(): boolean;
  /** Sends what is pending in the lane, now (its pause is over). */
  kick(lane: Lane): void;
  /** Sends what is pending in the lane after the current poll phase. */
  scheduleKick(lane: Lane): void;
}

/** The retries of the worker's lanes: each method is what a call's end does to its lane. */
export class LaneRetries {
  readonly #host: WorkerHost;
  readonly #options: WorkerOptions;
  readonly #worker: RetryKicks;

  constructor(host: WorkerHost, options: WorkerOptions, worker: RetryKicks) {
    this.#host = host;
    this.#options = options;
    this.#worker = worker;
  }

  /**
   * Jobs of a call went through: the call ends the lane's failure count, counts for its refusal
   * pass and for the names held after a refusal (#tookOthers); held ones are held no more.
   */
  succeeded(lane: Lane, jobs: readonly JobState[]): void {
    lane.failures = 0;
    lane.callsThrough++;
    if (lane.refusedWhen.size > 0) for (const job of jobs) lane.refusedWhen.delete(job.id);
    if (lane.refusals) {
      if (lane.solo.length === 0) lane.refusals = undefined;
      else lane.refusals.succeeded();
    }
    if (lane.held.size > 0) for (const job of jobs) lane.held.forget(job.id);
    this.#host.delivered(lane.key, jobs);
  }

  /**
   * A call the backend did in part: the jobs whose targets were all unlisted are delivered, those
   * that failed are held (or dead letters: failed for good, or refused while other names of the
   * call went through), as new jobs of their targets left when
   * some went through, the untried go again first. The lane
   * backs off when the whole API failed (for that failure, with its Retry-After), or when it took
   * none of a call with new jobs in it; a call of held jobs alone that went nowhere is their own
   * wait's business.
   */
  targetsFailed(lane: Lane, jobs: readonly JobState[], targets: readonly IpPrefix[], held: ReadonlySet<number> | undefined, error: TargetFailures): void {
    const { done, failed, untried } = callOutcome(jobs, targets, error);
    if (done.length > 0) this.succeeded(lane, done);
    // A failed job whose other names went through goes on as a new job of the names left (the
    // store journals it), held in its place: its retries send those alone.
    const parts = failed.filter((outcome) => outcome.unlisted.length > 0);
    const heirs = parts.length > 0 ? this.#host.continuedInPart(lane.key, parts) : undefined;
    const hold: { job: JobState; error: RblError }[] = [];
    for (const outcome of failed) {
      const heir = heirs?.get(outcome.job.id);
      if (heir) {
        lane.held.replace(outcome.job.id, heir.id);
        // An heir means names of the call went through: a refusal of it is judged at once, below.
        lane.refusedWhen.delete(outcome.job.id);
      }
      const job = heir ?? outcome.job;
      if (outcome.error.transient) {
        hold.push({ job, error: outcome.error });
      } else if (outcome.error.refusal && !this.#tookOthers(lane, job, error)) {
        // A refusal (a 403) while the API took no other name may be the key's for every name (a
        // token without the zone's permission since a rotation): held and tried again, as a zone
        // that refuses everything pauses its lane (refusal-pass.ts).
        if (!lane.refusedWhen.has(job.id)) lane.refusedWhen.set(job.id, lane.callsThrough);
        hold.push({ job, error: outcome.error });
      } else if (outcome.error.refusal) {
        this.deadLettered(lane, job, new RblError(outcome.error.code, `${outcome.error.message}; refused for this name alone, while the API took others`));
      } else {
        this.deadLettered(lane, job, outcome.error);
      }
    }
    if (hold.length > 0 || held?.size) this.heldTried(lane, held !== undefined && held.size > 0, done.some((job) => held?.has(job.id)), hold, error.serverFailure);
    const fresh = untried.filter((job) => !lane.held.has(job.id));
    const newInCall = jobs.some((job) => !held?.has(job.id));
    if (error.serverFailure) {
      // The whole API failed: what was not tried goes first again, after the lane's backoff.
      this.putBack(lane, fresh);
      this.backOff(lane, fresh, error.serverFailure, false);
    } else if (error.unlisted.length === 0 && newInCall) {
      // Names failing for themselves, none going through: the API may fail every name, or they
      // were the oldest of the queue (a restart forgot which were held). The tried ones are held
      // now; the untried go behind what is queued, the newest first (a Stop that came meanwhile
      // tells best whether the API takes anything), after the lane's backoff, which the first
      // call that goes through ends.
      lane.queue.push(...fresh.map((job) => job.id).reverse());
      this.backOff(lane, fresh, error.failure, false);
    } else {
      if (error.unlisted.length > 0) lane.failures = 0;
      this.putBack(lane, fresh);
    }
  }

  /**
   * After a call: `tried`, held jobs went with it, `wentThrough`, one of them went through; `failed`,
   * jobs of it that failed for now (held ones again, or new ones), held with their failure. Held
   * jobs wait on their own backoff unless one went through; each failed job is reported once.
   */
  heldTried(lane: Lane, tried: boolean, wentThrough: boolean, failed: readonly { job: JobState; error: RblError }[], serverFailure?: RblError): void {
    lane.held.hold(failed.map(({ job }) => job.id));
    const failures = lane.held.afterCall(tried, wentThrough);
    let waitMs = lane.held.due ? 0 : Math.max(0, lane.heldDueAt - Date.now());
    if (failures !== undefined) {
      // As long as the API asked, if it did (a Retry-After with the failure of the whole API).
      const delayMs = this.#retryDelay(failures, serverFailure ?? failed[0]?.error ?? new Error('held'));
      clearTimeout(lane.heldTimer);
      lane.heldTimer = undefined;
      lane.heldDueAt = Date.now() + delayMs;
      waitMs = delayMs;
      if (!this.#worker.closed()) {
        lane.heldTimer = setTimeout(() => {
          lane.heldTimer = undefined;
          lane.held.becameDue();
          this.#worker.scheduleKick(lane);
        }, delayMs);
        lane.heldTimer.unref();
      }
    }
    for (const { job, error } of failed) this.#host.retryScheduled(lane.key, [job], error, Math.max(lane.held.failures, 1), waitMs);
  }

  /** Whether the API took other names in this call, or in a call since `job` was first refused: then the refusal is the name's own. */
  #tookOthers(lane: Lane, job: JobState, call: TargetFailures): boolean {
    const refusedWhen = lane.refusedWhen.get(job.id);
    return call.unlisted.length > 0 || (refusedWhen !== undefined && lane.callsThrough > refusedWhen);
  }

  deadLettered(lane: Lane, job: JobState, error: RblError): void {
    lane.held.forget(job.id);
    lane.refusedWhen.delete(job.id);
    this.#host.deadLettered(lane.key, job, error);
  }

  /** The wait before retry number `attempt`: the backoff, or what the server asked for if longer, never over the backoff's maximum. */
  #retryDelay(attempt: number, error: Error): number {
    const backoff = backoffDelay(attempt, this.#options.backoff, this.#options.random);
    const asked = error instanceof RblError ? error.retryAfterMs : undefined;
    return asked === undefined ? backoff : Math.max(backoff, Math.min(asked, this.#options.backoff.maxMs));
  }

  /** Pauses the lane after a failure (not for a call to a replaced backend) and reports the retry. */
  backOff(lane: Lane, jobs: readonly JobState[], error: Error, retired: boolean): void {
    if (!retired) lane.failures++;
    let delayMs = retired ? 0 : this.#retryDelay(lane.failures, error);
    // A pause under way that ends later stays: another call's failure (a Retry-After) asked for it.
    if (!retired && lane.timer && lane.retryAt > Date.now() + delayMs) {
      delayMs = lane.retryAt - Date.now();
    } else if (!retired && !this.#worker.closed()) {
      clearTimeout(lane.timer);
      lane.retryAt = Date.now() + delayMs;
      lane.timer = setTimeout(() => {
        lane.timer = undefined;
        this.#worker.kick(lane);
      }, delayMs);
      lane.timer.unref();
    }
    this.#host.retryScheduled(lane.key, jobs, error, lane.failures, delayMs);
  }

  /** A refused call: its jobs one per call, a job refused for itself a dead letter, a zone refusing all a pause. */
  refused(lane: Lane, jobs: readonly JobState[], error: RblError): void {
    lane.refusals ??= new RefusalPass();
    const step = lane.refusals.refused(jobs.length, lane.solo.length);
    const job = jobs[0]!;
    switch (step) {
      case 'split':
        lane.solo.push(...jobs.map((each) => each.id));
        this.#host.retryScheduled(lane.key, jobs, error, lane.failures, 0);
        return;
      case 'try-others':
        lane.solo.push(job.id);
        return;
      case 'dead-letter':
        this.deadLettered(lane, job, new RblError(error.code, `${error.message}; refused for these names alone, while the zone took others`));
        // The pass ends with its last job: a later refusal (a zone frozen since) is judged afresh.
        if (lane.solo.length === 0) lane.refusals = undefined;
        return;
      case 'pause':
        // Back at the front, not alone: after the pause it goes with what came meanwhile, and if
        // only it is refused then, the next pass shows it, instead of holding the others back.
        this.putBack(lane, jobs);
        this.backOff(lane, jobs, error, false);
        return;
    }
  }

  /** Puts a call's jobs back at the lane's front, to be taken first; held ones stay held. */
  putBack(lane: Lane, jobs: readonly JobState[]): void {
    const ids = jobs.flatMap((job) => (lane.held.size > 0 && lane.held.has(job.id) ? [] : [job.id]));
    if (ids.length === 0) return;
    lane.front = [...ids, ...lane.front.slice(lane.frontHead)];
    lane.frontHead = 0;
  }
}
