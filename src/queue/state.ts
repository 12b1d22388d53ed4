/**
 * The state the journal records, in memory: sessions, unlist jobs and each job's deliveries (one per
 * backend and zone: pending, or dead-lettered). Every change is a record applied by {@link
 * QueueState.apply}, both live and on replay, so memory always equals the journal replayed. Pure code.
 *
 * Records are transitions that converge when replayed over a snapshot taken while they happened
 * (compaction does not stop writers): sessions are assigned or removed, a delivery moves pending →
 * dead → pending or to gone, and a transition from a state the delivery is not in does nothing.
 */
import { RenewingMap } from '../collections/renewing-map.js';
import { RblError } from '../errors.js';
import { redactUrlsIn } from '../redact.js';
import type { IpPrefix } from '../net/address.js';
import type { CanonicalSession, Session, SessionKey } from '../sessions/session.js';
import { SessionTable, type StopTime } from '../sessions/table.js';
import { decodeJobColumns, encodeJobColumns, type JobColumns } from './job-columns.js';
import { decodeStoppedRows, encodeStoppedColumns } from './stopped-rows.js';

/** Why a job exists: the accounting event that asked for it. */
export interface UnlistReason {
  readonly event: string;
  readonly client: string;
  readonly nas: string;
  readonly sessionId?: string;
}

/** One durable request to unlist some targets in every configured backend and zone. */
export interface UnlistJob {
  readonly id: string;
  /** formatPrefix text. */
  readonly targets: readonly string[];
  readonly reason: UnlistReason;
  /** When the event was received, ms since the epoch; latencies are measured from here. */
  readonly createdAt: number;
}

/** A delivery that failed permanently. */
export interface DeadDelivery {
  readonly lane: string;
  readonly failedAt: number;
  readonly code: string;
  readonly message: string;
}

/** A job in memory; `pending` and `dead` hold lane keys (see {@link laneKey}). */
export interface JobState {
  readonly id: number;
  readonly targets: readonly string[];
  readonly reason: UnlistReason;
  readonly createdAt: number;
  pending: string[];
  dead: DeadDelivery[];
  /**
   * The targets as prefixes while the job is about to be sent, so the worker does not parse their
   * text again; set and cleared by the store, never journaled. A field of the job, not an entry in
   * a WeakMap: a WeakMap's entries are ephemerons, which every young-generation collection has to
   * trace, and at thousands of Stops a second that cost a tenth of the daemon's CPU (issue 13).
   */
  sendPrefixes: readonly IpPrefix[] | undefined;
}

/** A session as journal format 2 writes it; nasTime 0 when the NAS sent no Event-Timestamp. */
export type SessionRow = [client: string, nas: string, sessionId: string, addresses: string[], updatedAt: number, eventAt: number, nasTime: number];
/** A session as journal format 1 wrote it: no event times, keyed by NAS and Acct-Session-Id only. */
export type SessionRowV1 = [nas: string, sessionId: string, client: string, addresses: string[], updatedAt: number];
/**
 * A session forgotten: stopped (with its Event-Timestamp, 0 without one: the stop is remembered) or
 * expired/evicted (without).
 */
export type RemovalRow = [client: string, nas: string, sessionId: string] | [client: string, nas: string, sessionId: string, nasTime: number];
/** A stop as formats 2 and 3 wrote it: also the receive time, which the stopped-session memory never kept. */
export type RemovalRowV3 = [client: string, nas: string, sessionId: string, at: number, nasTime: number];
/** A session forgotten in journal format 1. */
export type RemovalRowV1 = [nas: string, sessionId: string];
export type DeadRow = [lane: string, failedAt: number, code: string, message: string];
export interface JobRow {
  i: number;
  t: string[];
  r: UnlistReason;
  a: number;
  p: string[];
  x?: DeadRow[];
}

