/**
 * What the store shows of its pending work without changing it (store.ts): each delivery waiting
 * and its attempts, for `rbl-unlist queue list` and /status; the jobs that name an address, for
 * `rbl-unlist why` and GET /addresses/ADDRESS.
 */
import type { DeliveryAttempt, DeliveryAttempts } from './attempts.js';
import { jobView, splitLane, type QueueState } from './state.js';
import type { JobDeliveries } from './store-api.js';

/** Every pending delivery (a job in a lane), with its attempts so far and when it is tried next. */
export function deliveryAttempts(state: QueueState, attempts: DeliveryAttempts, nextTryAt: (id: number, lane: string) => number | undefined): DeliveryAttempt[] {
  const out: DeliveryAttempt[] = [];
  for (const job of state.jobs.values()) {
    for (const lane of job.pending) out.push(attempts.view(job.id, lane, nextTryAt(job.id, lane)));
  }
  return out;
}

/** The jobs with a target `matches` accepts, each with the lanes it is pending in and its dead letters. */
export function jobsMatching(state: QueueState, matches: (target: string) => boolean): JobDeliveries[] {
  const out: JobDeliveries[] = [];
  for (const job of state.jobs.values()) {
    if (!job.targets.some(matches)) continue;
    out.push({
      job: jobView(job),
      pending: job.pending.map(splitLane),
      dead: job.dead.map((dead) => ({ ...splitLane(dead.lane), failedAt: dead.failedAt, code: dead.code, message: dead.message })),
    });
  }
  return out;
}
