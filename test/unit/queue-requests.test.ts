/**
 * `queue retry|drop` hand their request to the running service through files in state.dir. A
 * command that stops waiting says truly whether the service has the request (it is being applied,
 * on a slow disk, and will be) or not (nothing was applied, and now never is). A request the
 * service took and died before answering is applied by the next service, or, once more than a
 * minute old, removed and reported: never silently lost.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { RblError } from '../../src/errors.js';
import { dropDeadLetters, listQueue } from '../../src/queue/admin.js';
import { LOCK_FILE } from '../../src/queue/lock.js';
import { ownIdentity } from '../../src/queue/process-identity.js';
import { REQUEST_MAX_AGE_MS, RequestServer, sendRequest, type AbandonedRequest, type AdminReply, type AdminRequest } from '../../src/queue/requests.js';
import { FakeBackend, useStateDir, waitUntil } from '../helpers/state-store.js';

const state = useStateDir('requests');
const requests = (): string => join(state.dir, 'requests');
/** What RequestServer said it removed unapplied, in this test. */
let abandoned: AbandonedRequest[];
const notApplied = (left: AbandonedRequest): void => void abandoned.push(left);
beforeEach(() => {
  abandoned = [];
});
/** One poll of the requests by a service just started, applying them with `apply`. */
const pollRequests = (apply: (request: AdminRequest) => Promise<AdminReply>): Promise<void> => new RequestServer(state.dir, apply, notApplied).poll();

/** Field 22 of /proc/PID/stat, the process's start, as a lock records it. */
function startOf(pid: number): string {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ')[19]!;
}

/** Writes a request file as a command (`.request`) or a service that took it (`.taken`) left it. */
function leave(name: string, request: AdminRequest): void {
  mkdirSync(requests(), { recursive: true, mode: 0o700 });
  writeFileSync(join(requests(), name), JSON.stringify(request), { mode: 0o600 });
}

/** A journal with one dead letter (bind's zone rbl.example.net refused the delivery), left by a service that is gone. */
async function deadLetterLeft(): Promise<string> {
  const bind = new FakeBackend('bind', ['rbl.example.net']);
  bind.behaviour = () => {
    throw new RblError('RBL_DNS_REFUSED', 'REFUSED by 127.0.0.1:53');
  };
  const store = await state.open({ backends: [bind], maxSessionAgeMs: 86_400_000, requestPollMs: 3_600_000 });
  const commit = store.commit({ unlist: { targets: ['10.64.7.1'], reason: { event: 'stop', client: 'ras1', nas: '192.0.2.10', sessionId: 's1' }, createdAt: Date.now() } });
  await expect(commit.done).rejects.toThrow(RblError);
  await store.close();
  return commit.jobId!;
}

/** The service started again after one died: the lock is free, and it polls requests every 20 ms. */
async function nextService(): Promise<void> {
  await state.open({ backends: [new FakeBackend('bind', ['rbl.example.net'])], maxSessionAgeMs: 86_400_000, requestPollMs: 20 });
}

describe('a queue request the command stops waiting for', () => {
  it('is said to be applied still when the service took it, and the service finishes it', async () => {
    let finish: (reply: AdminReply) => void = () => undefined;
    const applied: AdminRequest[] = [];
    const sent = sendRequest(state.dir, { action: 'drop', ids: ['7'] }, 400);
    const rejected = expect(sent).rejects.toMatchObject({
      code: 'RBL_STATE_DIR',
      message: expect.stringMatching(
        /^the running service took the request but did not finish it within 0 s \(a slow or hung disk\?\): it applies it when it can, or, should it stop first, when it starts again within a minute of the request \(later, it logs the request as not applied\)/,
      ) as unknown,
    });
    // sendRequest makes the folder itself, a moment after it is called.
    await waitUntil(() => existsSync(requests()) && readdirSync(requests()).some((name) => name.endsWith('.request')), 300);
    // The service reads it and is held up applying it (a hung disk) past the command's wait.
    const serving = pollRequests((request) => {
      applied.push(request);
      return new Promise<AdminReply>((resolve) => (finish = resolve));
    });
    await rejected;
    finish({ count: 1, notFound: [] });
    await serving;
    expect(applied).toEqual([{ action: 'drop', ids: ['7'] }]);
  });

  it('is said to be not applied when the service never read it, and is never applied later', async () => {
    await expect(sendRequest(state.dir, { action: 'retry', ids: undefined }, 200)).rejects.toMatchObject({
      code: 'RBL_STATE_DIR',
      message: expect.stringMatching(/^the running service did not answer within 0 s, and nothing was applied/) as unknown,
    });
    const applied: AdminRequest[] = [];
    await pollRequests(async (request) => {
      applied.push(request);
      return { count: 0, notFound: [] };
    });
    expect(applied).toEqual([]);
    expect(readdirSync(requests())).toEqual([]);
  });
});