/**
 * 3: snapshots write the stopped-session memory packed in base64 ('st' `b`) and jobs in columns
 * ('j' `c`), so a backlog's snapshot is a third of what it was, and a stop's removal row leaves out
 * the receive time (4 long, where format 2 wrote 5): 14 bytes less in a Stop's 70-odd. 2: sessions
 * scoped by client, with event times, and the stopped-session memory ('st' `k`). Formats 1 and 2
 * are still read (rows are told apart by their length, since an older file goes on with newer
 * records until its next compaction): a session without an event time gets its updatedAt.
 */
export const JOURNAL_VERSION = 3;
const READABLE_VERSIONS: ReadonlySet<number> = new Set([1, 2, 3]);
/** Stopped-session rows per snapshot record (about 50 KB of base64). */
const STOPPED_CHUNK = 4096;
/**
 * Targets in one snapshot record of jobs at most, besides the 2000 jobs: a few large Accounting-On
 * jobs must not make one record past MAX_RECORD_BYTES (64 MiB), which replay takes for corruption.
 * 100,000 targets are some 4 MB of JSON (an IPv6 prefix is about 40 octets).
 */
const TARGETS_PER_JOB_CHUNK = 100_000;

/** The journal's record payloads. */
export type JournalRecord =
  /** First record of every file: the format version and the next job number. */
  | { t: 'h'; v: number; seq: number; at: number }
  /** Snapshot chunks written by compaction. */
  | { t: 's'; s: (SessionRow | SessionRowV1)[] }
  /**
   * Snapshot chunks of the stopped-session memory, oldest first: format 3 writes `b` (see
   * stopped-rows.ts), format 2 wrote `k`, [hashHigh, hashLow, nasTime] flattened.
   */
  | { t: 'st'; b: string; k?: undefined }
  | { t: 'st'; k: number[]; b?: undefined }
  /** Snapshot chunks of jobs: format 3 writes columns (see job-columns.ts), format 2 wrote rows. */
  | { t: 'j'; c: JobColumns; j?: undefined }
  | { t: 'j'; j: JobRow[]; c?: undefined }
  /** One accounting event, atomically: session upserts and removals and the unlist job. */
  | { t: 'c'; u?: (SessionRow | SessionRowV1)[]; r?: (RemovalRow | RemovalRowV3 | RemovalRowV1)[]; j?: JobRow }
  /** Deliveries of these jobs in this lane succeeded. */
  | { t: 'd'; l: string; i: number[] }
  /** A delivery became a dead letter. */
  | { t: 'x'; l: string; i: number; a: number; c: string; m: string }
  /** Dead letters re-driven (dead → pending). */
  | { t: 'rd'; d: [number, string][] }
  /** Deliveries dropped (by `queue drop`, or because their backend or zone left the config). */
  | { t: 'g'; d: [number, string][] };

/** The key of a (backend, zone) lane; zone names never hold a newline. */
export function laneKey(backend: string, zone: string): string {
  return `${backend}\n${zone}`;
}

/** The backend name and zone of a lane key. */
export function splitLane(lane: string): { backend: string; zone: string } {
  const cut = lane.lastIndexOf('\n');
  return { backend: lane.slice(0, cut), zone: lane.slice(cut + 1) };
}

export function sessionRow(session: Session | CanonicalSession): SessionRow {
  const addresses = session.addresses.map((address) => (typeof address === 'string' ? address : address.text));
  return [session.client, session.nas, session.sessionId, addresses, session.updatedAt, session.eventAt, session.nasTime ?? 0];
}

/**
 * The row that forgets a session; with the NAS's stop time when it stopped (so it is remembered).
 * The receive time is left out: the memory keeps only the NAS's clock, and a Stop's record is the
 * one a backlog appends hundreds of thousands of (14 bytes of 80 each).
 */
export function removalRow(removal: SessionKey & { readonly stoppedAt?: StopTime }): RemovalRow {
  const { client, nas, sessionId, stoppedAt } = removal;
  return stoppedAt ? [client, nas, sessionId, stoppedAt.nasTime ?? 0] : [client, nas, sessionId];
}

