/**
 * A Map for entries that come and go all the time (pending jobs, the targets they are pending
 * for, a NAS's waiting answers), rebuilt into a fresh Map once it has deleted a quarter as many
 * entries as it holds (256 at least).
 *
 * Why: V8 keeps each hash table a Map outgrows or rehashes linked to the one that replaced it. Once
 * one of those tables is in the old generation (a full collection promotes whatever is live, the
 * Map's current table too), that link keeps every later table, and every entry any of them held,
 * reachable until the next full collection: entries deleted long ago survive young collections and
 * are promoted. In a burst of Stops that made each young collection promote about five times as
 * much after the first full collection, which brought the next one sooner (issue 13; a plain
 * object used as a dictionary does the same, an array does not). A fresh Map starts a new line of
 * young tables, and the old line ends with the Map that held it. A table young collections find
 * alive twice is promoted too, so the rebuild comes often: in a burst a young collection comes
 * every thousand Stops or so, and a thousand jobs are in flight.
 *
 * The rebuild costs at most four entries copied per deletion. It waits while an iteration is under
 * way, so an iterator sees what a Map's would (entries deleted or added meanwhile included).
 */
const RENEW_AFTER_DELETES = 256;

export class RenewingMap<K, V> implements Map<K, V> {
  #map = new Map<K, V>();
  #deletes = 0;
  /** Iterations started and not finished: the rebuild waits for them. */
  #iterating = 0;

  get size(): number {
    return this.#map.size;
  }

  get [Symbol.toStringTag](): string {
    return 'RenewingMap';
  }

  get(key: K): V | undefined {
    return this.#map.get(key);
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  set(key: K, value: V): this {
    this.#map.set(key, value);
    return this;
  }

  delete(key: K): boolean {
    if (!this.#map.delete(key)) return false;
    this.#deletes++;
    if (this.#iterating === 0 && this.#deletes >= Math.max(RENEW_AFTER_DELETES, this.#map.size >> 2)) this.#renew();
    return true;
  }

  clear(): void {
    // Map.prototype.clear links the old table to a new one too.
    this.#map = new Map();
    this.#deletes = 0;
  }

  forEach(callback: (value: V, key: K, map: Map<K, V>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.entries()) callback.call(thisArg, value, key, this);
  }

  entries(): MapIterator<[K, V]> {
    return this.#iterate(() => this.#map.entries());
  }

  keys(): MapIterator<K> {
    return this.#iterate(() => this.#map.keys());
  }

  values(): MapIterator<V> {
    return this.#iterate(() => this.#map.values());
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  #renew(): void {
    // forEach, not new Map(old): the constructor walks the old Map's entries as [key, value]
    // arrays, one allocation each, and took half as long again.
    const fresh = new Map<K, V>();
    this.#map.forEach((value, key) => fresh.set(key, value));
    this.#map = fresh;
    this.#deletes = 0;
  }

  /** Iterates the current Map, holding the rebuild off until the iteration ends or is left. */
  *#iterate<T>(start: () => IterableIterator<T>): Generator<T, undefined, unknown> {
    this.#iterating++;
    try {
      yield* start();
    } finally {
      this.#iterating--;
    }
  }
}
