/**
 * The durable state store: the session table and the unlist queue behind one journal in state.dir.
 * Each accounting event is one commit (session changes and the unlist job together, atomically),
 * applied in memory at once and acknowledged once fsync'd (group commit). The delivery worker
 * unlists in batches per (backend, zone) and every outcome is journaled, so a restart, even after
 * SIGKILL, replays exactly the unfinished work.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Backend } from '../backends/types.js';
import { RblError } from '../errors.js';
import { formatPrefix, parsePrefix } from '../net/address.js';
import type { ReadonlySessionTable, Session, SessionKey, StopTime } from '../sessions/table.js';
import { DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
import type { QueueEvent } from './events.js';
import { Journal, readJournal, stateError } from './journal.js';
import { acquireLock, type StateLock } from './lock.js';
import { serveRequests, type AdminReply, type AdminRequest } from './requests.js';
import {
  deadLetterRecord,
  jobView,
  QueueState,
  removalRow,
  sessionRow,
  splitLane,
  type JobRow,
  type JobState,
  type JournalRecord,
  type UnlistJob,
  type UnlistReason,
} from './state.js';
import { DeliveryWorker } from './worker.js';

export type { QueueEvent } from './events.js';
export type { UnlistJob, UnlistReason } from './state.js';

/** The journal's file name in state.dir. */
export const JOURNAL_FILE = 'journal';

/** One accounting event's effect, committed atomically. */
export interface StateChange {
  /** Sessions recorded or refreshed (Start, Interim-Update). */
  readonly upsert?: readonly Session[];
  /** Sessions forgotten: stopped (Stop, Accounting-On/Off; with the stop time) or evicted (without). */
  readonly remove?: readonly (SessionKey & { readonly stoppedAt?: StopTime })[];
  /** Targets to unlist in every configured backend and zone; no job is made when targets is empty. */
  readonly unlist?: Omit<UnlistJob, 'id'>;
}

/** What commit() returns. */
export interface Commit {
  /** The unlist job's id, when the change made one. */
  readonly jobId: string | undefined;
  /** Resolves once the change is in the fsync'd journal; rejects with RBL_STATE_DIR if it cannot be written. */
  readonly recorded: Promise<void>;
  /**
   * Resolves once recorded and every delivery of the job succeeded (at once after `recorded` when
   * there is no job); rejects with the backend's RblError when a delivery became a dead letter.
   * Never settles when the store closes first (the job is replayed on the next open).
   */
  readonly done: Promise<void>;
}

export interface CommitOptions {
  /**
   * Whether to build `done` (default true). With state.ack: journal nothing waits for the
   * delivery, and not building its promises saves garbage on the hot path; `done` then
   * settles with `recorded`.
   */
  readonly trackDelivery?: boolean;
}

/** Counters for tests and metrics. */
export interface StoreStats {
  readonly fsyncs: number;
  readonly journalRecords: number;
  readonly journalBytes: number;
  readonly compactions: number;
}

export interface StateStore {
  /** The session table, for reading: changes go through commit(). */
  readonly sessions: ReadonlySessionTable;
  /** Applies the change in memory at once, journals it, and queues its unlist job. Throws RBL_ADDRESS_INVALID for a bad address, RBL_STATE_DIR after close. */
  commit(change: StateChange, options?: CommitOptions): Commit;
  /** Pending deliveries (job × backend × zone). */
  depth(): number;
  /** Dead-lettered deliveries. */
  deadLetterCount(): number;
  /** Swaps the backends (SIGHUP): pending deliveries of lanes that went away are dropped, with an event; new lanes get only new jobs. */
  setBackends(backends: readonly Backend[]): void;
  /** Forgets (through the journal) sessions not updated within maxSessionAgeMs; runs by itself every minute. */
  expireSessions(now?: number): Session[];
  /** Re-drives or drops dead letters, as `queue retry|drop` does. */
  applyAdmin(request: AdminRequest): Promise<AdminReply>;
  /** Rewrites the journal as a snapshot now (it also compacts by itself as it grows). */
  compact(): Promise<void>;
  stats(): StoreStats;
  /** Stops the worker (calls in flight get a short grace), writes what is queued, closes the journal, releases the lock. */
  close(): Promise<void>;
}

export interface StateStoreOptions {
  readonly dir: string;
  readonly backends: readonly Backend[];
  /** sessions.max_age. */
  readonly maxSessionAgeMs: number;
  readonly onEvent?: (event: QueueEvent) => void;
  /** Most targets per Backend.unlist call (500). */
  readonly maxTargetsPerCall?: number;
  /** Calls in flight per backend and zone (2). */
  readonly concurrency?: number;
  readonly backoff?: Partial<BackoffPolicy>;
  /** Compact after this many appended bytes, or the last snapshot's size if larger (64 MiB). */
  readonly compactBytes?: number;
  /** How long close() waits for calls in flight (1 s). */
  readonly closeGraceMs?: number;
  /** How often to look for `queue retry|drop` requests (250 ms). */
  readonly requestPollMs?: number;
  /** How often to expire sessions (60 s). */
  readonly expiryIntervalMs?: number;
  /** How long to wait for another holder of the lock (5 s). */
  readonly lockWaitMs?: number;
  readonly random?: () => number;
}

