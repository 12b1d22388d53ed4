import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DuplicateCache } from '../../src/radius/dedupe.js';

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => (time += ms) };
}

const auth = (fill: number): Buffer => Buffer.alloc(16, fill);

type Request = [address: string, port: number, identifier: number, authenticator: Buffer];

/** A request told apart from others by its name, which becomes its Request Authenticator. */
const r = (name: string): Request => ['192.0.2.1', 1812, 7, Buffer.from(name.padEnd(16, '.'), 'latin1')];

describe('duplicate detection (RFC 5080 §2.2.2)', () => {
  it('keys on source address, source port, Identifier and Request Authenticator', () => {
    const cache = new DuplicateCache();
    expect(cache.begin('192.0.2.1', 1812, 7, auth(1)).state).toBe('new');
    expect(cache.begin('192.0.2.1', 1812, 7, auth(1)).state).toBe('in_progress');
    const others: Request[] = [
      ['192.0.2.2', 1812, 7, auth(1)],
      ['192.0.2.1', 1813, 7, auth(1)],
      ['192.0.2.1', 1812, 8, auth(1)],
      ['192.0.2.1', 1812, 7, auth(2)],
    ];
    for (const other of others) expect(cache.begin(...other).state).toBe('new');
    expect(cache.size).toBe(5);
  });

  it('keys IPv6 sources apart from each other and from IPv4 ones, a v4-mapped source as its IPv4 address', () => {
    const cache = new DuplicateCache();
    for (const address of ['2001:db8::1', '2001:db8::2', '192.0.2.1']) expect(cache.begin(address, 1812, 7, auth(1)).state).toBe('new');
    expect(cache.begin('::ffff:192.0.2.1', 1812, 7, auth(1)).state).toBe('in_progress');
    expect(cache.begin('2001:db8::1', 1813, 7, auth(1)).state).toBe('new');
    // ::c000:201 holds the same four octets as 192.0.2.1, in an address of 16.
    expect(cache.begin('::c000:201', 1812, 7, auth(1)).state).toBe('new');
  });

  it('keys a source that is no address by its text, however long', () => {
    const cache = new DuplicateCache();
    const long = 'x'.repeat(100);
    expect(cache.begin(long, 1812, 7, auth(1)).state).toBe('new');
    expect(cache.begin(long, 1812, 7, auth(1)).state).toBe('in_progress');
    expect(cache.begin(`${long}y`, 1812, 7, auth(1)).state).toBe('new');
    expect(cache.begin(long, 1812, 7, auth(2)).state).toBe('new');
  });

  it('tells apart requests whose Request Authenticators differ only in their last octet', () => {
    const cache = new DuplicateCache();
    const last = Buffer.alloc(16, 1);
    last[15] = 2;
    for (const address of ['192.0.2.1', '2001:db8::1']) {
      expect(cache.begin(address, 1812, 7, auth(1)).state).toBe('new');
      expect(cache.begin(address, 1812, 7, last).state).toBe('new');
    }
  });

  it('tells apart requests whose keys share a hash bucket', () => {
    // 5,000 keys in 16,384 buckets: a lookup often meets another key in its bucket, and only the
    // comparison of the whole 36-octet key tells them apart.
    const count = 5_000;
    const cache = new DuplicateCache();
    const authenticators = randomBytes(16 * count);
    const request = (i: number): Request => ['192.0.2.1', 1812, 7, authenticators.subarray(16 * i, 16 * i + 16)];
    for (let i = 0; i < count; i++) expect(cache.begin(...request(i)).state).toBe('new');
    expect(cache.size).toBe(count);
    for (let i = 0; i < count; i++) expect(cache.begin(...request(i)).state).toBe('in_progress');
  });

  it('remembers an answer given after clearing for its whole time, not the time of the answer cleared', () => {
    const time = clock();
    const cache = new DuplicateCache({ answeredTtlMs: 5_000, now: time.now });
    cache.begin(...r('a'));
    cache.answer(...r('a'));
    cache.clear();
    time.advance(4_000);
    expect(cache.begin(...r('a')).state).toBe('new');
    cache.answer(...r('a'));
    time.advance(2_000);
    expect(cache.begin(...r('b')).state).toBe('new');
    expect(cache.begin(...r('a')).state).toBe('answered');
  });

  it('treats a first request as new and records it in progress', () => {
    const cache = new DuplicateCache();
    expect(cache.begin(...r('a'))).toEqual({ state: 'new' });
    expect(cache.begin(...r('a'))).toEqual({ state: 'in_progress' });
  });

  it('remembers that a request was answered', () => {
    const cache = new DuplicateCache();
    cache.begin(...r('a'));
    cache.answer(...r('a'));
    expect(cache.begin(...r('a'))).toEqual({ state: 'answered' });
  });

  it('forgets an answer after its time to live, so the request counts as new again', () => {
    const time = clock();
    const cache = new DuplicateCache({ answeredTtlMs: 30_000, now: time.now });
    cache.begin(...r('a'));
    cache.answer(...r('a'));
    time.advance(29_999);
    expect(cache.begin(...r('a')).state).toBe('answered');
    time.advance(1);
    expect(cache.begin(...r('a')).state).toBe('new');
  });

  it('keeps an answer 5 s by default, as FreeRADIUS cleanup_delay does, then processes the request again', () => {
    const time = clock();
    const cache = new DuplicateCache({ now: time.now });
    cache.begin(...r('a'));
    cache.answer(...r('a'));
    time.advance(4_999);
    expect(cache.begin(...r('a')).state).toBe('answered');
    time.advance(1);
    expect(cache.begin(...r('a')).state).toBe('new');
  });

  it('processes the retransmission of a request that was not answered', () => {
    const cache = new DuplicateCache();
    cache.begin(...r('a'));
    cache.forget(...r('a'));
    expect(cache.begin(...r('a')).state).toBe('new');
  });

  it('lets a request stuck in progress be processed again after its time limit', () => {
    const time = clock();
    const cache = new DuplicateCache({ inProgressTtlMs: 1000, now: time.now });
    cache.begin(...r('a'));
    time.advance(1000);
    expect(cache.begin(...r('a')).state).toBe('new');
  });

  it('prunes expired entries as new ones arrive', () => {
    const time = clock();
    const cache = new DuplicateCache({ answeredTtlMs: 100, now: time.now });
    for (const key of ['a', 'b', 'c']) {
      cache.begin(...r(key));
      cache.answer(...r(key));
    }
    time.advance(100);
    cache.begin(...r('d'));
    expect(cache.size).toBe(1);
  });

  it('stays within its size bound by evicting the oldest entries', () => {
    const cache = new DuplicateCache({ maxEntries: 3 });
    for (const key of ['a', 'b', 'c', 'd', 'e']) cache.begin(...r(key));
    expect(cache.size).toBe(3);
    expect(cache.begin(...r('a')).state).toBe('new');
    expect(cache.begin(...r('e')).state).toBe('in_progress');
  });

  it('keeps answers 5 s and requests in progress 5 min by default', () => {
    const time = clock();
    const cache = new DuplicateCache({ now: time.now });
    cache.begin(...r('answered'));
    cache.answer(...r('answered'));
    cache.begin(...r('stuck'));
    time.advance(4_999);
    expect(cache.begin(...r('answered')).state).toBe('answered');
    time.advance(1);
    expect(cache.begin(...r('answered')).state).toBe('new');
    time.advance(300_000 - 5_000 - 1);
    expect(cache.begin(...r('stuck')).state).toBe('in_progress');
    time.advance(1);
    expect(cache.begin(...r('stuck')).state).toBe('new');
  });

  it('keeps only the newest request when its bound is zero', () => {
    const cache = new DuplicateCache({ maxEntries: 0 });
    expect(cache.begin(...r('a')).state).toBe('new');
    expect(cache.begin(...r('b')).state).toBe('new');
    expect(cache.size).toBe(1);
    expect(cache.begin(...r('b')).state).toBe('in_progress');
    expect(cache.begin(...r('a')).state).toBe('new');
  });

  it('remembers 100,000 requests by default, then evicts the oldest', () => {
    const cache = new DuplicateCache();
    for (let i = 0; i <= 100_000; i++) cache.begin(...r(`k${i}`));
    expect(cache.size).toBe(100_000);
    expect(cache.begin(...r('k0')).state).toBe('new');
  });

  it('reads the real clock when given none', () => {
    const cache = new DuplicateCache({ answeredTtlMs: 60_000 });
    cache.begin(...r('a'));
    cache.answer(...r('a'));
    expect(cache.begin(...r('a')).state).toBe('answered');
  });

  it('counts a request begun again after it expired as the newest, for eviction', () => {
    const time = clock();
    const cache = new DuplicateCache({ answeredTtlMs: 100, inProgressTtlMs: 1000, maxEntries: 3, now: time.now });
    cache.begin(...r('x'));
    cache.begin(...r('a'));
    cache.answer(...r('a'));
    cache.begin(...r('y'));
    time.advance(100);
    expect(cache.begin(...r('a')).state).toBe('new');
    cache.begin(...r('z'));
    cache.begin(...r('w'));
    // x and then y were the oldest; a, begun again after them, is still remembered.
    expect(cache.begin(...r('a')).state).toBe('in_progress');
    expect(cache.begin(...r('y')).state).toBe('new');
  });

  it('counts an answered request as the newest, and prunes expired ones when it records the answer', () => {
    const time = clock();
    const cache = new DuplicateCache({ answeredTtlMs: 1000, inProgressTtlMs: 50, now: time.now });
    cache.begin(...r('a'));
    cache.begin(...r('b'));
    time.advance(60);
    cache.answer(...r('b'));
    expect(cache.size).toBe(1);
    expect(cache.begin(...r('b')).state).toBe('answered');
  });

  it('prunes expired answers even behind a request still in progress', () => {
    const time = clock();
    const cache = new DuplicateCache({ answeredTtlMs: 100, now: time.now });
    cache.begin(...r('stuck'));
    for (const key of ['a', 'b']) {
      cache.begin(...r(key));
      cache.answer(...r(key));
    }
    time.advance(100);
    cache.begin(...r('c'));
    // stuck and c remain; the answers of a and b expired although stuck is older than both.
    expect(cache.size).toBe(2);
    expect(cache.begin(...r('stuck')).state).toBe('in_progress');
  });

  it('evicts the oldest entry when full, an answer or a request in progress, whichever was recorded first', () => {
    const answeredFirst = new DuplicateCache({ maxEntries: 2 });
    answeredFirst.begin(...r('a'));
    answeredFirst.answer(...r('a'));
    answeredFirst.begin(...r('b'));
    answeredFirst.begin(...r('c'));
    expect([answeredFirst.begin(...r('b')).state, answeredFirst.begin(...r('c')).state]).toEqual(['in_progress', 'in_progress']);
    expect(answeredFirst.begin(...r('a')).state).toBe('new');

    const inProgressFirst = new DuplicateCache({ maxEntries: 2 });
    inProgressFirst.begin(...r('x'));
    inProgressFirst.begin(...r('a'));
    inProgressFirst.answer(...r('a'));
    inProgressFirst.begin(...r('c'));
    expect(inProgressFirst.begin(...r('a')).state).toBe('answered');
    expect(inProgressFirst.begin(...r('x')).state).toBe('new');
  });

  it('keeps expiring in record order after requests are forgotten at the front, the middle and the end', () => {
    const time = clock();
    const cache = new DuplicateCache({ inProgressTtlMs: 100, now: time.now });
    for (const key of ['a', 'b', 'c', 'd', 'e']) {
      cache.begin(...r(key));
      time.advance(10);
    }
    cache.forget(...r('a'));
    cache.forget(...r('c'));
    cache.forget(...r('e'));
    cache.forget(...r('never-seen'));
    expect(cache.size).toBe(2);
    cache.begin(...r('f'));
    // b was begun at +10 and d at +30: at +110 only b has expired.
    time.advance(60);
    cache.begin(...r('g'));
    expect(cache.size).toBe(3);
    expect(cache.begin(...r('d')).state).toBe('in_progress');
    time.advance(20);
    expect(cache.begin(...r('h')).state).toBe('new');
    expect(cache.size).toBe(3);
    expect(cache.begin(...r('f')).state).toBe('in_progress');
    expect(cache.begin(...r('b')).state).toBe('new');
  });

  it('remembers an answer recorded without a begin, and one answered twice once', () => {
    const cache = new DuplicateCache();
    cache.answer(...r('a'));
    expect(cache.begin(...r('a'))).toEqual({ state: 'answered' });
    cache.answer(...r('a'));
    expect(cache.begin(...r('a'))).toEqual({ state: 'answered' });
    expect(cache.size).toBe(1);
  });

  it('forgets everything when cleared', () => {
    const cache = new DuplicateCache();
    cache.begin(...r('a'));
    cache.answer(...r('a'));
    cache.begin(...r('b'));
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.begin(...r('a')).state).toBe('new');
  });

  it('keeps every request as its columns grow past their first size, and finds each after others were forgotten', () => {
    const cache = new DuplicateCache();
    const names = Array.from({ length: 3000 }, (_, i) => `grow-${i}`);
    for (const name of names) expect(cache.begin(...r(name)).state).toBe('new');
    // Forgotten from every part of the hash chains and lists: each third one.
    for (const [i, name] of names.entries()) if (i % 3 === 0) cache.forget(...r(name));
    expect(cache.size).toBe(2000);
    for (const [i, name] of names.entries()) expect(cache.begin(...r(name)).state).toBe(i % 3 === 0 ? 'new' : 'in_progress');
    for (const name of names) cache.answer(...r(name));
    expect(cache.size).toBe(3000);
    for (const name of names) expect(cache.begin(...r(name)).state).toBe('answered');
  });

  it('goes back to its first size when cleared, and keeps working', () => {
    const cache = new DuplicateCache();
    for (let i = 0; i < 1000; i++) cache.begin(...r(`c-${i}`));
    cache.clear();
    for (let i = 0; i < 1000; i++) expect(cache.begin(...r(`c-${i}`)).state).toBe('new');
    expect(cache.size).toBe(1000);
  });
});

