/**
 * What became of each job of a call that a backend did in part (backends/target-failures.ts): a
 * job is done when every one of its targets was unlisted, its own failure when one of its targets
 * failed for itself, and untried otherwise (the call stopped before its names, or for a failure of
 * the whole API). Pure code.
 */
import type { TargetFailures } from '../backends/target-failures.js';
import type { RblError } from '../errors.js';
import type { IpPrefix } from '../net/address.js';
import type { JobState } from './state.js';

export interface CallOutcome {
  readonly done: JobState[];
  /**
   * Jobs a target of which failed for itself, each with that failure and those of its targets the
   * call unlisted all the same (none when it was the job's only target).
   */
  readonly failed: { readonly job: JobState; readonly error: RblError; readonly unlisted: readonly string[] }[];
  readonly untried: JobState[];
}

/**
 * Sorts the call's jobs. `targets` are the prefixes the call was given: the jobs' distinct targets
 * in their order (the worker's #targetsOf), so the n-th new text of the jobs names the n-th prefix.
 * Only a call that failed in part pays for this pairing, not every call.
 */
export function callOutcome(jobs: readonly JobState[], targets: readonly IpPrefix[], error: TargetFailures): CallOutcome {
  const texts = new Map<IpPrefix, string>();
  const seen = new Set<string>();
  for (const job of jobs) {
    for (const target of job.targets) {
      if (seen.has(target)) continue;
      seen.add(target);
      texts.set(targets[texts.size]!, target);
    }
  }
  const unlisted = new Set<string | undefined>(error.unlisted.map((prefix) => texts.get(prefix)));
  const failedBy = new Map<string | undefined, RblError>([...error.failed].map(([prefix, failure]) => [texts.get(prefix), failure]));
  const outcome: CallOutcome = { done: [], failed: [], untried: [] };
  for (const job of jobs) {
    if (job.targets.every((target) => unlisted.has(target))) {
      outcome.done.push(job);
      continue;
    }
    // A name failing for now makes the job wait, not a dead letter: the retry may take it, and
    // then the names refused for good go on alone, to the dead letters.
    const own = job.targets.find((target) => failedBy.get(target)?.transient) ?? job.targets.find((target) => failedBy.has(target));
    if (own === undefined) outcome.untried.push(job);
    else outcome.failed.push({ job, error: failedBy.get(own)!, unlisted: job.targets.filter((target) => unlisted.has(target)) });
  }
  return outcome;
}
