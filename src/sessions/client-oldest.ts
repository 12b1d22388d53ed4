/**
 * Each capped client's oldest sessions, as a list of table slots oldest first, so a client at its
 * max_sessions does not cost a scan of the whole table for every new session it starts (20 ms at
 * a million sessions: a client flooding Starts past a small cap would otherwise stall the
 * service). A scan fills the list with many of the client's oldest at once; a list that holds all
 * of the client's sessions is kept whole as the client records more (a session recorded now is
 * newer than any before it, by receive time; should this host's clock step back, the order is off
 * by that step, and only among that one client's sessions), so a steady flood needs no scan.
 * Entries are checked when taken: a session removed, refreshed by an Interim-Update since, or a
 * slot given to another session no longer matches, and is passed over. Pure code.
 */

/** How many of a client's oldest one scan lists at least. */
export const CLIENT_OLDEST_BATCH = 1024;

/** A list no one took from in this many of its client's records is dropped (its cap was lifted, say). */
const IDLE_RECORDS = 65_536;

interface OldestList {
  readonly slots: number[];
  /** The updatedAt each slot had when listed. */
  readonly at: number[];
  /** The next entry to take. */
  head: number;
  /** The list held all of the client's sessions when filled, and takes each new record since. */
  readonly complete: boolean;
  recordsSinceTaken: number;
}

export class ClientOldest {
  readonly #lists = new Map<string, OldestList>();

  /**
   * Takes up to `count` of the client's listed oldest whose slot still holds what was listed
   * (`holds(slot, updatedAt)`), oldest first; fewer when the list runs out (then it is refilled).
   */
  take(client: string, count: number, holds: (slot: number, updatedAt: number) => boolean): number[] {
    const list = this.#lists.get(client);
    if (!list) return [];
    list.recordsSinceTaken = 0;
    const taken: number[] = [];
    while (taken.length < count && list.head < list.slots.length) {
      const slot = list.slots[list.head]!;
      const at = list.at[list.head]!;
      list.head++;
      if (holds(slot, at)) taken.push(slot);
    }
    if (list.head === list.slots.length && !list.complete) this.#lists.delete(client);
    else if (list.head >= CLIENT_OLDEST_BATCH && list.head * 2 >= list.slots.length) {
      list.slots.splice(0, list.head);
      list.at.splice(0, list.head);
      list.head = 0;
    }
    return taken;
  }

  /** Lists the client's oldest a scan found, oldest first; `complete` when they are all it has. */
  fill(client: string, slots: readonly number[], at: readonly number[], complete: boolean): void {
    this.#lists.set(client, { slots: [...slots], at: [...at], head: 0, complete, recordsSinceTaken: 0 });
  }

  /** A session of the client was recorded (new, or refreshed) in `slot` at `updatedAt`. */
  recorded(client: string, slot: number, updatedAt: number): void {
    const list = this.#lists.get(client);
    if (!list) return;
    if (!list.complete || ++list.recordsSinceTaken > IDLE_RECORDS) {
      // An incomplete list stops at the scan's newest: a session recorded now belongs after
      // others that are not listed, and is found by the next scan.
      if (list.complete) this.#lists.delete(client);
      return;
    }
    list.slots.push(slot);
    list.at.push(updatedAt);
  }
}
