import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/types.js';
import { listQueue } from '../../src/queue/admin.js';
import type { StateStore, StateStoreOptions } from '../../src/queue/store-open.js';
import { canonical, FakeBackend, never, useStateDir, waitUntil } from '../helpers/state-store.js';
import { transpileSources } from '../helpers/transpile.js';

/** A FakeBackend whose every call waits forever, so jobs stay pending. */
function hanging(): FakeBackend {
  const backend = new FakeBackend();
  backend.behaviour = never;
  return backend;
}

const waitFor = (condition: () => boolean, timeoutMs = 10_000): Promise<void> => waitUntil(condition, timeoutMs);

function event(k: number, prefix = 64) {
  const address = `10.${prefix + (k >> 16)}.${(k >> 8) & 255}.${k & 255}`;
  const sessionId = `s${prefix}-${k}`;
  return {
    address,
    change: {
      upsert: [{ nas: 'nas1', sessionId, client: 'ras1', addresses: [canonical(address)], updatedAt: Date.now(), eventAt: Date.now() }],
      unlist: { targets: [address], reason: { event: 'stop', client: 'ras1', nas: 'nas1', sessionId }, createdAt: Date.now() },
    },
  };
}

const state = useStateDir('journal');
const journal = () => join(state.dir, 'journal');

async function open(backend: Backend, options: Partial<StateStoreOptions> = {}): Promise<StateStore> {
  return state.open({ backends: [backend], maxSessionAgeMs: 86_400_000, closeGraceMs: 10, ...options });
}

