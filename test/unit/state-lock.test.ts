/**
 * The state.dir lock names a process by pid, boot id and start time: a pid alone is reused (a
 * container's service is always PID 1; a reboot starts pids over). It also names the host and PID
 * namespace, and its holder refreshes it, so a holder in another container is not taken for a dead
 * one. Processes that find the same stale lock at once never both take it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { REFRESH_MS } from '../../src/queue/lock-liveness.js';
import type { QueueEvent } from '../../src/queue/events.js';
import { acquireLock, LOCK_FILE, removeLeftoverLockFiles, tryLock } from '../../src/queue/lock.js';
import type { StateChange } from '../../src/queue/store-api.js';
import { openStateStore } from '../../src/queue/store-open.js';
import { canonical, FakeBackend, waitUntil } from '../helpers/state-store.js';
import { transpileSources } from '../helpers/transpile.js';

const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
const startOf = (pid: number): string => {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ')[19]!;
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rbl-unlist-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const writeLock = (record: object): void => writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ since: 1, ...record }));
const readLockFile = (): Record<string, unknown> => JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as Record<string, unknown>;

describe('the state.dir lock', () => {
  it('removes the locks written aside that killed processes left, older than a minute, and nothing else; the service does so at its start', async () => {
    const aMinuteAgo = (Date.now() - 61_000) / 1000;
    const left = ['lock.4242.0123456789abcdef', 'lock.1.fedcba9876543210'];
    const kept = ['lock.4243.00000000000000aa', 'lock.x.0123456789abcdef', 'notes', 'lock.4244.0123456789abcdef.bak'];
    for (const name of [...left, ...kept]) writeFileSync(join(dir, name), '{}');
    for (const name of [...left, 'lock.x.0123456789abcdef', 'lock.4244.0123456789abcdef.bak']) utimesSync(join(dir, name), aMinuteAgo, aMinuteAgo);
    expect(await removeLeftoverLockFiles(dir)).toBe(2);
    expect(readdirSync(dir).sort()).toEqual([...kept].sort());

    writeFileSync(join(dir, left[0]!), '{}');
    utimesSync(join(dir, left[0]!), aMinuteAgo, aMinuteAgo);
    const store = await openStateStore({ dir, backends: [], maxSessionAgeMs: 60_000 });
    expect(readdirSync(dir)).not.toContain(left[0]);
    await store.close();
  });

  it('takes over a lock that names our own pid but another process start (a container PID 1 started again)', async () => {
    writeLock({ pid: process.pid, boot: bootId, start: '1' });
    const lock = await tryLock(dir, 'test');
    expect('release' in lock).toBe(true);
  });

  it('takes over a lock written with our own pid by an older version, which recorded no start time', async () => {
    writeLock({ pid: process.pid });
    expect('release' in (await tryLock(dir, 'test'))).toBe(true);
  });

  it('takes over a lock written before a reboot, even when a live process now has its pid', async () => {
    writeLock({ pid: process.ppid, boot: 'ffffffff-0000-0000-0000-000000000000', start: startOf(process.ppid) });
    expect('release' in (await tryLock(dir, 'test'))).toBe(true);
  });

  it('takes over a lock whose pid was reused by a process started later', async () => {
    writeLock({ pid: process.ppid, boot: bootId, start: String(Number(startOf(process.ppid)) + 1) });
    expect('release' in (await tryLock(dir, 'test'))).toBe(true);
  });

  it('leaves a lock held by a live process alone, in the new format and the old', async () => {
    writeLock({ pid: process.ppid, boot: bootId, start: startOf(process.ppid) });
    expect(await tryLock(dir, 'test')).toEqual({ pid: process.ppid, since: 1 });
    writeLock({ pid: process.ppid });
    expect(await tryLock(dir, 'test')).toEqual({ pid: process.ppid, since: 1 });
  });

  it('takes over a stale lock 0.3.0 wrote on this host, as 0.3.0 did', async () => {
    writeLock({ pid: 2 ** 22 + 1, boot: bootId, start: '1', nonce: 'n03', host: hostname(), role: 'serve' });
    expect('release' in (await tryLock(dir, 'test'))).toBe(true);
  });

  it('records where its holder runs, and refreshes the lock while it is held', async () => {
    const lock = await tryLock(dir, 'test');
    if (!('release' in lock)) throw new Error('not taken');
    const taken = readLockFile();
    expect(taken).toMatchObject({ pid: process.pid, host: hostname(), boot: bootId, start: startOf(process.pid), pidns: readlinkSync('/proc/self/ns/pid'), role: 'test' });
    await new Promise((resolve) => setTimeout(resolve, REFRESH_MS + 500));
    expect(readLockFile()).toEqual({ ...taken, refreshed: expect.any(Number) as unknown });
    expect(readLockFile().refreshed).toBeGreaterThan(taken.refreshed as number);
    await lock.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a lock another PID namespace keeps refreshing, names its holder, and leaves it alone', async () => {
    const foreign = { pid: 1, boot: bootId, start: '1', pidns: 'pid:[1]', host: hostname(), nonce: 'theirs', role: 'serve', since: 1, refreshed: Date.now() };
    writeLock(foreign);
    // The holder's heartbeat, played by the test.
    const heartbeat = setInterval(() => writeLock({ ...foreign, refreshed: Date.now() }), 300);
    try {
      await expect(acquireLock(dir, 'serve', 1000)).rejects.toMatchObject({
        code: 'RBL_STATE_DIR',
        message: expect.stringMatching(new RegExp(`^state.dir ${dir} is locked by rbl-unlist serve, pid 1 in PID namespace pid:\\[1\\] on host ${hostname()} .*last refreshed .*stop it first`)) as unknown,
      });
    } finally {
      clearInterval(heartbeat);
    }
    expect(readLockFile()).toMatchObject({ nonce: 'theirs' });
  });

  it('refuses a 0.3.0 lock from another container on this boot, which nothing can check, and says how to remove it', async () => {
    writeLock({ pid: 1, boot: bootId, start: '1', nonce: 'n03', host: 'another-container', role: 'serve' });
    await expect(acquireLock(dir, 'serve', 200)).rejects.toMatchObject({
      code: 'RBL_STATE_DIR',
      message:
        `state.dir ${dir} is locked by rbl-unlist serve, pid 1 on host another-container (boot ${bootId}), since 1970-01-01T00:00:00.001Z, never refreshed: ` +
        `a lock of rbl-unlist 0.3 or older from another host or container, which cannot be checked from here; stop that service, and if no rbl-unlist runs on this state.dir any more, delete ${join(dir, LOCK_FILE)}`,
    });
    expect(readLockFile()).toMatchObject({ nonce: 'n03' });
  });

  it('never writes over the lock of the process that broke its own and took over', async () => {
    const lock = await tryLock(dir, 'test');
    if (!('release' in lock)) throw new Error('not taken');
    // Found stale while this process was stopped, broken, and taken by another.
    unlinkSync(join(dir, LOCK_FILE));
    writeLock({ pid: process.ppid, boot: bootId, start: startOf(process.ppid), nonce: 'new holder', refreshed: 5 });
    const before = readFileSync(join(dir, LOCK_FILE), 'utf8');
    await new Promise((resolve) => setTimeout(resolve, REFRESH_MS + 500));
    await lock.release();
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(before);
  });

  it('says it was lost once another process broke it, and not when it is released', async () => {
    const kept = await tryLock(dir, 'test');
    if (!('release' in kept)) throw new Error('not taken');
    let keptLost = false;
    void kept.lost.then(() => (keptLost = true));
    await kept.release();

    const lock = await tryLock(dir, 'test');
    if (!('release' in lock)) throw new Error('not taken');
    let lost = false;
    void lock.lost.then(() => (lost = true));
    unlinkSync(join(dir, LOCK_FILE));
    await new Promise((resolve) => setTimeout(resolve, REFRESH_MS + 500));
    expect({ lost, keptLost }).toEqual({ lost: true, keptLost: false });
    await lock.release();
  });

  it('says at once, without waiting for a refresh, that it is no longer held once another process broke it', async () => {
    const lock = await tryLock(dir, 'test');
    if (!('release' in lock)) throw new Error('not taken');
    expect(lock.brokeLiveHolder).toBe(false);
    let lost = false;
    void lock.lost.then(() => (lost = true));
    expect(lock.held()).toBe(true);
    unlinkSync(join(dir, LOCK_FILE));
    expect(lock.held()).toBe(false);
    await Promise.resolve();
    expect(lost).toBe(true);
    await lock.release();
  });

  it('is not held once released', async () => {
    const lock = await tryLock(dir, 'test');
    if (!('release' in lock)) throw new Error('not taken');
    await lock.release();
    expect(lock.held()).toBe(false);
  });

  it('was taken from a holder that may still run only when it broke one judged by missed refreshes', async () => {
    // A dead process of our own namespace: certain.
    writeLock({ pid: 2 ** 22 + 1, host: hostname(), boot: bootId, start: '1', pidns: readlinkSync('/proc/self/ns/pid'), nonce: 'dead', refreshed: 1 });
    const lock = await tryLock(dir, 'test');
    if (!('release' in lock)) throw new Error('not taken');
    expect(lock.brokeLiveHolder).toBe(false);
    await lock.release();
  });

  it('is held against a second taker in the same process, and released only by its owner', async () => {
    const lock = await tryLock(dir, 'test');
    if (!('release' in lock)) throw new Error('not taken');
    expect(await tryLock(dir, 'again')).toMatchObject({ pid: process.pid });
    await lock.release();
    expect('release' in (await tryLock(dir, 'test'))).toBe(true);
  });
});

describe('a service whose state.dir lock another service took', () => {
  it('writes and acknowledges nothing more, for good, and says to restart it', async () => {
    const events: QueueEvent[] = [];
    const store = await openStateStore({ dir, backends: [new FakeBackend()], maxSessionAgeMs: 60_000, recoveryMs: 20, onEvent: (event) => events.push(event) });
    try {
      const now = Date.now();
      const start = (id: string): StateChange => ({ upsert: [{ client: 'ras1', nas: 'nas1', sessionId: id, addresses: [canonical('10.64.0.1')], updatedAt: now, eventAt: now }] });
      await store.commit(start('s1')).recorded;
      // Another service found the lock stale (this one stalled) and took it.
      unlinkSync(join(dir, LOCK_FILE));
      await waitUntil(() => !store.health().writable, REFRESH_MS + 2000);
      const journalBytes = statSync(join(dir, 'journal')).size;
      expect(store.health()).toMatchObject({ writable: false, error: expect.stringMatching(/^the state\.dir lock .* was taken by another rbl-unlist while this one held it .*; restart this service$/) });
      expect(() => store.commit(start('s2'))).toThrow(/not recorded/);
      await expect(store.committed()).rejects.toMatchObject({ code: 'RBL_STATE_DIR' });
      expect(events).toContainEqual({ type: 'lock-lost', error: expect.objectContaining({ code: 'RBL_STATE_DIR' }) });
      // No rebuild brings it back, however long it waits.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(store.health().writable).toBe(false);
      expect(events.some((event) => event.type === 'journal-writable')).toBe(false);
      expect(statSync(join(dir, 'journal')).size).toBe(journalBytes);
    } finally {
      await store.close();
    }
  });
});

describe('a stale lock found by several processes at once', () => {
  let build: string;

  beforeAll(() => {
    // The children run plain JavaScript: the sources transpiled into a temporary folder.
    build = transpileSources('lock-child');
    // Each child says it is ready, tries once on "go", says what it got, and keeps what it took until its stdin closes.
    writeFileSync(
      join(build, 'child.js'),
      `import { tryLock } from './src/queue/lock.js';
let result;
process.stdin.setEncoding('utf8');
process.stdin.on('data', async () => {
  if (result) return;
  result = await tryLock(process.argv[2], 'child');
  process.stdout.write(('release' in result ? 'took' : 'held') + '\\n');
});
process.stdin.on('end', async () => { if (result && 'release' in result) await result.release(); process.exit(0); });
process.stdout.write('ready\\n');
`,
    );
  });

  afterAll(() => rmSync(build, { recursive: true, force: true }));

  function contender(): { ready: Promise<void>; go: () => void; answer: Promise<string>; finish: () => Promise<void> } {
    const child = spawn(process.execPath, [join(build, 'child.js'), dir], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let text = '';
    const line = (index: number): Promise<string> =>
      new Promise<string>((resolve, reject) => {
        const look = (): void => {
          const lines = text.split('\n');
          if (lines.length > index + 1) resolve(lines[index]!);
        };
        child.stdout.on('data', look);
        look();
        child.once('exit', (code) => reject(new Error(`child exited (${code}) before answering`)));
      });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    return { ready: line(0).then(() => undefined), go: () => child.stdin.write('go\n'), answer: line(1), finish: () => (child.stdin.end(), exited) };
  }

  it('is taken by exactly one of them', async () => {
    for (let round = 0; round < 3; round++) {
      // A lock left by a process that died: a pid that no process has, on this boot.
      writeLock({ pid: 2 ** 22 + 1, boot: bootId, start: '1', nonce: `dead${round}` });
      const contenders = Array.from({ length: 6 }, contender);
      try {
        await Promise.all(contenders.map((c) => c.ready));
        for (const c of contenders) c.go();
        const answers = await Promise.all(contenders.map((c) => c.answer));
        expect(answers.filter((answer) => answer === 'took')).toHaveLength(1);
      } finally {
        await Promise.all(contenders.map((c) => c.finish()));
      }
      expect(readdirSync(dir)).toEqual([]);
    }
  });
});
