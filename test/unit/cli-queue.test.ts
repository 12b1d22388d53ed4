import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../../src/backends/types.js';
import { RblError } from '../../src/errors.js';
import { openStateStore } from '../../src/queue/store-open.js';
import { cliConfigYaml, runCliCaptured, writeKeyFile } from '../helpers/cli.js';
import { tempDir } from '../helpers/peers.js';

/** A backend whose unlist always fails permanently (a dead letter), or never answers (stays pending). */
function fakeBackend(name: string, behaviour: 'refuse' | 'hang'): Backend {
  return {
    name,
    zones: ['rbl.example.net'],
    unlist: () =>
      behaviour === 'refuse'
        ? Promise.reject(new RblError('RBL_DNS_REFUSED', `${name} refused the update`))
        : new Promise<void>(() => undefined),
    check: () => Promise.reject(new Error('not used')),
    probe: () => Promise.resolve(),
    describe: () => '',
    close: () => Promise.resolve(),
  };
}

let dir: string;
let removeDir: () => void;
let configFile: string;
let stateDir: string;

/** Journals one job per target: pending in "slow", dead-lettered in "refuser". */
async function journalJobs(targets: string[]): Promise<string[]> {
  const store = await openStateStore({
    dir: stateDir,
    backends: [fakeBackend('refuser', 'refuse'), fakeBackend('slow', 'hang')],
    maxSessionAgeMs: 60_000,
    closeGraceMs: 10,
  });
  const ids: string[] = [];
  for (const target of targets) {
    const commit = store.commit({ unlist: { targets: [target], reason: { event: 'stop', client: 'ras1', nas: '192.0.2.10', sessionId: `s-${target}` }, createdAt: Date.now() } });
    await commit.recorded;
    ids.push(commit.jobId!);
  }
  const deadline = Date.now() + 5000;
  while (store.deadLetterCount() < targets.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  await store.close();
  return ids;
}

beforeEach(() => {
  ({ dir, remove: removeDir } = tempDir('cli-queue'));
  writeKeyFile(dir, 'tsig.key');
  configFile = join(dir, 'config.yaml');
  stateDir = join(dir, 'state');
  writeFileSync(configFile, cliConfigYaml({ pools: ['10.64.0.0/16'], backends: [{ server: '127.0.0.1:9', zones: ['rbl.example.net'], keyFile: 'tsig.key' }] }));
});
afterEach(() => removeDir());

const queue = (...args: string[]) => runCliCaptured(['queue', ...args, '--config', configFile]);

describe('rbl-unlist queue', () => {
  it('lists an empty queue when there is no journal yet', async () => {
    mkdirSync(stateDir);
    const result = await queue('list');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('pending (0):\ndead letters (0):\n');
  });

  it('lists pending deliveries and dead letters with their backend, zone, targets and error', async () => {
    const [id] = await journalJobs(['10.64.3.7']);
    const result = await queue('list');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`pending \\(1\\):\\n  ${id}\\s+slow, zone rbl\\.example\\.net\\s+10\\.64\\.3\\.7\\s+\\S+\\s+stop from ras1 \\(NAS 192\\.0\\.2\\.10, session s-10\\.64\\.3\\.7\\)`));
    expect(result.stdout).toMatch(new RegExp(`dead letters \\(1\\):\\n  ${id}\\s+refuser, zone rbl\\.example\\.net\\s+10\\.64\\.3\\.7\\s+failed \\S+\\s+RBL_DNS_REFUSED: refuser refused the update`));
  });

  it('prints the listing as one JSON document under --json', async () => {
    const [id] = await journalJobs(['10.64.3.7']);
    const result = await queue('list', '--json');
    const document = JSON.parse(result.stdout) as { ok: boolean; pending: { id: string; backend: string }[]; dead: { id: string; code: string; targets: string[] }[] };
    expect(document.ok).toBe(true);
    expect(document.pending).toEqual([expect.objectContaining({ id, backend: 'slow' })]);
    expect(document.dead).toEqual([expect.objectContaining({ id, code: 'RBL_DNS_REFUSED', targets: ['10.64.3.7'] })]);
  });

  it('retry puts the named dead letter back in the queue', async () => {
    const [first, second] = await journalJobs(['10.64.3.7', '10.64.3.8']);
    const result = await queue('retry', first!);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('1 dead letter put back in the queue in the journal\n');
    const listing = JSON.parse((await queue('list', '--json')).stdout) as { pending: { id: string }[]; dead: { id: string }[] };
    expect(listing.dead.map((letter) => letter.id)).toEqual([second]);
    expect(listing.pending.map((entry) => entry.id).sort()).toEqual([first, first, second].sort());
  });

  it('drop --all deletes every dead letter, and an unknown ID exits 1', async () => {
    await journalJobs(['10.64.3.7', '10.64.3.8']);
    const unknown = await queue('drop', '999');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toBe('rbl-unlist: warning: job 999 has no dead letter (see rbl-unlist queue list)\n');
    const result = await queue('drop', '--all', '--json');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ ok: true, action: 'drop', count: 2, notFound: [], via: 'journal' });
    expect((JSON.parse((await queue('list', '--json')).stdout) as { dead: unknown[] }).dead).toEqual([]);
  });

  it('lists what comes after a corrupt record with a warning, and a drop without the service compacts the stretch away', async () => {
    const [first, , third] = await journalJobs(['10.64.3.7', '10.64.3.8', '10.64.3.9']);
    const journal = join(stateDir, 'journal');
    const bytes = readFileSync(journal);
    // The second job's record: its target's last digit changed, so its checksum fails.
    const at = bytes.indexOf('10.64.3.8') + 8;
    bytes[at] = '0'.charCodeAt(0);
    writeFileSync(journal, bytes);

    const listed = await queue('list', '--json');
    expect(listed.status).toBe(0);
    const skipped = (JSON.parse(listed.stdout) as { unreadableBytes: number }).unreadableBytes;
    expect(skipped).toBeGreaterThan(0);
    expect(listed.stderr).toBe(
      `rbl-unlist: warning: ${skipped} bytes of the journal in ${stateDir} could not be read (a write in progress at its end, or corruption; what comes after corrupt bytes is listed)\n`,
    );
    const listing = JSON.parse(listed.stdout) as { pending: { id: string }[]; dead: { id: string }[] };
    expect(listing.dead.map((letter) => letter.id)).toEqual([first, third]);
    expect(listing.pending.map((entry) => entry.id)).toEqual([first, third]);

    const dropped = await queue('drop', first!);
    expect(dropped.status).toBe(0);
    const after = await queue('list', '--json');
    expect(after.stderr).toBe('');
    expect((JSON.parse(after.stdout) as { dead: { id: string }[] }).dead.map((letter) => letter.id)).toEqual([third]);
    // The stretch was saved once, by the drop; the list only read it.
    expect(readdirSync(stateDir).filter((name) => name.startsWith('journal.corrupt-'))).toHaveLength(1);
  });

  it('refuses a job ID that is not a number with exit 2', async () => {
    const result = await queue('retry', 'abc');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^rbl-unlist: RBL_USAGE: queue retry: "abc" is not a job ID/);
  });

  it('hands retry to the running service when it holds the journal', async () => {
    const [id] = await journalJobs(['10.64.3.7']);
    const store = await openStateStore({ dir: stateDir, backends: [fakeBackend('refuser', 'hang'), fakeBackend('slow', 'hang')], maxSessionAgeMs: 60_000, closeGraceMs: 10, requestPollMs: 20 });
    try {
      const result = await queue('retry', '--json', id!);
      expect(result.status).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, action: 'retry', count: 1, via: 'service' });
      expect(store.deadLetterCount()).toBe(0);
    } finally {
      await store.close();
    }
  });

  it.each([
    ['does not exist', (): string => join(dir, 'missing')],
    ['cannot be one', (): string => '/proc/x'],
  ])('list, retry and drop fail at once with RBL_STATE_DIR, exit 1, when state.dir %s', async (_, where) => {
    const missing = where();
    writeFileSync(configFile, cliConfigYaml({ stateDir: missing, pools: ['10.64.0.0/16'], backends: [{ server: '127.0.0.1:9', zones: ['rbl.example.net'], keyFile: 'tsig.key' }] }));
    for (const args of [['list'], ['retry'], ['drop', '--all']]) {
      const result = await queue(...args);
      expect(result.status).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain(`RBL_STATE_DIR: state.dir ${missing} cannot be used: it does not exist`);
    }
  });

  it('lists each pending delivery with its failed attempts, last error code and next try while the service runs', async () => {
    mkdirSync(stateDir);
    const timeout = new RblError('RBL_DNS_TIMEOUT', '127.0.0.1:9 did not answer', { transient: true });
    const failing: Backend = { ...fakeBackend('slow', 'hang'), unlist: () => Promise.reject(timeout) };
    const retries: number[] = [];
    const store = await openStateStore({
      dir: stateDir,
      backends: [failing],
      maxSessionAgeMs: 60_000,
      closeGraceMs: 10,
      requestPollMs: 20,
      backoff: { baseMs: 60_000, maxMs: 60_000 },
      onEvent: (event) => {
        if (event.type === 'retry-scheduled') retries.push(event.attempt);
      },
    });
    try {
      const commit = store.commit({ unlist: { targets: ['10.64.3.9'], reason: { event: 'stop', client: 'ras1', nas: '192.0.2.10' }, createdAt: Date.now() } });
      await commit.recorded;
      while (retries.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      const json = await queue('list', '--json');
      expect(json.status).toBe(0);
      const listing = JSON.parse(json.stdout) as { live: boolean; pending: { id: string; attempts: number; lastCode: string; nextTryAt: number }[] };
      expect(listing.live).toBe(true);
      expect(listing.pending).toHaveLength(1);
      expect(listing.pending[0]).toMatchObject({ id: commit.jobId, attempts: 1, lastCode: 'RBL_DNS_TIMEOUT' });
      expect(listing.pending[0]!.nextTryAt).toBeGreaterThan(Date.now() + 20_000);
      const text = await queue('list');
      expect(text.stdout).toMatch(/10\.64\.3\.9 .* 1 failed attempt \(last RBL_DNS_TIMEOUT\)\s+next try \d{4}-\d\d-\d\dT/);
      expect(text.stdout).not.toContain('service is not running');
    } finally {
      await store.close();
    }
    const stopped = await queue('list');
    expect(stopped.stdout).toContain('(the service is not running: attempts, last error and next try are unknown)');
  });

  it('lists from the journal with a warning when the running service does not answer', async () => {
    const [id] = await journalJobs(['10.64.3.8']);
    const store = await openStateStore({ dir: stateDir, backends: [fakeBackend('refuser', 'hang'), fakeBackend('slow', 'hang')], maxSessionAgeMs: 60_000, closeGraceMs: 10, requestPollMs: 3_600_000 });
    try {
      const result = await queue('list', '--json');
      expect(result.status).toBe(0);
      expect(result.stderr).toMatch(/^rbl-unlist: warning: the running service did not answer within 5 s.*; attempts, last error and next try are unknown\n$/);
      expect(JSON.parse(result.stdout)).toMatchObject({ live: false, pending: [{ id, backend: 'slow' }] });
    } finally {
      await store.close();
    }
  }, 20_000);
});
