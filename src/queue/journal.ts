/**
 * The open journal file: appends with group commit (a batch is journal-batch.ts), and compaction
 * (the one under way is journal-compaction.ts). Replaying it, with torn-tail recovery, is
 * journal-read.ts.
 *
 * Appends queue up while a write is in flight, and the next write takes them all (group commit), so
 * durability costs one synchronized write per burst, not per event. The file is open with O_DSYNC
 * (state-files.ts): a write returns once it is on disk, as a write and an fdatasync would.
 * Compaction writes a snapshot of the state to `journal.compact` in chunks, yielding between them,
 * while appends keep going to the old file and are also copied as the new file's tail; then the
 * writer appends the tail, syncs, renames the new file over the old and syncs the folder. When it
 * compacts is compaction-rule.ts: once the records reach a quarter of the snapshot (at least 1 MiB).
 *
 * A write that fails (disk full, I/O error, read-only file system) fails the journal: that
 * batch and every append after it are refused, because the records queued behind it were made from a
 * state that assumed it. The store then rebuilds its state from the file and opens it again.
 * A failed compaction leaves the old file intact; it is not tried again for a while.
 */
import { rename, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { RblError } from '../errors.js';
import { compactionDue } from './compaction-rule.js';
import { batchTexts, PendingBatch, refusal } from './journal-batch.js';
import { Compaction, type CompactionResult } from './journal-compaction.js';
import { encodeRecord, frameRecords } from './record.js';
import type { JournalRecord } from './state.js';
import { openForDurableWrites, STATE_FILE_MODE, stateError, syncFolder, writeFully } from './state-files.js';

/** After a failed compaction, the next one waits this long (a full disk would fail it again at once). */
const COMPACTION_RETRY_MS = 30_000;

/** Counters for tests and metrics. */
export interface JournalStats {
  fsyncs: number;
  records: number;
  compactions: number;
}

export interface JournalOptions {
  /** The state's records as they stand, header first; read lazily while compacting. */
  readonly snapshot: () => Iterable<JournalRecord>;
  /** Compact once this many bytes (or a quarter of the last snapshot's size, if larger) were appended: see compaction-rule.ts. */
  readonly compactBytes: number;
  readonly onCompacted?: (result: CompactionResult) => void;
  /** An append failed: the journal refuses appends from now on. */
  readonly onError?: (error: RblError) => void;
  /** A compaction failed; the old file is intact and appends go on. */
  readonly onCompactionError?: (error: RblError) => void;
  /** How long after a failed compaction the next may start (30 s). */
  readonly compactionRetryMs?: number;
  /**
   * Asked after each write is on disk, before its records are acknowledged: an error refuses them
   * and fails the journal without touching the file again (state.dir's lock was broken by another
   * process, whose journal this may be now).
   */
  readonly fence?: () => RblError | undefined;
}

/** An open journal: appends with group commit, compacts itself. */
export class Journal {
  readonly file: string;
  readonly stats: JournalStats = { fsyncs: 0, records: 0, compactions: 0 };
  readonly #options: JournalOptions;
  #handle: FileHandle;
  #bytes: number;
  #baseBytes: number;
  /** Batches not yet written, oldest first; appends join the last. Usually one. */
  #queue: PendingBatch[] = [];
  /** The batch made last, queued or being written: batches are written in order, so when it is, all are. */
  #lastBatch: PendingBatch | undefined;
  #draining: Promise<void> | undefined;
  #compaction: Compaction | undefined;
  #compactionFailedAt = 0;
  /** Set by compactUntilDone until a compaction succeeds: its bytes must leave the disk, not only save space. */
  #compactionWanted = false;
  #compactionRetry: NodeJS.Timeout | undefined;
  /** Set once the fence refused: no file in state.dir is touched again. */
  #fencedOff = false;
  #failure: RblError | undefined;
  #closed = false;
  /** Appends and written() calls not yet settled: on a hung disk, what grows. */
  #waiting = 0;
  /** When the disk work under way (a synchronized write, a compaction's last step) started; undefined when idle. */
  #diskBusySince: number | undefined;

  private constructor(file: string, handle: FileHandle, bytes: number, snapshotBytes: number, options: JournalOptions) {
    this.file = file;
    this.#handle = handle;
    this.#bytes = bytes;
    this.#baseBytes = snapshotBytes;
    this.#options = options;
  }

  /**
   * Opens the journal for appending (after readJournal replayed it), creating it from the snapshot
   * if absent. `snapshotBytes` is where the file's snapshot ends, as readJournal found it; without
   * it the whole file counts as one.
   */
  static async open(file: string, options: JournalOptions, snapshotBytes?: number): Promise<Journal> {
    let handle: FileHandle | undefined;
    try {
      handle = await openForDurableWrites(file);
      if ((await handle.stat()).size === 0) {
        await handle.close();
        handle = undefined;
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw stateError(`cannot open the journal ${file}`, error);
    }
    try {
      let fromSnapshot = snapshotBytes;
      if (!handle) {
        const fresh = Buffer.concat([...options.snapshot()].map((record) => encodeRecord(record)));
        fromSnapshot = fresh.length;
        const temporary = `${file}.compact`;
        await writeFile(temporary, fresh, { flush: true, mode: STATE_FILE_MODE });
        await rename(temporary, file);
        await syncFolder(dirname(file));
        handle = await openForDurableWrites(file);
      }
      const size = (await handle.stat()).size;
      return new Journal(file, handle, size, Math.min(fromSnapshot ?? size, size), options);
    } catch (error) {
      await handle?.close();
      throw stateError(`cannot create the journal ${file}`, error);
    }
  }

  /** Current file size in bytes. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Appends and written() calls waiting for their synchronized write: a few hundred in a burst, more only when the disk is slow or hung. */
  get waiting(): number {
    return this.#waiting;
  }

  /** How long the disk work under way has taken, in ms at `now`; 0 when the journal is idle. */
  diskBusyMs(now: number): number {
    return this.#diskBusySince === undefined ? 0 : Math.max(0, now - this.#diskBusySince);
  }

  /** Why the journal refuses appends, once a write failed; undefined while it is healthy. */
  get failure(): RblError | undefined {
    return this.#failure;
  }

  /**
   * Queues a record; resolves once it is written and on disk. The promise is the one all the
   * records of the same write share, so it is the same object for neighbouring appends.
   */
  append(record: JournalRecord): Promise<void> {
    if (this.#failure) return refusal(this.#failure);
    if (this.#closed) return refusal(new RblError('RBL_STATE_DIR', `the journal ${this.file} is closed`));
    let batch = this.#queue[this.#queue.length - 1];
    if (!batch) {
      batch = new PendingBatch();
      this.#queue.push(batch);
      this.#lastBatch = batch;
    }
    batch.jsons.push(JSON.stringify(record));
    batch.waiting++;
    this.#waiting++;
    this.stats.records++;
    this.#schedule();
    return batch.written;
  }

  /** Resolves once every record appended so far is on disk; rejects as their appends do. */
  written(): Promise<void> {
    if (this.#failure) return refusal(this.#failure);
    const batch = this.#lastBatch;
    if (!batch || batch.settled) return Promise.resolve();
    batch.waiting++;
    this.#waiting++;
    return batch.written;
  }

  /** Rewrites the journal as a snapshot of the state; resolves when the new file is in place (undefined if aborted by close). */
  compact(): Promise<CompactionResult | undefined> {
    if (this.#compaction) return this.#compaction.result;
    // A process that woke after its lock was broken must not open `journal.compact`, which may be
    // the new holder's compaction under way (opening it truncates it).
    if (this.#closed || this.#failure || this.#options.fence?.()) return Promise.resolve(undefined);
    const compaction = new Compaction(this.file, this.#bytes);
    this.#compaction = compaction;
    compaction.task = this.#writeSnapshot(compaction).catch(async (error: unknown) => {
      // Dated before its file is removed: a write that ends meanwhile must not start the next
      // compaction at once (the retry pause is what keeps a full disk from failing one per write).
      if (!compaction.aborted) this.#compactionFailedAt = Date.now();
      await this.#abandon(compaction);
      // A close that came meanwhile aborted it: no failure to report on the way out.
      if (!compaction.aborted) this.#compactionFailed(error);
    });
    return compaction.result;
  }

  /**
   * Compacts now and, after each failure, again once the retry pause is over, until a compaction
   * succeeds: for bytes that must leave the disk (a credential 0.1 journaled, a corrupt stretch replay
   * went past), which waiting for the journal to grow enough to compact could leave there for days.
   */
  compactUntilDone(): void {
    this.#compactionWanted = true;
    void this.compact();
  }

  /** Stops compacting, writes what is queued, and closes the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#compactionRetry);
    const compaction = this.#compaction;
    if (compaction && !compaction.snapshotWritten) {
      compaction.aborted = true;
      await compaction.task;
    }
    while (this.#draining) await this.#draining;
    await this.#handle.close();
  }

  async #writeSnapshot(compaction: Compaction): Promise<void> {
    await compaction.writeSnapshot(() => this.#options.snapshot());
    this.#schedule();
  }

  async #abandon(compaction: Compaction): Promise<void> {
    await compaction.handle?.close().catch(() => undefined);
    // Not by name once the lock is gone: `journal.compact` may be the new holder's now.
    if (!this.#fencedOff && !this.#options.fence?.()) await unlink(compaction.path).catch(() => undefined);
    // Under way until its file is gone: a compaction started meanwhile would open the same name,
    // and this unlink would take the new one's file.
    if (this.#compaction === compaction) this.#compaction = undefined;
    compaction.settle(undefined);
  }

  #schedule(): void {
    if (this.#draining) return;
    // setImmediate lets every datagram read in this poll phase queue its record first: one sync for all.
    this.#draining = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#drain())
      .finally(() => {
        this.#draining = undefined;
        if (!this.#failure && (this.#queue.length > 0 || this.#compaction?.snapshotWritten)) this.#schedule();
      });
  }

  async #drain(): Promise<void> {
    try {
      await this.#drainQueue();
    } finally {
      this.#diskBusySince = undefined;
    }
  }

  async #drainQueue(): Promise<void> {
    while (!this.#failure) {
      this.#diskBusySince = Date.now();
      const compaction = this.#compaction;
      if (compaction?.snapshotWritten) {
        await this.#finishCompaction(compaction);
        continue;
      }
      if (this.#queue.length === 0) return;
      const batches = this.#queue;
      this.#queue = [];
      const data = frameRecords(batchTexts(batches));
      try {
        // On disk when it returns: the file is open with O_DSYNC.
        await writeFully(this.#handle, data, this.#bytes);
        this.stats.fsyncs++;
        const fenced = this.#options.fence?.();
        if (fenced) {
          this.#fenceOff(batches, fenced);
          return;
        }
        this.#bytes += data.length;
        this.#compaction?.tail.push(data);
        this.#settle(batches);
      } catch (error) {
        // Cut a partial write off, so what the store rebuilds from ends with good data.
        await this.#handle.truncate(this.#bytes).catch(() => undefined);
        this.#fail(batches, stateError(`cannot write the journal ${this.file}`, error));
        return;
      }
      const due = compactionDue(this.#bytes - this.#baseBytes, this.#baseBytes, this.#options.compactBytes);
      if (due && !this.#compaction && !this.#closed && Date.now() - this.#compactionFailedAt >= this.#retryMs) void this.compact();
    }
  }

  /**
   * The fence refused: the journal's name may be another process's now. Refuses as #fail does, and
   * leaves every file alone, a compaction's included (the other process compacts under the same name).
   */
  #fenceOff(batches: readonly PendingBatch[], failure: RblError): void {
    this.#fencedOff = true;
    this.#fail(batches, failure);
  }

  /** Refuses the batch, everything queued behind it and every later append. */
  #fail(batches: readonly PendingBatch[], failure: RblError): void {
    this.#failure = failure;
    const refused = [...batches, ...this.#queue];
    this.#queue = [];
    this.#settle(refused, failure);
    const compaction = this.#compaction;
    if (compaction) {
      compaction.aborted = true;
      if (compaction.snapshotWritten) void this.#abandon(compaction);
    }
    this.#options.onError?.(failure);
  }

  /** Resolves the batches (or refuses them with `failure`), and stops counting what waited for them. */
  #settle(batches: readonly PendingBatch[], failure?: RblError): void {
    for (const batch of batches) {
      if (batch.settled) continue;
      batch.settled = true;
      this.#waiting -= batch.waiting;
      if (failure) batch.reject(failure);
      else batch.resolve();
    }
  }

  get #retryMs(): number {
    return this.#options.compactionRetryMs ?? COMPACTION_RETRY_MS;
  }

  #compactionFailed(error: unknown): void {
    this.#compactionFailedAt = Date.now();
    this.#options.onCompactionError?.(stateError(`cannot compact the journal ${this.file} (the next try is in ${this.#retryMs / 1000} s)`, error));
    if (!this.#compactionWanted || this.#closed || this.#failure || this.#compactionRetry) return;
    // An idle journal appends nothing that would start the next try: a timer does.
    this.#compactionRetry = setTimeout(() => {
      this.#compactionRetry = undefined;
      if (this.#compactionWanted && !this.#closed) void this.compact();
    }, this.#retryMs);
    this.#compactionRetry.unref();
  }

  async #finishCompaction(compaction: Compaction): Promise<void> {
    const batches = this.#queue;
    this.#queue = [];
    const data = Buffer.concat([...compaction.tail, frameRecords(batchTexts(batches))]);
    // Where the records acknowledged before (the tail) end, and this batch's begin.
    const tailEnd = compaction.bytes + compaction.tail.reduce((bytes, chunk) => bytes + chunk.length, 0);
    let fenced: RblError | undefined;
    // The handle the appends go through from now on: the snapshot was written through one without
    // O_DSYNC (a synchronized write per chunk would slow it), synced once here.
    let appends: FileHandle | undefined;
    try {
      await writeFully(compaction.handle!, data, compaction.bytes);
      await compaction.handle!.datasync();
      this.stats.fsyncs++;
      fenced = this.#options.fence?.();
      if (!fenced) {
        // Opened by the name that is still this service's alone: once renamed, the journal's name
        // may be another holder's (the fence).
        appends = await openForDurableWrites(compaction.path);
        await rename(compaction.path, this.file);
      }
    } catch (error) {
      // The old journal is intact and still holds the name: keep appending there.
      await appends?.close().catch(() => undefined);
      this.#queue = [...batches, ...this.#queue];
      await this.#abandon(compaction);
      this.#compactionFailed(error);
      return;
    }
    if (fenced) {
      this.#fenceOff(batches, fenced);
      return;
    }
    // The new file holds the name now, so nothing more may go to the old one, whatever happens next.
    const old = this.#handle;
    this.#handle = appends!;
    this.#compaction = undefined;
    await old.close().catch(() => undefined);
    await compaction.handle!.close().catch(() => undefined);
    try {
      await syncFolder(dirname(this.file));
    } catch (error) {
      // Until the folder is synced, a crash may bring the old file back under the name, without
      // this batch: it is not acknowledged, and the store rebuilds (which syncs the folder first).
      this.#bytes = tailEnd;
      await this.#handle.truncate(tailEnd).catch(() => undefined);
      compaction.settle(undefined);
      this.#fail(batches, stateError(`cannot make the compacted journal ${this.file} durable (fsync of its folder)`, error));
      return;
    }
    this.#bytes = compaction.bytes + data.length;
    this.#baseBytes = this.#bytes;
    this.#compactionWanted = false;
    this.stats.compactions++;
    this.#settle(batches);
    const result = { beforeBytes: compaction.beforeBytes, afterBytes: this.#bytes, durationMs: Date.now() - compaction.startedAt };
    compaction.settle(result);
    this.#options.onCompacted?.(result);
  }
}
