/**
 * How `queue retry|drop` reaches a running service: the CLI writes a request file into
 * `<state.dir>/requests/` (written aside, then renamed, so it is never read half-written); the
 * service polls the folder, applies the request through its journal, and answers with a reply file.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RblError } from '../errors.js';
import type { DeliveryAttempt } from './attempts.js';
import { STATE_FILE_MODE } from './journal.js';
import { requireStateDirOwner, STATE_DIR_MODE } from './state-dir.js';

export const REQUESTS_FOLDER = 'requests';
/**
 * A request older than this is not applied but removed: the command that wrote it stopped waiting
 * long ago (Ctrl-C, a service that was stalled), and `drop --all` applied an hour later is not what
 * anyone asked for any more.
 */
export const REQUEST_MAX_AGE_MS = 60_000;

/** What the CLI asks of the service: re-drive or drop dead letters, or list what it knows of pending deliveries. */
export interface AdminRequest {
  readonly action: 'retry' | 'drop' | 'list';
  /** Job ids; absent means every dead letter. */
  readonly ids?: readonly string[];
}

/** What was done. */
export interface AdminReply {
  /** Dead-lettered deliveries re-driven or dropped. */
  readonly count: number;
  /** Requested ids that had no dead letter. */
  readonly notFound: readonly string[];
  /** For 'list': each pending delivery's attempts, last error and next try. */
  readonly deliveries?: readonly DeliveryAttempt[];
  readonly error?: string;
}

/** CLI side: writes the request and waits up to timeoutMs for the service's reply. */
export async function sendRequest(dir: string, request: AdminRequest, timeoutMs: number): Promise<AdminReply> {
  await requireStateDirOwner(dir);
  const folder = join(dir, REQUESTS_FOLDER);
  await mkdir(folder, { mode: STATE_DIR_MODE }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  const name = `${Date.now()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  const file = join(folder, `${name}.request`);
  await writeFile(`${file}.tmp`, JSON.stringify(request), { mode: STATE_FILE_MODE });
  await rename(`${file}.tmp`, file);
  const replyFile = join(folder, `${name}.reply`);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const reply = JSON.parse(await readFile(replyFile, 'utf8')) as AdminReply;
      await unlink(replyFile).catch(() => undefined);
      if (reply.error !== undefined) throw new RblError('RBL_STATE_DIR', `the service could not apply the request: ${reply.error}`);
      return reply;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // Gone means taken: the service is applying it (on a slow or hung disk, say) and will finish.
  // Still there, it was never read, and removing it makes sure it never is.
  const taken = await unlink(file).then(
    () => false,
    (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
  );
  const seconds = Math.round(timeoutMs / 1000);
  if (taken) {
    throw new UnansweredRequest(
      `the running service took the request but did not finish it within ${seconds} s (a slow or hung disk?): it applies it when it can; \`rbl-unlist queue list\` shows the outcome`,
    );
  }
  throw new UnansweredRequest(`the running service did not answer within ${seconds} s, and nothing was applied; check that it is healthy (it polls ${folder})`);
}

/** The service holding the lock did not answer a request in time (it may have died holding it). */
export class UnansweredRequest extends RblError {
  constructor(message: string) {
    super('RBL_STATE_DIR', message);
  }
}

/** Service side: applies every waiting request with `apply` and writes each reply. */
export async function serveRequests(dir: string, apply: (request: AdminRequest) => Promise<AdminReply>): Promise<void> {
  const folder = join(dir, REQUESTS_FOLDER);
  let all: string[];
  try {
    all = await readdir(folder);
  } catch {
    return;
  }
  // What a command killed mid-way, or one that stopped waiting, left: a half-written request, a
  // reply nobody read. Every name starts with the time it was written.
  for (const name of all) {
    if (name.endsWith('.request') || !(ageOf(name) > REQUEST_MAX_AGE_MS)) continue;
    await unlink(join(folder, name)).catch(() => undefined);
  }
  const names = all.filter((name) => name.endsWith('.request')).sort();
  for (const name of names) {
    const file = join(folder, name);
    // A request without its time (not written by sendRequest) is not applied either.
    if (!(ageOf(name) <= REQUEST_MAX_AGE_MS)) {
      await unlink(file).catch(() => undefined);
      continue;
    }
    // Claimed by its rename before it is applied: a command that stops waiting meanwhile finds it
    // gone and says it is being applied, not that nothing was (sendRequest).
    const taken = join(folder, name.replace(/\.request$/, '.taken'));
    try {
      await rename(file, taken);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    let reply: AdminReply;
    try {
      reply = await apply(parseRequest(await readFile(taken, 'utf8')));
    } catch (error) {
      reply = { count: 0, notFound: [], error: (error as Error).message };
    }
    const replyFile = join(folder, name.replace(/\.request$/, '.reply'));
    await writeFile(`${replyFile}.tmp`, JSON.stringify(reply), { mode: STATE_FILE_MODE });
    await rename(`${replyFile}.tmp`, replyFile);
    await unlink(taken).catch(() => undefined);
  }
}

/** How long ago a file of the folder was written, by the time its name starts with; NaN when it names none. */
function ageOf(name: string): number {
  return Date.now() - Number(name.slice(0, name.indexOf('-')));
}

function parseRequest(text: string): AdminRequest {
  const value = JSON.parse(text) as { action?: unknown; ids?: unknown };
  if (value.action !== 'retry' && value.action !== 'drop' && value.action !== 'list') throw new Error(`unknown action ${String(value.action)}`);
  if (value.ids !== undefined && !(Array.isArray(value.ids) && value.ids.every((id) => typeof id === 'string'))) throw new Error('ids must be a list of strings');
  return { action: value.action, ids: value.ids as string[] | undefined };
}
