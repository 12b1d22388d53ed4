/**
 * Opening the state store: state.dir is made ready and locked, what a crash left there is cleared,
 * and the journal is replayed (recovering a torn tail) into the state the store starts from. The
 * rebuild after a journal failure (store-recovery.ts) replays it the same way, so the store is
 * handed that replay (loadDurable, with a probe) rather than importing it, which would make an
 * import cycle with this file. The rest of the code opens the store here and takes its types from
 * here too; the store itself is in store.ts.
 */
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { RblError } from '../errors.js';
import { COMPACT_FLOOR_BYTES } from './compaction-rule.js';
import { Journal } from './journal.js';
import { replayJournal } from './journal-read.js';
import { syncFolder } from './state-files.js';
import { acquireLock, removeLeftoverLockFiles, type StateLock } from './lock.js';
import { prepareStateDir, tightenStateDir } from './state-dir.js';
import { QueueState } from './state.js';
import { emit, lockLostError, Store } from './store.js';
import type { StateStore, StateStoreOptions } from './store-api.js';
import type { Durable } from './store-recovery.js';
import { detachJournal, TAKEOVER_FILE } from './takeover.js';

export type { DeliveryAttempt } from './attempts.js';
export type { QueueEvent } from './events.js';
export type { UnlistJob, UnlistReason } from './state.js';
export type { Commit, CommitOptions, JobDeliveries, JournalHealth, StateChange, StateStore, StateStoreOptions, StoreStats } from './store-api.js';

/** The journal's file name in state.dir. */
export const JOURNAL_FILE = 'journal';

/** Opens state.dir: takes the lock, replays the journal (recovering a torn tail), and starts delivering what was pending. */
export async function openStateStore(options: StateStoreOptions): Promise<StateStore> {
  await prepareStateDir(options.dir);
  const lock = await acquireLock(options.dir, 'serve', options.lockWaitMs ?? 5000);
  try {
    const tightened = await tightenStateDir(options.dir);
    if (tightened.paths.length > 0 || tightened.failed.length > 0) emit(options.onEvent, { type: 'state-dir-tightened', dir: options.dir, ...tightened });
    // A copy a takeover made and a crash left before it took the journal's name: the journal is whole.
    await unlink(join(options.dir, TAKEOVER_FILE)).catch(() => undefined);
    await removeLeftoverLockFiles(options.dir);
    if (lock.brokeLiveHolder && (await detachJournal(join(options.dir, JOURNAL_FILE)))) emit(options.onEvent, { type: 'journal-detached', dir: options.dir });
    const failures: { store?: Store } = {};
    const durable = await loadDurable(options, lock, (journal, error) => failures.store?.journalFailed(journal, error), false);
    failures.store = new Store(options, durable.state, durable.journal, lock, (onFailure) => loadDurable(options, lock, onFailure, true));
    return failures.store;
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/** Replays the journal into a fresh state and opens it for appending; with `probe`, proves a write reaches the disk. */
async function loadDurable(
  options: StateStoreOptions,
  lock: StateLock,
  onFailure: (journal: Journal, error: RblError) => void,
  probe: boolean,
): Promise<Durable> {
  const file = join(options.dir, JOURNAL_FILE);
  const state = new QueueState();
  const read = await replayJournal(file, state, { repair: true });
  if (read.skippedBytes > 0) {
    emit(options.onEvent, {
      type: 'journal-recovered',
      file,
      goodBytes: read.goodBytes,
      skippedBytes: read.skippedBytes,
      stretches: read.stretches,
      reason: read.reason ?? 'trailing bytes',
      savedAs: read.savedAs,
      saveError: read.saveError,
    });
  }
  const journal: Journal = await Journal.open(file, {
    snapshot: () => state.snapshot(),
    compactBytes: options.compactBytes ?? COMPACT_FLOOR_BYTES,
    onCompacted: (result) => emit(options.onEvent, { type: 'journal-compacted', file, ...result }),
    onError: (error) => onFailure(journal, error),
    onCompactionError: (error) => emit(options.onEvent, { type: 'journal-error', error, writable: true }),
    compactionRetryMs: options.compactionRetryMs,
    fence: () => (lock.held() ? undefined : lockLostError(lock.file)),
  }, read.snapshotBytes);
  if (state.redactedDeadLetters > 0) {
    // The credential is out of memory already; a compaction writes the journal anew without it.
    emit(options.onEvent, { type: 'dead-letters-redacted', file, count: state.redactedDeadLetters });
  }
  // A corrupt stretch replay went past stays in the file until a compaction writes it anew; until
  // then each start would skip it again and save another copy.
  if (state.redactedDeadLetters > 0 || read.stretches > 0) journal.compactUntilDone();
  if (probe) {
    try {
      // An empty commit: replaying it changes nothing. The folder sync makes durable a rename
      // that a compaction did before the failure (its own folder sync may be what failed).
      await journal.append({ t: 'c' });
      await syncFolder(options.dir);
    } catch (error) {
      await journal.close().catch(() => undefined);
      throw error;
    }
  }
  return { state, journal };
}
