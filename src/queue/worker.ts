/**
 * The delivery worker: one lane per (backend, zone), each with its own queue, calls in flight and
 * backoff, so one zone's outage never holds up another. A lane that becomes free takes whatever is
 * pending (up to maxTargets targets) into one Backend.unlist call: no batching timer, so latency at
 * low rates is one round trip, and batches grow by themselves under load. A second call in flight
 * is kept for a backlog of half a batch or more, so a burst goes out in full UPDATEs.
 *
 * Transient failures put the batch back at the front and pause the lane (exponential backoff with
 * jitter). A permanent failure of a multi-job batch retries its jobs one by one, so one bad job
 * cannot dead-letter its neighbours; a permanent failure of a single job makes it a dead letter.
 * The worker tells which of these a call's end was; lane-retries.ts does it to the lane.
 * The worker owns no state: the store tells it what is pending and records what happened.
 */
import type { Backend } from '../backends/types.js';
import { RblError } from '../errors.js';
import { redactUrlsIn } from '../redact.js';
import type { IpPrefix } from '../net/address.js';
import { TargetFailures } from '../backends/target-failures.js';
import { newLane, waitingJobs, type Lane } from './lane.js';
import { LaneRetries } from './lane-retries.js';
import { laneKey, type JobState } from './state.js';
import type { WorkerHost, WorkerOptions } from './worker-api.js';

/** Runs deliveries for the configured backends' lanes. */
export class DeliveryWorker {
  readonly #host: WorkerHost;
  readonly #options: WorkerOptions;
  readonly #lanes = new Map<string, Lane>();
  /** The lane keys, made once per setBackends: every commit reads them. */
  #laneKeys: readonly string[] = [];
  readonly #calls = new Set<Promise<void>>();
  readonly #retries: LaneRetries;
  /** No new calls start. */
  #closed = false;
  /** Outcomes of calls still in flight are ignored (after close's grace). */
  #detached = false;

