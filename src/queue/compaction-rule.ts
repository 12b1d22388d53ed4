/**
 * When the journal compacts: once the records appended since the last compaction exceed a quarter
 * of what that compaction wrote (the snapshot, S), and at least a floor F (1 MiB). Pure code.
 *
 * The file then never holds more than S + max(F, S/4), plus what arrives while a compaction is
 * being written (a second or so of records), and each compaction writes S bytes for every S/4 (or
 * F) bytes of records: at most 4 bytes of snapshot per byte of record, once S exceeds 4F.
 * - A backlog with the DNS server down (500,000 Stops over 20,000 addresses) snapshots 6.8 MB:
 *   the journal stays under 6.8 + 1.7 = 8.5 MB. Compacting once the records outgrow the
 *   snapshot (the rule before) let it swing up to 13.6 MB.
 * - 1,000,000 sessions snapshot about 100 MB: a compaction every 25 MB of records, that is every
 *   300,000 Stops of about 80 bytes (40 s at 8,000 Stops/s, hours at an ordinary rate), each about
 *   1 s of CPU and 100 MB written: about 3% of a core and 2.5 MB/s at full rate. A fixed threshold
 *   of a few MB would write 100 MB every few seconds.
 * - A small state compacts every F = 1 MiB of records (about 12,000 Stops), writing at most 4 MiB
 *   each time (and much less while S is small), so a quiet daemon does not rewrite a few kilobytes
 *   after every few records.
 * The bound also caps what start-up replays: at most 1.25 S + F.
 */

/** Records since the last compaction may reach this share of its snapshot (1/4). */
export const COMPACT_SNAPSHOT_SHARE = 0.25;
/** ...and at least this many bytes (1 MiB): the default floor. */
export const COMPACT_FLOOR_BYTES = 1024 * 1024;

/** True once `appendedBytes` of records since the last compaction call for a new one over a `snapshotBytes` snapshot. */
export function compactionDue(appendedBytes: number, snapshotBytes: number, floorBytes: number = COMPACT_FLOOR_BYTES): boolean {
  return appendedBytes > Math.max(floorBytes, snapshotBytes * COMPACT_SNAPSHOT_SHARE);
}
