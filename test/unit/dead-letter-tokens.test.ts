/**
 * Dead letters that 0.1 journaled may carry an HTTP backend's token in a URL query string (0.1 did
 * not redact its error messages). Wherever such a message is shown again (`queue list` in text and
 * JSON, GET /addresses/ADDRESS and so `rbl-unlist why`), the token is REDACTED; the rest of the
 * message, which says where the request went and what came back, stays. The service that opens
 * such a state.dir compacts its journal at once, so the file no longer holds the token either.
 * 0.2 and 0.3 journaled a password holding a raw @ or a space in part or whole: the same holds.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addressReport } from '../../src/http/address-view.js';
import { AddressHistory } from '../../src/http/address-history.js';
import { listQueue } from '../../src/queue/admin.js';
import type { Backend } from '../../src/backends/types.js';
import type { QueueEvent } from '../../src/queue/events.js';
import { openStateStore } from '../../src/queue/store-open.js';
import { cliConfigYaml, runCliCaptured, writeKeyFile } from '../helpers/cli.js';
import { tempDir, waitFor } from '../helpers/peers.js';
import { appendOldDeadLetter, copyFixtureState, filesText } from '../helpers/old-state.js';

const TOKEN = 'tok-5e1f-0a77';
/** A 0.1 dead-letter message: the HTTP backend's URL as configured, token and all. */
const MESSAGE_0_1 = `api: GET https://rbl.example.net/v1/delist?ip=10.64.0.23&api_key=${TOKEN}: 403 "forbidden"`;
// The redaction takes a URL in text up to white space, so the colon after the token goes with it.
const SHOWN = 'api: GET https://rbl.example.net/v1/delist?ip=10.64.0.23&api_key=REDACTED 403 "forbidden"';

/** The fixture's backend and zone, configured but never answering: its pending unlists stay pending. */
const HANGING_BIND: Backend = {
  name: 'bind',
  zones: ['rbl.test'],
  unlist: () => new Promise<void>(() => undefined),
  check: () => Promise.reject(new Error('not used')),
  probe: () => Promise.resolve(),
  describe: () => '',
  close: () => Promise.resolve(),
};
/** Sessions of the fixture never expire here. */
const TEN_YEARS_MS = 10 * 365 * 24 * 3_600_000;

let temp: { dir: string; remove: () => void };
let stateDir: string;

beforeEach(() => {
  temp = tempDir('dead-letter-tokens');
  // What 0.1 left (test/fixtures/state-0.1), then the dead letter 0.1 journaled for its job 3.
  stateDir = copyFixtureState('state-0.1', temp.dir);
  appendOldDeadLetter(stateDir, MESSAGE_0_1);
});

afterEach(() => temp.remove());