export function jobView(job: JobState): UnlistJob {
  return { id: String(job.id), targets: job.targets, reason: job.reason, createdAt: job.createdAt };
}

/** Sessions, jobs and deliveries, changed only by applying journal records. */
export class QueueState {
  readonly sessions = new SessionTable();
  /** Jobs come and go with every Stop: a RenewingMap keeps V8 from promoting the ones gone (issue 13). */
  readonly jobs: Map<number, JobState> = new RenewingMap();
  nextSeq = 1;
  #pending = 0;
  #dead = 0;
  #redactedDeadLetters = 0;
  /**
   * lane → target → the jobs whose delivery in that lane is pending: what merges a new unlist into
   * the backlog. One job is held as its id, several in a Set: a burst of Stops is one job per
   * target, and a Set each (over 100 bytes) was a good part of what a pending job cost.
   */
  readonly #pendingByTarget = new Map<string, Map<string, number | Set<number>>>();

  /** Pending deliveries (job × lane). */
  get pendingCount(): number {
    return this.#pending;
  }

  /** Dead-lettered deliveries. */
  get deadCount(): number {
    return this.#dead;
  }

  /**
   * Dead letters whose message, as the journal holds it, had a credential in a URL: 0.1 journaled
   * its HTTP errors unredacted. They are kept redacted, so the next snapshot leaves the text behind.
   */
  get redactedDeadLetters(): number {
    return this.#redactedDeadLetters;
  }

  /** The jobs whose delivery of `target` (formatPrefix text) in `lane` is pending. */
  pendingJobsFor(lane: string, target: string): Iterable<number> | undefined {
    const ids = this.#pendingByTarget.get(lane)?.get(target);
    return typeof ids === 'number' ? [ids] : ids;
  }

