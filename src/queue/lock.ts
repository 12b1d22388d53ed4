/**
 * The state.dir lock: a file created exclusively, naming its holder and where it runs (pid, host,
 * boot id, PID namespace, process start time). The service holds it while it runs; `queue
 * retry|drop` holds it for a moment when the service does not run. Node has no flock(), and a lock
 * must also hold between containers and hosts that share the volume, so the holder refreshes the
 * file every REFRESH_MS and lock-liveness.ts decides from the record whether its holder still runs.
 *
 * Breaking a stale lock is a compare-and-delete: only the process that creates `lock.break-<nonce>`
 * for the stale lock's nonce may delete it, and it re-reads the lock first, so two processes that find
 * the same stale lock at once can never both delete a lock, nor delete the one the other just took.
 */
import { randomBytes } from 'node:crypto';
import { fstatSync } from 'node:fs';
import { link, open, readdir, readFile, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { RblError } from '../errors.js';
import { describeHolder, holderMayStillRun, judgeLock, parseLockRecord, REFRESH_MS, STALE_MS, type LockRecord, type LockVerdict, type Watched } from './lock-liveness.js';
import { lookAtPid, ownIdentity } from './process-identity.js';

export const LOCK_FILE = 'lock';
/** A break marker older than this belongs to a process that died while breaking: it is ignored. */
const BREAK_MARKER_STALE_MS = 10_000;

/** A held lock; release() stops its refreshes and removes the file. */
export interface StateLock {
  readonly file: string;
  /**
   * Resolves if another process broke the lock while this one held it (it found the lock stale:
   * this process was stopped or stalled for longer than STALE_MS); never while it is released.
   */
  readonly lost: Promise<void>;
  /**
   * Whether the lock is still this process's, answered at once (one fstat): asked after each journal
   * write is on disk and before it is acknowledged, so a process that was frozen while another broke
   * its lock acknowledges nothing it wrote after waking, not even before its next refresh notices.
   */
  held(): boolean;
  /**
   * Taken by breaking a lock whose holder ran elsewhere and only stopped refreshing it: that holder
   * may still run, and write to the files it has open once it wakes (holderMayStillRun).
   */
  readonly brokeLiveHolder: boolean;
  release(): Promise<void>;
}

/** Who holds the lock, when someone alive does. */
export interface LockHolder {
  readonly pid: number;
  readonly since: number;
  /** 'serve', or the `queue` command holding it for a moment; absent in old locks. */
  readonly role?: string;
}

/** A lock someone else holds, and how sure we are that they still run. */
interface Refusal {
  readonly record: LockRecord;
  readonly verdict: Exclude<LockVerdict, 'stale'>;
}

/** How much longer than STALE_MS past its wait acquireLock watches a lock that is not refreshed. */
const WATCH_MARGIN_MS = 1000;

/** Takes the lock, or returns its holder. A stale lock is removed (once, by one process) and taken. */
export async function tryLock(dir: string, role: string): Promise<StateLock | LockHolder> {
  const result = await takeLock(join(dir, LOCK_FILE), role, new LockWatch());
  return 'release' in result ? result : { pid: result.record.pid, since: result.record.since };
}

/** Who holds the lock now, unless it is known to be stale; never takes it. */
export async function lockHolder(dir: string): Promise<LockHolder | undefined> {
  const record = await readRecord(join(dir, LOCK_FILE));
  if (!record || record === 'gone' || verdictOf(record, new LockWatch()) === 'stale') return undefined;
  return { pid: record.pid, since: record.since, role: record.role ?? 'serve' };
}

/**
 * Takes the lock, waiting up to waitMs for a live holder to let go. A holder elsewhere that has not
 * refreshed the lock yet is watched for up to STALE_MS longer: until it refreshes, or is found stale.
 */
export async function acquireLock(dir: string, role: string, waitMs: number): Promise<StateLock> {
  const file = join(dir, LOCK_FILE);
  const watch = new LockWatch();
  const deadline = performance.now() + waitMs;
  while (true) {
    const result = await takeLock(file, role, watch);
    if ('release' in result) return result;
    const now = performance.now();
    // A watched lock is judged stale STALE_MS after the first look, which comes a moment after the
    // deadline was set: a second more, so that moment cannot make us give up just before it would.
    if (now >= deadline + STALE_MS + WATCH_MARGIN_MS || (now >= deadline && result.verdict !== 'watching')) throw lockedError(dir, file, result);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A lock written aside, `lock.<pid>.<nonce>`, before it is linked into place (createLock). */
const LOCK_TEMPORARY = /^lock\.\d+\.[0-9a-f]{16}$/;
/** Far longer than writing one takes: a younger one may be another process's try of this moment. */
const LEFTOVER_AGE_MS = 60_000;

/**
 * Removes the locks written aside that a process killed between writing and linking one left
 * (each start or `queue` command that was killed there adds one); to be called holding the lock.
 */
export async function removeLeftoverLockFiles(dir: string, now = Date.now()): Promise<number> {
  let removed = 0;
  for (const name of await readdir(dir).catch(() => [])) {
    if (!LOCK_TEMPORARY.test(name)) continue;
    const path = join(dir, name);
    const written = await stat(path).catch(() => undefined);
    if (!written || now - written.mtimeMs < LEFTOVER_AGE_MS) continue;
    await unlink(path).then(() => removed++, () => undefined);
  }
  return removed;
}

function lockedError(dir: string, file: string, { record, verdict }: Refusal): RblError {
  const holder = `state.dir ${dir} is locked by ${describeHolder(record, Date.now())}`;
  if (verdict === 'unverifiable') {
    return new RblError(
      'RBL_STATE_DIR',
      `${holder}: a lock of rbl-unlist 0.3 or older from another host or container, which cannot be checked from here; ` +
        `stop that service, and if no rbl-unlist runs on this state.dir any more, delete ${file}`,
    );
  }
  return new RblError(
    'RBL_STATE_DIR',
    `${holder}: another rbl-unlist runs on this state.dir, perhaps in another container or on another host; ` +
      `stop it first (one service per state.dir: in Kubernetes, the Recreate strategy), or start this one when it has stopped`,
  );
}

/** Up to five tries: take the lock, or judge its holder and break it when stale. */
async function takeLock(file: string, role: string, watch: LockWatch): Promise<StateLock | Refusal> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const taken = await createLock(file, role, watch.sawLiveHolder);
    if (taken) return taken;
    const holder = await readRecord(file);
    if (holder === 'gone') {
      // Released, or broken by another process: which holder it was is not known, so it may be one
      // that may still run.
      watch.sawLiveHolder = true;
      continue;
    }
    // Whoever breaks it (we, or another process while we watch), the lock taken next follows a
    // holder that may wake: remembered for this whole acquisition.
    if (holder && holderMayStillRun(holder, ownIdentity())) watch.sawLiveHolder = true;
    const verdict = holder ? verdictOf(holder, watch) : 'stale';
    if (holder && verdict !== 'stale') return { record: holder, verdict };
    await breakStaleLock(file, holder);
  }
  throw new RblError('RBL_STATE_DIR', `cannot take the lock ${file}: it keeps reappearing; is another rbl-unlist starting on the same state.dir?`);
}

function verdictOf(record: LockRecord, watch: LockWatch): LockVerdict {
  return judgeLock(record, ownIdentity(), lookAtPid, watch.observe(record));
}

/** Creates the lock, or returns undefined when it exists; the lock is refreshed until released. */
async function createLock(file: string, role: string, brokeLiveHolder: boolean): Promise<StateLock | undefined> {
  const nonce = randomBytes(8).toString('hex');
  // Written aside, then linked into place: link() fails if the lock exists, and never shows a half-written file.
  const temporary = `${file}.${process.pid}.${nonce}`;
  let handle: FileHandle | undefined;
  try {
    handle = await open(temporary, 'wx', 0o600);
    const record: LockRecord = { ...ownIdentity(), since: Date.now(), nonce, role, refreshed: Date.now() };
    await writeRecord(handle, record);
    await link(temporary, file);
    return holdLock(file, handle, record, brokeLiveHolder);
  } catch (error) {
    await handle?.close();
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw new RblError('RBL_STATE_DIR', `cannot create the lock ${file}: ${(error as Error).message}`, { cause: error });
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
}

/** Refreshes the held lock every REFRESH_MS, through its own open file, until released. */
function holdLock(file: string, handle: FileHandle, record: LockRecord, brokeLiveHolder: boolean): StateLock {
  let lost = false;
  let markLost: () => void = () => undefined;
  const lostPromise = new Promise<void>((resolve) => (markLost = resolve));
  // No link left: someone found the lock stale (this process was stopped longer than STALE_MS) and
  // broke it. Writing through the handle could never touch their lock, but refreshing ours is pointless.
  const noteLinks = (links: number): boolean => {
    if (links > 0) return true;
    lost = true;
    if (!released) markLost();
    return false;
  };
  /** The lock file's links now; NFS says ESTALE for a file another client removed: a breaker on another host. */
  const links = (): number => {
    try {
      return fstatSync(handle.fd).nlink;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESTALE') return 0;
      throw error;
    }
  };
  const refresh = async (): Promise<void> => {
    if (noteLinks(links())) await writeRecord(handle, { ...record, refreshed: Date.now() });
  };
  const held = (): boolean => {
    if (lost || released) return false;
    try {
      return noteLinks(links());
    } catch {
      // The lock's own file cannot be looked at (EIO): the journal write just before succeeded on
      // the same volume, and the refresh goes on judging; no sign of a breaker.
      return true;
    }
  };
  let refreshing: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (refreshing || lost) return;
    refreshing = refresh()
      // A failed refresh (EIO, a volume gone) is tried again; others take the lock only once it stays unrefreshed.
      .catch(() => undefined)
      .finally(() => (refreshing = undefined));
  }, REFRESH_MS);
  timer.unref();
  let released: Promise<void> | undefined;
  const release = (): Promise<void> =>
    (released ??= (async () => {
      clearInterval(timer);
      await refreshing;
      // Deleted only if it is still ours (a stale-lock breaker may have replaced it after a pause).
      const now = await readRecord(file);
      if (now && now !== 'gone' && now.nonce === record.nonce) await unlink(file).catch(() => undefined);
      await handle.close();
    })());
  return { file, lost: lostPromise, held, brokeLiveHolder, release };
}

