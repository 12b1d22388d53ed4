/**
 * Jobs as journal format 3 writes them in a snapshot: one record of columns per chunk, where format
 * 2 wrote one JSON object per job (about 160 bytes each, rewritten at every compaction, which made
 * a backlog of 20,000 jobs 3 MB of every snapshot). Repeated strings (events, clients, NAS keys,
 * lanes) are written once, ids and times as differences. Pure code.
 */
import { RblError } from '../errors.js';
import type { DeadRow, JobRow } from './state.js';

/** A chunk of jobs, column by column. */
export interface JobColumns {
  /** The strings that repeat: events, clients, NAS keys, lanes. */
  readonly s: string[];
  /** Job ids, each as the difference from the one before (the first from 0). */
  readonly i: number[];
  /** createdAt, ms, each as the difference from the one before. */
  readonly a: number[];
  /** Per job, the reason's event, client and NAS key, as indexes into `s`. */
  readonly r: number[];
  /** Per job, the reason's Acct-Session-Id, or 0 when it has none. */
  readonly u: (string | 0)[];
  /** Per job, how many targets it has; the targets follow in `t`. */
  readonly tn: number[];
  readonly t: string[];
  /** Per job, how many lanes are pending; the lanes follow in `p`, as indexes into `s`. */
  readonly pn: number[];
  readonly p: number[];
  /** Dead deliveries: the job's place in this chunk, then the dead row. */
  readonly x: [job: number, ...dead: DeadRow][];
}

/** The columns of these jobs. */
export function encodeJobColumns(jobs: readonly JobRow[]): JobColumns {
  const strings = new Map<string, number>();
  const intern = (text: string): number => {
    let index = strings.get(text);
    if (index === undefined) {
      index = strings.size;
      strings.set(text, index);
    }
    return index;
  };
  const columns: JobColumns = { s: [], i: [], a: [], r: [], u: [], tn: [], t: [], pn: [], p: [], x: [] };
  let previousId = 0;
  let previousAt = 0;
  for (const [place, job] of jobs.entries()) {
    columns.i.push(job.i - previousId);
    columns.a.push(job.a - previousAt);
    previousId = job.i;
    previousAt = job.a;
    columns.r.push(intern(job.r.event), intern(job.r.client), intern(job.r.nas));
    columns.u.push(job.r.sessionId ?? 0);
    columns.tn.push(job.t.length);
    // One push per target: spread as arguments, an Accounting-On of a large NAS (some 125,000
    // targets) overflowed the stack and failed every compaction while it was pending.
    for (const target of job.t) columns.t.push(target);
    columns.pn.push(job.p.length);
    for (const lane of job.p) columns.p.push(intern(lane));
    for (const dead of job.x ?? []) columns.x.push([place, ...dead]);
  }
  columns.s.push(...strings.keys());
  return columns;
}

/** The jobs of columns written by {@link encodeJobColumns}; throws RBL_JOURNAL_CORRUPT when they do not fit together. */
export function decodeJobColumns(columns: JobColumns): JobRow[] {
  const count = columns.i.length;
  const fits =
    [columns.a, columns.u, columns.tn, columns.pn].every((column) => Array.isArray(column) && column.length === count) &&
    columns.r.length === count * 3 &&
    columns.t.length === sum(columns.tn) &&
    columns.p.length === sum(columns.pn) &&
    [...columns.r, ...columns.p].every((index) => Number.isInteger(index) && index >= 0 && index < columns.s.length);
  if (!fits) throw new RblError('RBL_JOURNAL_CORRUPT', 'the journal has a job snapshot record whose columns do not fit together');
  const jobs: JobRow[] = [];
  let id = 0;
  let at = 0;
  let target = 0;
  let lane = 0;
  for (let place = 0; place < count; place++) {
    id += columns.i[place]!;
    at += columns.a[place]!;
    const sessionId = columns.u[place]!;
    const job: JobRow = {
      i: id,
      t: columns.t.slice(target, (target += columns.tn[place]!)),
      r: { event: columns.s[columns.r[place * 3]!]!, client: columns.s[columns.r[place * 3 + 1]!]!, nas: columns.s[columns.r[place * 3 + 2]!]!, ...(sessionId === 0 ? {} : { sessionId }) },
      a: at,
      p: columns.p.slice(lane, (lane += columns.pn[place]!)).map((index) => columns.s[index]!),
    };
    jobs.push(job);
  }
  for (const [place, ...dead] of columns.x) {
    const job = jobs[place];
    if (!job) throw new RblError('RBL_JOURNAL_CORRUPT', 'the journal has a dead delivery for a job its snapshot record does not hold');
    (job.x ??= []).push(dead);
  }
  return jobs;
}

function sum(counts: readonly number[]): number {
  let total = 0;
  for (const count of counts) total += count;
  return total;
}
