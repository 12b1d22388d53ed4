/**
 * detachJournal (src/queue/takeover.ts): after breaking the lock of a holder that may still run,
 * the journal under its name is a copy, byte for byte and as private as before, so a late write
 * through the old holder's open file reaches only the file nobody reads any more.
 */
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { detachJournal } from '../../src/queue/takeover.js';
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
});
