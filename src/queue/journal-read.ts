/**
 * Replaying the journal file, with torn-tail recovery: every good record in order, past a corrupt
 * stretch in the middle (the records after it hold Stops that must not be lost), up to a torn or
 * corrupt tail, which a repairing read saves aside and cuts off so that appends follow good data.
 * The journal opened after the replay (journal.ts) appends and compacts.
 */
import { open, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { RblError } from '../errors.js';
import { CANDIDATE_BYTES, decodeRecord, nextRecordCandidate } from './record.js';
import { JOURNAL_VERSION, type JournalRecord, type QueueState } from './state.js';
import { STATE_FILE_MODE, stateError } from './state-files.js';

const READ_CHUNK_BYTES = 4 * 1024 * 1024;

/** What replaying a journal found. */
export interface JournalReadResult {
  /** False when there was no journal (a fresh state.dir). */
  readonly exists: boolean;
  readonly records: number;
  /** Bytes of the good records replayed. */
  readonly goodBytes: number;
  /** Bytes skipped: corrupt stretches with good records after them, and a torn or corrupt tail (when repairing, cut off). */
  readonly skippedBytes: number;
  /** Corrupt stretches that good records followed, which were replayed: a compaction rewrites the file without them. */
  readonly stretches: number;
  /**
   * Where the snapshot the file starts with ends: the header and the session, stopped-session and
   * job records after it, up to the first record of an event. The size compaction judges the
   * records after it by (compaction-rule.ts), so a restart does not take the whole file for one.
   */
  readonly snapshotBytes: number;
  /** Why the first skipped bytes were skipped. */
  readonly reason?: string;
  /** Where the skipped bytes were saved when repairing, one stretch after another. */
  readonly savedAs?: string;
  /** Why they could not be saved (no room on a full disk, say): they were skipped all the same. */
  readonly saveError?: string;
}

const NO_JOURNAL: JournalReadResult = { exists: false, records: 0, goodBytes: 0, skippedBytes: 0, stretches: 0, snapshotBytes: 0 };

/** The record types a snapshot is written in: the header, sessions, stopped sessions, jobs. */
const SNAPSHOT_TYPES: ReadonlySet<unknown> = new Set(['h', 's', 'st', 'j']);
/** Every record type: after a damaged header, a record of one of these shows the file is a journal. */
const RECORD_TYPES: ReadonlySet<unknown> = new Set([...SNAPSHOT_TYPES, 'c', 'd', 'x', 'rd', 'g']);

/**
 * Reads every good record of the journal in order into `onRecord`. A record that fails its
 * checksum or is not JSON (a damaged sector, a bit flipped on the way) is skipped up to the next
 * record that decodes, and replay goes on from there: the records after it hold Stops whose
 * addresses would otherwise stay listed for the next customer. A torn or corrupt tail, or a record
 * that does not apply, ends the replay. With `repair` the skipped bytes are saved to
 * `<file>.corrupt-<ms>` and the tail is cut off, so appends follow good data; a corrupt stretch in
 * the middle stays until the next compaction (the store compacts at once when there is one), and
 * `<file>.compact`, a compaction a crash interrupted, is removed first: of no use, and on a full
 * disk the room the copy aside needs. Throws RBL_JOURNAL_CORRUPT when the file does not start with
 * a journal header.
 */
export async function readJournal(file: string, onRecord: (record: JournalRecord) => void, options: { repair: boolean }): Promise<JournalReadResult> {
  if (options.repair) await unlink(`${file}.compact`).catch(() => undefined);
  let handle: FileHandle;
  try {
    handle = await open(file, options.repair ? 'r+' : 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return NO_JOURNAL;
    throw stateError(`cannot open the journal ${file}`, error);
  }
  try {
    const size = (await handle.stat()).size;
    if (size === 0) return NO_JOURNAL;
    let buffer = Buffer.alloc(0);
    let base = 0;
    let offset = 0;
    let position = 0;
    let records = 0;
    let snapshotBytes = 0;
    let inSnapshot = true;
    let reason: string | undefined;
    /** Where the corrupt stretch being passed over began (file offset); undefined while records decode. */
    let stretchStart: number | undefined;
    /** Corrupt stretches with a good record after them, [start, end) in the file. */
    const stretches: [number, number][] = [];
    const notAJournal = (why?: string): RblError =>
      new RblError('RBL_JOURNAL_CORRUPT', `${file} does not start with a journal header${why ? ` (${why})` : ''}; move it aside to start with an empty state`);
    /** Whether `offset` is where to look for the next candidate, not a record's start. */
    let seeking = false;
    /**
     * The first record failed its checksum: the header, damaged in place. The records after it are
     * replayed as after any corrupt stretch (job numbers go on from the highest replayed), so one bad
     * byte at the start does not cost the whole state; a file with no good record is no journal.
     */
    let headerDamaged = false;
    while (true) {
      const atEnd = position >= size;
      if (seeking) {
        const next = nextRecordCandidate(buffer, offset);
        if (next >= 0) {
          offset = next;
          seeking = false;
        } else {
          // None in what is read: read on, keeping the bytes a record's start could straddle.
          offset = Math.max(offset, buffer.length - CANDIDATE_BYTES + 1);
          if (atEnd) break;
        }
      }
      if (!seeking) {
        const result = decodeRecord(buffer, offset);
        if (result.kind === 'record') {
          const record = result.payload as JournalRecord;
          if (records === 0 && (typeof record !== 'object' || record === null || !(record.t === 'h' || (headerDamaged && RECORD_TYPES.has(record.t))))) throw notAJournal();
          if (stretchStart !== undefined) {
            stretches.push([stretchStart, base + offset]);
            stretchStart = undefined;
          }
          try {
            onRecord(record);
          } catch (error) {
            if (records === 0) throw error;
            reason ??= `a record that does not apply (${(error as Error).message})`;
            break;
          }
          offset += result.bytes;
          records++;
          inSnapshot &&= SNAPSHOT_TYPES.has(record.t);
          if (inSnapshot) snapshotBytes = base + offset;
          continue;
        }
        if (atEnd && offset >= buffer.length) break;
        // A record that claims more bytes than the file has left is a torn tail, unless a record
        // that decodes follows it: then its length was damaged, and it starts a corrupt stretch.
        if (result.kind === 'corrupt' || atEnd) {
          // Its length damaged too: a header that claims more than the file holds.
          if (records === 0 && base + offset === 0) {
            headerDamaged = true;
            refuseNewerFormat(buffer, file);
          }
          if (records === 0 && !headerDamaged) throw notAJournal(result.kind === 'corrupt' ? result.why : undefined);
          if (stretchStart === undefined) {
            stretchStart = base + offset;
            reason ??= result.kind === 'corrupt' ? result.why : 'an incomplete last record';
          }
          offset++;
          seeking = true;
          continue;
        }
      }
      const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, size - position));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      buffer = Buffer.concat([buffer.subarray(offset), chunk.subarray(0, bytesRead)]);
      base += offset;
      offset = 0;
    }
    if (records === 0) throw notAJournal(headerDamaged ? 'its first record is damaged, and no record after it decodes' : undefined);
    // The replay ends at the last good record: a stretch that no good record followed is the tail.
    const end = stretchStart ?? base + offset;
    const spans: [number, number][] = end < size ? [...stretches, [end, size]] : stretches;
    const skippedBytes = spans.reduce((sum, [from, to]) => sum + to - from, 0);
    const read = { exists: true, records, goodBytes: size - skippedBytes, skippedBytes, stretches: stretches.length, snapshotBytes };
    if (skippedBytes === 0) return read;
    if (!options.repair) return { ...read, reason: reason ?? 'trailing bytes' };
    let savedAs: string | undefined = `${file}.corrupt-${Date.now()}`;
    let saveError: string | undefined;
    const skipped = Buffer.allocUnsafe(skippedBytes);
    let filled = 0;
    for (const [from, to] of spans) {
      await handle.read(skipped, filled, to - from, from);
      filled += to - from;
    }
    try {
      await writeFile(savedAs, skipped, { mode: STATE_FILE_MODE });
    } catch (error) {
      // The copy is for inspection; what it holds was never acknowledged (a torn tail) or cannot be
      // read anyway. Without room for it the start goes on, and a part-written copy is not left to
      // take the room a start waiting for space needs (each try would leave another).
      await unlink(savedAs).catch(() => undefined);
      saveError = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      savedAs = undefined;
    }
    if (end < size) {
      await handle.truncate(end);
      await handle.datasync();
    }
    return { ...read, reason: reason ?? 'trailing bytes', ...(savedAs === undefined ? { saveError } : { savedAs }) };
  } finally {
    await handle.close();
  }
}

/**
 * Replays the journal into `state`, as every reader of the state does (the service's start and
 * rebuilds, the `queue` commands): with its session table's key hashes kept while the records load
 * (SessionTable.bulkLoad), which a replay of a million sessions would otherwise spend a quarter of
 * its CPU recomputing.
 */
export function replayJournal(file: string, state: QueueState, options: { repair: boolean }): Promise<JournalReadResult> {
  return state.sessions.bulkLoad(() => readJournal(file, (record) => state.apply(record), options));
}

/**
 * A damaged header still names its format version in its text, most likely: a journal of a newer
 * release (read by an older one after a downgrade) is refused, not replayed as this format and
 * then compacted over, losing what this release does not know.
 */
function refuseNewerFormat(buffer: Buffer, file: string): void {
  const version = /"v":(\d+)/.exec(buffer.subarray(0, 256).toString('latin1'));
  if (version && Number(version[1]) > JOURNAL_VERSION) {
    throw new RblError('RBL_JOURNAL_CORRUPT', `${file} has a damaged header of format version ${version[1]}; this rbl-unlist reads versions 1 to ${JOURNAL_VERSION}`);
  }
}
