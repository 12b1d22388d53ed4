/**
 * The state.dir lock: a file created exclusively, naming its owner by pid, boot id and process start
 * time. The service holds it while it runs; `queue retry|drop` holds it for a moment when the service
 * does not run. A pid alone does not name a process: in a container the service is always PID 1, and
 * after a reboot pids are reused. So a lock is held only while a process with the same pid, started at
 * the same time, runs on the same boot (Linux /proc; elsewhere the pid alone is checked).
 *
 * Breaking a stale lock is a compare-and-delete: only the process that creates `lock.break-<nonce>`
 * for the stale lock's nonce may delete it, and it re-reads the lock first, so two processes that find
 * the same stale lock at once can never both delete a lock, nor delete the one the other just took.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { RblError } from '../errors.js';

export const LOCK_FILE = 'lock';
/** A break marker older than this belongs to a process that died while breaking: it is ignored. */
const BREAK_MARKER_STALE_MS = 10_000;

/** A held lock; release() removes the file. */
export interface StateLock {
  readonly file: string;
  release(): Promise<void>;
}

/** Who holds the lock, when someone alive does. */
export interface LockHolder {
  readonly pid: number;
  readonly since: number;
  /** 'serve', or the `queue` command holding it for a moment; absent in old locks. */
  readonly role?: string;
}

/** What a lock file records. Old locks hold only pid and since. */
interface LockRecord {
  readonly pid: number;
  readonly since: number;
  readonly role?: string;
  readonly nonce?: string;
  readonly boot?: string;
  /** Field 22 of /proc/PID/stat: clock ticks after boot when the process started. */
  readonly start?: string;
}

/** This process, as a lock names it. */
function ownIdentity(): { pid: number; boot?: string; start?: string } {
  return { pid: process.pid, boot: bootId(), start: startTime(process.pid) };
}

/** Takes the lock, or returns the live holder. A stale lock is removed (once, by one process) and taken. */
export async function tryLock(dir: string, role: string): Promise<StateLock | LockHolder> {
  const file = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 5; attempt++) {
    const nonce = randomBytes(8).toString('hex');
    // Written aside, then linked into place: link() fails if the lock exists, and never shows a half-written file.
    const temporary = `${file}.${process.pid}.${nonce}`;
    try {
      const record: LockRecord & { host: string; role: string } = { ...ownIdentity(), since: Date.now(), nonce, host: hostname(), role };
      await writeFile(temporary, JSON.stringify(record), { flush: true, mode: 0o600 });
      await link(temporary, file);
      return { file, release: () => releaseLock(file, nonce) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new RblError('RBL_STATE_DIR', `cannot create the lock ${file}: ${(error as Error).message}`, { cause: error });
      }
    } finally {
      await unlink(temporary).catch(() => undefined);
    }
    const holder = await readRecord(file);
    if (holder === 'gone') continue;
    if (holder && isLive(holder)) return { pid: holder.pid, since: holder.since };
    await breakStaleLock(file, holder);
  }
  throw new RblError('RBL_STATE_DIR', `cannot take the lock ${file}: it keeps reappearing; is another rbl-unlist starting on the same state.dir?`);
}

/** Who holds the lock now, when a live process does; never takes it. */
export async function lockHolder(dir: string): Promise<LockHolder | undefined> {
  const holder = await readRecord(join(dir, LOCK_FILE));
  return holder && holder !== 'gone' && isLive(holder) ? { pid: holder.pid, since: holder.since, role: holder.role ?? 'serve' } : undefined;
}

/** Takes the lock, waiting up to waitMs for a live holder to let go. */
export async function acquireLock(dir: string, role: string, waitMs: number): Promise<StateLock> {
  const deadline = Date.now() + waitMs;
  while (true) {
    const result = await tryLock(dir, role);
    if ('release' in result) return result;
    if (Date.now() >= deadline) {
      throw new RblError(
        'RBL_STATE_DIR',
        `state.dir ${dir} is locked by pid ${result.pid} (since ${new Date(result.since).toISOString()}); is another rbl-unlist serve running on it?`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Deletes the lock only if it is still ours (a stale-lock breaker may have replaced it after a pause). */
async function releaseLock(file: string, nonce: string): Promise<void> {
  const record = await readRecord(file);
  if (record && record !== 'gone' && record.nonce === nonce) await unlink(file).catch(() => undefined);
}

/**
 * Deletes the stale lock `seen` unless someone replaced it meanwhile. The marker names the stale lock's
 * nonce, so only one process breaks that lock; a lock without a nonce (unreadable, or written by an older
 * version) is named by its size and time instead.
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
      (seen?.nonce !== undefined ? now?.nonce === seen.nonce : await stat(file).then((s) => `${s.size}-${s.mtimeMs}` === identity, () => false));
    if (unchanged) await unlink(file).catch(() => undefined);
  } finally {
    await unlink(marker).catch(() => undefined);
  }
}

async function readRecord(file: string): Promise<LockRecord | undefined | 'gone'> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as Partial<Record<keyof LockRecord, unknown>>;
    if (typeof parsed.pid !== 'number') return undefined;
    return {
      pid: parsed.pid,
      since: typeof parsed.since === 'number' ? parsed.since : 0,
      nonce: typeof parsed.nonce === 'string' ? parsed.nonce : undefined,
      role: typeof parsed.role === 'string' ? parsed.role : undefined,
      boot: typeof parsed.boot === 'string' ? parsed.boot : undefined,
      start: typeof parsed.start === 'string' ? parsed.start : undefined,
    };
  } catch {
    return undefined;
  }
}

/** Whether the process the lock names still runs: same boot, same pid, same start time. */
function isLive(holder: LockRecord): boolean {
  const own = ownIdentity();
  if (holder.boot !== undefined && own.boot !== undefined && holder.boot !== own.boot) return false;
  if (holder.pid === own.pid) {
    // Our own pid: the lock is ours only if it names this very process (a container's PID 1 restarted is another).
    return holder.start !== undefined && holder.start === own.start;
  }
  const start = startTime(holder.pid);
  if (start !== undefined) return holder.start === undefined || holder.start === start;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The start time of a process from /proc/PID/stat (field 22, after the parenthesised command name). */
function startTime(pid: number): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
