import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Backend, Listing } from '../../src/backends/types.js';
import type { StateChange } from '../../src/queue/store-api.js';
import { openStateStore, type StateStore } from '../../src/queue/store-open.js';
import { ipv4Number, ipv4Text, mix32, SlotIndex } from '../../src/collections/slot-index.js';
import { StoppedSessions } from '../../src/sessions/stopped.js';
import type { CanonicalSession, Session } from '../../src/sessions/session.js';
import { SessionTable } from '../../src/sessions/table.js';
import { canonical } from '../helpers/state-store.js';
import { stoppedRowsOf } from '../helpers/stopped-rows.js';

const session = (nas: string, sessionId: string, addresses: string[], updatedAt = 1000): Session => ({ nas, sessionId, client: 'ras1', addresses, updatedAt, eventAt: updatedAt });
/** The session as an accounting event commits it, with canonical addresses. */
const recorded = (nas: string, sessionId: string, addresses: string[], updatedAt = 1000): CanonicalSession => ({ ...session(nas, sessionId, [], updatedAt), addresses: addresses.map(canonical) });

describe('session table', () => {
  it('records a Start and forgets it at Stop', () => {
    const table = new SessionTable();
    table.upsert(session('192.0.2.10', 'A1', ['10.64.0.5', '2001:db8:100::/56']));
    expect(table.get('ras1', '192.0.2.10', 'A1')).toEqual(session('192.0.2.10', 'A1', ['10.64.0.5', '2001:db8:100::/56']));
    expect(table.ownerOf('10.64.0.5')?.sessionId).toBe('A1');
    expect(table.ownerOf('2001:db8:100::/56')?.sessionId).toBe('A1');
    expect(table.size).toBe(1);
    expect(table.remove('ras1', '192.0.2.10', 'A1')?.addresses).toEqual(['10.64.0.5', '2001:db8:100::/56']);
    expect(table.get('ras1', '192.0.2.10', 'A1')).toBeUndefined();
    expect(table.ownerOf('10.64.0.5')).toBeUndefined();
    expect(table.size).toBe(0);
  });

  it('moves an Interim-Update to its new addresses', () => {
    const table = new SessionTable();
    table.upsert(session('nas', 'A1', ['10.64.0.5'], 1000));
    table.upsert(session('nas', 'A1', ['10.64.0.6'], 2000));
    expect(table.ownerOf('10.64.0.5')).toBeUndefined();
    expect(table.get('ras1', 'nas', 'A1')).toMatchObject({ addresses: ['10.64.0.6'], updatedAt: 2000 });
    expect(table.size).toBe(1);
  });

  it('gives an address to the newest session, so the older session Stop is recognisably stale', () => {
    const table = new SessionTable();
    table.upsert(session('nas', 'old', ['10.64.0.5']));
    table.upsert(session('nas', 'new', ['10.64.0.5']));
    expect(table.ownerOf('10.64.0.5')?.sessionId).toBe('new');
    // The stale Stop forgets its own session but leaves the address with the newer one.
    table.remove('ras1', 'nas', 'old');
    expect(table.ownerOf('10.64.0.5')?.sessionId).toBe('new');
  });

  it('finds IPv6 owners from non-canonical text', () => {
    const table = new SessionTable();
    table.upsert(session('nas', 'A1', ['2001:DB8:0:0::1']));
    expect(table.get('ras1', 'nas', 'A1')?.addresses).toEqual(['2001:db8::1']);
    expect(table.ownerOf('2001:0db8::0001')?.sessionId).toBe('A1');
    expect(table.ownerOf('not an address')).toBeUndefined();
  });

  it('keeps long or non-ASCII session ids and further addresses', () => {
    const table = new SessionTable();
    const long = 'x'.repeat(60);
    table.upsert(session('nas', long, ['10.64.0.1', '10.64.0.2', '2001:db8::/56', '2001:db8:1::/56', '10.64.1.0/30']));
    table.upsert(session('nas', 'séance-1', ['10.64.0.9']));
    expect(table.get('ras1', 'nas', long)?.addresses).toEqual(['10.64.0.1', '2001:db8::/56', '10.64.0.2', '2001:db8:1::/56', '10.64.1.0/30']);
    for (const address of ['10.64.0.2', '2001:db8:1::/56', '10.64.1.0/30']) expect(table.ownerOf(address)?.sessionId).toBe(long);
    expect(table.get('ras1', 'nas', 'séance-1')?.addresses).toEqual(['10.64.0.9']);
    table.remove('ras1', 'nas', long);
    expect(table.ownerOf('10.64.0.2')).toBeUndefined();
    expect(table.size).toBe(1);
  });

  it('lists only the sessions of the NAS that sent Accounting-On', () => {
    const table = new SessionTable();
    table.upsert(session('nas1', 'A', ['10.64.0.1']));
    table.upsert(session('nas1', 'B', ['10.64.0.2']));
    table.upsert(session('nas2', 'A', ['10.64.0.3']));
    expect(table.sessionsOfNas('ras1', 'nas1').map((s) => s.addresses[0]).sort()).toEqual(['10.64.0.1', '10.64.0.2']);
    expect(table.sessionsOfNas('ras1', 'nas3')).toEqual([]);
  });

  it('expires sessions not refreshed within the maximum age', () => {
    const table = new SessionTable();
    table.upsert(session('nas', 'old', ['10.64.0.1'], 1000));
    table.upsert(session('nas', 'fresh', ['10.64.0.2'], 9000));
    expect(table.expire(10_000, 5000).map((s) => s.sessionId)).toEqual(['old']);
    expect(table.size).toBe(1);
    expect(table.ownerOf('10.64.0.1')).toBeUndefined();
  });

  it('behaves like a plain map under random upserts and removals', () => {
    const op = fc.record({ remove: fc.boolean(), id: fc.integer({ min: 0, max: 30 }), address: fc.integer({ min: 0, max: 20 }) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const table = new SessionTable();
        const model = new Map<string, string>();
        for (const { remove, id, address } of ops) {
          if (remove) {
            table.remove('ras1', 'nas', `s${id}`);
            model.delete(`s${id}`);
          } else {
            table.upsert(session('nas', `s${id}`, [`10.0.0.${address}`]));
            model.set(`s${id}`, `10.0.0.${address}`);
          }
        }
        expect(table.size).toBe(model.size);
        for (const [id, address] of model) expect(table.get('ras1', 'nas', id)?.addresses).toEqual([address]);
        expect([...table.entries()].length).toBe(model.size);
        for (let address = 0; address <= 20; address++) {
          const owner = table.ownerOf(`10.0.0.${address}`);
          if (owner) expect(model.get(owner.sessionId)).toBe(`10.0.0.${address}`);
        }
      }),
    );
  });

  it("gives a client's oldest, evicted as they are given, in receive-time order, whatever was recorded, refreshed and removed between", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('record' as const), client: fc.constantFrom('ras1', 'ras2'), id: fc.integer({ min: 0, max: 40 }) }),
      fc.record({ kind: fc.constant('remove' as const), client: fc.constantFrom('ras1', 'ras2'), id: fc.integer({ min: 0, max: 40 }) }),
      fc.record({ kind: fc.constant('evict' as const), client: fc.constantFrom('ras1', 'ras2'), count: fc.integer({ min: 1, max: 4 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 150 }), (ops) => {
        const table = new SessionTable();
        const model = new Map<string, { client: string; id: string; at: number }>();
        let now = 1000;
        for (const action of ops) {
          const key = `${action.client}/s${'id' in action ? action.id : ''}`;
          if (action.kind === 'record') {
            // Receive time only moves forward, as a record's updatedAt does.
            now++;
            table.upsert({ client: action.client, nas: 'nas', sessionId: `s${action.id}`, addresses: [], updatedAt: now, eventAt: now });
            model.set(key, { client: action.client, id: `s${action.id}`, at: now });
          } else if (action.kind === 'remove') {
            table.remove(action.client, 'nas', `s${action.id}`);
            model.delete(key);
          } else {
            const expected = [...model.values()].filter((entry) => entry.client === action.client).sort((a, b) => a.at - b.at).slice(0, action.count);
            const given = table.oldest(action.count, action.client);
            expect(given.map((entry) => [entry.client, entry.sessionId, entry.updatedAt])).toEqual(expected.map((entry) => [entry.client, entry.id, entry.at]));
            for (const entry of given) {
              table.remove(entry.client, entry.nas, entry.sessionId);
              model.delete(`${entry.client}/${entry.sessionId}`);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it("gives a client's oldest in order past one scan's list, where sessions recorded meanwhile come after those the list left out", () => {
    const table = new SessionTable();
    for (let i = 0; i < 1100; i++) table.upsert({ client: 'ras1', nas: 'nas', sessionId: `s${i}`, addresses: [], updatedAt: 1 + i, eventAt: 1 + i });
    table.upsert({ client: 'ras2', nas: 'nas', sessionId: 'other', addresses: [], updatedAt: 0, eventAt: 0 });
    const evict = (count: number): string[] => {
      const given = table.oldest(count, 'ras1');
      for (const entry of given) table.remove(entry.client, entry.nas, entry.sessionId);
      return given.map((entry) => entry.sessionId);
    };
    expect(evict(1)).toEqual(['s0']);
    // Recorded after the scan that listed the next oldest (which cannot hold all 1,099 left).
    table.upsert({ client: 'ras1', nas: 'nas', sessionId: 'late', addresses: [], updatedAt: 5000, eventAt: 5000 });
    // An Interim-Update makes a listed session the newest.
    table.upsert({ client: 'ras1', nas: 'nas', sessionId: 's1', addresses: [], updatedAt: 5001, eventAt: 5001 });
    expect(evict(1024)).toEqual(Array.from({ length: 1024 }, (_, k) => `s${k + 2}`));
    expect(evict(80)).toEqual([...Array.from({ length: 74 }, (_, k) => `s${k + 1026}`), 'late', 's1']);
    expect(table.size).toBe(1);
  });

  it("counts each client's sessions across its NASes as they come and go, and lists its oldest alone", () => {
    const op = fc.record({ remove: fc.boolean(), client: fc.constantFrom('ras1', 'ras2'), nas: fc.constantFrom('a', 'b'), id: fc.integer({ min: 0, max: 10 }), at: fc.integer({ min: 1, max: 50 }) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const table = new SessionTable();
        const model = new Map<string, { client: string; at: number; id: string }>();
        for (const { remove, client, nas, id, at } of ops) {
          const key = `${client}/${nas}/s${id}`;
          if (remove) {
            table.remove(client, nas, `s${id}`);
            model.delete(key);
          } else {
            table.upsert({ client, nas, sessionId: `s${id}`, addresses: [], updatedAt: at, eventAt: at });
            model.set(key, { client, at, id: `${nas}/s${id}` });
          }
        }
        for (const client of ['ras1', 'ras2']) {
          const own = [...model.values()].filter((entry) => entry.client === client);
          expect(table.sessionsOfClient(client)).toBe(own.length);
          const oldest = table.oldest(3, client);
          expect(oldest.every((entry) => entry.client === client)).toBe(true);
          expect(oldest.map((entry) => entry.updatedAt)).toEqual(own.map((entry) => entry.at).sort((x, y) => x - y).slice(0, 3));
        }
        expect(Object.fromEntries(table.sessionsByClient())).toEqual(
          Object.fromEntries(['ras1', 'ras2'].map((client) => [client, [...model.values()].filter((entry) => entry.client === client).length]).filter(([, count]) => count !== 0)),
        );
      }),
    );
  });
});

describe('address holders', () => {
  const V4 = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];
  const V6 = ['2001:db8:1::/48', '2001:db8:2::/56', '2001:db8:3::1'];
  const everyAddress = [...V4, ...V6];

  it('gives an IPv6 prefix a session names second to that session, and to nobody once it stops', () => {
    const table = new SessionTable();
    table.upsert(session('nas1', 'A', ['2001:db8:2::/56'], 1000));
    table.upsert(session('nas2', 'B', ['2001:db8:1::/48', '2001:db8:2::/56'], 2000));
    expect(table.ownerOf('2001:db8:2::/56')?.sessionId).toBe('B');
    table.remove('ras1', 'nas2', 'B');
    expect(table.ownerOf('2001:db8:2::/56')).toBeUndefined();
  });

  it('does not give an address back to the session that named it second once its newer holder stops', () => {
    const table = new SessionTable();
    table.upsert(session('nas1', 'A', ['2001:db8:1::/48', '2001:db8:2::/56'], 1000));
    table.upsert(session('nas2', 'B', ['2001:db8:2::/56'], 2000));
    table.remove('ras1', 'nas2', 'B');
    expect(table.ownerOf('2001:db8:2::/56')).toBeUndefined();
    expect(table.get('ras1', 'nas1', 'A')?.addresses).toEqual(['2001:db8:1::/48', '2001:db8:2::/56']);
  });

  it('gives every address to its newest claim wherever a session lists it, and a snapshot of what each holds restores the same holders in any order', () => {
    const op = fc.record({
      remove: fc.boolean(),
      id: fc.integer({ min: 0, max: 6 }),
      addresses: fc.shuffledSubarray(everyAddress, { maxLength: 4 }),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.array(fc.nat(), { minLength: 1, maxLength: 8 }), (ops, keys) => {
        const table = new SessionTable();
        const holders = new Map<string, string>();
        ops.forEach(({ remove, id, addresses }, at) => {
          if (remove) {
            table.remove('ras1', 'nas', `s${id}`);
            for (const [address, holder] of holders) if (holder === `s${id}`) holders.delete(address);
            return;
          }
          for (const [address, holder] of holders) if (holder === `s${id}`) holders.delete(address);
          table.upsert(session('nas', `s${id}`, addresses, 1000 + at));
          for (const address of addresses) holders.set(address, `s${id}`);
        });
        for (const address of everyAddress) expect(table.ownerOf(address)?.sessionId).toBe(holders.get(address));

        // Restored in an order unrelated to the events'.
        const rows = [...table.heldEntries()]
          .map((row, i) => ({ row, key: keys[i % keys.length]! }))
          .sort((a, b) => a.key - b.key)
          .map(({ row }) => row);
        const restored = new SessionTable();
        for (const row of rows) restored.restore(row);
        for (const address of everyAddress) expect(restored.ownerOf(address)?.sessionId).toBe(holders.get(address));
      }),
      { numRuns: 300 },
    );
  });

  it('restores an address that rows of an older snapshot both name to the session recorded later, whatever their order', () => {
    for (const order of [['A', 'B'], ['B', 'A']]) {
      const rows = { A: session('nas1', 'A', ['10.0.0.1', '2001:db8:2::/56'], 1000), B: session('nas2', 'B', ['2001:db8:1::/48', '2001:db8:2::/56', '10.0.0.1'], 2000) };
      const table = new SessionTable();
      for (const id of order) table.restore(rows[id as 'A' | 'B']);
      expect(table.ownerOf('10.0.0.1')?.sessionId).toBe('B');
      expect(table.ownerOf('2001:db8:2::/56')?.sessionId).toBe('B');
      expect(table.get('ras1', 'nas1', 'A')?.addresses).toEqual(['10.0.0.1', '2001:db8:2::/56']);
    }
  });
});

describe('slot index', () => {
  it.each([
    ['10.64.0.5', 0x0a400005],
    ['0.0.0.0', 0],
    ['255.255.255.255', 0xffffffff],
    ['10.064.0.5', -1],
    ['10.64.0', -1],
    ['10.64.0.256', -1],
    ['10.64.0.5/32', -1],
    ['::1', -1],
  ])('reads %s as %d', (text, value) => {
    expect(ipv4Number(text)).toBe(value);
    if (value >= 0) expect(ipv4Text(value)).toBe(text);
  });

  it('agrees with a Map through growth and deletions, even when every key collides', () => {
    for (const hashOf of [mix32, () => 7]) {
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 400 })), { maxLength: 800 }), (ops) => {
          // Keys are the slots themselves here; the index stores slots and asks for their hash.
          const index = new SlotIndex(hashOf, 2);
          const model = new Set<number>();
          for (const [remove, slot] of ops) {
            if (remove) expect(index.delete(slot, hashOf(slot))).toBe(model.delete(slot));
            else if (!model.has(slot)) {
              index.insert(slot, hashOf(slot));
              model.add(slot);
            }
          }
          expect(index.size).toBe(model.size);
          for (let slot = 0; slot <= 400; slot++) expect(index.find(hashOf(slot), (candidate) => candidate === slot)).toBe(model.has(slot) ? slot : -1);
        }),
        { numRuns: 30 },
      );
    }
  });
});