/**
 * Writes the record over the file's start. Every refresh has the same length (only the 13 digits of
 * `refreshed` change), so a reader sees the old record, the new one, or digits of both: never a torn one.
 * The datasync makes a refresh visible to other hosts of a network file system.
 */
async function writeRecord(handle: FileHandle, record: LockRecord): Promise<void> {
  const text = Buffer.from(JSON.stringify(record));
  await handle.write(text, 0, text.length, 0);
  await handle.truncate(text.length);
  await handle.datasync();
}

/** What this process saw of one lock's refreshes, by its own monotonic clock. */
class LockWatch {
  #seen: { nonce?: string; refreshed?: number; at: number; sawRefresh: boolean } | undefined;
  /** Whether a lock seen while acquiring had a holder that may still run, or vanished unseen. */
  sawLiveHolder = false;

  observe(record: LockRecord): Watched {
    const now = performance.now();
    if (this.#seen === undefined || this.#seen.nonce !== record.nonce) {
      this.#seen = { nonce: record.nonce, refreshed: record.refreshed, at: now, sawRefresh: false };
    } else if (this.#seen.refreshed !== record.refreshed) {
      this.#seen = { nonce: record.nonce, refreshed: record.refreshed, at: now, sawRefresh: true };
    }
    return { unchangedForMs: now - this.#seen.at, sawRefresh: this.#seen.sawRefresh };
  }
}

/**
 * Deletes the stale lock `seen` unless someone replaced or refreshed it meanwhile. The marker names
 * the stale lock's nonce, so only one process breaks that lock; a lock without a nonce (unreadable,
 * or written by 0.1) is named by its size and time instead.
 */
async function breakStaleLock(file: string, seen: LockRecord | undefined): Promise<void> {
  const identity = seen?.nonce ?? (await stat(file).then((s) => `${s.size}-${s.mtimeMs}`, () => undefined));
  if (identity === undefined) return;
  const marker = `${file}.break-${identity.replace(/[^\w.-]/g, '_')}`;
  try {
    await writeFile(marker, String(process.pid), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new RblError('RBL_STATE_DIR', `cannot break the stale lock ${file}: ${(error as Error).message}`, { cause: error });
    const age = await stat(marker).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age > BREAK_MARKER_STALE_MS) await unlink(marker).catch(() => undefined);
    // Another process is breaking it: wait for it to take the lock, then look again.
    await new Promise((resolve) => setTimeout(resolve, 20));
    return;
  }
  try {
    const now = await readRecord(file);
    const unchanged =
      now !== 'gone' &&
      (seen?.nonce !== undefined
        ? now?.nonce === seen.nonce && now.refreshed === seen.refreshed
        : await stat(file).then((s) => `${s.size}-${s.mtimeMs}` === identity, () => false));
    if (unchanged) await unlink(file).catch(() => undefined);
  } finally {
    await unlink(marker).catch(() => undefined);
  }
}

async function readRecord(file: string): Promise<LockRecord | undefined | 'gone'> {
  try {
    return parseLockRecord(await readFile(file, 'utf8'));
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : undefined;
  }
}