describe('a queue request a service took and died before answering', () => {
  it('is applied by the next service, which writes the reply a command still waiting reads', async () => {
    const id = await deadLetterLeft();
    const name = `${Date.now()}-4242-0a1b2c3d`;
    leave(`${name}.taken`, { action: 'drop', ids: [id] });

    await nextService();
    // Answered, and the request removed.
    await waitUntil(() => readdirSync(requests()).join() === `${name}.reply`, 5000);
    expect(JSON.parse(readFileSync(join(requests(), `${name}.reply`), 'utf8'))).toEqual({ count: 1, notFound: [] });
    expect(state.events).toContainEqual({ type: 'admin-request', action: 'drop', count: 1 });
    expect((await listQueue(state.dir)).dead).toEqual([]);
  });

  it('is removed and reported, not applied, once more than a minute old', async () => {
    const id = await deadLetterLeft();
    const writtenAt = Date.now() - REQUEST_MAX_AGE_MS - 1000;
    leave(`${writtenAt}-4242-0a1b2c3d.taken`, { action: 'drop', ids: [id] });

    await nextService();
    await waitUntil(() => state.events.some((event) => event.type === 'request-not-applied'), 5000);
    expect(readdirSync(requests())).toEqual([]);
    expect(state.events.filter((event) => event.type === 'request-not-applied' || event.type === 'admin-request')).toEqual([
      { type: 'request-not-applied', request: { action: 'drop', ids: [id] }, writtenAt },
    ]);
    expect((await listQueue(state.dir)).dead.map((letter) => letter.id)).toEqual([id]);
  });

  it('is removed, not applied again, when its service wrote the reply before it died', async () => {
    const name = `${Date.now()}-4242-0a1b2c3d`;
    leave(`${name}.taken`, { action: 'drop', ids: ['7'] });
    writeFileSync(join(requests(), `${name}.reply`), JSON.stringify({ count: 1, notFound: [] }), { mode: 0o600 });
    const applied: AdminRequest[] = [];
    await pollRequests(async (request) => {
      applied.push(request);
      return { count: 0, notFound: ['7'] };
    });
    expect(applied).toEqual([]);
    expect(abandoned).toEqual([]);
    expect(readdirSync(requests())).toEqual([`${name}.reply`]);
    expect(JSON.parse(readFileSync(join(requests(), `${name}.reply`), 'utf8'))).toEqual({ count: 1, notFound: [] });
  });

  it('is applied by the command itself once it finds that service gone, and withdrawn so that no later service applies it again', async () => {
    const id = await deadLetterLeft();
    // The service: a process of this host that holds the lock, takes the request, and is killed.
    const service = spawn('sleep', ['60'], { stdio: 'ignore' });
    const exited = once(service, 'exit');
    let dropped: Promise<unknown>;
    try {
      await once(service, 'spawn');
      const pid = service.pid!;
      writeFileSync(join(state.dir, LOCK_FILE), JSON.stringify({ ...ownIdentity(), pid, start: startOf(pid), nonce: 'theirs', role: 'serve', since: 1, refreshed: Date.now() }));
      dropped = dropDeadLetters(state.dir, [id], { timeoutMs: 1000 });
      await waitUntil(() => existsSync(requests()) && readdirSync(requests()).some((name) => name.endsWith('.request')), 1000);
      const name = readdirSync(requests()).find((name) => name.endsWith('.request'))!;
      renameSync(join(requests(), name), join(requests(), name.replace(/\.request$/, '.taken')));
    } finally {
      service.kill('SIGKILL');
      await exited;
    }

    expect(await dropped).toEqual({ count: 1, notFound: [], via: 'journal' });
    expect(readdirSync(requests())).toEqual([]);
  });

  it('is applied once by the live service\'s next poll, which leaves alone the one that service is still applying', async () => {
    const own = `${Date.now()}-1-00000001`;
    const left = `${Date.now()}-2-00000002`;
    leave(`${own}.request`, { action: 'drop', ids: ['7'] });
    let finish: (reply: AdminReply) => void = () => undefined;
    const applied: AdminRequest[] = [];
    const server = new RequestServer(state.dir, (request) => {
      applied.push(request);
      // The service's own request is held up (a hung disk); what comes after is applied at once.
      return applied.length === 1 ? new Promise<AdminReply>((resolve) => (finish = resolve)) : Promise.resolve({ count: 1, notFound: [] });
    }, notApplied);
    const first = server.poll();
    await waitUntil(() => applied.length === 1, 2000);
    leave(`${left}.taken`, { action: 'retry', ids: ['8'] });

    await server.poll();
    expect(abandoned).toEqual([]);
    expect(applied).toEqual([
      { action: 'drop', ids: ['7'] },
      { action: 'retry', ids: ['8'] },
    ]);
    expect(readdirSync(requests()).sort()).toEqual([`${own}.taken`, `${left}.reply`]);

    finish({ count: 1, notFound: [] });
    await first;
    expect(applied).toHaveLength(2);
    expect(readdirSync(requests()).sort()).toEqual([`${own}.reply`, `${left}.reply`]);
  });
});
