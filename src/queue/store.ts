/**
 * The durable state store: the session table and the unlist queue behind one journal in state.dir.
 * Each accounting event is one commit (session changes and the unlist job together, atomically),
 * applied in memory at once and acknowledged once fsync'd (group commit). The delivery worker
 * unlists in batches per (backend, zone) and every outcome is journaled, so a restart, even after
 * SIGKILL, replays exactly the unfinished work.
 *
 * The backlog is bounded by distinct targets, not events: an unlist of a target whose delivery in a
 * lane is already pending (and not yet sent) merges into it, and a pending delivery whose targets all
 * have a newer pending delivery is dropped when its call fails. A waiter follows the merge.
 *
 * When the journal cannot be written (disk full, I/O error, read-only), nothing more is acknowledged:
 * commits are refused, the state is rebuilt from what is durable on disk (so a retransmitted event is
 * processed afresh, never twice), and the store tries to write again, with growing pauses, until it
 * can; health() says which it is.
 *
 * It is opened (the lock, the replay) by store-open.ts, the module the rest of the code imports it
 * from; the tries to write the journal again after a failure are in store-recovery.ts, what each
 * delivery outcome the worker reports does in delivery-outcomes.ts, the record a commit writes in
 * commit-record.ts (which lanes its job merges into: merge.ts), and what the store shows of its
 * pending work in store-views.ts.
 */
import type { Backend } from '../backends/types.js';
import { RblError } from '../errors.js';
import { parsePrefix, type IpPrefix } from '../net/address.js';
import type { Session } from '../sessions/session.js';
import type { ReadonlySessionTable } from '../sessions/table.js';
import { DEFAULT_BACKOFF } from './backoff.js';
import type { QueueEvent } from './events.js';
import { DeliveryAttempts, type DeliveryAttempt } from './attempts.js';
import type { Journal } from './journal.js';
import { stateError } from './state-files.js';
import type { StateLock } from './lock.js';
import { STALE_MS } from './lock-liveness.js';
import { RequestServer, type AdminReply, type AdminRequest } from './requests.js';
import { JobContinuations } from './continuations.js';
import type { PartDone } from './worker-api.js';
import type { MayUnlist } from './pool-narrowing.js';
import { eventRecords, fitsOneRecord } from './event-records.js';
import { commitRecord } from './commit-record.js';
import { deliveryAttempts, jobsMatching } from './store-views.js';
import { DeliveryOutcomes } from './delivery-outcomes.js';
import type { Commit, CommitOptions, JobDeliveries, JournalHealth, StateChange, StateStore, StateStoreOptions, StoreStats } from './store-api.js';
import { deadLetterRecord, removalRow, type JobRow, type JobState, type JournalRecord, type QueueState } from './state.js';
import { JournalRecovery, settleAfterRebuild, type Durable } from './store-recovery.js';
import { deliveryKey, DeliveryWaiters } from './waiters.js';
import { DeliveryWorker } from './worker.js';

/** A journal write still under way after this long makes the journal unhealthy (/readyz): the disk is hung or failing. */
export const STALLED_WRITE_MS = 10_000;

/** What is refused once another service took the lock (store.ts) or the journal's fence saw it (store-open.ts). */
export function lockLostError(file: string): RblError {
  return new RblError(
    'RBL_STATE_DIR',
    `the state.dir lock ${file} was taken by another rbl-unlist while this one held it (this one was stopped or stalled for longer than the lock's ${STALE_MS / 1000} s): nothing more is written or acknowledged here; restart this service`,
  );
}

