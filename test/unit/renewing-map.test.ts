import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RenewingMap } from '../../src/collections/renewing-map.js';

type Operation = { op: 'set'; key: number; value: number } | { op: 'delete'; key: number } | { op: 'clear' } | { op: 'iterate'; deleteEvery: number; add: number };

/** Applies the same operation to both maps and returns what each answered, to be compared. */
function apply(map: Map<number, number>, operation: Operation): unknown {
  switch (operation.op) {
    case 'set':
      return map.set(operation.key, operation.value) === map;
    case 'delete':
      return map.delete(operation.key);
    case 'clear':
      map.clear();
      return map.size;
    case 'iterate': {
      // Deletes and adds while iterating: a Map's iterator skips what was deleted and reaches what was added.
      const seen: [number, number][] = [];
      let step = 0;
      for (const [key, value] of map) {
        seen.push([key, value]);
        if (++step % operation.deleteEvery === 0) map.delete(key + 1);
        if (step <= operation.add) map.set(100_000 + step, step);
      }
      return seen;
    }
  }
}

const operation: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ op: fc.constant('set' as const), key: fc.integer({ min: 0, max: 3000 }), value: fc.integer() }) },
  { weight: 10, arbitrary: fc.record({ op: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 3000 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('clear' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('iterate' as const), deleteEvery: fc.integer({ min: 1, max: 5 }), add: fc.integer({ min: 0, max: 3 }) }) },
);

describe('RenewingMap', () => {
  it('answers as a Map does for any sequence of sets, deletes, clears and iterations that change it', () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 400 }), (operations) => {
        const plain = new Map<number, number>();
        const renewing = new RenewingMap<number, number>();
        for (const step of operations) {
          expect(apply(renewing, step)).toEqual(apply(plain, step));
          expect(renewing.size).toBe(plain.size);
        }
        expect([...renewing.entries()]).toEqual([...plain.entries()]);
        expect([...renewing.keys()]).toEqual([...plain.keys()]);
        expect([...renewing.values()]).toEqual([...plain.values()]);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps its entries and their order across the rebuilds that thousands of deletes make', () => {
    const plain = new Map<number, string>();
    const renewing = new RenewingMap<number, string>();
    for (let id = 0; id < 20_000; id++) {
      for (const map of [plain, renewing]) {
        map.set(id, `job ${id}`);
        // A sliding window of 1,500 with a straggler kept every 97: 18,500 deletes, a rebuild every few hundred.
        if (id >= 1_500 && (id - 1_500) % 97 !== 0) map.delete(id - 1_500);
      }
    }
    expect(renewing.size).toBe(plain.size);
    expect([...renewing]).toEqual([...plain]);
    for (const key of [0, 97, 18_499, 18_500, 19_999, 20_000]) {
      expect(renewing.get(key)).toBe(plain.get(key));
      expect(renewing.has(key)).toBe(plain.has(key));
    }
  });

  it('waits with its rebuild while an iteration is under way, so the iteration sees what a Map would', () => {
    const plain = new Map<number, number>();
    const renewing = new RenewingMap<number, number>();
    for (const map of [plain, renewing]) for (let id = 0; id < 3_000; id++) map.set(id, id);
    const walk = (map: Map<number, number>): number[] => {
      const seen: number[] = [];
      for (const key of map.keys()) {
        seen.push(key);
        // 2,000 deletes ahead of the iteration, more than a rebuild needs, and an entry added behind it.
        if (key === 10) for (let id = 500; id < 2_500; id++) map.delete(id);
        if (key === 20) map.set(5_000, 5_000);
      }
      return seen;
    };
    expect(walk(renewing)).toEqual(walk(plain));
    // An iteration left early ends its hold too: the deletes after it go on as before.
    for (const [key] of renewing) if (key > 5) break;
    for (let id = 2_500; id < 3_000; id++) expect(renewing.delete(id)).toBe(true);
    expect([...renewing.keys()]).toEqual([...plain.keys()].filter((key) => key < 2_500 || key >= 3_000));
  });

  it('calls forEach with value, key and itself, and names itself', () => {
    const renewing = new RenewingMap<string, number>().set('a', 1).set('b', 2);
    const calls: unknown[] = [];
    renewing.forEach(function (this: unknown, value, key, map) {
      calls.push([value, key, map === renewing, this]);
    }, 'this');
    expect(calls).toEqual([[1, 'a', true, 'this'], [2, 'b', true, 'this']]);
    expect(Object.prototype.toString.call(renewing)).toBe('[object RenewingMap]');
  });

  it('does not have young collections promote the entries it deleted, where a Map has them promote nearly all', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as (options?: { type: 'minor' | 'major' }) => void;
    const oldGeneration = (): number =>
      getHeapSpaceStatistics()
        .filter((space) => space.space_name === 'old_space' || space.space_name === 'large_object_space')
        .reduce((sum, space) => sum + space.space_used_size, 0);
    /**
     * Bytes promoted while 40,000 entries pass through a window of 500, a young collection every
     * 1,000. Each map gets its entries from its own function: V8 decides per allocation site whether
     * to allocate straight into the old generation, from how the site's objects fared before.
     */
    const promoted = (map: Map<number, object>, entry: (id: number) => object): number => {
      // What the tests before left behind goes first, so no full collection comes during the count.
      gc();
      let id = 0;
      for (; id < 500; id++) map.set(id, entry(id));
      // A full collection promotes the map's current table, as one during a burst of Stops does.
      gc();
      const before = oldGeneration();
      for (const end = id + 40_000; id < end; id++) {
        map.set(id, entry(id));
        // Each entry is deleted 500 entries later, long before it could live through two young collections.
        map.delete(id - 500);
        if (id % 1_000 === 0) gc({ type: 'minor' });
      }
      return oldGeneration() - before;
    };
    // The renewing map: its tables and a few hundred entries at most.
    expect(promoted(new RenewingMap(), (id) => ({ id, text: `job ${id}` }))).toBeLessThan(1_500_000);
    // 40,000 entries of about 100 bytes: a plain Map has nearly all of them promoted (the case is real).
    expect(promoted(new Map(), (id) => ({ id, text: `job ${id}` }))).toBeGreaterThan(3_000_000);
  });
});