describe('slot index fingerprints', () => {
  it('finds slots past 16 million and up to 2^32 - 2, where a cell has no room for the hash bits', () => {
    const slots = [0, 5, 2 ** 24 - 3, 2 ** 24 - 2, 2 ** 24 - 1, 2 ** 24, 2 ** 31 + 7, 2 ** 32 - 2];
    const hashOf = (slot: number): number => (mix32(slot) | 0xff) >>> 0;
    const index = new SlotIndex(hashOf, 4);
    for (const slot of slots) index.insert(slot, hashOf(slot));
    for (const slot of slots) expect(index.find(hashOf(slot), (candidate) => candidate === slot)).toBe(slot);
    expect(index.delete(2 ** 24 - 1, hashOf(2 ** 24 - 1))).toBe(true);
    expect(index.find(hashOf(2 ** 24 - 1), (candidate) => candidate === 2 ** 24 - 1)).toBe(-1);
    for (const slot of slots.filter((slot) => slot !== 2 ** 24 - 1)) expect(index.find(hashOf(slot), (candidate) => candidate === slot)).toBe(slot);
    expect(index.size).toBe(slots.length - 1);
  });

  it('asks the predicate only about slots whose hash shares the fingerprint', () => {
    // The same high bits (one home cell for all 40), different low bytes.
    const hashOf = (slot: number): number => 0x10000000 + slot;
    const index = new SlotIndex(hashOf, 64);
    for (let slot = 0; slot < 40; slot++) index.insert(slot, hashOf(slot));
    const asked: number[] = [];
    expect(index.find(hashOf(3), (slot) => (asked.push(slot), slot === 3))).toBe(3);
    // Only the one whose hash has the same low byte is compared.
    expect(asked).toEqual([3]);
  });
});

