/**
 * The journal's size over a run, not at one moment: between compactions it grows by every record
 * and each compaction cuts it back to a snapshot, so one look lands anywhere in that cycle. A timer
 * reads the file's size (and that of `journal.compact`, the snapshot being written beside it) every
 * `everyMs`, and counts compactions by the file's inode, which each one's rename replaces.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { JOURNAL_FILE } from '../src/queue/store-open.js';
import { nowMs } from './load.js';

export interface JournalSizes {
  /** The largest size of the journal file seen. */
  readonly peakBytes: number;
  /** The journal's size at the last sample (when stopped). */
  readonly endBytes: number;
  /** The largest journal + journal.compact seen at once: what state.dir needs on disk. */
  readonly peakOnDiskBytes: number;
  /** Compactions seen (the journal's inode changed). */
  readonly compactions: number;
  readonly samples: number;
  /** The longest time between two samples (a busy bench process delays its timer). */
  readonly maxGapMs: number;
}

function sizeOf(file: string): { size: number; ino: number } | undefined {
  try {
    const stat = statSync(file);
    return { size: stat.size, ino: stat.ino };
  } catch {
    return undefined;
  }
}

/** Starts sampling `stateDir`'s journal; `stop()` takes a last sample and returns what was seen. */
export function sampleJournal(stateDir: string, everyMs = 150): { stop: () => JournalSizes } {
  const file = join(stateDir, JOURNAL_FILE);
  let peakBytes = 0;
  let endBytes = 0;
  let peakOnDiskBytes = 0;
  let compactions = 0;
  let samples = 0;
  let maxGapMs = 0;
  let lastAt = Number.NaN;
  let inode: number | undefined;
  const sample = (): void => {
    const at = nowMs();
    if (!Number.isNaN(lastAt)) maxGapMs = Math.max(maxGapMs, at - lastAt);
    lastAt = at;
    const journal = sizeOf(file);
    if (!journal) return;
    samples++;
    if (inode !== undefined && journal.ino !== inode) compactions++;
    inode = journal.ino;
    endBytes = journal.size;
    peakBytes = Math.max(peakBytes, journal.size);
    peakOnDiskBytes = Math.max(peakOnDiskBytes, journal.size + (sizeOf(`${file}.compact`)?.size ?? 0));
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return { peakBytes, endBytes, peakOnDiskBytes, compactions, samples, maxGapMs };
    },
  };
}
