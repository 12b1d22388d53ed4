/**
 * The state.dir lock: a file created exclusively, holding the owner's pid. The service holds it while
 * it runs; `queue retry|drop` holds it for a moment when the service does not run. A lock whose pid
 * is gone (the holder was killed) is stale and taken over.
 */
import { randomBytes } from 'node:crypto';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { RblError } from '../errors.js';

export const LOCK_FILE = 'lock';

/** A held lock; release() removes the file. */
export interface StateLock {
  readonly file: string;
  release(): Promise<void>;
}

/** Who holds the lock, when someone alive does. */
export interface LockHolder {
  readonly pid: number;
  readonly since: number;
}

/** Takes the lock, or returns the live holder. A stale lock (dead pid) is removed and taken. */
export async function tryLock(dir: string, role: string): Promise<StateLock | LockHolder> {
  const file = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    // Written aside, then linked into place: link() fails if the lock exists, and never shows a half-written file.
    const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    try {
      await writeFile(temporary, JSON.stringify({ pid: process.pid, since: Date.now(), host: hostname(), role }), { flush: true });
      await link(temporary, file);
      return { file, release: () => unlink(file).catch(() => undefined) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new RblError('RBL_STATE_DIR', `cannot create the lock ${file}: ${(error as Error).message}`, { cause: error });
      }
    } finally {
      await unlink(temporary).catch(() => undefined);
    }
    const holder = await readHolder(file);
    if (holder && isAlive(holder.pid)) return holder;
    // Stale: the holder is gone.
    await unlink(file).catch(() => undefined);
  }
  throw new RblError('RBL_STATE_DIR', `cannot take the lock ${file}: it keeps reappearing; is another rbl-unlist starting on the same state.dir?`);
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

async function readHolder(file: string): Promise<LockHolder | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as { pid?: unknown; since?: unknown };
    if (typeof parsed.pid !== 'number') return undefined;
    return { pid: parsed.pid, since: typeof parsed.since === 'number' ? parsed.since : 0 };
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
