/** Retry spacing for transient backend failures: exponential, capped, with jitter. Pure code. */

export interface BackoffPolicy {
  /** The first retry waits about this long (default 1 s). */
  readonly baseMs: number;
  /** No wait exceeds this (default 60 s). */
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 1000, maxMs: 60_000 });

/**
 * The wait before retry number `attempt` (1 for the first): base·2^(attempt-1) capped at max, then
 * "equal jitter", half fixed and half random, so many lanes failing together do not retry in step.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(attempt, 1) - 1, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
