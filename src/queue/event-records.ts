/**
 * The journal records of one accounting event, pure code. An event is one record ('c': its session
 * changes and its unlist job together), except an event too large for one: replay takes a record
 * past MAX_RECORD_BYTES (64 MiB) for corruption, and an Accounting-On of a NAS with a million
 * sessions names a million targets and forgets a million sessions, some 100 MB of JSON. Such an
 * event is written as several records, in an order that a write torn anywhere between them leaves
 * safe: first its job in parts, one job each, then the session changes. Torn before the last, the
 * event was never acknowledged and the NAS sends it again; meanwhile the jobs that reached the disk
 * unlist early, and no session is forgotten whose addresses no job unlists.
 */
import type { JobRow, JournalRecord } from './state.js';

type EventRecord = Extract<JournalRecord, { t: 'c' }>;
type Removal = NonNullable<EventRecord['r']>[number];

/** Targets in one job record at most: some 4 MB of JSON (an IPv6 prefix is about 40 octets). */
export const TARGETS_PER_EVENT_RECORD = 100_000;
/** Session removals in one record at most: some 6 MB of JSON with ids of a usual length. */
export const REMOVALS_PER_EVENT_RECORD = 100_000;
/**
 * The JSON of one part's rows at most, as estimated: a quarter of what replay takes. A NAS key or
 * Acct-Session-Id may be 253 octets of control characters, six octets each in JSON (\u0001), so
 * rows are counted by size as well as by number.
 */
export const EVENT_PART_BYTES = 16 * 1024 * 1024;
/** Rows that fit in one part whatever they hold: 2,000 removals of three 253-octet fields escaped are 9 MB. */
const ROWS_THAT_ALWAYS_FIT = 2_000;

/** A target's JSON: canonical address text is ASCII, plus its quotes and comma. */
const targetBytes = (target: string): number => target.length + 3;
/** A removal's JSON at worst: every character escaped to six octets, and the numbers. */
const removalBytes = (row: Removal): number => {
  let bytes = 40;
  for (const field of row) if (typeof field === 'string') bytes += field.length * 6;
  return bytes;
};

/** Whether the event is one record, as nearly every event is. */
export function fitsOneRecord(record: EventRecord): boolean {
  const targets = record.j?.t ?? [];
  const removals = record.r ?? [];
  if (targets.length <= ROWS_THAT_ALWAYS_FIT && removals.length <= ROWS_THAT_ALWAYS_FIT) return true;
  return partEnds(targets, TARGETS_PER_EVENT_RECORD, targetBytes).length <= 1 && partEnds(removals, REMOVALS_PER_EVENT_RECORD, removalBytes).length <= 1;
}

/**
 * The records to journal for `record` in order, and the jobs they make, for an event that
 * fitsOneRecord found too large (one that fits comes back as one record). The job of `record`, when
 * it has more targets than one record takes, becomes consecutive jobs numbered from its own id,
 * the last in the record that carries the session changes.
 */
export function eventRecords(record: EventRecord): { readonly records: EventRecord[]; readonly jobs: JobRow[] } {
  const { j: job, r: removals } = record;
  const records: EventRecord[] = [];
  const jobs: JobRow[] = [];
  let last = job;
  if (job) {
    const ends = partEnds(job.t, TARGETS_PER_EVENT_RECORD, targetBytes);
    let from = 0;
    for (let k = 0; k < ends.length - 1; k++) {
      const part: JobRow = { ...job, i: job.i + k, t: job.t.slice(from, ends[k]) };
      records.push({ t: 'c', j: part });
      jobs.push(part);
      from = ends[k]!;
    }
    if (from > 0) last = { ...job, i: job.i + ends.length - 1, t: job.t.slice(from) };
  }
  const removalEnds = removals ? partEnds(removals, REMOVALS_PER_EVENT_RECORD, removalBytes) : [];
  const main: EventRecord = { t: 'c' };
  if (record.u) main.u = record.u;
  if (removals) main.r = removals.slice(0, removalEnds[0]);
  if (last) {
    main.j = last;
    jobs.push(last);
  }
  records.push(main);
  for (let k = 1; removals && k < removalEnds.length; k++) records.push({ t: 'c', r: removals.slice(removalEnds[k - 1], removalEnds[k]) });
  return { records, jobs };
}

/** Where each part of `rows` ends: at most `perPart` rows and EVENT_PART_BYTES of them each; none for no rows. */
function partEnds<T>(rows: readonly T[], perPart: number, bytesOf: (row: T) => number): number[] {
  const ends: number[] = [];
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < rows.length; i++) {
    const size = bytesOf(rows[i]!);
    if (i > start && (i - start === perPart || bytes + size > EVENT_PART_BYTES)) {
      ends.push(i);
      start = i;
      bytes = 0;
    }
    bytes += size;
  }
  if (rows.length > 0) ends.push(rows.length);
  return ends;
}
