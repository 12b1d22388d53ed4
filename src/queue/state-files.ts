/**
 * The small file helpers of state.dir, shared by the journal's reading and writing and by the other
 * files there (requests and replies, the takeover copy): the mode every file is made with, the
 * journal's durable opening, a write that carries on after a short one, the folder fsync that makes
 * a rename durable, and the error that says which file work failed.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { RblError } from '../errors.js';

/** Every file in state.dir is the service's alone: records name subscribers' sessions and addresses. */
export const STATE_FILE_MODE = 0o600;

/**
 * Opens an existing journal file for its appends, with O_DSYNC: each write returns once its data,
 * and the file size that reaches it, are on disk, as a write followed by fdatasync would (Linux's
 * open(2)), but in one system call and one trip through libuv's thread pool instead of two. On two
 * virtual cores a trip costs the service's thread a wake-up of about a third of a millisecond, and
 * each group commit made two (issue 13).
 */
export function openForDurableWrites(file: string): Promise<FileHandle> {
  return open(file, constants.O_RDWR | constants.O_DSYNC);
}

/** Writes all of `data` at `position`: a write may take fewer bytes than it was given. */
export async function writeFully(handle: FileHandle, data: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < data.length) {
    const { bytesWritten } = await handle.write(data, written, data.length - written, position + written);
    written += bytesWritten;
  }
}

/** fsync on the folder makes a rename durable (POSIX leaves it to the folder's metadata). */
export async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function stateError(what: string, error: unknown): RblError {
  if (error instanceof RblError) return error;
  return new RblError('RBL_STATE_DIR', `${what}: ${(error as Error).message}`, { cause: error });
}
