/**
 * Backend.unlist's failure when the backend knows what became of each target: an HTTP API takes
 * one request per name, and a name the API fails for itself (a 500 for that record alone) says
 * nothing of the others. Were the whole call retried, that name would hold back every unlist
 * queued behind it, and their addresses would stay listed for the next customers. The worker
 * delivers the jobs whose targets were all unlisted, holds those that failed for themselves
 * (queue/held-jobs.ts), each as a new job of the targets it has left when some were unlisted, and
 * sends the untried ones again.
 */
import { RblError } from '../errors.js';
import type { IpPrefix } from '../net/address.js';

export class TargetFailures extends RblError {
  /** The first failure of the call: what a caller that does not look further reports. */
  readonly failure: RblError;
  /** The targets that were unlisted: some of those the call was given, the same objects. */
  readonly unlisted: readonly IpPrefix[];
  /** Targets tried that failed, each with its failure. The others were not tried. */
  readonly failed: ReadonlyMap<IpPrefix, RblError>;
  /**
   * Set when the call stopped for a failure of the whole API (no connection, a time-out, 429 or
   * 503, a rejected key): what it did not try would have failed too, and the lane backs off for
   * this failure (its Retry-After).
   */
  readonly serverFailure: RblError | undefined;

  constructor(failure: RblError, unlisted: readonly IpPrefix[], failed: ReadonlyMap<IpPrefix, RblError>, serverFailure: RblError | undefined) {
    super(failure.code, failure.message, { cause: failure, transient: failure.transient, refusal: failure.refusal, retryAfterMs: failure.retryAfterMs });
    this.failure = failure;
    this.unlisted = unlisted;
    this.failed = failed;
    this.serverFailure = serverFailure;
  }
}