/** The store; openStateStore (store-open.ts) makes it once state.dir is locked and the journal replayed. */
export class Store implements StateStore {
  readonly #options: StateStoreOptions;
  #maxSessionAgeMs: number;
  #mayUnlist: MayUnlist | undefined;
  #state: QueueState;
  #journal: Journal;
  readonly #lock: StateLock;
  readonly #worker: DeliveryWorker;
  readonly #waiters = new DeliveryWaiters();
  readonly #attempts = new DeliveryAttempts();
  readonly #continuations = new JobContinuations({
    state: () => this.#state,
    record: (record) => this.#record(record),
    enqueue: (id, lane) => void this.#worker.enqueue(id, lane),
    laneKeys: () => this.#worker.laneKeys(),
    recordDeadLetter: (lane, job, error, at) => this.#outcomes.recordDeadLetter(lane, job, error, at),
    emit: (event) => this.#emit(event),
    waiters: this.#waiters,
    attempts: this.#attempts,
  });
  readonly #inFlight = (id: number, lane: string): boolean => this.#worker.isInFlight(id, lane);
  readonly #outcomes = new DeliveryOutcomes({
    state: () => this.#state,
    record: (record) => this.#record(record),
    emit: (event) => this.#emit(event),
    waiters: this.#waiters,
    attempts: this.#attempts,
    inFlight: this.#inFlight,
  });
  readonly #timers: NodeJS.Timeout[] = [];
  #failure: { readonly error: RblError; readonly since: number } | undefined;
  readonly #recovery: JournalRecovery;
  readonly #requests: RequestServer;
  /** A poll of the requests is under way: the timer's next ones are skipped, so polls do not pile up behind a hung disk. */
  #polling = false;
  /** The lock was taken by another service: the failure is for good. */
  #lockGone = false;
  #closing: Promise<void> | undefined;

  /** `reload` replays the journal afresh, as the store was opened, and proves a write reaches the disk (loadDurable). */
  constructor(
    options: StateStoreOptions,
    state: QueueState,
    journal: Journal,
    lock: StateLock,
    reload: (onFailure: (journal: Journal, error: RblError) => void) => Promise<Durable>,
  ) {
    this.#options = options;
    this.#maxSessionAgeMs = options.maxSessionAgeMs;
    this.#mayUnlist = options.mayUnlist;
    this.#state = state;
    this.#journal = journal;
    this.#lock = lock;
    this.#recovery = new JournalRecovery(
      {
        stopped: () => this.#closing !== undefined || this.#lockGone,
        failedSince: () => this.#failure?.since,
        closeJournal: () => this.#journal.close(),
        lock,
        lockLost: () => this.#lockLost(),
        load: () => reload((journal, error) => this.journalFailed(journal, error)),
        rebuilt: (durable, downMs) => this.#rebuilt(durable, downMs),
        emit: (event) => this.#emit(event),
      },
      options.recoveryMs ?? 1000,
    );
    this.#requests = new RequestServer(
      options.dir,
      (request) => this.applyAdmin(request),
      ({ request, writtenAt }) => this.#emit({ type: 'request-not-applied', request, writtenAt }),
    );
    this.#worker = new DeliveryWorker(
      {
        pendingJob: (id, lane) => {
          const job = this.#state.jobs.get(id);
          return job && job.pending.includes(lane) ? job : undefined;
        },
        targetPrefixes: (job) => this.#targetPrefixes(job),
        delivered: (lane, jobs) => this.#outcomes.delivered(lane, jobs),
        continuedInPart: (lane, parts) => this.#continuedInPart(lane, parts),
        retryScheduled: (lane, jobs, error, attempt, delayMs) => this.#outcomes.retryScheduled(lane, jobs, error, attempt, delayMs),
        deadLettered: (lane, job, error) => this.#outcomes.deadLettered(lane, job, error),
      },
      {
        maxTargets: options.maxTargetsPerCall ?? 500,
        concurrency: options.concurrency ?? 2,
        backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
        random: options.random ?? Math.random,
      },
    );
    void lock.lost.then(() => this.#lockLost());
    this.setBackends(options.backends);
    this.#narrowToPools();
    this.#enqueueAllPending();
    this.expireSessions();
    const every = (ms: number, task: () => void): void => {
      const timer = setInterval(task, ms);
      timer.unref();
      this.#timers.push(timer);
    };
    every(options.expiryIntervalMs ?? 60_000, () => this.expireSessions());
    every(options.requestPollMs ?? 250, () => void this.#pollRequests());
  }

  get sessions(): ReadonlySessionTable {
    return this.#state.sessions;
  }

  commit(change: StateChange, options: CommitOptions = {}): Commit {
    if (this.#closing) throw new RblError('RBL_STATE_DIR', 'the state store is closed');
    if (this.#failure) throw notRecorded(this.#failure.error);
    // What the caller waits for, unless it does not: the pending deliveries this commit merged into,
    // each with the targets of it they cover, then the deliveries of its own jobs.
    const deliveries = options.trackDelivery !== false ? new Map<string, string[]>() : undefined;
    const { record, job, prefixes } = commitRecord(this.#state, change, this.#worker.laneKeys(), this.#inFlight, deliveries);
    let recorded: Promise<void>;
    let jobs: readonly JobRow[] = job ? [job] : [];
    if (!fitsOneRecord(record)) {
      // An event too large for one record (a big NAS's Accounting-On): written in parts, jobs first.
      const split = eventRecords(record);
      jobs = split.jobs;
      recorded = Promise.resolve();
      for (const part of split.records) {
        this.#state.apply(part, part.u ? change.upsert : undefined);
        recorded = this.#journal.append(part);
      }
    } else {
      this.#state.apply(record, change.upsert);
      // The journal's promise is shared by the records of one write, and never an unhandled rejection.
      recorded = this.#journal.append(record);
    }
    let from = 0;
    for (const row of jobs) {
      const made = this.#state.jobs.get(row.i);
      let sentSoon = true;
      for (const lane of row.p) if (this.#worker.laneRetryAt(lane) !== undefined) sentSoon = false;
      // Carried only for jobs expected to leave soon: a prefix's bytes are a slice of a shared 8 KiB
      // pool, and a backlog holding them for hours would keep those pools alive. Jobs committed
      // while a lane is paused, or whose call failed, are parsed from their text when sent.
      if (made && sentSoon && prefixes) made.sendPrefixes = jobs.length === 1 ? prefixes : prefixes.slice(from, from + row.t.length);
      from += row.t.length;
      for (const lane of row.p) this.#worker.enqueue(row.i, lane);
    }
    let done = recorded;
    if (deliveries) {
      for (const row of jobs) for (const lane of row.p) deliveries.set(deliveryKey(row.i, lane), row.t);
      if (deliveries.size > 0) {
        done = Promise.all([recorded, this.#waiters.wait(deliveries)]).then(() => undefined);
        done.catch(() => undefined);
      }
    }
    const main = jobs.at(-1);
    return { jobId: main ? String(main.i) : undefined, recorded, done };
  }

  committed(): Promise<void> {
    if (this.#failure) return Promise.reject(notRecorded(this.#failure.error));
    return this.#journal.written();
  }

  health(): JournalHealth {
    if (this.#failure) return { writable: false, error: this.#failure.error.message, since: this.#failure.since };
    // A hung disk fails nothing, it only never answers: a write that waits this long is reported as one that failed.
    const now = Date.now();
    const busyMs = this.#journal.diskBusyMs(now);
    if (busyMs < STALLED_WRITE_MS) return { writable: true };
    return { writable: false, error: `a write to the journal ${this.#journal.file} has waited ${Math.floor(busyMs / 1000)} s for the disk`, since: now - busyMs };
  }

  waitingForDisk(): number {
    return this.#journal.waiting;
  }

  deliveryAttempts(): DeliveryAttempt[] {
    return deliveryAttempts(this.#state, this.#attempts, (id, lane) => this.#worker.nextTryAt(id, lane));
  }

  depth(): number {
    return this.#state.pendingCount;
  }

  deadLetterCount(): number {
    return this.#state.deadCount;
  }

  jobsMatching(matches: (target: string) => boolean): JobDeliveries[] {
    return jobsMatching(this.#state, matches);
  }

  setBackends(backends: readonly Backend[]): void {
    this.#worker.setBackends(backends);
    this.#continuations.handOverRemovedLanes();
  }

  setMayUnlist(mayUnlist: MayUnlist): void {
    this.#mayUnlist = mayUnlist;
    this.#narrowToPools();
  }

  setMaxSessionAge(ms: number): void {
    this.#maxSessionAgeMs = ms;
  }

  expireSessions(now = Date.now()): Session[] {
    if (this.#closing || this.#failure) return [];
    const stale = this.#state.sessions.expired(now, this.#maxSessionAgeMs);
    for (let i = 0; i < stale.length; i += 5000) {
      this.#record({ t: 'c', r: stale.slice(i, i + 5000).map(removalRow) });
    }
    if (stale.length > 0) this.#emit({ type: 'sessions-expired', count: stale.length });
    return stale;
  }

  /**
   * Applying a request twice is harmless; that happens when its service died after the journal's
   * write and before removing its `.taken`, which the next service applies again (requests.ts).
   * Retry and drop act on the dead letters there are when applied, and the first application left
   * none of those it named: the second finds nothing (count 0, given ids not found), unless a
   * delivery was refused in the moment between, which a retry gives one more try and a drop of all
   * (or of that delivery's job) drops, as it would have a moment earlier.
   */
  async applyAdmin(request: AdminRequest): Promise<AdminReply> {
    if (this.#closing) throw new RblError('RBL_STATE_DIR', 'the state store is closed');
    if (request.action === 'list') return { count: 0, notFound: [], deliveries: this.deliveryAttempts() };
    if (this.#failure) throw new RblError('RBL_STATE_DIR', `the journal cannot be written (${this.#failure.error.message})`);
    const { record, count, notFound } = deadLetterRecord(this.#state, request.action, request.ids);
    if (record) {
      this.#state.apply(record);
      const written = this.#journal.append(record);
      if (record.t === 'rd') {
        let orphaned = false;
        for (const [id, lane] of record.d) if (!this.#worker.enqueue(id, lane)) orphaned = true;
        // A re-driven dead letter whose backend left the config goes where its zone is served now.
        if (orphaned) this.#continuations.handOverRemovedLanes();
        this.#narrowToPools();
      }
      await written;
      this.#emit({ type: 'admin-request', action: request.action, count });
    }
    return { count, notFound };
  }

  async compact(): Promise<void> {
    await this.#journal.compact();
  }

  stats(): StoreStats {
    const { fsyncs, records, compactions } = this.#journal.stats;
    return { fsyncs, journalRecords: records, journalBytes: this.#journal.bytes, compactions, pendingTargets: this.#state.pendingTargetCount() };
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const timer of this.#timers) clearInterval(timer);
      this.#recovery.cancel();
      await this.#recovery.running;
      await this.#worker.close(this.#options.closeGraceMs ?? 1000);
      await this.#journal.close();
      await this.#lock.release();
    })();
    return this.#closing;
  }

  /** The journal refused a write: acknowledge nothing more until a rebuilt state can be written again. */
  journalFailed(journal: Journal, error: RblError): void {
    if (journal !== this.#journal || this.#closing || this.#lockGone) return;
    // The fence refused: not a disk to wait for, another service's state.dir now.
    if (!this.#lock.held()) return this.#lockLost();
    if (this.#failure) return;
    this.#failure = { error, since: Date.now() };
    this.#emit({ type: 'journal-error', error, writable: false });
    this.#recovery.schedule();
  }

  /**
   * Another service took state.dir while this one held it (this one was stopped or stalled past the
   * lock's staleness): the journal is theirs now. Nothing more is written or acknowledged here, and
   * there is no recovery but a restart, which waits for the lock.
   */
  #lockLost(): void {
    if (this.#closing || this.#lockGone) return;
    const error = lockLostError(this.#lock.file);
    this.#recovery.cancel();
    this.#failure = { error, since: Date.now() };
    this.#lockGone = true;
    void this.#journal.close().catch(() => undefined);
    this.#emit({ type: 'lock-lost', error });
  }

  /** The journal can be written again: the state rebuilt from the disk takes the place of the one that failed. */
  #rebuilt(durable: Durable, downMs: number): void {
    const durableSeq = durable.state.nextSeq;
    // Job ids are never reused: a call still in flight reports the ids it was given.
    durable.state.nextSeq = Math.max(durable.state.nextSeq, this.#state.nextSeq);
    this.#state = durable.state;
    this.#journal = durable.journal;
    this.#failure = undefined;
    // A handover or a narrowing done while the journal failed never reached the disk: done again
    // first, so the waiters of the jobs they made in memory find the ones made now.
    this.#continuations.handOverRemovedLanes();
    this.#narrowToPools();
    settleAfterRebuild(this.#state, durableSeq, {
      waiters: this.#waiters,
      attempts: this.#attempts,
      inFlight: this.#inFlight,
      isHeld: (id, lane) => this.#worker.isHeld(id, lane),
      unlistAgain: (job, target, lane) => this.#continuations.unlistAgain(job, target, lane),
    });
    this.#enqueueAllPending();
    this.#emit({ type: 'journal-writable', downMs, pending: this.#state.pendingCount });
  }

  #enqueueAllPending(): void {
    for (const job of this.#state.jobs.values()) for (const lane of job.pending) this.#worker.enqueue(job.id, lane);
  }

  /** The job's targets as prefixes: carried from its commit, or parsed once from the journal's text. */
  #targetPrefixes(job: JobState): readonly IpPrefix[] {
    job.sendPrefixes ??= job.targets.map((target) => parsePrefix(target));
    return job.sendPrefixes;
  }

  /** The guards of a narrowing: nothing while closing or while the journal fails (the rebuild narrows again). */
  #narrowToPools(): void {
    if (!this.#mayUnlist || this.#closing || this.#failure) return;
    this.#continuations.narrowToPools(this.#mayUnlist);
  }

  /** While the journal fails, the jobs stay whole: the state rebuilt from the disk would not know new ones. */
  #continuedInPart(lane: string, parts: readonly PartDone[]): Map<number, JobState> {
    return this.#failure ? new Map() : this.#continuations.continuedInPart(lane, parts);
  }

  /** Applies and journals a record nobody waits on; a write failure fails the journal, and the state is rebuilt. */
  #record(record: JournalRecord): void {
    this.#state.apply(record);
    void this.#journal.append(record);
  }

  async #pollRequests(): Promise<void> {
    if (this.#polling || this.#closing) return;
    this.#polling = true;
    try {
      await this.#requests.poll();
    } catch (error) {
      this.#emit({ type: 'request-error', error: stateError('cannot answer a queue request', error) });
    } finally {
      this.#polling = false;
    }
  }

  #emit(event: QueueEvent): void {
    emit(this.#options.onEvent, event);
  }
}

/** What a change is refused with while the journal cannot be written. */
function notRecorded(failure: RblError): RblError {
  return new RblError('RBL_STATE_DIR', `not recorded: the journal cannot be written (${failure.message})`);
}

/** Tells the listener; the store's events and those of opening it go through here. */
export function emit(listener: ((event: QueueEvent) => void) | undefined, event: QueueEvent): void {
  try {
    listener?.(event);
  } catch {
    // A failing listener must not stop the queue.
  }
}
