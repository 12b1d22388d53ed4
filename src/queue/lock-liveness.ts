/**
 * Whether the holder a state.dir lock names still runs, decided from the lock record alone (pure).
 *
 * A pid names a process only within one PID namespace of one boot: two containers on one volume are
 * both PID 1, and neither sees the other's /proc. So the lock records where its holder runs (host,
 * boot id, PID namespace). When that is here, the holder is checked directly by pid and start time.
 * When it is elsewhere, or unknown, the holder proves it runs by refreshing the lock every
 * REFRESH_MS; the lock is stale only once it has gone unrefreshed while we watched for STALE_MS, as
 * measured by our own clock, so clocks that differ between hosts do not matter.
 */

/** How often a holder refreshes its lock. */
export const REFRESH_MS = 2000;
/** A lock from elsewhere not refreshed while we watch for this long is stale: several refreshes missed. */
export const STALE_MS = 15_000;

/** What a lock file records. 0.1 wrote pid and since; 0.2 and 0.3 added nonce, role, host, boot and start. */
export interface LockRecord {
  readonly pid: number;
  /** Epoch ms, by the holder's clock, when it took the lock. */
  readonly since: number;
  /** 'serve', or the `queue` command holding it for a moment. */
  readonly role?: string;
  readonly nonce?: string;
  readonly host?: string;
  readonly boot?: string;
  /** Field 22 of /proc/PID/stat: clock ticks after boot when the process started. */
  readonly start?: string;
  /** The holder's PID namespace, as /proc/self/ns/pid links it: `pid:[inode]`. Absent when unknown. */
  readonly pidns?: string;
  /** Epoch ms, by the holder's clock, of its last refresh. Only locks that are refreshed have it. */
  readonly refreshed?: number;
}

/** This process, as a lock names it; boot, start and pidns are absent where /proc cannot tell them. */
export interface OwnIdentity {
  readonly pid: number;
  readonly host: string;
  readonly boot?: string;
  readonly start?: string;
  readonly pidns?: string;
}

/** What this process sees of a pid in its own PID namespace. */
export type ProcessSighting = { readonly running: false } | { readonly running: true; readonly start?: string };

/** What this process has seen of the lock's refreshes while it watched. */
export interface Watched {
  /** Since the last refresh seen, or since it began to watch. */
  readonly unchangedForMs: number;
  /** Whether it saw the holder refresh the lock. */
  readonly sawRefresh: boolean;
}

/**
 * `held`: the holder runs. `stale`: it does not; the lock may be broken. `watching`: it runs
 * elsewhere and has not refreshed yet while we watched; held until STALE_MS tell otherwise.
 * `unverifiable`: an old release's lock from another host or container, which it never refreshes.
 */
export type LockVerdict = 'held' | 'stale' | 'watching' | 'unverifiable';

/** Judges the lock `record` from this process (`own`), with `look` to see pids of our own PID namespace. */
export function judgeLock(record: LockRecord, own: OwnIdentity, look: (pid: number) => ProcessSighting, watched: Watched): LockVerdict {
  if (record.refreshed === undefined) return judgeOldLock(record, own, look);
  if (runsHere(record, own)) return processVerdict(record, own, look);
  if (watched.unchangedForMs >= STALE_MS) return 'stale';
  return watched.sawRefresh ? 'held' : 'watching';
}

/**
 * Whether a lock judged stale may still have a live holder: one that runs elsewhere (another
 * container, host or boot's view we cannot check) and only stopped refreshing it. It may be frozen,
 * or stalled on a hung disk, and write again once it wakes; a holder judged by its pid is dead.
 */
export function holderMayStillRun(record: LockRecord, own: OwnIdentity): boolean {
  return record.refreshed !== undefined && !runsHere(record, own);
}

function runsHere(record: LockRecord, own: OwnIdentity): boolean {
  return record.host === own.host && record.boot === own.boot && own.pidns !== undefined && record.pidns === own.pidns;
}

/**
 * A lock of 0.3 or older names no PID namespace and is never refreshed. It is judged as those
 * releases did (another boot, or a pid that does not run with that start time, is stale), except
 * when it names another host on this boot: another container, whose pid we cannot see.
 */
function judgeOldLock(record: LockRecord, own: OwnIdentity, look: (pid: number) => ProcessSighting): LockVerdict {
  if (record.boot !== undefined && own.boot !== undefined && record.boot !== own.boot) return 'stale';
  if (record.host !== undefined && record.host !== own.host) return 'unverifiable';
  return processVerdict(record, own, look);
}

/** The holder runs in our PID namespace: it is held while its pid runs with the start time it recorded. */
function processVerdict(record: LockRecord, own: OwnIdentity, look: (pid: number) => ProcessSighting): LockVerdict {
  if (record.pid === own.pid) {
    // Our own pid: the lock is ours only if it names this very process (a container's PID 1 restarted is another).
    return record.start !== undefined && record.start === own.start ? 'held' : 'stale';
  }
  const sighting = look(record.pid);
  if (!sighting.running) return 'stale';
  return record.start === undefined || sighting.start === undefined || record.start === sighting.start ? 'held' : 'stale';
}

/** The holder, for an error message: who, where, since when, last refreshed when. */
export function describeHolder(record: LockRecord, now: number): string {
  const where = [
    `pid ${record.pid}`,
    record.pidns === undefined ? undefined : `in PID namespace ${record.pidns}`,
    record.host === undefined ? undefined : `on host ${record.host}`,
    record.boot === undefined ? undefined : `(boot ${record.boot})`,
  ].filter((part) => part !== undefined);
  const refreshed = record.refreshed === undefined ? 'never refreshed' : `last refreshed ${new Date(record.refreshed).toISOString()} (${Math.max(0, (now - record.refreshed) / 1000).toFixed(1)} s ago)`;
  return `rbl-unlist ${record.role ?? 'serve'}, ${where.join(' ')}, since ${new Date(record.since).toISOString()}, ${refreshed}`;
}

/** Parses a lock file's text; undefined when it is not a lock record. */
export function parseLockRecord(text: string): LockRecord | undefined {
  let parsed: Partial<Record<keyof LockRecord, unknown>>;
  try {
    parsed = JSON.parse(text) as Partial<Record<keyof LockRecord, unknown>>;
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || typeof parsed.pid !== 'number') return undefined;
  return {
    pid: parsed.pid,
    since: typeof parsed.since === 'number' ? parsed.since : 0,
    role: asString(parsed.role),
    nonce: asString(parsed.nonce),
    host: asString(parsed.host),
    boot: asString(parsed.boot),
    start: asString(parsed.start),
    pidns: asString(parsed.pidns),
    refreshed: typeof parsed.refreshed === 'number' ? parsed.refreshed : undefined,
  };
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
