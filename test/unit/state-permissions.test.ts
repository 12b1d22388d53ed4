/**
 * state.dir holds subscribers' sessions and addresses: the folder is created 0700 and every file in it
 * 0600, whatever the umask (here 000, which would leave them world-writable).
 */
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readJournal } from '../../src/queue/journal-read.js';
import { REQUEST_MAX_AGE_MS, RequestServer, sendRequest, type AdminReply, type AdminRequest } from '../../src/queue/requests.js';
import { openStateStore } from '../../src/queue/store-open.js';
import type { QueueEvent } from '../../src/queue/events.js';
import { dropDeadLetters, listQueue, retryDeadLetters } from '../../src/queue/admin.js';
import { copyFixtureState, FIXTURE_ZONE } from '../helpers/old-state.js';
import { canonical, FakeBackend, never, waitUntil } from '../helpers/state-store.js';

const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);
/** One poll of a service's requests, applying them with `apply` (none of these tests leaves one too old to apply). */
const pollRequests = (dir: string, apply: (request: AdminRequest) => Promise<AdminReply>): Promise<void> => new RequestServer(dir, apply, () => undefined).poll();

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
    await pollRequests(dir, async () => {
      for (const name of readdirSync(requests)) seen.push(`${name.replace(/^.*\./, '')} ${mode(join(requests, name))}`);
      return { count: 0, notFound: [] };
    });
    await asked;
    expect(seen).toEqual(['taken 600']);
    expect(mode(requests)).toBe('700');

    const byHand = `${Date.now()}-1-byhand`;
    writeFileSync(join(requests, `${byHand}.request`), JSON.stringify({ action: 'retry' }), { mode: 0o600 });
    await pollRequests(dir, async () => ({ count: 0, notFound: [] }));
    expect(mode(join(requests, `${byHand}.reply`))).toBe('600');
  });

  it('removes a request older than a minute unapplied: the command that wrote it gave up long ago', async () => {
    const dir = join(parent, 'state');
    await openStateStore({ dir, backends: [], maxSessionAgeMs: 60_000, requestPollMs: 3_600_000 }).then((store) => store.close());
    const requests = join(dir, 'requests');
    mkdirSync(requests, { mode: 0o700 });
    const old = `${Date.now() - REQUEST_MAX_AGE_MS - 1000}-1-forgotten`;
    const fresh = `${Date.now()}-2-fresh`;
    for (const name of [old, fresh, 'no-time']) writeFileSync(join(requests, `${name}.request`), JSON.stringify({ action: 'drop' }), { mode: 0o600 });
    const applied: string[] = [];
    await pollRequests(dir, async (request) => {
      applied.push(request.action);
      return { count: 0, notFound: [] };
    });
    expect(applied).toEqual(['drop']);
    expect(readdirSync(requests).sort()).toEqual([`${fresh}.reply`]);
  });

  it('removes what killed or impatient commands left older than a minute (a half-written request, a reply nobody read), and nothing newer', async () => {
    const dir = join(parent, 'state');
    await openStateStore({ dir, backends: [], maxSessionAgeMs: 60_000, requestPollMs: 3_600_000 }).then((store) => store.close());
    const requests = join(dir, 'requests');
    mkdirSync(requests, { mode: 0o700 });
    const old = Date.now() - REQUEST_MAX_AGE_MS - 1000;
    const left = [`${old}-1-a.request.tmp`, `${old}-2-b.reply`, `${old}-3-c.reply.tmp`];
    const recent = [`${Date.now()}-4-d.request.tmp`, `${Date.now()}-5-e.reply`, 'README'];
    for (const name of [...left, ...recent]) writeFileSync(join(requests, name), '{}', { mode: 0o600 });
    await pollRequests(dir, async () => ({ count: 0, notFound: [] }));
    expect(readdirSync(requests).sort()).toEqual([...recent].sort());
  });

  it.skipIf(process.getuid?.() !== 0)('refuses queue retry, drop and the service request of list when run as another user than the owner of state.dir, writing nothing', async () => {
    const dir = join(parent, 'state');
    await openStateStore({ dir, backends: [], maxSessionAgeMs: 60_000 }).then((store) => store.close());
    // The service's user owns state.dir; this test runs as root, as `sudo rbl-unlist queue ...` would.
    chownSync(dir, 65534, 65534);
    const before = readdirSync(dir).sort();
    const refusal = { code: 'RBL_STATE_DIR', message: expect.stringMatching(/^state\.dir .* belongs to uid 65534, and this command runs as uid 0: .*sudo -u '#65534'/) };
    await expect(dropDeadLetters(dir)).rejects.toMatchObject(refusal);
    await expect(retryDeadLetters(dir, ['1'])).rejects.toMatchObject(refusal);
    await expect(sendRequest(dir, { action: 'list' }, 1000)).rejects.toMatchObject(refusal);
    expect(readdirSync(dir).sort()).toEqual(before);
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

describe('a state.dir an older release left open to group and others', () => {
  it('is made owner-only when the service opens it, with what was changed reported, and its contents kept', async () => {
    // What 0.1 left under umask 022: the folder 0750, the journal and a saved corrupt tail 0644.
    const dir = copyFixtureState('state-0.1', parent);
    chmodSync(dir, 0o750);
    chmodSync(join(dir, 'journal'), 0o644);
    writeFileSync(join(dir, 'journal.corrupt-1795982300000'), 'torn', { mode: 0o644 });
    mkdirSync(join(dir, 'requests'), { mode: 0o755 });
    writeFileSync(join(parent, 'elsewhere'), 'not ours', { mode: 0o644 });
    symlinkSync(join(parent, 'elsewhere'), join(dir, 'a-link'));
    const before = await listQueue(dir);
    // The fixture's lane, never answering: its pending unlists stay pending.
    const bind = new FakeBackend('bind', [FIXTURE_ZONE]);
    bind.behaviour = never;
    const events: QueueEvent[] = [];
    const store = await openStateStore({ dir, backends: [bind], maxSessionAgeMs: 10 * 365 * 86_400_000, closeGraceMs: 10, onEvent: (event) => events.push(event) });
    const sessions = store.sessions.size;
    await store.close();

    expect([dir, 'journal', 'journal.corrupt-1795982300000', 'requests'].map((name) => mode(name === dir ? dir : join(dir, name)))).toEqual(['700', '600', '600', '700']);
    // A link is not followed: what it points to is not the service's to change.
    expect(mode(join(parent, 'elsewhere'))).toBe('644');
    expect(events).toContainEqual({
      type: 'state-dir-tightened',
      dir,
      paths: expect.arrayContaining([dir, join(dir, 'journal'), join(dir, 'journal.corrupt-1795982300000'), join(dir, 'requests')]),
      failed: [],
    });
    expect(sessions).toBeGreaterThan(0);
    expect(await listQueue(dir)).toEqual(before);

    // Once owner-only, opening it again reports nothing.
    const again: QueueEvent[] = [];
    await (await openStateStore({ dir, backends: [bind], maxSessionAgeMs: 60_000, closeGraceMs: 10, onEvent: (event) => again.push(event) })).close();
    expect(again.filter((event) => event.type === 'state-dir-tightened')).toEqual([]);
  });

  it('is made owner-only through state.dir given as a link to the folder (/var/lib/rbl-unlist pointing at another volume)', async () => {
    const real = copyFixtureState('state-0.1', parent);
    chmodSync(real, 0o750);
    chmodSync(join(real, 'journal'), 0o644);
    const link = join(parent, 'state-link');
    symlinkSync(real, link);
    const bind = new FakeBackend('bind', [FIXTURE_ZONE]);
    bind.behaviour = never;
    await (await openStateStore({ dir: link, backends: [bind], maxSessionAgeMs: 10 * 365 * 86_400_000, closeGraceMs: 10 })).close();
    expect([mode(real), mode(join(real, 'journal'))]).toEqual(['700', '600']);
  });
});