/**
 * The same rules written the plain way (a Map and a record order), for the property below: what
 * the columns answer must be what this answers, for any sequence of requests and clock steps.
 */
class PlainCache {
  readonly entries = new Map<string, { answered: boolean; expiresAt: number; sequence: number }>();
  sequence = 0;
  constructor(readonly options: { answeredTtlMs: number; inProgressTtlMs: number; maxEntries: number; now: () => number }) {}
  begin(key: string): string {
    const now = this.options.now();
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt > now) return entry.answered ? 'answered' : 'in_progress';
    this.entries.delete(key);
    this.prune(now, 1);
    this.entries.set(key, { answered: false, expiresAt: now + this.options.inProgressTtlMs, sequence: this.sequence++ });
    return 'new';
  }
  answer(key: string): void {
    const now = this.options.now();
    this.entries.delete(key);
    this.entries.set(key, { answered: true, expiresAt: now + this.options.answeredTtlMs, sequence: this.sequence++ });
    this.prune(now, 0);
  }
  forget(key: string): void {
    this.entries.delete(key);
  }
  private prune(now: number, room: number): void {
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
    while (this.entries.size > 0 && this.entries.size + room > this.options.maxEntries) {
      let oldest: string | undefined;
      for (const [key, entry] of this.entries) if (oldest === undefined || entry.sequence < this.entries.get(oldest)!.sequence) oldest = key;
      this.entries.delete(oldest!);
    }
  }
}

