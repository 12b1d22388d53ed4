/**
 * Jobs that go on as other jobs: the deliveries of a backend that left the config handed over to
 * those that serve the zone now (handover.ts), a backlog narrowed to the pools a reload allows
 * (pool-narrowing.ts), and a job a call did in part (an HTTP API that failed one name of many).
 * Each journals the new job first and the old deliveries' drop after it, so a torn write keeps a
 * job, never the drop alone; the waiters and attempts follow the new job.
 */
import { RblError } from '../errors.js';
import { parsePrefix, type IpPrefix } from '../net/address.js';
import type { DeliveryAttempts } from './attempts.js';
import type { QueueEvent } from './events.js';
import { laneChanges, type Drop } from './handover.js';
import { narrowToPools, type MayUnlist } from './pool-narrowing.js';
import { jobView, splitLane, type JobRow, type JobState, type JournalRecord, type QueueState, type UnlistJob } from './state.js';
import { deliveryKey, type DeliveryWaiters } from './waiters.js';
import type { PartDone } from './worker-api.js';

/** What the continuations need of the store. */
export interface ContinuationHost {
  /** The state as it is now (a rebuild replaces it). */
  state(): QueueState;
  /** Applies and journals a record. */
  record(record: JournalRecord): void;
  /** Queues a delivery for the worker. */
  enqueue(id: number, lane: string): void;
  /** The lanes configured now. */
  laneKeys(): readonly string[];
  /** Journals a delivery as a dead letter and fails its waiters. */
  recordDeadLetter(lane: string, job: JobState, error: RblError, at: number): void;
  emit(event: QueueEvent): void;
  readonly waiters: DeliveryWaiters;
  readonly attempts: DeliveryAttempts;
}

export class JobContinuations {
  readonly #host: ContinuationHost;

  constructor(host: ContinuationHost) {
    this.#host = host;
  }