/** Opens state.dir: takes the lock, replays the journal (recovering a torn tail), and starts delivering what was pending. */
export async function openStateStore(options: StateStoreOptions): Promise<StateStore> {
  try {
    await mkdir(options.dir, { recursive: true, mode: 0o750 });
  } catch (error) {
    throw stateError(`cannot create state.dir ${options.dir}`, error);
  }
  const lock = await acquireLock(options.dir, 'serve', options.lockWaitMs ?? 5000);
  try {
    const file = join(options.dir, JOURNAL_FILE);
    const state = new QueueState();
    const read = await readJournal(file, (record) => state.apply(record), { repair: true });
    if (read.skippedBytes > 0) {
      emit(options.onEvent, {
        type: 'journal-recovered',
        file,
        goodBytes: read.goodBytes,
        skippedBytes: read.skippedBytes,
        reason: read.reason ?? 'trailing bytes',
        savedAs: read.savedAs,
      });
    }
    const journal = await Journal.open(file, {
      snapshot: () => state.snapshot(),
      compactBytes: options.compactBytes ?? 64 * 1024 * 1024,
      onCompacted: (result) => emit(options.onEvent, { type: 'journal-compacted', file, ...result }),
      onError: (error) => emit(options.onEvent, { type: 'journal-error', error }),
    });
    return new Store(options, state, journal, lock);
  } catch (error) {
    await lock.release();
    throw error;
  }
}

interface Waiter {
  resolve(): void;
  reject(error: RblError): void;
}

class Store implements StateStore {
  readonly sessions: ReadonlySessionTable;
  readonly #options: StateStoreOptions;
  readonly #state: QueueState;
  readonly #journal: Journal;
  readonly #lock: StateLock;
  readonly #worker: DeliveryWorker;
  readonly #waiters = new Map<number, Waiter>();
  readonly #timers: NodeJS.Timeout[] = [];
  #polling = false;
  #closing: Promise<void> | undefined;

  constructor(options: StateStoreOptions, state: QueueState, journal: Journal, lock: StateLock) {
    this.#options = options;
    this.#state = state;
    this.#journal = journal;
    this.#lock = lock;
    this.sessions = state.sessions;
    this.#worker = new DeliveryWorker(
      {
        pendingJob: (id, lane) => {
          const job = state.jobs.get(id);
          return job && job.pending.includes(lane) ? job : undefined;
        },
        delivered: (lane, jobs) => this.#delivered(lane, jobs),
        retryScheduled: (lane, jobs, error, attempt, delayMs) => {
          const targets = [...new Set(jobs.flatMap((job) => job.targets))];
          this.#emit({ type: 'retry-scheduled', ...splitLane(lane), jobs: jobs.map(jobView), targets, error, attempt, delayMs });
        },
        deadLettered: (lane, job, error) => this.#deadLettered(lane, job, error),
      },
      {
        maxTargets: options.maxTargetsPerCall ?? 500,
        concurrency: options.concurrency ?? 2,
        backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
        random: options.random ?? Math.random,
      },
    );
    this.setBackends(options.backends);
    for (const job of state.jobs.values()) for (const lane of job.pending) this.#worker.enqueue(job.id, lane);
    this.expireSessions();
    const every = (ms: number, task: () => void): void => {
      const timer = setInterval(task, ms);
      timer.unref();
      this.#timers.push(timer);
    };
    every(options.expiryIntervalMs ?? 60_000, () => this.expireSessions());
    every(options.requestPollMs ?? 250, () => void this.#pollRequests());
  }

