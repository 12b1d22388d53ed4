import { describe, expect, it } from 'vitest';
import { DuplicateCache, duplicateKey } from '../../src/radius/dedupe.js';

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => (time += ms) };
}

const auth = (fill: number): Buffer => Buffer.alloc(16, fill);

describe('duplicate detection (RFC 5080 §2.2.2)', () => {
  it('keys on source address, source port, Identifier and Request Authenticator', () => {
    const base = duplicateKey('192.0.2.1', 1812, 7, auth(1));
    expect(duplicateKey('192.0.2.1', 1812, 7, auth(1))).toBe(base);
    for (const other of [
      duplicateKey('192.0.2.2', 1812, 7, auth(1)),
      duplicateKey('192.0.2.1', 1813, 7, auth(1)),
      duplicateKey('192.0.2.1', 1812, 8, auth(1)),
      duplicateKey('192.0.2.1', 1812, 7, auth(2)),
    ]) {
      expect(other).not.toBe(base);
    }
  });

  it('keys IPv6 sources apart from each other and from IPv4 ones, a v4-mapped source as its IPv4 address', () => {
    const keys = ['2001:db8::1', '2001:db8::2', '192.0.2.1'].map((address) => duplicateKey(address, 1812, 7, auth(1)));
    expect(new Set(keys).size).toBe(3);
    expect(duplicateKey('::ffff:192.0.2.1', 1812, 7, auth(1))).toBe(keys[2]);
    expect(duplicateKey('2001:db8::1', 1813, 7, auth(1))).not.toBe(keys[0]);
  });

  it('keys a source that is no address by its text, however long', () => {
    const long = 'x'.repeat(100);
    expect(duplicateKey(long, 1812, 7, auth(1))).toBe(duplicateKey(long, 1812, 7, auth(1)));
    expect(duplicateKey(long, 1812, 7, auth(1))).not.toBe(duplicateKey(`${long}y`, 1812, 7, auth(1)));
    expect(duplicateKey(long, 1812, 7, auth(1))).not.toBe(duplicateKey(long, 1812, 7, auth(2)));
  });

  it('tells apart requests whose Request Authenticators differ only in their last octet', () => {
    const last = Buffer.alloc(16, 1);
    last[15] = 2;
    expect(duplicateKey('192.0.2.1', 1812, 7, last)).not.toBe(duplicateKey('192.0.2.1', 1812, 7, auth(1)));
    expect(duplicateKey('2001:db8::1', 1812, 7, last)).not.toBe(duplicateKey('2001:db8::1', 1812, 7, auth(1)));
  });

  it('remembers an answer given after clearing for its whole time, not the time of the answer cleared', () => {
    const time = clock();
    const cache = new DuplicateCache({ answeredTtlMs: 5_000, now: time.now });
    cache.begin('a');
    cache.answer('a');
    cache.clear();
    time.advance(4_000);
    expect(cache.begin('a').state).toBe('new');
    cache.answer('a');
    time.advance(2_000);
    expect(cache.begin('b').state).toBe('new');
    expect(cache.begin('a').state).toBe('answered');
  });

  it('treats a first request as new and records it in progress', () => {
    const cache = new DuplicateCache();
    expect(cache.begin('a')).toEqual({ state: 'new' });
    expect(cache.begin('a')).toEqual({ state: 'in_progress' });
  });

  it('remembers that a request was answered', () => {
    const cache = new DuplicateCache();
    cache.begin('a');
    cache.answer('a');
    expect(cache.begin('a')).toEqual({ state: 'answered' });
  });

  it('forgets an answer after its time to live, so the request counts as new again', () => {
    const time = clock();
    const cache = new DuplicateCache({ answeredTtlMs: 30_000, now: time.now });
    cache.begin('a');
    cache.answer('a');
    time.advance(29_999);
    expect(cache.begin('a').state).toBe('answered');
    time.advance(1);
    expect(cache.begin('a').state).toBe('new');
  });

  it('keeps an answer 5 s by default, as FreeRADIUS cleanup_delay does, then processes the request again', () => {
    const time = clock();
    const cache = new DuplicateCache({ now: time.now });
    cache.begin('a');
    cache.answer('a');
    time.advance(4_999);
    expect(cache.begin('a').state).toBe('answered');
    time.advance(1);
    expect(cache.begin('a').state).toBe('new');
  });

  it('processes the retransmission of a request that was not answered', () => {
    const cache = new DuplicateCache();
    cache.begin('a');
    cache.forget('a');
    expect(cache.begin('a').state).toBe('new');
  });

  it('lets a request stuck in progress be processed again after its time limit', () => {
    const time = clock();
    const cache = new DuplicateCache({ inProgressTtlMs: 1000, now: time.now });
    cache.begin('a');
    time.advance(1000);
    expect(cache.begin('a').state).toBe('new');
  });

  it('prunes expired entries as new ones arrive', () => {
    const time = clock();
    const cache = new DuplicateCache({ answeredTtlMs: 100, now: time.now });
    for (const key of ['a', 'b', 'c']) {
      cache.begin(key);
      cache.answer(key);
    }
    time.advance(100);
    cache.begin('d');
    expect(cache.size).toBe(1);
  });

  it('stays within its size bound by evicting the oldest entries', () => {
    const cache = new DuplicateCache({ maxEntries: 3 });
    for (const key of ['a', 'b', 'c', 'd', 'e']) cache.begin(key);
    expect(cache.size).toBe(3);
    expect(cache.begin('a').state).toBe('new');
    expect(cache.begin('e').state).toBe('in_progress');
  });

  it('keeps answers 5 s and requests in progress 5 min by default', () => {
    const time = clock();
    const cache = new DuplicateCache({ now: time.now });
    cache.begin('answered');
    cache.answer('answered');
    cache.begin('stuck');
    time.advance(4_999);
    expect(cache.begin('answered').state).toBe('answered');
    time.advance(1);
    expect(cache.begin('answered').state).toBe('new');
    time.advance(300_000 - 5_000 - 1);
    expect(cache.begin('stuck').state).toBe('in_progress');
    time.advance(1);
    expect(cache.begin('stuck').state).toBe('new');
  });

  it('keeps only the newest request when its bound is zero', () => {
    const cache = new DuplicateCache({ maxEntries: 0 });
    expect(cache.begin('a').state).toBe('new');
    expect(cache.begin('b').state).toBe('new');
    expect(cache.size).toBe(1);
    expect(cache.begin('b').state).toBe('in_progress');
    expect(cache.begin('a').state).toBe('new');
  });

  it('remembers 100,000 requests by default, then evicts the oldest', () => {
    const cache = new DuplicateCache();
    for (let i = 0; i <= 100_000; i++) cache.begin(`k${i}`);
    expect(cache.size).toBe(100_000);
    expect(cache.begin('k0').state).toBe('new');
  });

  it('reads the real clock when given none', () => {
    const cache = new DuplicateCache({ answeredTtlMs: 60_000 });
    cache.begin('a');
    cache.answer('a');
    expect(cache.begin('a').state).toBe('answered');
  });

  it('counts a request begun again after it expired as the newest, for eviction', () => {
    const time = clock();
    const cache = new DuplicateCache({ answeredTtlMs: 100, inProgressTtlMs: 1000, maxEntries: 3, now: time.now });
    cache.begin('x');
    cache.begin('a');
    cache.answer('a');
    cache.begin('y');
    time.advance(100);
    expect(cache.begin('a').state).toBe('new');
    cache.begin('z');
    cache.begin('w');
    // x and then y were the oldest; a, begun again after them, is still remembered.
    expect(cache.begin('a').state).toBe('in_progress');
    expect(cache.begin('y').state).toBe('new');
  });

  it('counts an answered request as the newest, and prunes expired ones when it records the answer', () => {
    const time = clock();
    const cache = new DuplicateCache({ answeredTtlMs: 1000, inProgressTtlMs: 50, now: time.now });
    cache.begin('a');
    cache.begin('b');
    time.advance(60);
    cache.answer('b');
    expect(cache.size).toBe(1);
    expect(cache.begin('b').state).toBe('answered');
  });

  it('prunes expired answers even behind a request still in progress', () => {
    const time = clock();
    const cache = new DuplicateCache({ answeredTtlMs: 100, now: time.now });
    cache.begin('stuck');
    for (const key of ['a', 'b']) {
      cache.begin(key);
      cache.answer(key);
    }
    time.advance(100);
    cache.begin('c');
    // stuck and c remain; the answers of a and b expired although stuck is older than both.
    expect(cache.size).toBe(2);
    expect(cache.begin('stuck').state).toBe('in_progress');
  });

  it('evicts the oldest entry when full, an answer or a request in progress, whichever was recorded first', () => {
    const answeredFirst = new DuplicateCache({ maxEntries: 2 });
    answeredFirst.begin('a');
    answeredFirst.answer('a');
    answeredFirst.begin('b');
    answeredFirst.begin('c');
    expect([answeredFirst.begin('b').state, answeredFirst.begin('c').state]).toEqual(['in_progress', 'in_progress']);
    expect(answeredFirst.begin('a').state).toBe('new');

    const inProgressFirst = new DuplicateCache({ maxEntries: 2 });
    inProgressFirst.begin('x');
    inProgressFirst.begin('a');
    inProgressFirst.answer('a');
    inProgressFirst.begin('c');
    expect(inProgressFirst.begin('a').state).toBe('answered');
    expect(inProgressFirst.begin('x').state).toBe('new');
  });

  it('keeps expiring in record order after requests are forgotten at the front, the middle and the end', () => {
    const time = clock();
    const cache = new DuplicateCache({ inProgressTtlMs: 100, now: time.now });
    for (const key of ['a', 'b', 'c', 'd', 'e']) {
      cache.begin(key);
      time.advance(10);
    }
    cache.forget('a');
    cache.forget('c');
    cache.forget('e');
    cache.forget('never-seen');
    expect(cache.size).toBe(2);
    cache.begin('f');
    // b was begun at +10 and d at +30: at +110 only b has expired.
    time.advance(60);
    cache.begin('g');
    expect(cache.size).toBe(3);
    expect(cache.begin('d').state).toBe('in_progress');
    time.advance(20);
    expect(cache.begin('h').state).toBe('new');
    expect(cache.size).toBe(3);
    expect(cache.begin('f').state).toBe('in_progress');
    expect(cache.begin('b').state).toBe('new');
  });

  it('remembers an answer recorded without a begin, and one answered twice once', () => {
    const cache = new DuplicateCache();
    cache.answer('a');
    expect(cache.begin('a')).toEqual({ state: 'answered' });
    cache.answer('a');
    expect(cache.begin('a')).toEqual({ state: 'answered' });
    expect(cache.size).toBe(1);
  });

  it('forgets everything when cleared', () => {
    const cache = new DuplicateCache();
    cache.begin('a');
    cache.answer('a');
    cache.begin('b');
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.begin('a').state).toBe('new');
  });
});