  constructor(host: WorkerHost, options: WorkerOptions) {
    this.#host = host;
    this.#options = options;
    this.#retries = new LaneRetries(host, options, {
      closed: () => this.#closed,
      kick: (lane) => this.#kick(lane),
      scheduleKick: (lane) => this.#scheduleKick(lane),
    });
  }

  /**
   * Makes the lanes those of `backends`; returns the keys of lanes that went away (their queues are
   * dropped). A lane whose backend is a new one (a reload changed its config: another server, key
   * or port) forgets its backoff and tries again at once, as the old pause was the old server's.
   */
  setBackends(backends: readonly Backend[]): string[] {
    const wanted = new Map<string, { backend: Backend; zone: string }>();
    for (const backend of backends) for (const zone of backend.zones) wanted.set(laneKey(backend.name, zone), { backend, zone });
    const removed: string[] = [];
    for (const [key, lane] of this.#lanes) {
      if (wanted.has(key)) continue;
      lane.removed = true;
      clearTimeout(lane.timer);
      clearTimeout(lane.heldTimer);
      this.#lanes.delete(key);
      removed.push(key);
    }
    for (const [key, { backend, zone }] of wanted) {
      const lane = this.#lanes.get(key);
      if (!lane) this.#lanes.set(key, newLane(key, backend, zone));
      else if (lane.backend !== backend) {
        lane.backend = backend;
        // What the old backend still has in flight holds nothing back: it may be why it was replaced.
        lane.callsToBackend = 0;
        lane.heldOnlyCalls = 0;
        lane.backendGeneration++;
        // Held for what the old backend did with them: the new one has not tried them yet. They
        // go with its next call, still after the new jobs, which tell whether it takes anything.
        clearTimeout(lane.heldTimer);
        lane.heldTimer = undefined;
        lane.held.retryNow();
        this.#retryNow(lane);
      }
    }
    this.#laneKeys = [...this.#lanes.keys()];
    return removed;
  }

  /** The current lane keys, in configuration order. */
  laneKeys(): readonly string[] {
    return this.#laneKeys;
  }

  /**
   * Whether a call with this job is under way in the lane, or it is held for failing by itself: a
   * new unlist of its targets cannot merge into it, as it might not go with the job's next try.
   */
  isInFlight(id: number, lane: string): boolean {
    const target = this.#lanes.get(lane);
    return target !== undefined && (target.inFlight.has(id) || target.held.has(id));
  }

  /** Whether the job is held in the lane for failing by itself: it goes again later, whole or in part. */
  isHeld(id: number, lane: string): boolean {
    return this.#lanes.get(lane)?.held.has(id) === true;
  }

  /** When the job goes next in the lane (epoch ms): after the lane's pause, and a held job after the held ones' wait; undefined when with the next call. */
  nextTryAt(id: number, lane: string): number | undefined {
    const target = this.#lanes.get(lane);
    if (!target) return undefined;
    const laneAt = target.timer ? target.retryAt : undefined;
    if (!target.held.has(id) || target.held.due) return laneAt;
    return Math.max(target.heldDueAt, laneAt ?? 0);
  }

  /** When a lane paused by a transient failure tries again (epoch ms); undefined when it is not paused. */
  laneRetryAt(lane: string): number | undefined {
    const target = this.#lanes.get(lane);
    return target?.timer ? target.retryAt : undefined;
  }

  /** Queues a pending delivery; false when the lane does not exist. */
  enqueue(id: number, lane: string): boolean {
    const target = this.#lanes.get(lane);
    if (!target) return false;
    target.queue.push(id);
    this.#scheduleKick(target);
    return true;
  }

  /** Stops starting calls, waits up to graceMs for calls in flight (their outcomes still count); later outcomes are ignored. */
  async close(graceMs: number): Promise<void> {
    this.#closed = true;
    if (this.#calls.size === 0) this.#detached = true;
    for (const lane of this.#lanes.values()) {
      clearTimeout(lane.timer);
      clearTimeout(lane.heldTimer);
    }
    if (this.#calls.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.#calls]), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    this.#detached = true;
  }

  /** Ends the lane's pause and failure count, and sends what is pending. */
  #retryNow(lane: Lane): void {
    clearTimeout(lane.timer);
    lane.timer = undefined;
    lane.failures = 0;
    this.#scheduleKick(lane);
  }

  #scheduleKick(lane: Lane): void {
    if (lane.kickScheduled || this.#closed) return;
    lane.kickScheduled = true;
    // After the current poll phase, so a burst of datagrams lands in one batch.
    setImmediate(() => {
      lane.kickScheduled = false;
      this.#kick(lane);
    });
  }

  #kick(lane: Lane): void {
    if (this.#closed || lane.removed || lane.timer) return;
    // Calls still under way to a backend a reload replaced hold none of the slots: they wait on
    // another server (up to its timeout), and the new one must not wait for them.
    // A call of held jobs alone takes no slot from new ones: at most one such call is under way.
    while (lane.callsToBackend - lane.heldOnlyCalls < this.#options.concurrency) {
      // A further call while one is under way only for a backlog of half a batch or more: what is
      // less waits one round trip and goes out with what comes meanwhile. Under a burst, 70 names an
      // UPDATE cost BIND 22 µs and us 6.8 µs a name, 250 names 20.5 and 3.1 (issue 13); an idle
      // lane still sends each Stop at once.
      // A call of held jobs alone is not one to wait for: it may be long, and they failed before.
      if (lane.callsToBackend - lane.heldOnlyCalls > 0 && waitingJobs(lane) < this.#options.maxTargets / 2) return;
      const jobs = this.#takeBatch(lane);
      if (jobs.length === 0) return;
      this.#call(lane, jobs);
    }
  }

  #takeBatch(lane: Lane): JobState[] {
    const jobs: JobState[] = [];
    const taken = new Set<number>();
    const usable = (id: number): JobState | undefined => {
      if (lane.inFlight.has(id) || taken.has(id)) return undefined;
      return this.#host.pendingJob(id, lane.key);
    };
    while (lane.solo.length > 0) {
      const job = usable(lane.solo.shift()!);
      if (job) return [job];
    }
    const targets = new Set<string>();
    const held: JobState[] = [];
    const fits = (job: JobState): boolean => jobs.length + held.length === 0 || targets.size + job.targets.length <= this.#options.maxTargets;
    const add = (job: JobState, to: JobState[]): void => {
      to.push(job);
      taken.add(job.id);
      for (const target of job.targets) targets.add(target);
    };
    // Held jobs that are due: an eighth of the call (one job at least) is theirs, as a backlog
    // fills every call.
    const addHeld = (limit: number): void => {
      if (!lane.held.due) return;
      for (const id of [...lane.held.ids()]) {
        if (lane.inFlight.has(id) || taken.has(id)) continue;
        const job = this.#host.pendingJob(id, lane.key);
        if (!job) lane.held.forget(id);
        else if (held.length > 0 && targets.size + job.targets.length > limit) return;
        else add(job, held);
      }
    };
    addHeld(Math.floor(this.#options.maxTargets / 8));
    // A held job queued again (a rebuilt journal queues every pending job) goes only with the held ones.
    const fresh = (id: number): JobState | undefined => (lane.held.size > 0 && lane.held.has(id) ? undefined : usable(id));
    let full = false;
    while (lane.frontHead < lane.front.length) {
      const job = fresh(lane.front[lane.frontHead]!);
      if (job && !fits(job)) {
        full = true;
        break;
      }
      lane.frontHead++;
      if (job) add(job, jobs);
    }
    if (lane.frontHead === lane.front.length) {
      lane.front = [];
      lane.frontHead = 0;
    }
    while (!full && lane.head < lane.queue.length) {
      const job = fresh(lane.queue[lane.head]!);
      if (job && !fits(job)) {
        full = true;
        break;
      }
      lane.head++;
      if (job) add(job, jobs);
    }
    if (lane.head > 1024 && lane.head * 2 > lane.queue.length) {
      lane.queue = lane.queue.slice(lane.head);
      lane.head = 0;
    }
    // With new jobs, held ones keep to their share: a new Stop does not wait for a call full of
    // names that failed before. Alone, they fill the call, but one such call at a time, which
    // takes no slot of the new ones (#kick).
    if (jobs.length === 0) {
      if (lane.heldOnlyCalls > 0) return [];
      addHeld(this.#options.maxTargets);
    }
    // Held jobs go last: the first requests of a call are new ones, which tell whether the API is up.
    return held.length === 0 ? jobs : [...jobs, ...held];
  }

  #call(lane: Lane, jobs: JobState[]): void {
    lane.callsToBackend++;
    for (const job of jobs) lane.inFlight.add(job.id);
    const backend = lane.backend;
    const generation = lane.backendGeneration;
    const targets = this.#targetsOf(jobs);
    const held = lane.held.size > 0 ? new Set(jobs.filter((job) => lane.held.has(job.id)).map((job) => job.id)) : undefined;
    const heldOnly = held !== undefined && held.size === jobs.length;
    if (heldOnly) lane.heldOnlyCalls++;
    const call = (async () => {
      let error: unknown;
      try {
        await backend.unlist(lane.zone, targets);
      } catch (caught) {
        error = caught;
      }
      if (lane.backendGeneration === generation) {
        lane.callsToBackend--;
        if (heldOnly) lane.heldOnlyCalls--;
      }
      for (const job of jobs) lane.inFlight.delete(job.id);
      if (this.#detached || lane.removed) return;
      if (lane.backend !== backend) {
        // Done by the backend a reload has replaced since (a zone's primary moved, another key):
        // the lane's backend now has not done it, so it goes again, at once. A failure says nothing
        // of the new one either (the old token refused, say, which the reload fixed).
        this.#retries.putBack(lane, jobs);
        if (error !== undefined) this.#retries.backOff(lane, jobs, asError(error), true);
      } else if (error === undefined) {
        this.#retries.succeeded(lane, jobs);
        if (held?.size) this.#retries.heldTried(lane, true, true, []);
      } else if (error instanceof TargetFailures) {
        this.#retries.targetsFailed(lane, jobs, targets, held, error);
      } else if (error instanceof RblError && error.refusal) {
        this.#retries.refused(lane, jobs, error);
      } else if (error instanceof RblError && !error.transient) {
        if (jobs.length === 1) this.#retries.deadLettered(lane, jobs[0]!, error);
        else lane.solo.push(...jobs.map((job) => job.id));
      } else {
        // Transient, or not an RblError at all (a bug in a backend): never lose the job, retry it.
        this.#retries.putBack(lane, jobs);
        this.#retries.backOff(lane, jobs, asError(error), false);
      }
      this.#scheduleKick(lane);
    })();
    this.#calls.add(call);
    void call.finally(() => this.#calls.delete(call));
  }

  /** The batch's distinct targets as the prefixes the store carries; none is parsed here. */
  #targetsOf(jobs: readonly JobState[]): IpPrefix[] {
    if (jobs.length === 1) return [...this.#host.targetPrefixes(jobs[0]!)];
    const seen = new Set<string>();
    const out: IpPrefix[] = [];
    for (const job of jobs) {
      const prefixes = this.#host.targetPrefixes(job);
      for (let i = 0; i < job.targets.length; i++) {
        const target = job.targets[i]!;
        if (seen.has(target)) continue;
        seen.add(target);
        out.push(prefixes[i]!);
      }
    }
    return out;
  }
}

function asError(error: unknown): Error {
  if (error instanceof RblError) return error;
  // Not a backend's own error (those are RblErrors, redacted when made): a bug's, whose text may
  // quote a request URL with its credentials. Its message goes to the log, /status and /addresses.
  const message = error instanceof Error ? error.message : String(error);
  const shown = redactUrlsIn(message);
  return error instanceof Error && shown === message ? error : new Error(shown);
}