describe('the duplicate cache against the plain rules', () => {
  it('answers as they do for any sequence of begin, answer, forget and clock steps', () => {
    const step = fc.oneof(
      fc.record({ op: fc.constantFrom('begin', 'answer', 'forget'), key: fc.integer({ min: 0, max: 40 }) }),
      fc.record({ op: fc.constant('advance'), ms: fc.integer({ min: 1, max: 120 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), fc.array(step, { maxLength: 300 }), (maxEntries, steps) => {
        const time = clock();
        const options = { answeredTtlMs: 100, inProgressTtlMs: 250, maxEntries, now: time.now };
        const cache = new DuplicateCache(options);
        const plain = new PlainCache(options);
        for (const s of steps) {
          if (s.op === 'advance') {
            time.advance(s.ms);
            continue;
          }
          // Keys that differ in source, port or Identifier as well as in the authenticator.
          const request: Request = [s.key % 3 === 0 ? '2001:db8::1' : '192.0.2.1', 1812 + (s.key % 2), s.key % 5, Buffer.alloc(16, s.key)];
          if (s.op === 'begin') expect(cache.begin(...request).state).toBe(plain.begin(String(s.key)));
          if (s.op === 'answer') {
            cache.answer(...request);
            plain.answer(String(s.key));
          }
          if (s.op === 'forget') {
            cache.forget(...request);
            plain.forget(String(s.key));
          }
          expect(cache.size).toBe(plain.entries.size);
        }
      }),
      { numRuns: 300 },
    );
  });
});
