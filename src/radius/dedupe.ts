/**
 * The duplicate-detection cache of RFC 5080 §2.2.2: a request is the same when its source address,
 * source port, Identifier and Request Authenticator are. A duplicate of an answered request is
 * answered again, a duplicate of one still in progress is dropped. Pure code with an
 * injectable clock; expired entries are pruned as new ones arrive, so it needs no timer.
 */
import { sourceAddressBytes } from './clients.js';

export interface DuplicateCacheOptions {
  /** How long an answer is kept for retransmissions; RFC 5080 §2.2.2 suggests a few seconds to tens of seconds. */
  readonly answeredTtlMs?: number;
  /** How long a request may stay in progress before a retransmission is processed again. */
  readonly inProgressTtlMs?: number;
  /** At most this many entries; the oldest go first. */
  readonly maxEntries?: number;
  readonly now?: () => number;
}

export type DuplicateLookup =
  | { readonly state: 'new' }
  | { readonly state: 'in_progress' }
  | { readonly state: 'answered' };

/** A remembered request, linked into the list of its kind in the order entries were recorded. */
interface Entry {
  readonly key: string;
  answered: boolean;
  expiresAt: number;
  /** The count of begin and answer calls when it was recorded: the lowest is the oldest, evicted first when the cache is full. */
  sequence: number;
  previous: Entry | undefined;
  next: Entry | undefined;
}

const NEW: DuplicateLookup = Object.freeze({ state: 'new' });
const IN_PROGRESS: DuplicateLookup = Object.freeze({ state: 'in_progress' });
const ANSWERED: DuplicateLookup = Object.freeze({ state: 'answered' });

/**
 * Entries of one kind (answered, or in progress) in the order they were recorded, which is their
 * expiry order, as each kind has a fixed time to live. A doubly linked list, so an entry answered
 * or forgotten leaves it at once, wherever it is.
 */
class RecordList {
  first: Entry | undefined;
  private last: Entry | undefined;

  append(entry: Entry): void {
    entry.previous = this.last;
    entry.next = undefined;
    if (this.last) this.last.next = entry;
    else this.first = entry;
    this.last = entry;
  }

  remove(entry: Entry): void {
    if (entry.previous) entry.previous.next = entry.next;
    else this.first = entry.next;
    if (entry.next) entry.next.previous = entry.previous;
    else this.last = entry.previous;
  }

  clear(): void {
    this.first = undefined;
    this.last = undefined;
  }
}

/**
 * 5 s for answers (FreeRADIUS's cleanup_delay: a NAS retransmits within a few seconds, RFC 5080
 * §2.2.1, and a later one is processed again, which a Stop survives: its session is remembered as
 * stopped), 5 min for a request still in progress, 100,000 entries. At 8,000 Stops/s that is 40,000
 * answers held instead of a quarter of a million over 30 s.
 */
export const DUPLICATE_CACHE_DEFAULTS = { answeredTtlMs: 5_000, inProgressTtlMs: 300_000, maxEntries: 100_000 } as const;

/** Where a key is put together; it grows for a source that is no address (which a socket never gives). */
let keyScratch = Buffer.allocUnsafe(64);

/**
 * The request's cache key: source address, source port, Identifier and Request Authenticator,
 * as one flat latin1 string of their octets (the address's 4 or 16, port, Identifier, authenticator:
 * the authenticator's fixed 16 tell the address's length). A template string would be a tree of concatenations that the cache
 * would keep for 5 s: several times the memory, for each of tens of thousands of answers.
 */
export function duplicateKey(address: string, port: number, identifier: number, authenticator: Buffer): string {
  const addressBytes = sourceAddressBytes(address) ?? Buffer.from(address);
  const length = addressBytes.length + 3 + authenticator.length;
  if (keyScratch.length < length) keyScratch = Buffer.allocUnsafe(length);
  let at = addressBytes.copy(keyScratch, 0);
  at = keyScratch.writeUInt16BE(port, at);
  keyScratch[at++] = identifier;
  authenticator.copy(keyScratch, at);
  return keyScratch.toString('latin1', 0, length);
}

