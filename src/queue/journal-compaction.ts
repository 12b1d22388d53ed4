/**
 * A compaction of the journal under way: the new file (`journal.compact`), the snapshot of the
 * state written to it in chunks, yielding between them, and the tail, the records appended to the
 * old file meanwhile, to copy after the snapshot. The journal (journal.ts) starts it, adds each
 * write to its tail, and then finishes it (appends the tail, syncs, renames the new file over the
 * old and syncs the folder) or abandons it.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { encodeRecord } from './record.js';
import type { JournalRecord } from './state.js';
import { STATE_FILE_MODE, writeFully } from './state-files.js';

const SNAPSHOT_WRITE_BYTES = 1024 * 1024;

/** What a finished compaction did. */
export interface CompactionResult {
  readonly beforeBytes: number;
  readonly afterBytes: number;
  readonly durationMs: number;
}

/** The compaction under way, the journal's while it runs: at most one at a time. */
export class Compaction {
  readonly path: string;
  readonly startedAt = Date.now();
  readonly beforeBytes: number;
  handle?: FileHandle;
  bytes = 0;
  tail: Buffer[] = [];
  snapshotWritten = false;
  aborted = false;
  task?: Promise<void>;
  readonly result: Promise<CompactionResult | undefined>;
  settle: (result: CompactionResult | undefined) => void = () => undefined;

  constructor(file: string, beforeBytes: number) {
    this.path = `${file}.compact`;
    this.beforeBytes = beforeBytes;
    this.result = new Promise<CompactionResult | undefined>((resolve) => {
      this.settle = resolve;
    });
  }

  async writeSnapshot(snapshot: () => Iterable<JournalRecord>): Promise<void> {
    this.handle = await open(this.path, 'w', STATE_FILE_MODE);
    let chunk: Buffer[] = [];
    let size = 0;
    const flush = async (): Promise<void> => {
      const data = Buffer.concat(chunk);
      chunk = [];
      size = 0;
      await writeFully(this.handle!, data, this.bytes);
      this.bytes += data.length;
    };
    // The generator reads live state; each await lets events in, and their records reach the tail.
    for (const record of snapshot()) {
      if (this.aborted) throw new Error('aborted');
      const buffer = encodeRecord(record);
      chunk.push(buffer);
      size += buffer.length;
      if (size >= SNAPSHOT_WRITE_BYTES) await flush();
    }
    await flush();
    if (this.aborted) throw new Error('aborted');
    this.snapshotWritten = true;
  }
}
