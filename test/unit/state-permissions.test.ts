/**
 * state.dir holds subscribers' sessions and addresses: the folder is created 0700 and every file in it
 * 0600, whatever the umask (here 000, which would leave them world-writable).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readJournal } from '../../src/queue/journal.js';
import { sendRequest, serveRequests } from '../../src/queue/requests.js';
import { openStateStore } from '../../src/queue/store.js';
import { canonical, FakeBackend, waitUntil } from '../helpers/state-store.js';

const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);

let parent: string;
let previousUmask: number;
beforeEach(() => {
  parent = mkdtempSync(join(tmpdir(), 'rbl-unlist-modes-'));
  previousUmask = process.umask(0o000);
});
afterEach(() => {
  process.umask(previousUmask);
  rmSync(parent, { recursive: true, force: true });
});

describe('state.dir permissions under umask 000', () => {
  it('creates the folder 0700 and the journal, lock and compacted journal 0600', async () => {
    const dir = join(parent, 'state');
    const store = await openStateStore({ dir, backends: [new FakeBackend()], maxSessionAgeMs: 60_000 });
    try {
      await store.commit({ upsert: [{ nas: 'nas1', sessionId: 's1', client: 'ras1', addresses: [canonical('10.64.0.1')], updatedAt: Date.now(), eventAt: Date.now() }] }).recorded;
      expect(mode(dir)).toBe('700');
      expect(mode(join(dir, 'journal'))).toBe('600');
      expect(mode(join(dir, 'lock'))).toBe('600');
      await store.compact();
      expect(store.stats().compactions).toBe(1);
      expect(mode(join(dir, 'journal'))).toBe('600');
    } finally {
      await store.close();
    }
  });

  it('creates request and reply files 0600 in a requests folder 0700', async () => {
    const dir = join(parent, 'state');
    await openStateStore({ dir, backends: [], maxSessionAgeMs: 60_000, requestPollMs: 3_600_000 }).then((store) => store.close());
    const requests = join(dir, 'requests');
    const asked = sendRequest(dir, { action: 'list' }, 5000);
    // sendRequest makes the folder itself, a moment after it is called.
    await waitUntil(() => existsSync(requests) && readdirSync(requests, { withFileTypes: true }).some((entry) => entry.name.endsWith('.request')), 2000);
    const seen: string[] = [];
    await serveRequests(dir, async () => {
      for (const name of readdirSync(requests)) seen.push(`${name.replace(/^.*\./, '')} ${mode(join(requests, name))}`);
      return { count: 0, notFound: [] };
    });
    await asked;
    expect(seen).toEqual(['request 600']);
    expect(mode(requests)).toBe('700');

    writeFileSync(join(requests, 'by-hand.request'), JSON.stringify({ action: 'retry' }), { mode: 0o600 });
    await serveRequests(dir, async () => ({ count: 0, notFound: [] }));
    expect(mode(join(requests, 'by-hand.reply'))).toBe('600');
  });

  it('saves a corrupt journal tail 0600', async () => {
    const dir = join(parent, 'state');
    const store = await openStateStore({ dir, backends: [], maxSessionAgeMs: 60_000 });
    await store.close();
    writeFileSync(join(dir, 'journal'), Buffer.from('torn tail'), { flag: 'a' });
    const read = await readJournal(join(dir, 'journal'), () => undefined, { repair: true });
    expect(read.savedAs).toBeDefined();
    expect(mode(read.savedAs!)).toBe('600');
  });
});