  commit(change: StateChange, options: CommitOptions = {}): Commit {
    if (this.#closing) throw new RblError('RBL_STATE_DIR', 'the state store is closed');
    const record: Extract<JournalRecord, { t: 'c' }> = { t: 'c' };
    // Validate everything before changing anything, so a bad address cannot half-apply a change.
    if (change.upsert && change.upsert.length > 0) {
      for (const session of change.upsert) for (const address of session.addresses) parsePrefix(address);
      record.u = change.upsert.map(sessionRow);
    }
    if (change.remove && change.remove.length > 0) record.r = change.remove.map(removalRow);
    let job: JobRow | undefined;
    if (change.unlist && change.unlist.targets.length > 0) {
      const targets = [...new Set(change.unlist.targets.map((target) => formatPrefix(parsePrefix(target))))];
      const reason: UnlistReason = { ...change.unlist.reason };
      job = { i: this.#state.nextSeq, t: targets, r: reason, a: change.unlist.createdAt, p: this.#worker.laneKeys() };
      record.j = job;
    }
    this.#state.apply(record);
    const recorded = this.#journal.append(record);
    recorded.catch(() => undefined);
    let done = recorded;
    if (job && this.#state.jobs.has(job.i)) {
      const id = job.i;
      if (options.trackDelivery !== false) {
        const delivered = new Promise<void>((resolve, reject) => this.#waiters.set(id, { resolve, reject }));
        done = Promise.all([recorded, delivered]).then(() => undefined);
        done.catch(() => undefined);
      }
      for (const lane of job.p) this.#worker.enqueue(id, lane);
    }
    return { jobId: job ? String(job.i) : undefined, recorded, done };
  }

  depth(): number {
    return this.#state.pendingCount;
  }

  deadLetterCount(): number {
    return this.#state.deadCount;
  }

  setBackends(backends: readonly Backend[]): void {
    this.#worker.setBackends(backends);
    const lanes = new Set(this.#worker.laneKeys());
    const dropped = new Map<string, JobState[]>();
    for (const job of this.#state.jobs.values()) {
      for (const lane of job.pending) {
        if (lanes.has(lane)) continue;
        const jobs = dropped.get(lane) ?? [];
        jobs.push(job);
        dropped.set(lane, jobs);
      }
    }
    if (dropped.size === 0) return;
    const deliveries: [number, string][] = [];
    for (const [lane, jobs] of dropped) for (const job of jobs) deliveries.push([job.id, lane]);
    this.#record({ t: 'g', d: deliveries });
    for (const [lane, jobs] of dropped) {
      this.#emit({ type: 'delivery-dropped', ...splitLane(lane), jobs: jobs.map(jobView), why: 'backend-removed' });
      for (const job of jobs) this.#settleIfGone(job.id);
    }
  }

  expireSessions(now = Date.now()): Session[] {
    if (this.#closing) return [];
    const stale = this.#state.sessions.expired(now, this.#options.maxSessionAgeMs);
    for (let i = 0; i < stale.length; i += 5000) {
      this.#record({ t: 'c', r: stale.slice(i, i + 5000).map(removalRow) });
    }
    if (stale.length > 0) this.#emit({ type: 'sessions-expired', count: stale.length });
    return stale;
  }

  async applyAdmin(request: AdminRequest): Promise<AdminReply> {
    if (this.#closing) throw new RblError('RBL_STATE_DIR', 'the state store is closed');
    const { record, count, notFound } = deadLetterRecord(this.#state, request.action, request.ids);
    if (record) {
      this.#state.apply(record);
      const written = this.#journal.append(record);
      if (record.t === 'rd') {
        const orphans: [number, string][] = [];
        for (const [id, lane] of record.d) if (!this.#worker.enqueue(id, lane)) orphans.push([id, lane]);
        // A re-driven dead letter whose backend or zone left the config has nowhere to go.
        if (orphans.length > 0) {
          this.#record({ t: 'g', d: orphans });
          for (const [id, lane] of orphans) {
            const job = this.#state.jobs.get(id);
            this.#emit({ type: 'delivery-dropped', ...splitLane(lane), jobs: job ? [jobView(job)] : [], why: 'backend-removed' });
          }
        }
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
    return { fsyncs, journalRecords: records, journalBytes: this.#journal.bytes, compactions };
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const timer of this.#timers) clearInterval(timer);
      await this.#worker.close(this.#options.closeGraceMs ?? 1000);
      await this.#journal.close();
      await this.#lock.release();
    })();
    return this.#closing;
  }

  #delivered(lane: string, jobs: readonly JobState[]): void {
    this.#record({ t: 'd', l: lane, i: jobs.map((job) => job.id) });
    const now = Date.now();
    for (const job of jobs) {
      this.#emit({ type: 'delivered', ...splitLane(lane), job: jobView(job), latencyMs: now - job.createdAt, batchJobs: jobs.length });
      this.#settleIfGone(job.id);
    }
  }

  #deadLettered(lane: string, job: JobState, error: RblError): void {
    const now = Date.now();
    this.#record({ t: 'x', l: lane, i: job.id, a: now, c: error.code, m: error.message });
    this.#emit({ type: 'dead-lettered', ...splitLane(lane), job: jobView(job), error, latencyMs: now - job.createdAt });
    const waiter = this.#waiters.get(job.id);
    this.#waiters.delete(job.id);
    waiter?.reject(error);
  }

  /** Applies and journals a record nobody waits on; a write failure is reported as an event. */
  #record(record: JournalRecord): void {
    this.#state.apply(record);
    this.#journal.append(record).catch(() => undefined);
  }

  #settleIfGone(id: number): void {
    if (this.#state.jobs.has(id)) return;
    const waiter = this.#waiters.get(id);
    this.#waiters.delete(id);
    waiter?.resolve();
  }

  async #pollRequests(): Promise<void> {
    if (this.#polling || this.#closing) return;
    this.#polling = true;
    try {
      await serveRequests(this.#options.dir, (request) => this.applyAdmin(request));
    } catch (error) {
      this.#emit({ type: 'journal-error', error: stateError('cannot answer a queue request', error) });
    } finally {
      this.#polling = false;
    }
  }

  #emit(event: QueueEvent): void {
    emit(this.#options.onEvent, event);
  }
}

function emit(listener: ((event: QueueEvent) => void) | undefined, event: QueueEvent): void {
  try {
    listener?.(event);
  } catch {
    // A failing listener must not stop the queue.
  }
}
