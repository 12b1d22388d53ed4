/**
 * detachJournal (src/queue/takeover.ts): after breaking the lock of a holder that may still run,
 * the journal under its name is a copy, byte for byte and as private as before, so a late write
 * through the old holder's open file reaches only the file nobody reads any more.
 */
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStateStore } from '../../src/queue/store-open.js';
import { detachJournal, TAKEOVER_FILE } from '../../src/queue/takeover.js';
import { canonical } from '../helpers/state-store.js';
import { tempDir } from '../helpers/peers.js';

let temp: { dir: string; remove: () => void };
beforeEach(() => {
  temp = tempDir('journal-takeover');
});
afterEach(() => temp.remove());

describe('detaching the journal from a holder that may still run', () => {
  it('puts a copy under the name, with the same bytes and mode, that a write through the old file does not reach', async () => {
    const journal = join(temp.dir, 'journal');
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i & 0xff));
    writeFileSync(journal, bytes, { mode: 0o600 });
    // The old holder's journal, still open where it runs.
    const oldHolder = openSync(journal, 'r+');
    const before = statSync(journal);

    expect(await detachJournal(journal)).toBe(true);
    const after = statSync(journal);
    expect(after.ino).not.toBe(before.ino);
    expect(after.mode & 0o777).toBe(0o600);
    expect(readFileSync(journal).equals(bytes)).toBe(true);

    writeSync(oldHolder, Buffer.from('late write of the old holder'), 0, 28, 100);
    closeSync(oldHolder);
    expect(readFileSync(journal).equals(bytes)).toBe(true);
    expect(readdirSync(temp.dir)).toEqual(['journal']);
  });

  it('does nothing where there is no journal yet', async () => {
    expect(await detachJournal(join(temp.dir, 'journal'))).toBe(false);
    expect(readdirSync(temp.dir)).toEqual([]);
  });

  it('fails with RBL_STATE_DIR, naming the journal, when the copy cannot be made', async () => {
    const journal = join(temp.dir, 'journal');
    writeFileSync(journal, 'x', { mode: 0o600 });
    // The copy's name taken by a folder: as a full disk or a read-only one would, the copy fails.
    mkdirSync(`${journal}.takeover`);
    await expect(detachJournal(journal)).rejects.toMatchObject({ code: 'RBL_STATE_DIR', message: expect.stringContaining(`cannot copy the journal ${journal}`) });
    expect(readFileSync(journal, 'utf8')).toBe('x');
  });

  it('leaves no copy a crash left between copy and rename: the next start removes it and reads the journal', async () => {
    const dir = join(temp.dir, 'state');
    const now = Date.now();
    const store = await openStateStore({ dir, backends: [], maxSessionAgeMs: 86_400_000 });
    await store.commit({ upsert: [{ client: 'ras1', nas: 'nas1', sessionId: 's1', addresses: [canonical('10.64.0.1')], updatedAt: now, eventAt: now }] }).recorded;
    await store.close();
    // A full copy, which may hold what a compaction was to take off the disk.
    writeFileSync(join(dir, TAKEOVER_FILE), readFileSync(join(dir, 'journal')), { mode: 0o600 });
    const again = await openStateStore({ dir, backends: [], maxSessionAgeMs: 86_400_000 });
    try {
      expect(readdirSync(dir)).not.toContain(TAKEOVER_FILE);
      expect(again.sessions.get('ras1', 'nas1', 's1')).toBeDefined();
    } finally {
      await again.close();
    }
  });
});