  /** Distinct (lane, target) pairs pending: what bounds the backlog. */
  pendingTargetCount(): number {
    let count = 0;
    for (const targets of this.#pendingByTarget.values()) count += targets.size;
    return count;
  }

  /**
   * Applies one record; throws RBL_JOURNAL_CORRUPT for one this version does not know. A live commit
   * passes the canonical sessions its 'c' record's rows were made from, so their addresses are
   * recorded as they are, not parsed back from the rows' text (which replay does).
   */
  apply(record: JournalRecord, upserted?: readonly CanonicalSession[]): void {
    switch (record.t) {
      case 'h':
        if (!READABLE_VERSIONS.has(record.v)) {
          throw new RblError('RBL_JOURNAL_CORRUPT', `the journal has format version ${record.v}; this rbl-unlist reads versions 1 to ${JOURNAL_VERSION}`);
        }
        this.nextSeq = Math.max(this.nextSeq, record.seq);
        return;
      case 's':
        for (const row of record.s) this.#upsert(row, 'snapshot');
        return;
      case 'st':
        if (record.b !== undefined) {
          for (const row of decodeStoppedRows(record.b)) this.sessions.rememberStopped(row);
        } else {
          for (let i = 0; i + 2 < record.k.length; i += 3) this.sessions.rememberStopped([record.k[i]!, record.k[i + 1]!, record.k[i + 2]!]);
        }
        return;
      case 'j':
        for (const row of record.c ? decodeJobColumns(record.c) : record.j) this.#addJob(row);
        return;
      case 'c':
        if (upserted) for (const session of upserted) this.sessions.upsert(session);
        else for (const row of record.u ?? []) this.#upsert(row);
        for (const row of record.r ?? []) this.#remove(row);
        if (record.j) this.#addJob(record.j);
        return;
      case 'd':
        for (const id of record.i) this.#settle(id, record.l);
        return;
      case 'x': {
        const job = this.jobs.get(record.i);
        if (!job || !removeFrom(job.pending, record.l)) return;
        this.#index(job, record.l, false);
        job.dead.push({ lane: record.l, failedAt: record.a, code: record.c, message: this.#redacted(record.m) });
        this.#pending--;
        this.#dead++;
        return;
      }
      case 'rd':
        for (const [id, lane] of record.d) {
          const job = this.jobs.get(id);
          const index = job ? job.dead.findIndex((dead) => dead.lane === lane) : -1;
          if (!job || index === -1) continue;
          job.dead.splice(index, 1);
          job.pending.push(lane);
          this.#index(job, lane, true);
          this.#dead--;
          this.#pending++;
        }
        return;
      case 'g':
        for (const [id, lane] of record.d) this.#settle(id, lane);
        return;
      default:
        throw new RblError('RBL_JOURNAL_CORRUPT', `the journal has a record of unknown type ${JSON.stringify((record as { t: unknown }).t)}`);
    }
  }

  /** The snapshot compaction writes: a header, then chunks of sessions and jobs, read lazily. */
  *snapshot(chunk = 2000): Generator<JournalRecord> {
    yield { t: 'h', v: JOURNAL_VERSION, seq: this.nextSeq, at: Date.now() };
    let sessions: SessionRow[] = [];
    for (const session of this.sessions.heldEntries()) {
      sessions.push(sessionRow(session));
      if (sessions.length === chunk) {
        yield { t: 's', s: sessions };
        sessions = [];
      }
    }
    if (sessions.length > 0) yield { t: 's', s: sessions };
    // Encoded at once: a chunk is a view of the memory's ring, which the next Stop may overwrite.
    for (const columns of this.sessions.stoppedColumns(STOPPED_CHUNK)) yield { t: 'st', b: encodeStoppedColumns(columns) };
    let jobs: JobRow[] = [];
    let targets = 0;
    for (const job of this.jobs.values()) {
      jobs.push(jobRow(job));
      targets += job.targets.length;
      if (jobs.length === chunk || targets >= TARGETS_PER_JOB_CHUNK) {
        yield { t: 'j', c: encodeJobColumns(jobs) };
        jobs = [];
        targets = 0;
      }
    }
    if (jobs.length > 0) yield { t: 'j', c: encodeJobColumns(jobs) };
  }

  /** Records a session row: of an event ('c', the newest claim wins) or of a snapshot ('s', see SessionTable.restore). */
  #upsert(row: SessionRow | SessionRowV1, from: 'event' | 'snapshot' = 'event'): void {
    const record =
      row.length === 5
        ? // Format 1 kept no event time: the record time is the best there is.
          { client: row[2], nas: row[0], sessionId: row[1], addresses: row[3], updatedAt: row[4], eventAt: row[4] }
        : { client: row[0], nas: row[1], sessionId: row[2], addresses: row[3], updatedAt: row[4], eventAt: row[5], nasTime: row[6] === 0 ? undefined : row[6] };
    if (from === 'snapshot') this.sessions.restore(record);
    else this.sessions.upsert(record);
  }

  #remove(row: RemovalRow | RemovalRowV3 | RemovalRowV1): void {
    if (row.length === 2) {
      this.sessions.removeUnscoped(row[0], row[1]);
    } else if (row.length === 4 || row.length === 5) {
      const [client, nas, sessionId] = row;
      const nasTime = row.length === 4 ? row[3] : row[4];
      // The memory keeps the NAS's clock only (stopped.ts): the receive time is not needed, nor recorded.
      this.sessions.stop({ client, nas, sessionId }, { at: 0, nasTime: nasTime === 0 ? undefined : nasTime });
    } else {
      this.sessions.remove(row[0], row[1], row[2]);
    }
  }

  #redacted(message: string): string {
    const redacted = redactUrlsIn(message);
    if (redacted !== message) this.#redactedDeadLetters++;
    return redacted;
  }