  /**
   * Pending deliveries of lanes no longer configured go to the lanes that serve their zone now
   * (handover.ts), with an event per lane that left; those of a zone nobody serves become dead
   * letters; those every serving lane has already are dropped.
   */
  handOverRemovedLanes(): void {
    const { handOvers, drops, unserved } = laneChanges(this.#host.state().jobs.values(), this.#host.laneKeys());
    if (handOvers.length > 0) {
      const handed = new Map<string, { to: Set<string>; jobs: UnlistJob[] }>();
      const settled: [number, string][] = [];
      for (const { id, from, to } of handOvers) {
        const job = this.#host.state().jobs.get(id)!;
        // Journaled before the old deliveries are dropped: a torn write keeps the new job, never the drop alone.
        const next = this.#continueAsNewJob(job, [...job.targets], [...to]);
        const view = jobView(this.#host.state().jobs.get(next)!);
        const all = new Set(job.targets);
        for (const lane of from) {
          settled.push([id, lane]);
          const { zone } = splitLane(lane);
          const heirs = to.filter((heir) => splitLane(heir).zone === zone);
          this.#moveToContinuation(deliveryKey(id, lane), new Map(heirs.map((heir) => [deliveryKey(next, heir), all])));
          const entry = handed.get(lane) ?? { to: new Set<string>(), jobs: [] };
          for (const heir of heirs) entry.to.add(splitLane(heir).backend);
          entry.jobs.push(view);
          handed.set(lane, entry);
        }
      }
      this.#host.record({ t: 'g', d: settled });
      for (const [lane, { to, jobs }] of handed) this.#host.emit({ type: 'delivery-handed-over', ...splitLane(lane), to: [...to], jobs });
    }
    if (drops.length > 0) {
      // Viewed before the record applies: a job with nothing left pending is gone after it.
      const dropped = new Map<string, UnlistJob[]>();
      for (const [id, lane] of drops) {
        const job = this.#host.state().jobs.get(id);
        if (!job) continue;
        const jobs = dropped.get(lane) ?? [];
        jobs.push(jobView(job));
        dropped.set(lane, jobs);
      }
      this.#host.record({ t: 'g', d: drops });
      for (const [id, lane] of drops) this.#host.waiters.done(deliveryKey(id, lane));
      for (const [lane, jobs] of dropped) this.#host.emit({ type: 'delivery-dropped', ...splitLane(lane), jobs, why: 'backend-removed' });
    }
    if (unserved.length > 0) this.#deadLetterUnserved(unserved);
  }

  /**
   * Pending unlists of targets the pools no longer allow (pool-narrowing.ts): dropped, or the job
   * goes on as a new one with the targets still allowed; one event for all.
   */
  narrowToPools(mayUnlist: MayUnlist): void {
    const state = this.#host.state();
    // Parsed for the judgement only: the prefixes a job keeps (sendPrefixes) are for the jobs about
    // to be sent, not the whole backlog.
    const { narrowed, drops, refused } = narrowToPools(state.jobs.values(), mayUnlist, (job) => job.sendPrefixes ?? job.targets.map(parseTargetOrNone));
    if (narrowed.length === 0 && drops.length === 0) return;
    const settled: Drop[] = [...drops];
    for (const { id, targets, lanes } of narrowed) {
      const next = this.#continueAsNewJob(state.jobs.get(id)!, targets, lanes);
      const kept = new Set(targets);
      for (const lane of lanes) {
        this.#moveToContinuation(deliveryKey(id, lane), new Map([[deliveryKey(next, lane), kept]]));
        settled.push([id, lane]);
      }
    }
    // Journaled after the new jobs, as a handover is: a torn write keeps a job, never the drop alone.
    this.#host.record({ t: 'g', d: settled });
    for (const [id, lane] of settled) this.#host.attempts.forget(id, lane);
    for (const [id, lane] of drops) this.#host.waiters.done(deliveryKey(id, lane));
    this.#host.emit({ type: 'pending-outside-pools', targets: refused, jobs: narrowed.length + new Set(drops.map(([id]) => id)).size });
  }

  /**
   * Jobs a call unlisted in part: each goes on in the lane as a new job of the targets left, and its
   * delivery there is settled, as a handover does it, so no record of a new kind. Its other lanes
   * keep their pending deliveries of the old job. The names unlisted are reported now, once; the
   * new job's delivery reports the rest.
   */
  continuedInPart(lane: string, parts: readonly PartDone[]): Map<number, JobState> {
    const heirs = new Map<number, JobState>();
    const continued: { job: string; as: UnlistJob }[] = [];
    const settled: Drop[] = [];
    for (const { job, unlisted } of parts) {
      if (!job.pending.includes(lane)) continue;
      const done = new Set(unlisted);
      const left = job.targets.filter((target) => !done.has(target));
      const next = this.#continueAsNewJob(job, left, [lane]);
      const heir = this.#host.state().jobs.get(next)!;
      heirs.set(job.id, heir);
      continued.push({ job: String(job.id), as: jobView(heir) });
      settled.push([job.id, lane]);
      this.#moveToContinuation(deliveryKey(job.id, lane), new Map([[deliveryKey(next, lane), new Set(left)]]));
      this.#host.attempts.moved(job.id, lane, next);
    }
    // Journaled after the new jobs: a torn write keeps a job, never the drop alone.
    if (settled.length > 0) this.#host.record({ t: 'g', d: settled });
    this.#host.emit({ type: 'delivered', ...splitLane(lane), jobs: parts.map(({ job, unlisted }) => ({ ...jobView(job), targets: unlisted })), at: Date.now(), partial: true, continued });
    return heirs;
  }

  /**
   * A new delivery of `target` in `lane`, as `job` asked for it (its reason and time), for a waiter
   * whose target only calls in flight cover after a rebuild: they may have gone out before its Stop.
   * Returns the new delivery's key.
   */
  unlistAgain(job: JobState, target: string, lane: string): string {
    return deliveryKey(this.#continueAsNewJob(job, [target], [lane]), lane);
  }

  /**
   * Journals a new job that continues `job` (its reason and time) with these targets in these
   * lanes, and queues it; returns its id. The caller journals the drop of the old deliveries after
   * it, so a torn write keeps a job, never the drop alone (handover, pool narrowing, a call done in part).
   */
  #continueAsNewJob(job: JobState, targets: string[], lanes: string[]): number {
    const row: JobRow = { i: this.#host.state().nextSeq, t: targets, r: job.reason, a: job.createdAt, p: lanes };
    this.#host.record({ t: 'c', j: row });
    for (const lane of lanes) this.#host.enqueue(row.i, lane);
    return row.i;
  }

  /** The waiters of delivery `from` wait for the deliveries of the job that continues it (just journaled), each holding these targets of it. */
  #moveToContinuation(from: string, to: ReadonlyMap<string, ReadonlySet<string>>): void {
    if (this.#host.waiters.size > 0) this.#host.waiters.moved(from, to);
  }

  /** Keeps the deliveries of zones no backend serves as dead letters, one event per lane. */
  #deadLetterUnserved(unserved: readonly Drop[]): void {
    const now = Date.now();
    const byLane = new Map<string, JobState[]>();
    for (const [id, lane] of unserved) {
      const job = this.#host.state().jobs.get(id);
      if (!job) continue;
      const jobs = byLane.get(lane) ?? [];
      jobs.push(job);
      byLane.set(lane, jobs);
    }
    for (const [lane, jobs] of byLane) {
      const { backend, zone } = splitLane(lane);
      const error = new RblError('RBL_BACKEND_REMOVED', `no backend in the config serves zone ${zone} any more (${backend} left the config)`);
      const views = jobs.map(jobView);
      for (const job of jobs) this.#host.recordDeadLetter(lane, job, error, now);
      this.#host.emit({ type: 'delivery-unserved', backend, zone, jobs: views, error });
    }
  }
}

/** A journaled target as a prefix, or undefined where its text does not parse (a damaged journal): then no pool holds it. */
function parseTargetOrNone(target: string): IpPrefix | undefined {
  try {
    return parsePrefix(target);
  } catch {
    return undefined;
  }
}