describe('session table persistence', () => {
  const backend: Backend = {
    name: 'bind',
    zones: ['rbl.example.net'],
    unlist: async () => undefined,
    check: async (zone): Promise<Listing> => ({ zone, names: [], listed: false }),
    probe: async () => undefined,
    describe: () => '',
    close: async () => undefined,
  };
  let dir: string;
  let stores: StateStore[];
  const open = async (maxSessionAgeMs = 86_400_000) => {
    const store = await openStateStore({ dir, backends: [backend], maxSessionAgeMs });
    stores.push(store);
    return store;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rbl-unlist-sessions-'));
    stores = [];
  });
  afterEach(async () => {
    for (const store of stores) await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('survives a restart, with Accounting-On forgetting one NAS atomically with its unlist job', async () => {
    let store = await open();
    const now = Date.now();
    await store.commit({ upsert: [recorded('nas1', 'A', ['10.64.0.1'], now), recorded('nas1', 'B', ['10.64.0.2'], now), recorded('nas2', 'A', ['10.64.0.3'], now)] }).recorded;
    // Accounting-On from nas1: unlist and forget its sessions, in one commit.
    const ofNas1 = store.sessions.sessionsOfNas('ras1', 'nas1');
    await store.commit({
      remove: ofNas1.map(({ client, nas, sessionId }) => ({ client, nas, sessionId, stoppedAt: { at: now, nasTime: undefined } })),
      unlist: { targets: ofNas1.flatMap((s) => s.addresses), reason: { event: 'accounting-on', client: 'ras1', nas: 'nas1' }, createdAt: now },
    }).done;
    await store.close();

    store = await open();
    expect(store.sessions.size).toBe(1);
    expect(store.sessions.sessionsOfNas('ras1', 'nas1')).toEqual([]);
    expect(store.sessions.get('ras1', 'nas2', 'A')).toEqual(session('nas2', 'A', ['10.64.0.3'], now));
    expect(store.sessions.ownerOf('10.64.0.3')?.nas).toBe('nas2');
  });

  it('keeps each address with its holder through compaction and a restart, whichever slots the sessions took', async () => {
    let store = await open();
    const now = Date.now();
    // Z takes slot 0 and A slot 1 with the address; Z's stop frees slot 0 for B, which takes the address later.
    await store.commit({ upsert: [recorded('nas1', 'Z', ['10.64.0.9'], now - 100_000), recorded('nas1', 'A', ['10.64.0.5'], now - 90_000)] }).recorded;
    await store.commit({ remove: [{ client: 'ras1', nas: 'nas1', sessionId: 'Z', stoppedAt: { at: now - 80_000, nasTime: undefined } }] }).recorded;
    await store.commit({ upsert: [recorded('nas2', 'B', ['10.64.0.5'], now - 60_000)] }).recorded;
    await store.compact();
    await store.close();
    store = await open();
    expect(store.sessions.ownerOf('10.64.0.5')?.sessionId).toBe('B');
    expect(store.sessions.get('ras1', 'nas1', 'A')?.addresses).toEqual([]);
  });

  it('records a commit’s canonical addresses as they are, and takes no text there', async () => {
    const store = await open();
    // A canonical value is trusted, not parsed again: its text is what the table gives back.
    const prefix = canonical('2001:DB8:0:100::/56');
    await store.commit({ upsert: [{ ...recorded('nas', 'A', ['10.64.0.1']), addresses: [canonical('10.64.0.1'), prefix] }] }).recorded;
    expect(store.sessions.get('ras1', 'nas', 'A')?.addresses).toEqual(['10.64.0.1', '2001:db8:0:100::/56']);
    expect(store.sessions.ownerOf('2001:db8:0:100::/56')?.sessionId).toBe('A');
    // Text cannot be committed, so an address that does not parse never reaches the table that way.
    // @ts-expect-error: a commit's session addresses are canonical values, not text.
    const text: StateChange = { upsert: [session('nas', 'B', ['not-an-address'])] };
    expect(text.upsert).toHaveLength(1);
  });

  it('refuses session text that does not parse (journal replay) before changing anything', () => {
    const table = new SessionTable();
    table.upsert(session('nas', 'A', ['10.64.0.1']));
    expect(() => table.upsert(session('nas', 'A', ['10.64.0.2', 'not-an-address']))).toThrow(expect.objectContaining({ code: 'RBL_ADDRESS_INVALID' }));
    expect(table.get('ras1', 'nas', 'A')?.addresses).toEqual(['10.64.0.1']);
    expect(table.ownerOf('10.64.0.1')?.sessionId).toBe('A');
  });

  it('expires old sessions through the journal, so they stay gone after a restart', async () => {
    let store = await open(60_000);
    const now = Date.now();
    await store.commit({ upsert: [recorded('nas', 'old', ['10.64.0.1'], now - 120_000), recorded('nas', 'new', ['10.64.0.2'], now)] }).recorded;
    expect(store.expireSessions(now).map((s) => s.sessionId)).toEqual(['old']);
    await store.close();
    store = await open(86_400_000);
    expect([...store.sessions.entries()].map((s) => s.sessionId)).toEqual(['new']);
  });
});

describe('session scope, event times and stopped sessions', () => {
  it('keeps one client’s sessions apart from another’s with the same NAS key and Acct-Session-Id', () => {
    const table = new SessionTable();
    table.upsert({ ...session('192.0.2.10', 'A1', ['10.64.0.5']), client: 'ras1' });
    table.upsert({ ...session('192.0.2.10', 'A1', ['10.65.0.5']), client: 'partner' });
    expect(table.size).toBe(2);
    expect(table.sessionsOfNas('partner', '192.0.2.10').map((s) => s.addresses)).toEqual([['10.65.0.5']]);
    table.remove('partner', '192.0.2.10', 'A1');
    expect(table.get('ras1', '192.0.2.10', 'A1')?.addresses).toEqual(['10.64.0.5']);
  });

  it('gives back the event time (up to its Acct-Delay-Time before the record time) and the Event-Timestamp', () => {
    const table = new SessionTable();
    table.upsert({ ...session('nas', 'A1', ['10.64.0.5'], 1_000_000), eventAt: 970_000, nasTime: 1_800_000_000 });
    expect(table.get('ras1', 'nas', 'A1')).toMatchObject({ updatedAt: 1_000_000, eventAt: 970_000, nasTime: 1_800_000_000 });
  });

  it('remembers stopped sessions per client and NAS', () => {
    const table = new SessionTable();
    table.upsert(session('nas', 'A1', ['10.64.0.5']));
    table.stop({ client: 'ras1', nas: 'nas', sessionId: 'A1' }, { at: 5000, nasTime: 1_800_000_000 });
    expect(table.size).toBe(0);
    expect(table.stoppedAt('ras1', 'nas', 'A1')).toEqual({ nasTime: 1_800_000_000 });
    expect(table.stoppedAt('ras2', 'nas', 'A1')).toBeUndefined();
    expect(table.stoppedAt('ras1', 'nas2', 'A1')).toBeUndefined();
  });

  it('lists the oldest sessions first for eviction', () => {
    const table = new SessionTable();
    for (const [id, at] of [['c', 3000], ['a', 1000], ['d', 4000], ['b', 2000]] as const) table.upsert(session('nas', id, [], at));
    expect(table.oldest(2).map((s) => s.sessionId)).toEqual(['a', 'b']);
    expect(table.oldest(9).map((s) => s.sessionId)).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('stopped-session memory', () => {
  it('forgets the oldest stops once full, and finds every one it keeps through growth', () => {
    const memory = new StoppedSessions(3000);
    for (let i = 1; i <= 5000; i++) memory.remember(`key-${i}`, { at: i, nasTime: i });
    expect(memory.size).toBe(3000);
    expect(memory.stoppedAt('key-2000')).toBeUndefined();
    for (const i of [2001, 3500, 5000]) expect(memory.stoppedAt(`key-${i}`)).toEqual({ nasTime: i });
    const rows = stoppedRowsOf(memory.columns(1000));
    expect(rows.map((row) => row[2])).toEqual(Array.from({ length: 3000 }, (_, i) => 2001 + i));
  });
});

describe('NAS keys that come and go', () => {
  it('are forgotten with their last session, so 70,000 distinct NAS-Identifiers leave nothing behind', () => {
    const table = new SessionTable();
    // More than the 65,535 scope numbers a slot keeps inline: the overflow path is churned through too.
    for (let i = 0; i < 70_000; i++) {
      table.upsert(session(`nas-${i}-${'x'.repeat(200)}`, 's', [ipv4Text(0x0a400000 + (i % 60_000))]));
      expect(table.stop({ client: 'ras1', nas: `nas-${i}-${'x'.repeat(200)}`, sessionId: 's' }, { at: 2000, nasTime: undefined })).toBeDefined();
    }
    expect(table.size).toBe(0);
    expect(table.nasKeys).toBe(0);
  });

  it('give their number to the next NAS key without mixing the sessions of the two', () => {
    const table = new SessionTable();
    table.upsert(session('nas-a', 'a1', ['10.64.0.1']));
    table.upsert(session('nas-keep', 'k1', ['10.64.0.9']));
    table.remove('ras1', 'nas-a', 'a1');
    expect(table.nasKeys).toBe(1);
    // nas-b takes nas-a's freed number; then nas-a comes back with a new one.
    table.upsert(session('nas-b', 'a1', ['10.64.0.2']));
    table.upsert(session('nas-a', 'a1', ['10.64.0.3']));
    expect(table.nasKeys).toBe(3);
    expect(table.get('ras1', 'nas-b', 'a1')?.addresses).toEqual(['10.64.0.2']);
    expect(table.get('ras1', 'nas-a', 'a1')?.addresses).toEqual(['10.64.0.3']);
    expect(table.get('ras1', 'nas-keep', 'k1')?.addresses).toEqual(['10.64.0.9']);
    expect(table.sessionsOfNas('ras1', 'nas-b').map((s) => s.addresses)).toEqual([['10.64.0.2']]);
    expect(table.sessionsOfNas('ras1', 'nas-a').map((s) => s.addresses)).toEqual([['10.64.0.3']]);
    expect(table.ownerOf('10.64.0.2')).toMatchObject({ nas: 'nas-b' });
    // A session of a NAS key that still has another keeps the key.
    table.upsert(session('nas-b', 'b2', ['10.64.0.4']));
    table.remove('ras1', 'nas-b', 'a1');
    expect(table.nasKeys).toBe(3);
    expect(table.get('ras1', 'nas-b', 'b2')).toBeDefined();
  });
});