  #addJob(row: JobRow): void {
    const old = this.jobs.get(row.i);
    if (old) {
      this.#pending -= old.pending.length;
      this.#dead -= old.dead.length;
      for (const lane of old.pending) this.#index(old, lane, false);
    }
    const dead = (row.x ?? []).map(([lane, failedAt, code, message]) => ({ lane, failedAt, code, message: this.#redacted(message) }));
    this.nextSeq = Math.max(this.nextSeq, row.i + 1);
    if (row.p.length === 0 && dead.length === 0) {
      this.jobs.delete(row.i);
      return;
    }
    const job: JobState = { id: row.i, targets: row.t, reason: row.r, createdAt: row.a, pending: [...row.p], dead, sendPrefixes: undefined };
    this.jobs.set(row.i, job);
    for (const lane of job.pending) this.#index(job, lane, true);
    this.#pending += row.p.length;
    this.#dead += dead.length;
  }

  #index(job: JobState, lane: string, pending: boolean): void {
    let targets = this.#pendingByTarget.get(lane);
    if (!targets) {
      if (!pending) return;
      targets = new RenewingMap();
      this.#pendingByTarget.set(lane, targets);
    }
    for (const target of job.targets) {
      const ids = targets.get(target);
      if (pending) {
        if (ids === undefined) targets.set(target, job.id);
        else if (typeof ids !== 'number') ids.add(job.id);
        else if (ids !== job.id) targets.set(target, new Set([ids, job.id]));
      } else if (ids === job.id) {
        targets.delete(target);
      } else if (typeof ids === 'object') {
        ids.delete(job.id);
        if (ids.size === 0) targets.delete(target);
      }
    }
  }

  /** The delivery is gone (delivered or dropped), whether pending or dead; the job goes with its last one. */
  #settle(id: number, lane: string): void {
    const job = this.jobs.get(id);
    if (!job) return;
    if (removeFrom(job.pending, lane)) {
      this.#pending--;
      this.#index(job, lane, false);
    }
    const index = job.dead.findIndex((dead) => dead.lane === lane);
    if (index !== -1) {
      job.dead.splice(index, 1);
      this.#dead--;
    }
    if (job.pending.length === 0 && job.dead.length === 0) this.jobs.delete(id);
  }
}

/** The row that records a job as it stands. */
export function jobRow(job: JobState): JobRow {
  const row: JobRow = { i: job.id, t: [...job.targets], r: job.reason, a: job.createdAt, p: [...job.pending] };
  if (job.dead.length > 0) row.x = job.dead.map((dead) => [dead.lane, dead.failedAt, dead.code, dead.message]);
  return row;
}

function removeFrom(list: string[], item: string): boolean {
  const index = list.indexOf(item);
  if (index === -1) return false;
  list.splice(index, 1);
  return true;
}

/**
 * The record that re-drives ('rd') or drops ('g') the dead letters of the given job ids (all when
 * absent), listing each (job, lane) explicitly so replaying it over a later snapshot changes nothing new.
 */
export function deadLetterRecord(
  state: QueueState,
  action: 'retry' | 'drop',
  ids: readonly string[] | undefined,
): { record: JournalRecord | undefined; count: number; notFound: string[] } {
  const wanted = ids === undefined ? undefined : new Set(ids);
  const found = new Set<string>();
  const deliveries: [number, string][] = [];
  for (const job of state.jobs.values()) {
    if (job.dead.length === 0) continue;
    const id = String(job.id);
    if (wanted && !wanted.has(id)) continue;
    found.add(id);
    for (const dead of job.dead) deliveries.push([job.id, dead.lane]);
  }
  const notFound = ids === undefined ? [] : ids.filter((id) => !found.has(id));
  if (deliveries.length === 0) return { record: undefined, count: 0, notFound };
  return { record: action === 'retry' ? { t: 'rd', d: deliveries } : { t: 'g', d: deliveries }, count: deliveries.length, notFound };
}
