/**
 * Backend.unlist's failure when part of the call went through. An HTTP API takes one request per
 * name, and one name the API keeps failing (a 500 for that record alone) says nothing of the
 * others: were the whole call retried, that one name would hold back every unlist queued behind
 * it, and their addresses would stay listed for the next customers. The worker delivers the jobs
 * whose targets are all in `unlisted` and retries only the rest.
 */
import { RblError } from '../errors.js';
import type { IpPrefix } from '../net/address.js';

export class PartlyUnlisted extends RblError {
  /** The failure of the targets that were not unlisted (the first one seen). */
  readonly failure: RblError;
  /** The targets that were unlisted: some of those the call was given, the same objects. */
  readonly unlisted: readonly IpPrefix[];

  constructor(failure: RblError, unlisted: readonly IpPrefix[]) {
    super(failure.code, failure.message, { cause: failure, transient: failure.transient, refusal: failure.refusal, retryAfterMs: failure.retryAfterMs });
    this.failure = failure;
    this.unlisted = unlisted;
  }
}