/**
 * RFC 5080 §2.2.2 duplicate detection: remembers requests in progress and the answers sent.
 *
 * Expiry walks two lists in record order (answers, requests in progress), never the map: deleting
 * the oldest key of a Map one at a time leaves holes that V8 skips on every walk from the front,
 * which cost 20 µs a packet once a sustained burst had filled 5 s of answers.
 */
export class DuplicateCache {
  private readonly entries = new Map<string, Entry>();
  private readonly answered = new RecordList();
  private readonly inProgress = new RecordList();
  private sequence = 0;
  private readonly answeredTtlMs: number;
  private readonly inProgressTtlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: DuplicateCacheOptions = {}) {
    this.answeredTtlMs = options.answeredTtlMs ?? DUPLICATE_CACHE_DEFAULTS.answeredTtlMs;
    this.inProgressTtlMs = options.inProgressTtlMs ?? DUPLICATE_CACHE_DEFAULTS.inProgressTtlMs;
    this.maxEntries = options.maxEntries ?? DUPLICATE_CACHE_DEFAULTS.maxEntries;
    this.now = options.now ?? Date.now;
  }

  /** How many requests are remembered, in progress or answered. */
  get size(): number {
    return this.entries.size;
  }

  /** Looks the request up; a new one is recorded as in progress before this returns. */
  begin(key: string): DuplicateLookup {
    const now = this.now();
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt > now) {
      return entry.answered ? ANSWERED : IN_PROGRESS;
    }
    if (entry) this.delete(entry);
    this.prune(now, 1);
    const fresh: Entry = { key, answered: false, expiresAt: now + this.inProgressTtlMs, sequence: this.sequence++, previous: undefined, next: undefined };
    this.entries.set(key, fresh);
    this.inProgress.append(fresh);
    return NEW;
  }

  /**
   * Records that the request was answered, so a retransmission is answered again without being
   * processed. The answer itself is not kept: the handler builds it again from the retransmission.
   */
  answer(key: string): void {
    const now = this.now();
    let entry = this.entries.get(key);
    if (entry) {
      this.listOf(entry).remove(entry);
    } else {
      entry = { key, answered: true, expiresAt: 0, sequence: 0, previous: undefined, next: undefined };
      this.entries.set(key, entry);
    }
    // Recorded anew: the answer counts as the newest entry and expires in its turn.
    entry.answered = true;
    entry.expiresAt = now + this.answeredTtlMs;
    entry.sequence = this.sequence++;
    this.answered.append(entry);
    this.prune(now, 0);
  }

  /** Forgets a request that was not answered, so the NAS's retransmission is processed again. */
  forget(key: string): void {
    const entry = this.entries.get(key);
    if (entry) this.delete(entry);
  }

  /** Forgets everything (the listener closing). */
  clear(): void {
    this.entries.clear();
    this.answered.clear();
    this.inProgress.clear();
  }

  private listOf(entry: Entry): RecordList {
    return entry.answered ? this.answered : this.inProgress;
  }

  private delete(entry: Entry): void {
    this.entries.delete(entry.key);
    this.listOf(entry).remove(entry);
  }

  /** Drops expired entries of both kinds, then the oldest ones until `room` more fit. */
  private prune(now: number, room: number): void {
    while (this.answered.first && this.answered.first.expiresAt <= now) this.delete(this.answered.first);
    while (this.inProgress.first && this.inProgress.first.expiresAt <= now) this.delete(this.inProgress.first);
    while (this.entries.size > 0 && this.entries.size + room > this.maxEntries) {
      const answered = this.answered.first;
      const inProgress = this.inProgress.first;
      this.delete(inProgress === undefined || (answered !== undefined && answered.sequence < inProgress.sequence) ? answered! : inProgress);
    }
  }
}
