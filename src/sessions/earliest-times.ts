/**
 * Lower bounds on the times of each scope's (client and NAS key) sessions, so an Accounting-On/Off
 * that is older than every session its NAS has now (a replay, or a delayed copy of a restart the
 * table already went through) is told apart without a scan of the whole table. That scan took
 * about a second for a NAS of 900,000 sessions: a captured Accounting-On, replayed from new source
 * ports (past the duplicate cache) once a second, would keep the service from reading anything
 * else. Pure code.
 *
 * A bound only ever moves down while sessions are recorded (each time recorded is folded in), so
 * it stays below every session's time whatever is removed; a scan of the scope's sessions sets it
 * to the exact earliest times again. A replay after a real restart therefore costs one scan, and
 * the next ones none: nothing a replay does records a session at an older time.
 */

/** The earliest times of one NAS's sessions, or lower bounds on them; Infinity where no session counts. */
export interface EarliestSessionTimes {
  /** Earliest eventAt (ms, this host's clock) of all its sessions. */
  readonly at: number;
  /** Earliest eventAt of its sessions recorded without Event-Timestamp. */
  readonly atWithoutNasTime: number;
  /** Earliest Event-Timestamp (s, the NAS's clock) of its sessions recorded with one. */
  readonly nasTime: number;
}

/** The bounds of a scope with no session. */
const NO_SESSIONS: EarliestSessionTimes = {
  at: Number.POSITIVE_INFINITY,
  atWithoutNasTime: Number.POSITIVE_INFINITY,
  nasTime: Number.POSITIVE_INFINITY,
};

/** Per-scope bounds, indexed by scope number (a few per NAS, not per session). */
export class EarliestTimes {
  readonly #at: number[] = [];
  readonly #atWithoutNasTime: number[] = [];
  readonly #nasTime: number[] = [];

  /** The scope's bounds; a scope never noted has none (Infinity). */
  of(scope: number): EarliestSessionTimes {
    return {
      at: this.#at[scope] ?? Number.POSITIVE_INFINITY,
      atWithoutNasTime: this.#atWithoutNasTime[scope] ?? Number.POSITIVE_INFINITY,
      nasTime: this.#nasTime[scope] ?? Number.POSITIVE_INFINITY,
    };
  }

  /** Folds in the times a session of the scope was recorded with (nasTime 0: none). */
  note(scope: number, eventAt: number, nasTime: number): void {
    this.#at[scope] = Math.min(this.#at[scope] ?? Number.POSITIVE_INFINITY, eventAt);
    if (nasTime === 0) this.#atWithoutNasTime[scope] = Math.min(this.#atWithoutNasTime[scope] ?? Number.POSITIVE_INFINITY, eventAt);
    else this.#nasTime[scope] = Math.min(this.#nasTime[scope] ?? Number.POSITIVE_INFINITY, nasTime);
  }

  /** Sets the scope's bounds to the exact earliest times, as a scan of all its sessions found them. */
  set(scope: number, exact: EarliestSessionTimes): void {
    this.#at[scope] = exact.at;
    this.#atWithoutNasTime[scope] = exact.atWithoutNasTime;
    this.#nasTime[scope] = exact.nasTime;
  }

  /** Forgets a scope whose last session went: its number is given to another client and NAS. */
  forget(scope: number): void {
    this.set(scope, NO_SESSIONS);
  }
}

