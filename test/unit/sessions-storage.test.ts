import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { SessionIds } from '../../src/sessions/session-ids.js';
import { mix32 } from '../../src/collections/slot-index.js';
import type { Session } from '../../src/sessions/session.js';
import { SessionTable } from '../../src/sessions/table.js';

const DAY = 86_400_000;
const session = (sessionId: string, addresses: string[], updatedAt = 1000, nas = 'nas'): Session => ({ nas, sessionId, client: 'ras1', addresses, updatedAt, eventAt: updatedAt });

describe('session table storage', () => {
  // Every shape the id store keeps apart: short ASCII, hex of either case, the arena, the Map.
  const IDS = [
    '',
    'a',
    'A1b2-C3',
    '12345678',
    '1234567890',
    '0123456789abcdef',
    '0123456789ABCDEF',
    'abcdef012',
    'ABCDEF012',
    '0123456789aBcdef',
    '0123456789abcdef0',
    'ppp0-000012ab-0001',
    'x'.repeat(254),
    'x'.repeat(255),
    'séance-1',
    '\u0000\u007f',
  ];

  it.each(IDS.map((id) => [id]))('gives back the Acct-Session-Id %j exactly, and tells it from ids of another shape or case', (id) => {
    const table = new SessionTable();
    for (const [n, other] of IDS.entries()) table.upsert(session(other, [`10.64.0.${n}`]));
    expect(table.get('ras1', 'nas', id)?.sessionId).toBe(id);
    expect(table.ownerOf(`10.64.0.${IDS.indexOf(id)}`)?.sessionId).toBe(id);
    expect([...table.entries()].map((s) => s.sessionId).sort()).toEqual([...IDS].sort());
    expect(table.remove('ras1', 'nas', id)?.sessionId).toBe(id);
    expect(table.get('ras1', 'nas', id)).toBeUndefined();
    for (const other of IDS) if (other !== id) expect(table.get('ras1', 'nas', other)?.sessionId).toBe(other);
  });

  it('keeps arena ids intact when removals make it compact its bytes', () => {
    const table = new SessionTable();
    const id = (n: number): string => `ppp0-session-${n.toString().padStart(8, '0')}-${'z'.repeat(n % 20)}`;
    for (let n = 0; n < 5000; n++) table.upsert(session(id(n), [`10.${64 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`]));
    for (let n = 0; n < 5000; n++) if (n % 5 !== 0) table.remove('ras1', 'nas', id(n));
    for (let n = 5000; n < 6000; n++) table.upsert(session(id(n), []));
    expect(table.size).toBe(2000);
    for (let n = 0; n < 6000; n++) {
      const kept = n >= 5000 || n % 5 === 0;
      expect(table.get('ras1', 'nas', id(n))?.sessionId).toBe(kept ? id(n) : undefined);
    }
    expect(table.ownerOf('10.64.0.5')?.sessionId).toBe(id(5));
  });

  it('keeps update times exactly, however far apart, and orders and expires by them', () => {
    const table = new SessionTable();
    const now = 1_764_000_000_000;
    const times = [now, now + 30 * DAY, now - 30 * DAY, now + 60 * DAY, now - 400 * DAY, now + 0.5, -5, 0, now + 2 ** 32];
    times.forEach((time, n) => table.upsert(session(`s${n}`, [], time)));
    times.forEach((time, n) => expect(table.get('ras1', 'nas', `s${n}`)?.updatedAt).toBe(time));
    expect(table.oldest(times.length).map((s) => s.updatedAt)).toEqual([...times].sort((a, b) => a - b));
    expect(table.expired(now, 30 * DAY).map((s) => s.updatedAt).sort((a, b) => a - b)).toEqual([-5, 0, now - 400 * DAY]);
    // Refreshing a session moves it, and the others keep their times.
    table.upsert(session('s4', [], now + 90 * DAY));
    times.forEach((time, n) => expect(table.get('ras1', 'nas', `s${n}`)?.updatedAt).toBe(n === 4 ? now + 90 * DAY : time));
  });

  it.each([
    [0, 0],
    [3000, 3000],
    [2500, 2500],
    [65_534_000, 65_534_000],
    [65_535_000, 65_535_000],
    [200_000_000_000, 0x7fffffff],
    [-4000, 0],
  ])('gives back an event time %d ms before the record time as %d ms before it', (lag, kept) => {
    const table = new SessionTable();
    table.upsert({ ...session('s', ['10.64.0.1'], 1_764_000_000_000), eventAt: 1_764_000_000_000 - lag });
    expect(table.get('ras1', 'nas', 's')?.eventAt).toBe(1_764_000_000_000 - kept);
  });

  it('tells apart more client and NAS pairs than 16 bits count', () => {
    const table = new SessionTable();
    for (let n = 0; n < 70_000; n++) table.upsert(session('same-id', [], 1000 + n, `nas-${n}`));
    expect(table.size).toBe(70_000);
    for (const n of [0, 65_534, 65_535, 65_536, 69_999]) {
      expect(table.get('ras1', `nas-${n}`, 'same-id')?.updatedAt).toBe(1000 + n);
      expect(table.sessionsOfNas('ras1', `nas-${n}`).map((s) => s.nas)).toEqual([`nas-${n}`]);
    }
    expect(table.remove('ras1', 'nas-69999', 'same-id')?.nas).toBe('nas-69999');
    expect(table.get('ras1', 'nas-69998', 'same-id')?.nas).toBe('nas-69998');
  });

  it('behaves like a plain map under random upserts, moves and removals of ids and IPv6 prefixes of every shape', () => {
    const ids = fc.oneof(fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), maxLength: 18 }), fc.string({ maxLength: 30 }), fc.constantFrom(...IDS));
    const op = fc.record({ remove: fc.boolean(), id: ids, v6: fc.integer({ min: 0, max: 12 }), v4: fc.integer({ min: 0, max: 12 }), at: fc.integer({ min: 0, max: 200 * 86_400 }) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 150 }), (ops) => {
        const table = new SessionTable();
        const model = new Map<string, { addresses: string[]; updatedAt: number }>();
        for (const { remove, id, v6, v4, at } of ops) {
          if (remove) {
            expect(table.remove('ras1', 'nas', id)?.sessionId).toBe(model.has(id) ? id : undefined);
            model.delete(id);
            continue;
          }
          const addresses = [`10.0.0.${v4}`, `2001:db8:${v6}::/48`];
          for (const [other, held] of model) model.set(other, { ...held, addresses: held.addresses.filter((address) => !addresses.includes(address)) });
          table.upsert(session(id, addresses, at * 1000));
          model.set(id, { addresses, updatedAt: at * 1000 });
        }
        expect(table.size).toBe(model.size);
        for (const [id, { addresses, updatedAt }] of model) {
          expect(table.get('ras1', 'nas', id)).toMatchObject({ sessionId: id, updatedAt });
          for (const address of addresses) expect(table.ownerOf(address)?.sessionId).toBe(id);
        }
        for (let n = 0; n <= 12; n++) {
          for (const address of [`10.0.0.${n}`, `2001:db8:${n}::/48`]) {
            const owner = table.ownerOf(address)?.sessionId;
            expect(owner === undefined ? undefined : model.get(owner)?.addresses.includes(address)).toBe(owner === undefined ? undefined : true);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('hash flooding', () => {
  /** The table's key hash as it was, with a seed fixed in the code: anyone could compute it. */
  const fixedSeedHash = (text: string): number => {
    let h = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    return mix32(h);
  };
  // Ids that all had the same home cell in a 1,024-cell index with the fixed seed.
  const flood: string[] = [];
  for (let n = 0; flood.length < 300; n++) if ((fixedSeedHash(`flood-${n}`) & 1023) === 0) flood.push(`flood-${n}`);

  it('seeds the in-memory hash afresh each time the code loads, as in each process', async () => {
    const seen = new Set<number>([new SessionIds().key('flood-0', 0)]);
    for (let n = 0; n < 2; n++) {
      vi.resetModules();
      const fresh = await import('../../src/sessions/session-ids.js');
      seen.add(new fresh.SessionIds().key('flood-0', 0));
      // Within one load the hash is a function of its input, or the index could not find anything.
      expect(new fresh.SessionIds().key('flood-0', 0)).toBe(new fresh.SessionIds().key('flood-0', 0));
    }
    expect(seen.size).toBe(3);
  });

  it('spreads ids that collided under the fixed seed, and still finds each of them', () => {
    expect(new Set(flood.map((id) => fixedSeedHash(id) & 1023)).size).toBe(1);
    // 300 ids over 1,024 cells with a random hash land in about 260 different cells.
    const ids = new SessionIds();
    expect(new Set(flood.map((id) => ids.key(id, 0) % 1024)).size).toBeGreaterThan(200);
    const table = new SessionTable();
    flood.forEach((id, n) => table.upsert(session(id, [`10.64.${n >> 8}.${n & 255}`])));
    flood.forEach((id, n) => expect(table.get('ras1', 'nas', id)?.addresses).toEqual([`10.64.${n >> 8}.${n & 255}`]));
  });
});