describe('a 0.1 dead letter with a token in its message', () => {
  it('is listed by queue list with the token REDACTED, in text and in JSON', async () => {
    const listing = await listQueue(stateDir);
    expect(listing.dead).toEqual([expect.objectContaining({ id: '3', backend: 'bind', zone: 'rbl.test', code: 'RBL_HTTP_STATUS', message: SHOWN })]);

    writeKeyFile(temp.dir, 'tsig.key');
    const config = join(temp.dir, 'config.yaml');
    writeFileSync(config, cliConfigYaml({ pools: ['10.64.0.0/16'], backends: [{ server: '127.0.0.1:9', zones: ['rbl.test'], keyFile: 'tsig.key', name: 'bind' }], stateDir }));
    for (const args of [['queue', 'list', '--config', config], ['queue', 'list', '--json', '--config', config]]) {
      const result = await runCliCaptured(args);
      expect(result.stdout + result.stderr).not.toContain(TOKEN);
      expect(result.stdout).toContain('api_key=REDACTED');
    }
  });

  it('is shown by GET /addresses/ADDRESS (rbl-unlist why) with the token REDACTED', async () => {
    const store = await openStateStore({ dir: stateDir, backends: [], maxSessionAgeMs: 60_000, closeGraceMs: 10 });
    try {
      const report = addressReport('10.64.0.23', { sessions: store.sessions, jobsMatching: (matches) => store.jobsMatching(matches), history: new AddressHistory() });
      expect(report.dead_letters).toEqual([expect.objectContaining({ job: '3', code: 'RBL_HTTP_STATUS', message: SHOWN })]);
      expect(JSON.stringify(report)).not.toContain(TOKEN);
    } finally {
      await store.close();
    }
  });

  it('leaves the disk: the store compacts the journal as it opens, and keeps every job, dead letter and session', async () => {
    expect(filesText(stateDir)).toContain(TOKEN);
    const before = await listQueue(stateDir);
    const events: QueueEvent[] = [];
    const store = await openStateStore({ dir: stateDir, backends: [HANGING_BIND], maxSessionAgeMs: TEN_YEARS_MS, closeGraceMs: 10, onEvent: (event) => events.push(event) });
    let sessions: number;
    try {
      expect(events).toContainEqual({ type: 'dead-letters-redacted', file: join(stateDir, 'journal'), count: 1 });
      await waitFor('the compaction at start', () => events.some((event) => event.type === 'journal-compacted'), 10_000, 10);
      expect(filesText(stateDir)).not.toContain(TOKEN);
      sessions = store.sessions.size;
      expect(sessions).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
    // Nothing else changed: the same pending unlists and dead letters (the message as shown before), and the same sessions.
    expect(await listQueue(stateDir)).toEqual(before);
    expect(before.dead).toEqual([expect.objectContaining({ message: SHOWN })]);
    const reopened = await openStateStore({ dir: stateDir, backends: [HANGING_BIND], maxSessionAgeMs: TEN_YEARS_MS, closeGraceMs: 10, onEvent: (event) => events.push(event) });
    try {
      expect(reopened.sessions.size).toBe(sessions);
    } finally {
      await reopened.close();
    }
    // Once the file is clean, opening it again neither warns nor compacts.
    expect(events.filter((event) => event.type === 'dead-letters-redacted')).toHaveLength(1);
    expect(events.filter((event) => event.type === 'journal-compacted')).toHaveLength(1);
  });
});

describe('a compaction at start that fails (a full disk)', () => {
  it('is tried again after the pause until the token has left the disk, with no write to start it, and then no more', async () => {
    // A folder where the compacted file goes: opening it fails (EISDIR) as on a full disk.
    const blocker = join(stateDir, 'journal.compact');
    mkdirSync(blocker);
    const events: QueueEvent[] = [];
    const store = await openStateStore({ dir: stateDir, backends: [HANGING_BIND], maxSessionAgeMs: TEN_YEARS_MS, closeGraceMs: 10, compactionRetryMs: 50, onEvent: (event) => events.push(event) });
    const compactionErrors = (): QueueEvent[] => events.filter((event) => event.type === 'journal-error' && event.writable && /cannot compact/.test(event.error.message));
    try {
      await waitFor('two failed compactions', () => compactionErrors().length >= 2, 10_000, 10);
      expect(compactionErrors()[0]).toMatchObject({ error: { message: expect.stringContaining('the next try is in 0.05 s') } });
      expect(filesText(stateDir)).toContain(TOKEN);
      expect(store.health()).toEqual({ writable: true });

      rmdirSync(blocker);
      await waitFor('the compaction once the disk has room', () => events.some((event) => event.type === 'journal-compacted'), 10_000, 10);
      expect(filesText(stateDir)).not.toContain(TOKEN);
      const failed = compactionErrors().length;
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(events.filter((event) => event.type === 'journal-compacted')).toHaveLength(1);
      expect(compactionErrors()).toHaveLength(failed);
    } finally {
      await store.close();
    }
  });
});

describe('a 0.2 dead letter with a password that holds a raw @ or a space', () => {
  const PASSWORD_PART = 'ss-5e1f-0a77';
  /** As 0.2 journaled them: cut at the first @, and whole when the password held a space. */
  const MESSAGES_0_2 = [
    `api: DELETE http://alice:REDACTED@${PASSWORD_PART}@127.0.0.1:8080/v1/3.0.64.10.rbl.test: 500 "down"`,
    `api: DELETE http://alice:pa ${PASSWORD_PART}@127.0.0.1:8080/v1/3.0.64.10.rbl.test: 500 "down"`,
  ];
  const SHOWN_0_2 = 'api: DELETE http://alice:REDACTED@127.0.0.1:8080/v1/3.0.64.10.rbl.test: 500 "down"';

  it.each(MESSAGES_0_2)('is shown REDACTED and leaves the disk as the store opens: %s', async (message) => {
    const dir = tempDir('dead-letter-password');
    try {
      const state = copyFixtureState('state-0.2', dir.dir);
      appendOldDeadLetter(state, message);
      expect((await listQueue(state)).dead).toEqual([expect.objectContaining({ id: '3', message: SHOWN_0_2 })]);

      const events: QueueEvent[] = [];
      const store = await openStateStore({ dir: state, backends: [HANGING_BIND], maxSessionAgeMs: TEN_YEARS_MS, closeGraceMs: 10, onEvent: (event) => events.push(event) });
      try {
        expect(events).toContainEqual({ type: 'dead-letters-redacted', file: join(state, 'journal'), count: 1 });
        await waitFor('the compaction at start', () => events.some((event) => event.type === 'journal-compacted'), 10_000, 10);
        expect(filesText(state)).not.toContain(PASSWORD_PART);
      } finally {
        await store.close();
      }
      expect((await listQueue(state)).dead).toEqual([expect.objectContaining({ id: '3', message: SHOWN_0_2 })]);
    } finally {
      dir.remove();
    }
  });
});
