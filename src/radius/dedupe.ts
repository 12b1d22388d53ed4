/**
 * The duplicate-detection cache of RFC 5080 §2.2.2: a request is the same when its source address,
 * source port, Identifier and Request Authenticator are. A duplicate of an answered request gets
 * the cached response again, a duplicate of one still in progress is dropped. Pure code with an
 * injectable clock; expired entries are pruned as new ones arrive, so it needs no timer.
 */

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
  | { readonly state: 'answered'; readonly response: Buffer };

interface Entry {
  response: Buffer | undefined;
  expiresAt: number;
}

/**
 * 5 s for answers (FreeRADIUS's cleanup_delay: a NAS retransmits within a few seconds, RFC 5080
 * §2.2.1, and a later one is processed again, which a Stop survives: its session is remembered as
 * stopped), 5 min for a request still in progress, 100,000 entries. At 8,000 Stops/s that is 40,000
 * answers held instead of a quarter of a million over 30 s.
 */
export const DUPLICATE_CACHE_DEFAULTS = { answeredTtlMs: 5_000, inProgressTtlMs: 300_000, maxEntries: 100_000 } as const;

/** The request's cache key: source address, source port, Identifier and Request Authenticator. */
export function duplicateKey(address: string, port: number, identifier: number, authenticator: Buffer): string {
  return `${address}|${port}|${identifier}|${authenticator.toString('latin1')}`;
}

/** RFC 5080 §2.2.2 duplicate detection: remembers requests in progress and the answers sent. */
export class DuplicateCache {
  private readonly entries = new Map<string, Entry>();
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
      return entry.response ? { state: 'answered', response: entry.response } : { state: 'in_progress' };
    }
    if (entry) this.entries.delete(key);
    this.prune(now, 1);
    this.entries.set(key, { response: undefined, expiresAt: now + this.inProgressTtlMs });
    return { state: 'new' };
  }

  /** Records the response sent, so a retransmission gets the same octets. */
  answer(key: string, response: Buffer): void {
    // Re-inserting keeps the map in roughly expiry order, so pruning stops at the first live entry.
    this.entries.delete(key);
    this.entries.set(key, { response, expiresAt: this.now() + this.answeredTtlMs });
    this.prune(this.now(), 0);
  }

  /** Forgets a request that was not answered, so the NAS's retransmission is processed again. */
  forget(key: string): void {
    this.entries.delete(key);
  }

  /** Forgets everything (the listener closing). */
  clear(): void {
    this.entries.clear();
  }

  /** Drops expired entries from the oldest end, and the oldest ones until `room` more fit. */
  private prune(now: number, room: number): void {
    for (const [key, entry] of this.entries) {
      if (this.entries.size + room > this.maxEntries || entry.expiresAt <= now) {
        this.entries.delete(key);
        continue;
      }
      break;
    }
  }
}
