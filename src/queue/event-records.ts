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

/** Targets in one job record at most: some 4 MB of JSON (an IPv6 prefix is about 40 octets). */
export const TARGETS_PER_EVENT_RECORD = 100_000;
/** Session removals in one record at most: some 6 MB of JSON. */
export const REMOVALS_PER_EVENT_RECORD = 100_000;

/** Whether the event is one record, as nearly every event is. */
export function fitsOneRecord(record: EventRecord): boolean {
  return (!record.j || record.j.t.length <= TARGETS_PER_EVENT_RECORD) && (!record.r || record.r.length <= REMOVALS_PER_EVENT_RECORD);
}

/**
 * The records to journal for `record` in order, and the jobs they make. The job of `record`, when
 * it has more targets than one record takes, becomes consecutive jobs numbered from its own id,
 * the last in the record that carries the session changes.
 */
export function eventRecords(record: EventRecord): { readonly records: EventRecord[]; readonly jobs: JobRow[] } {
  const { j: job, r: removals } = record;
  if (fitsOneRecord(record)) return { records: [record], jobs: job ? [job] : [] };
  const records: EventRecord[] = [];
  const jobs: JobRow[] = [];
  let last = job;
  if (job && job.t.length > TARGETS_PER_EVENT_RECORD) {
    let id = job.i;
    let from = 0;
    for (; from + TARGETS_PER_EVENT_RECORD < job.t.length; from += TARGETS_PER_EVENT_RECORD) {
      const part: JobRow = { ...job, i: id++, t: job.t.slice(from, from + TARGETS_PER_EVENT_RECORD) };
      records.push({ t: 'c', j: part });
      jobs.push(part);
    }
    last = { ...job, i: id, t: job.t.slice(from) };
  }
  const main: EventRecord = { t: 'c' };
  if (record.u) main.u = record.u;
  if (removals) main.r = removals.slice(0, REMOVALS_PER_EVENT_RECORD);
  if (last) {
    main.j = last;
    jobs.push(last);
  }
  records.push(main);
  for (let from = REMOVALS_PER_EVENT_RECORD; removals && from < removals.length; from += REMOVALS_PER_EVENT_RECORD) {
    records.push({ t: 'c', r: removals.slice(from, from + REMOVALS_PER_EVENT_RECORD) });
  }
  return { records, jobs };
}
