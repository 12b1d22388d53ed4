/**
 * A lock on NFS broken by a process on another host: the holder's file handle answers ESTALE, not a
 * link count of 0. held() takes that as the lock being gone, so nothing more is acknowledged, and
 * the refresh does too. fstat is made to answer as NFS would; everything else is the real file system.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const nfs = vi.hoisted(() => ({ stale: false }));
vi.mock('node:fs', async (original) => {
  const fs = await original<typeof import('node:fs')>();
  return {
    ...fs,
    fstatSync: (...args: Parameters<typeof fs.fstatSync>) => {
      if (nfs.stale) throw Object.assign(new Error('ESTALE: stale file handle, fstat'), { code: 'ESTALE' });
      return fs.fstatSync(...args);
    },
  };
});

const { tryLock } = await import('../../src/queue/lock.js');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rbl-unlist-lock-estale-'));
  nfs.stale = false;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('a lock whose file another host removed (NFS)', () => {
  it('is no longer held once its handle answers ESTALE, and says it was lost', async () => {
    const lock = await tryLock(dir, 'test');
    if (!('release' in lock)) throw new Error('not taken');
    let lost = false;
    void lock.lost.then(() => (lost = true));
    expect(lock.held()).toBe(true);
    nfs.stale = true;
    expect(lock.held()).toBe(false);
    await Promise.resolve();
    expect(lost).toBe(true);
    nfs.stale = false;
    // Once lost, lost for good, whatever the file system says next.
    expect(lock.held()).toBe(false);
    await lock.release();
  });
});
