/**
 * `rbl-unlist queue list|retry|drop`, safe whether or not the service runs on the same state.dir.
 * Listing only reads the journal (a half-written tail is ignored, never cut). Retry and drop take
 * the lock and edit the journal when the service is not running; when it is, they hand it a request
 * file and wait for its reply, so only one process ever appends to the journal. Listing asks the
 * running service, when there is one, for what only it knows: each delivery's attempts, last error and
 * next try. All of them refuse a state.dir that does not exist (RBL_STATE_DIR).
 */
import { access, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { RblError } from '../errors.js';
import { Journal } from './journal.js';
import { replayJournal } from './journal-read.js';
import { acquireLock, lockHolder, tryLock } from './lock.js';
import { STALE_MS } from './lock-liveness.js';
import { detachJournal } from './takeover.js';
import { sendRequest, UnansweredRequest, type AdminReply, type AdminRequest } from './requests.js';
import { requireStateDir, requireStateDirOwner } from './state-dir.js';
import { deadLetterRecord, jobView, QueueState, splitLane, type UnlistJob } from './state.js';
import { JOURNAL_FILE } from './store-open.js';

/** A delivery: one job in one backend and zone. */
export interface QueueEntry extends UnlistJob {
  readonly backend: string;
  readonly zone: string;
}

/** A pending delivery, with what the running service knows of it (absent when it does not run). */
export interface PendingEntry extends QueueEntry {
  /** Calls that tried it and failed since the service started. */
  readonly attempts?: number;
  /** The last failure's error code and message. */
  readonly lastCode?: string;
  readonly lastError?: string;
  /** Epoch ms of the next try, when its lane waits after a failure; absent: with the lane's next call. */
  readonly nextTryAt?: number;
}

/** A delivery refused permanently. */
export interface DeadLetter extends QueueEntry {
  readonly failedAt: number;
  /** The RblError code, e.g. RBL_DNS_REFUSED. */
  readonly code: string;
  readonly message: string;
}

export interface QueueListing {
  readonly pending: PendingEntry[];
  /** Whether a running service answered with attempts, last errors and next tries. */
  readonly live: boolean;
  /** Why a running service did not tell them (it did not answer in time, or could not). */
  readonly serviceError?: string;
  readonly dead: DeadLetter[];
  /** Bytes of the journal that could not be read: its end (a write in progress, or corruption) or corrupt stretches, which are skipped. */
  readonly unreadableBytes: number;
}

/** What retry or drop did, and whether the running service did it. */
export interface AdminResult extends AdminReply {
  readonly via: 'service' | 'journal';
}

/** Lists pending and dead-lettered deliveries in state.dir, oldest job first. */
export async function listQueue(dir: string, options: AdminOptions = {}): Promise<QueueListing> {
  await requireStateDir(dir);
  let live: Awaited<ReturnType<typeof liveAttempts>>;
  let serviceError: string | undefined;
  try {
    live = await liveAttempts(dir, options.timeoutMs ?? 5000);
  } catch (error) {
    // The journal still lists everything; only the service's own counts are missing.
    serviceError = (error as Error).message;
  }
  const state = new QueueState();
  const read = await replayJournal(join(dir, JOURNAL_FILE), state, { repair: false });
  const pending: PendingEntry[] = [];
  const dead: DeadLetter[] = [];
  for (const job of [...state.jobs.values()].sort((a, b) => a.id - b.id)) {
    const view = jobView(job);
    for (const lane of job.pending) {
      const known = live?.get(`${job.id} ${lane}`);
      const attempts = live ? { attempts: known?.attempts ?? 0, lastCode: known?.lastCode, lastError: known?.lastError, nextTryAt: known?.nextTryAt } : {};
      pending.push({ ...view, ...splitLane(lane), ...attempts });
    }
    for (const letter of job.dead) {
      // The message was redacted as the journal was read (QueueState): 0.1 journaled HTTP URLs with their tokens.
      dead.push({ ...view, ...splitLane(letter.lane), failedAt: letter.failedAt, code: letter.code, message: letter.message });
    }
  }
  return { pending, live: live !== undefined, ...(serviceError === undefined ? {} : { serviceError }), dead, unreadableBytes: read.skippedBytes };
}

/** What the running service knows of its pending deliveries, by `id lane`; undefined when no service runs. */
async function liveAttempts(dir: string, timeoutMs: number): Promise<Map<string, NonNullable<AdminReply['deliveries']>[number]> | undefined> {
  if ((await lockHolder(dir))?.role !== 'serve') return undefined;
  const reply = await sendRequest(dir, { action: 'list' }, timeoutMs);
  return new Map((reply.deliveries ?? []).map((delivery) => [`${delivery.id} ${delivery.lane}`, delivery]));
}

/** Re-drives the dead letters of the given job ids (all when absent): they become pending again. */
export function retryDeadLetters(dir: string, ids?: readonly string[], options?: AdminOptions): Promise<AdminResult> {
  return administer(dir, { action: 'retry', ids }, options);
}

/** Drops the dead letters of the given job ids (all when absent) for good. */
export function dropDeadLetters(dir: string, ids?: readonly string[], options?: AdminOptions): Promise<AdminResult> {
  return administer(dir, { action: 'drop', ids }, options);
}

export interface AdminOptions {
  /** How long to wait for a running service's reply (10 s). */
  readonly timeoutMs?: number;
}

async function administer(dir: string, request: AdminRequest & { action: 'retry' | 'drop' }, options: AdminOptions = {}): Promise<AdminResult> {
  await requireStateDir(dir);
  await requireStateDirOwner(dir);
  const file = join(dir, JOURNAL_FILE);
  try {
    await access(file);
  } catch {
    return { count: 0, notFound: [...(request.ids ?? [])], via: 'journal' };
  }
  const role = `queue ${request.action}`;
  let lock = await tryLock(dir, role);
  let takenFile: string | undefined;
  if (!('release' in lock)) {
    try {
      return { ...(await sendRequest(dir, request, options.timeoutMs ?? 10_000)), via: 'service' };
    } catch (error) {
      if (!(error instanceof UnansweredRequest)) throw error;
      // A service killed in another container leaves a lock that counts as held until it has gone
      // STALE_MS unrefreshed while we watch (lock-liveness.ts): wait that out, then do it here. A
      // holder that still refreshes its lock keeps it, and its silence is the error.
      lock = await acquireLock(dir, role, 0).catch(() => {
        throw error;
      });
      takenFile = error.takenFile;
    }
  }
  try {
    // The service that took the request is gone, and this command applies it now: left there, it
    // would be applied again by the next service to start (requests.ts).
    if (takenFile !== undefined) await unlink(takenFile).catch(() => undefined);
    if (lock.brokeLiveHolder) await detachJournal(file);
    const state = new QueueState();
    const read = await replayJournal(file, state, { repair: true });
    const { record, count, notFound } = deadLetterRecord(state, request.action, request.ids);
    if (record || read.stretches > 0) {
      // Compacts only past a corrupt stretch, which every later read would skip and save again;
      // otherwise the service compacts as the journal grows.
      const journal = await Journal.open(file, {
        snapshot: () => state.snapshot(),
        compactBytes: Number.MAX_SAFE_INTEGER,
        fence: () => (lock.held() ? undefined : new RblError('RBL_STATE_DIR', `the state.dir lock ${lock.file} was taken by another rbl-unlist while this command held it (it was stopped or stalled for longer than the lock's ${STALE_MS / 1000} s): the change is not recorded`)),
      });
      try {
        if (record) {
          state.apply(record);
          await journal.append(record);
        }
        if (read.stretches > 0) await journal.compact();
      } finally {
        await journal.close();
      }
    }
    return { count, notFound, via: 'journal' };
  } finally {
    await lock.release();
  }
}
