/**
 * SessionTable.bulkLoad, which a journal's replay runs in: the key index keeps each key's hash
 * while it grows, instead of hashing every key again. What the table holds and finds must be the
 * same as without it, during the load and after (when the hashes are computed again, as a removal
 * does to find its cell), whatever the load does: restores, upserts, removals, slots reused, a
 * table that already held sessions, a load that fails half-way.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { Session } from '../../src/sessions/session.js';
import { SessionTable } from '../../src/sessions/table.js';

const session = (n: number, updatedAt = 1000): Session => ({
  client: 'ras1',
  nas: `nas${n % 7}`,
  // Every shape the id store keeps: short, hex, long (arena), non-ASCII (Map).
  sessionId: n % 4 === 0 ? `s${n}` : n % 4 === 1 ? (0x1000000 + n).toString(16) : n % 4 === 2 ? `long-session-id-${n}-${'x'.repeat(20)}` : `séance-${n}`,
  addresses: [`10.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`],
  updatedAt,
  eventAt: updatedAt,
});

/** What a table shows of sessions 0..upTo: each one's id by key, and its holder by address. */
function view(table: SessionTable, upTo: number): (string | undefined)[] {
  const out: (string | undefined)[] = [];
  for (let n = 0; n < upTo; n++) {
    const s = session(n);
    out.push(table.get(s.client, s.nas, s.sessionId)?.sessionId, table.ownerOf(s.addresses[0]!)?.sessionId);
  }
  return out;
}

describe('SessionTable.bulkLoad', () => {
  test('40,000 sessions restored in a load (the key index grows about twenty times), some removed and some recorded again, are found during and after it, and removed after it', async () => {
    const loaded = new SessionTable();
    const plain = new SessionTable();
    // Sessions there before the load: their hashes are taken when it starts.
    for (let n = 0; n < 500; n++) {
      loaded.upsert(session(n));
      plain.upsert(session(n));
    }
    const steps = (table: SessionTable): void => {
      for (let n = 500; n < 40_000; n++) table.restore(session(n));
      // Removed, then slots reused by other sessions, as a replay's commits do.
      for (let n = 0; n < 40_000; n += 3) table.remove(session(n).client, session(n).nas, session(n).sessionId);
      for (let n = 40_000; n < 45_000; n++) table.upsert(session(n, 2000));
    };
    let during: (string | undefined)[] = [];
    await loaded.bulkLoad(async () => {
      steps(loaded);
      during = view(loaded, 45_000);
    });
    steps(plain);
    const expected = view(plain, 45_000);
    expect(during).toEqual(expected);
    expect(view(loaded, 45_000)).toEqual(expected);
    expect(loaded.size).toBe(plain.size);
    // After the load the hashes are computed again: a removal must find each key's cell by them.
    for (let n = 1; n < 45_000; n += 2) {
      const s = session(n);
      expect(loaded.remove(s.client, s.nas, s.sessionId)?.sessionId === s.sessionId).toBe(plain.remove(s.client, s.nas, s.sessionId)?.sessionId === s.sessionId);
    }
    expect(view(loaded, 45_000)).toEqual(view(plain, 45_000));
    expect(loaded.size).toBe(plain.size);
  });

  test('a load that fails half-way leaves what it recorded findable, and the table goes on as without it', async () => {
    const table = new SessionTable();
    await expect(
      table.bulkLoad(async () => {
        for (let n = 0; n < 5000; n++) table.restore(session(n));
        throw new Error('a record that does not apply');
      }),
    ).rejects.toThrow('a record that does not apply');
    for (let n = 5000; n < 10_000; n++) table.upsert(session(n));
    for (let n = 0; n < 10_000; n += 2) expect(table.remove(session(n).client, session(n).nas, session(n).sessionId)?.sessionId).toBe(session(n).sessionId);
    const seen = view(table, 10_000);
    for (let n = 0; n < 10_000; n++) expect(seen[2 * n]).toBe(n % 2 === 0 ? undefined : session(n).sessionId);
  });

  test('any sequence of records and removals finds the same sessions in a load as without one', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('restore' as const), n: fc.nat(3000) }),
      fc.record({ kind: fc.constant('upsert' as const), n: fc.nat(3000) }),
      fc.record({ kind: fc.constant('remove' as const), n: fc.nat(3000) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 4000 }), fc.nat(3000), async (ops, split) => {
        const apply = (table: SessionTable, list: typeof ops): void => {
          for (const { kind, n } of list) {
            const s = session(n);
            if (kind === 'remove') table.remove(s.client, s.nas, s.sessionId);
            else if (kind === 'restore') table.restore(s);
            else table.upsert(s);
          }
        };
        const loaded = new SessionTable();
        const plain = new SessionTable();
        apply(loaded, ops.slice(0, split));
        await loaded.bulkLoad(async () => apply(loaded, ops.slice(split)));
        apply(plain, ops);
        // And after the load, removals by the recomputed hashes.
        const after = ops.filter((_, i) => i % 5 === 0).map(({ n }) => ({ kind: 'remove' as const, n }));
        apply(loaded, after);
        apply(plain, after);
        expect(view(loaded, 3001)).toEqual(view(plain, 3001));
        expect(loaded.size).toBe(plain.size);
      }),
      { numRuns: 40 },
    );
  });
});
