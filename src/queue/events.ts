/**
 * What the state store reports to the daemon for logs and metrics. The store itself never logs:
 * every event carries what a log line needs (backend, zone, the jobs with their client, NAS and
 * session, the error, the latency from the accounting event).
 */
import type { RblError } from '../errors.js';
import type { AdminRequest } from './requests.js';
import type { UnlistJob } from './state.js';

export type QueueEvent =
  /**
   * One call unlisted these jobs' targets in one backend and zone, at `at` (epoch ms): one event per
   * call, not per job, so a batch of 500 costs one event. A job's latency is `at - job.createdAt`.
   */
  | {
      readonly type: 'delivered';
      readonly backend: string;
      readonly zone: string;
      readonly jobs: readonly UnlistJob[];
      readonly at: number;
      /**
       * The jobs' targets here are the part a call did of each; the rest goes on as new jobs of the
       * same request, whose delivery reports the unlist latency (observed once per backend and zone).
       */
      readonly partial?: true;
      /** With `partial`: each job whose rest went on, and the job that carries it (its id and the targets left), so a log ties the two. */
      readonly continued?: readonly { readonly job: string; readonly as: UnlistJob }[];
    }
  /** A batch failed transiently; the lane waits delayMs and tries again (attempt counts the lane's consecutive failures). */
  | {
      readonly type: 'retry-scheduled';
      readonly backend: string;
      readonly zone: string;
      readonly jobs: readonly UnlistJob[];
      readonly targets: readonly string[];
      readonly error: Error;
      readonly attempt: number;
      readonly delayMs: number;
    }
  /** A delivery was refused permanently and is kept as a dead letter until `queue retry` or `queue drop`. */
  | { readonly type: 'dead-lettered'; readonly backend: string; readonly zone: string; readonly job: UnlistJob; readonly error: RblError; readonly latencyMs: number }
  /** Pending deliveries for a backend no longer configured went to the backends (`to`) that serve the zone now. */
  | { readonly type: 'delivery-handed-over'; readonly backend: string; readonly zone: string; readonly to: readonly string[]; readonly jobs: readonly UnlistJob[] }
  /** Pending deliveries for a backend no longer configured were dropped: every backend that serves the zone has them already. */
  | { readonly type: 'delivery-dropped'; readonly backend: string; readonly zone: string; readonly jobs: readonly UnlistJob[]; readonly why: 'backend-removed' }
  /** Pending unlists of targets the pools no longer allow were dropped (`jobs` of them, each target once in `targets`). */
  | { readonly type: 'pending-outside-pools'; readonly targets: readonly string[]; readonly jobs: number }
  /** Pending deliveries for a backend no longer configured became dead letters (RBL_BACKEND_REMOVED): no backend serves the zone now. */
  | { readonly type: 'delivery-unserved'; readonly backend: string; readonly zone: string; readonly jobs: readonly UnlistJob[]; readonly error: RblError }
  /**
   * Replay skipped bytes: corrupt stretches with good records after them (`stretches`, replayed
   * past), and a torn or corrupt tail after the last good record.
   */
  | {
      readonly type: 'journal-recovered';
      readonly file: string;
      readonly goodBytes: number;
      readonly skippedBytes: number;
      readonly stretches: number;
      readonly reason: string;
      readonly savedAs: string | undefined;
      /** Why the skipped bytes could not be saved aside (ENOSPC): skipped all the same. */
      readonly saveError?: string | undefined;
    }
  /** Files in state.dir (or the folder) that group or others could read, as an older release left them: now owner-only; `failed` could not be changed. */
  | { readonly type: 'state-dir-tightened'; readonly dir: string; readonly paths: readonly string[]; readonly failed: readonly { readonly path: string; readonly code: string }[] }
  /** Dead letters an older release journaled with a credential in their message; the journal is being compacted to drop that text. */
  | { readonly type: 'dead-letters-redacted'; readonly file: string; readonly count: number }
  | { readonly type: 'journal-compacted'; readonly file: string; readonly beforeBytes: number; readonly afterBytes: number; readonly durationMs: number }
  /**
   * The journal could not be written or compacted (disk full, I/O error, read-only). `writable` says
   * whether it still takes writes: false after a failed write (nothing is acknowledged until
   * 'journal-writable'), true after a failed compaction (the old file goes on).
   */
  | { readonly type: 'journal-error'; readonly error: RblError; readonly writable: boolean }
  /** Another service took the state.dir lock while this one held it: nothing more is written or acknowledged until a restart. */
  | { readonly type: 'lock-lost'; readonly error: RblError }
  /** The lock was broken from a holder that may still run: the journal was copied to a new file first (takeover.ts). */
  | { readonly type: 'journal-detached'; readonly dir: string }
  /** The journal takes writes again after downMs; the state was rebuilt from it, `pending` deliveries. */
  | { readonly type: 'journal-writable'; readonly downMs: number; readonly pending: number }
  /** A `queue` request file could not be read or answered. */
  | { readonly type: 'request-error'; readonly error: RblError }
  /**
   * A `queue retry|drop` request that a service took and died before answering, found more than a
   * minute old (REQUEST_MAX_AGE_MS): removed, not applied (unless that service died after applying
   * it, just before its reply). `request` is undefined when its file could not be read, `writtenAt`
   * (epoch ms, from its name) when the name holds no time.
   */
  | { readonly type: 'request-not-applied'; readonly request: AdminRequest | undefined; readonly writtenAt: number | undefined }
  | { readonly type: 'sessions-expired'; readonly count: number }
  /** `queue retry` or `queue drop` was applied at the CLI's request. */
  | { readonly type: 'admin-request'; readonly action: 'retry' | 'drop'; readonly count: number };
