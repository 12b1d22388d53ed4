/**
 * What the state store offers the daemon and the queue commands: one commit per accounting event, its
 * health, and its counters. The implementation is in store.ts; openStateStore (store-open.ts) opens it.
 */
import type { Backend } from '../backends/types.js';
import type { CanonicalPrefix } from '../net/address.js';
import type { CanonicalSession, Session, SessionKey } from '../sessions/session.js';
import type { ReadonlySessionTable, StopTime } from '../sessions/table.js';
import type { DeliveryAttempt } from './attempts.js';
import type { BackoffPolicy } from './backoff.js';
import type { QueueEvent } from './events.js';
import type { MayUnlist } from './pool-narrowing.js';
import type { AdminReply, AdminRequest } from './requests.js';
import type { UnlistJob } from './state.js';

/** One accounting event's effect, committed atomically. */
export interface StateChange {
  /** Sessions recorded or refreshed (Start, Interim-Update), with the canonical addresses made from the packet. */
  readonly upsert?: readonly CanonicalSession[];
  /** Sessions forgotten: stopped (Stop, Accounting-On/Off; with the stop time) or evicted (without). */
  readonly remove?: readonly (SessionKey & { readonly stoppedAt?: StopTime })[];
  /** Targets to unlist in every configured backend and zone; no job is made when targets is empty. */
  readonly unlist?: UnlistRequest;
}

/** What to unlist, and why. */
export interface UnlistRequest extends Omit<UnlistJob, 'id' | 'targets'> {
  /**
   * The targets: canonical prefixes, trusted as they are (issue 11: made once, at decode), or text,
   * which is parsed and made canonical here (RBL_ADDRESS_INVALID when it is not an address).
   */
  readonly targets: readonly (CanonicalPrefix | string)[];
}

/** What commit() returns. */
export interface Commit {
  /** The unlist job's id, when the change made one (none when its targets merged into pending ones). */
  readonly jobId: string | undefined;
  /** Resolves once the change is in the fsync'd journal; rejects with RBL_STATE_DIR if it cannot be written. */
  readonly recorded: Promise<void>;
  /**
   * Resolves once recorded and every delivery that covers the targets succeeded (its own job's, or the
   * pending ones it merged into; at once after `recorded` when there is nothing to unlist); rejects
   * with the backend's RblError when one became a dead letter, and with RBL_STATE_DIR when the change
   * was not recorded. Never settles when the store closes first (the job is replayed on the next open).
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
  /** Distinct (backend, zone, target) pending: the backlog's real size. */
  readonly pendingTargets: number;
}

/** Whether the journal accepts writes, as the store itself knows it. */
export interface JournalHealth {
  readonly writable: boolean;
  /** Why not, while it is not. */
  readonly error?: string;
  /** Epoch ms since when it is not writable. */
  readonly since?: number;
}

/** One job and where it still waits or failed for good. */
export interface JobDeliveries {
  readonly job: UnlistJob;
  readonly pending: readonly { readonly backend: string; readonly zone: string }[];
  readonly dead: readonly { readonly backend: string; readonly zone: string; readonly failedAt: number; readonly code: string; readonly message: string }[];
}

export interface StateStore {
  /** The session table, for reading: changes go through commit(). */
  readonly sessions: ReadonlySessionTable;
  /**
   * Applies the change in memory at once, journals it, and queues its unlist job. Throws
   * RBL_ADDRESS_INVALID for a bad address, RBL_STATE_DIR after close or while the journal cannot be written.
   */
  commit(change: StateChange, options?: CommitOptions): Commit;
  /**
   * Resolves once every change committed so far is on disk; rejects (RBL_STATE_DIR) while the
   * journal cannot be written. An event that changes nothing is answered after it: the state it was
   * judged against holds changes still on their way to the disk, which a failed write takes back.
   */
  committed(): Promise<void>;
  /** Whether the journal can be written now (and has not been waiting on the disk for long). */
  health(): JournalHealth;
  /** Requests and records waiting for the journal's write to reach the disk: what state.max_unwritten caps. */
  waitingForDisk(): number;
  /** The jobs with a target that `matches` accepts, with their pending and dead-lettered deliveries (GET /addresses/ADDRESS). */
  jobsMatching(matches: (target: string) => boolean): JobDeliveries[];
  /** Attempts, last error and next try of each pending delivery (what `queue list` shows). */
  deliveryAttempts(): DeliveryAttempt[];
  /** Pending deliveries (job × backend × zone). */
  depth(): number;
  /** Dead-lettered deliveries. */
  deadLetterCount(): number;
  /**
   * Swaps the backends (SIGHUP): pending deliveries of lanes that went away go to the lanes that
   * serve their zone now (handover.ts), or are dropped when none does, with an event either way;
   * a lane given a new Backend object retries at once.
   */
  setBackends(backends: readonly Backend[]): void;
  /** Forgets (through the journal) sessions not updated within maxSessionAgeMs; runs by itself every minute. */
  expireSessions(now?: number): Session[];
  /** sessions.max_age as a SIGHUP reloaded it: the next expiry uses it. */
  setMaxSessionAge(ms: number): void;
  /** The pools as a SIGHUP reloaded them: pending unlists of targets they no longer allow are dropped at once (pool-narrowing.ts). */
  setMayUnlist(mayUnlist: MayUnlist): void;
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
  /** The pools: pending unlists of targets they do not allow are dropped at the start (pool-narrowing.ts). Without it, none is. */
  readonly mayUnlist?: MayUnlist;
  readonly onEvent?: (event: QueueEvent) => void;
  /** Most targets per Backend.unlist call (500). */
  readonly maxTargetsPerCall?: number;
  /** Calls in flight per backend and zone (2). */
  readonly concurrency?: number;
  readonly backoff?: Partial<BackoffPolicy>;
  /** Compact after this many appended bytes, or a quarter of the last snapshot's size if larger (1 MiB; see compaction-rule.ts). */
  readonly compactBytes?: number;
  /** How long after a failed compaction the next may start (30 s). */
  readonly compactionRetryMs?: number;
  /** The first pause before writing again after a journal failure (1 s; it doubles up to 5 s). */
  readonly recoveryMs?: number;
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