describe('journal durability', () => {
  it('shares one fsync among commits that arrive together (group commit)', async () => {
    const store = await open(hanging());
    const before = store.stats().fsyncs;
    const burst = Array.from({ length: 2000 }, (_, k) => store.commit(event(k).change));
    await Promise.all(burst.map((commit) => commit.recorded));
    expect(store.stats().fsyncs - before).toBeLessThanOrEqual(2);

    // Spread over many event-loop turns, commits still share syncs with whatever queued meanwhile.
    const spread = store.stats().fsyncs;
    const pending: Promise<void>[] = [];
    for (let turn = 0; turn < 200; turn++) {
      for (let i = 0; i < 10; i++) pending.push(store.commit(event(2000 + turn * 10 + i).change).recorded);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(pending);
    expect(store.stats().fsyncs - spread).toBeLessThan(200);
  });

  it('recovers a torn tail up to the last good record and says how many bytes it skipped', async () => {
    let store = await open(hanging());
    for (let k = 0; k < 9; k++) await store.commit(event(k).change).recorded;
    const goodBytes = statSync(journal()).size;
    await store.commit(event(9).change).recorded;
    await store.close();
    // The tenth record loses its last 5 bytes, then garbage follows.
    truncateSync(journal(), statSync(journal()).size - 5);
    appendFileSync(journal(), Buffer.alloc(100, 0xab));
    const tornSize = statSync(journal()).size;

    const healthy = new FakeBackend();
    store = await open(healthy);
    const recovered = state.events.find((e) => e.type === 'journal-recovered');
    expect(recovered).toMatchObject({ goodBytes, skippedBytes: tornSize - goodBytes });
    expect(readFileSync((recovered as { savedAs: string }).savedAs).length).toBe(tornSize - goodBytes);
    expect(statSync(journal()).size).toBeLessThanOrEqual(goodBytes + 1000);
    await waitFor(() => store.depth() === 0);
    expect(healthy.delivered('rbl.example.net').sort()).toEqual(Array.from({ length: 9 }, (_, k) => event(k).address).sort());
    expect(store.sessions.size).toBe(9);

    // Appends after the repair are readable: no warning on the next open.
    await store.commit(event(20).change).recorded;
    await store.close();
    state.events = [];
    store = await open(hanging());
    expect(state.events.filter((e) => e.type === 'journal-recovered')).toEqual([]);
    expect(store.sessions.size).toBe(10);
  });

  it('replays past a corrupt record in the middle: the unlists after it are sent, and a compaction writes the file without it', async () => {
    let store = await open(hanging());
    for (let k = 0; k < 5; k++) await store.commit(event(k).change).recorded;
    const damagedAt = statSync(journal()).size;
    await store.commit(event(5).change).recorded;
    const damagedEnd = statSync(journal()).size;
    for (let k = 6; k < 10; k++) await store.commit(event(k).change).recorded;
    await store.close();
    const bytes = readFileSync(journal());
    bytes[damagedAt + 20] = bytes[damagedAt + 20]! ^ 0xff;
    writeFileSync(journal(), bytes);

    const healthy = new FakeBackend();
    store = await open(healthy);
    const recovered = state.events.find((e) => e.type === 'journal-recovered') as { savedAs: string } | undefined;
    expect(recovered).toMatchObject({ goodBytes: bytes.length - (damagedEnd - damagedAt), skippedBytes: damagedEnd - damagedAt, stretches: 1, reason: 'a checksum mismatch' });
    expect(readFileSync(recovered!.savedAs)).toEqual(bytes.subarray(damagedAt, damagedEnd));
    // Stop 5's record is the one lost; the four after it are unlisted as the five before.
    await waitFor(() => store.depth() === 0);
    const lost = event(5).address;
    expect(healthy.delivered('rbl.example.net').sort()).toEqual(Array.from({ length: 10 }, (_, k) => event(k).address).filter((address) => address !== lost).sort());
    expect(store.sessions.size).toBe(9);
    await waitFor(() => store.stats().compactions > 0);
    await store.close();

    // The compaction left a file with nothing to skip.
    state.events = [];
    store = await open(hanging());
    expect(state.events.filter((e) => e.type === 'journal-recovered')).toEqual([]);
    expect(store.sessions.size).toBe(9);
    expect(store.depth()).toBe(0);
  });

  it('starts past a damaged header with every record after it: nothing pending is lost, new jobs get new numbers, and a compaction writes a good header', async () => {
    let store = await open(hanging());
    const commits: string[] = [];
    for (let k = 0; k < 5; k++) {
      const commit = store.commit(event(k).change);
      await commit.recorded;
      commits.push(commit.jobId!);
    }
    await store.close();
    const bytes = readFileSync(journal());
    bytes[20] = bytes[20]! ^ 0x01;
    writeFileSync(journal(), bytes);

    store = await open(hanging());
    expect(state.events.find((e) => e.type === 'journal-recovered')).toMatchObject({ stretches: 1, reason: 'a checksum mismatch' });
    expect(store.depth()).toBe(5);
    expect(store.sessions.size).toBe(5);
    const next = store.commit(event(5).change);
    await next.recorded;
    expect(Number(next.jobId)).toBeGreaterThan(Math.max(...commits.map(Number)));
    await waitFor(() => store.stats().compactions > 0);
    await store.close();
    state.events = [];
    store = await open(hanging());
    expect(state.events.filter((e) => e.type === 'journal-recovered')).toEqual([]);
    expect(store.depth()).toBe(6);
  });

  it('refuses a file that is not a journal', async () => {
    writeFileSync(journal(), 'hello, this is not a journal\n');
    await expect(open(hanging())).rejects.toMatchObject({ code: 'RBL_JOURNAL_CORRUPT' });
  });

  it('compacts to a smaller file that keeps the sessions and the pending work', async () => {
    let store = await open(hanging());
    for (let k = 0; k < 300; k++) store.commit(event(k).change);
    // Churn: refresh every session 5 times and forget a third of them.
    for (let round = 0; round < 5; round++) {
      for (let k = 0; k < 300; k++) store.commit({ upsert: event(k).change.upsert });
    }
    for (let k = 0; k < 300; k += 3) store.commit({ remove: [{ client: 'ras1', nas: 'nas1', sessionId: `s64-${k}` }] });
    await store.commit({}).recorded;
    const before = statSync(journal()).size;
    const sessions = [...store.sessions.entries()];
    const pending = (await listQueue(state.dir)).pending;
    await store.compact();
    const after = statSync(journal()).size;
    expect(after).toBeLessThan(before / 2);
    expect(state.events.find((e) => e.type === 'journal-compacted')).toMatchObject({ beforeBytes: before, afterBytes: after });
    expect((await listQueue(state.dir)).pending).toEqual(pending);
    await store.close();

    store = await open(hanging());
    expect([...store.sessions.entries()]).toEqual(sessions);
    expect(store.sessions.size).toBe(200);
    expect(store.depth()).toBe(300);
  });

  it('compacts by itself as the journal grows, without losing commits made meanwhile', async () => {
    let store = await open(hanging(), { compactBytes: 16 * 1024 });
    const recorded: Promise<void>[] = [];
    for (let turn = 0; turn < 100; turn++) {
      for (let i = 0; i < 20; i++) recorded.push(store.commit(event(turn * 20 + i).change).recorded);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(recorded);
    // The snapshot is written beside the appends; the switch-over may still be under way here.
    await waitUntil(() => store.stats().compactions > 0, 10_000);
    await store.close();
    store = await open(hanging());
    expect(store.depth()).toBe(2000);
    expect(store.sessions.size).toBe(2000);
  });
});

describe('crash safety', () => {
  let build: string;

  beforeAll(() => {
    // The child runs plain JavaScript: the sources transpiled into a temporary folder.
    build = transpileSources('child');
    writeFileSync(
      join(build, 'child.js'),
      `import { openStateStore } from './src/queue/store-open.js';
const [dir, prefix] = [process.argv[2], Number(process.argv[3])];
const hang = { name: 'bind', zones: ['rbl.example.net'], unlist: () => new Promise(() => {}), check: async () => ({}), probe: async () => {}, describe: () => '', close: async () => {} };
const store = await openStateStore({ dir, backends: [hang], maxSessionAgeMs: 86400000, compactBytes: 32 * 1024 });
let k = 0;
function burst() {
  for (let i = 0; i < 40; i++, k++) {
    const address = '10.' + (prefix + (k >> 16)) + '.' + ((k >> 8) & 255) + '.' + (k & 255);
    const sessionId = 's' + prefix + '-' + k;
    const commit = store.commit({
      upsert: [{ nas: 'nas1', sessionId, client: 'ras1', addresses: [address], updatedAt: Date.now(), eventAt: Date.now() }],
      unlist: { targets: [address], reason: { event: 'stop', client: 'ras1', nas: 'nas1', sessionId }, createdAt: Date.now() },
    });
    commit.recorded.then(() => process.stdout.write('ack ' + address + '\\n'));
  }
  setImmediate(burst);
}
burst();
`,
    );
  });

  afterAll(() => rmSync(build, { recursive: true, force: true }));

  /** Runs the child until it has acknowledged at least `count` state.events, SIGKILLs it, returns what it acknowledged. */
  function runAndKill(prefix: number, count: number): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [join(build, 'child.js'), state.dir, String(prefix)], { stdio: ['ignore', 'pipe', 'inherit'] });
      const acked: string[] = [];
      let buffered = '';
      child.stdout.on('data', (data: Buffer) => {
        buffered += data.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const line of lines) if (line.startsWith('ack ')) acked.push(line.slice(4));
        if (acked.length >= count && !child.killed) child.kill('SIGKILL');
      });
      child.on('error', reject);
      child.on('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve(acked) : reject(new Error(`child exited on its own (${_code})`))));
    });
  }

  it('loses no acknowledged event when the process is SIGKILLed, even while compacting', async () => {
    const first = await runAndKill(64, 3000);
    const second = await runAndKill(96, 3000);
    expect(first.length).toBeGreaterThanOrEqual(3000);

    const backend = new FakeBackend();
    const store = await open(backend);
    for (const address of [...first, ...second]) {
      expect(store.sessions.ownerOf(address)?.addresses).toEqual([address]);
    }
    await waitFor(() => store.depth() === 0);
    const delivered = new Set(backend.delivered('rbl.example.net'));
    expect([...first, ...second].filter((address) => !delivered.has(address))).toEqual([]);
  });
});
