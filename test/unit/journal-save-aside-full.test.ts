/**
 * Replay that cuts a torn tail on a disk with no room left for the copy it saves aside
 * (`journal.corrupt-<time>`): the copy is for inspection only, so the tail is cut all the same, the
 * part-written copy removed, and the reason given. Left behind, every try of a start waiting for
 * space took more of the room it waited for. writeFile is made to fail as a full disk does, after
 * writing some of the bytes; everything else is the real file system.
 */
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeRecord } from '../../src/queue/record.js';

const disk = vi.hoisted(() => ({ full: false }));
vi.mock('node:fs/promises', async (original) => {
  const fs = await original<typeof import('node:fs/promises')>();
  return {
    ...fs,
    writeFile: async (...args: Parameters<typeof fs.writeFile>) => {
      const [path, data] = args;
      if (!disk.full || !String(path).includes('.corrupt-')) return fs.writeFile(...args);
      await fs.writeFile(path, (data as Buffer).subarray(0, 100));
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    },
  };
});

const { readJournal } = await import('../../src/queue/journal-read.js');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rbl-unlist-save-aside-'));
  disk.full = false;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('a torn tail on a full disk', () => {
  it('is cut without the copy, which is not left part-written, and the reason says why', async () => {
    const file = join(dir, 'journal');
    const good = Buffer.concat([encodeRecord({ t: 'h', v: 3, seq: 1, at: 0 }), encodeRecord({ t: 'd', l: 'bind\nrbl.test', i: [1] })]);
    writeFileSync(file, Buffer.concat([good, Buffer.alloc(5000, 0x7a)]));
    disk.full = true;
    const read = await readJournal(file, () => undefined, { repair: true });
    expect(read).toMatchObject({ records: 2, skippedBytes: 5000, saveError: 'ENOSPC' });
    expect(read.savedAs).toBeUndefined();
    expect(statSync(file).size).toBe(good.length);
    expect(readdirSync(dir)).toEqual(['journal']);
  });
});
