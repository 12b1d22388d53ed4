/**
 * The journal after taking state.dir from a holder that may still run. A lock is broken that way
 * when its holder ran in another container or on another host and stopped refreshing it
 * (lock-liveness.ts): it died, or it is frozen or stalled on a hung disk and will wake with the
 * journal open. What it writes then would land over the records this process appends to the same
 * file. So before reading the journal, this process copies it to a new file that takes its name:
 * a late write of the old holder goes to the file it has open, which nobody reads any more. It
 * acknowledges nothing it wrote after its lock was broken (StateLock.held, the journal's fence), so
 * nothing acknowledged is lost with that file.
 */
import { copyFile, open, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { stateError, syncFolder } from './state-files.js';

/** The copy's name in state.dir while it is made; one a crash left is removed at the next start. */
export const TAKEOVER_FILE = 'journal.takeover';

/** Puts a copy of the journal at `file` in its place; false when there is no journal. */
export async function detachJournal(file: string): Promise<boolean> {
  const copy = join(dirname(file), TAKEOVER_FILE);
  try {
    // copy_file_range where the file system has it: the kernel copies, a journal of 100 MB in well under a second.
    await copyFile(file, copy);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw stateError(`cannot copy the journal ${file} to ${copy} after breaking the lock of a holder that may still run`, error);
  }
  try {
    const handle = await open(copy, 'r+');
    try {
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(copy, file);
    await syncFolder(dirname(file));
  } catch (error) {
    throw stateError(`cannot put the copy of the journal ${file} in its place after breaking the lock of a holder that may still run`, error);
  }
  return true;
}
