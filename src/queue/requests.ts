/**
 * How `queue retry|drop` reaches a running service: the CLI writes a request file into
 * `<state.dir>/requests/` (written aside, then renamed, so it is never read half-written); the
 * service polls the folder, claims a request by renaming it `.taken`, applies it through its
 * journal, answers with a reply file and removes the `.taken`. A service that dies in between leaves
 * the `.taken`: the next one applies it, or, past REQUEST_MAX_AGE_MS, removes it and says so.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RblError } from '../errors.js';
import type { DeliveryAttempt } from './attempts.js';
import { requireStateDirOwner, STATE_DIR_MODE } from './state-dir.js';
import { STATE_FILE_MODE } from './state-files.js';

export const REQUESTS_FOLDER = 'requests';
/** Endings of a request's files: written by the command, claimed by the service, its answer. */
const REQUEST = '.request';
const TAKEN = '.taken';
const REPLY = '.reply';
/**
 * A request older than this, waiting or left taken by a service that died, is not applied but
 * removed: the command that wrote it stopped waiting long ago (Ctrl-C, a service that was stalled),
 * and `drop --all` applied an hour later is not what anyone asked for any more.
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
  const file = join(folder, `${name}${REQUEST}`);
  await writeFile(`${file}.tmp`, JSON.stringify(request), { mode: STATE_FILE_MODE });
  await rename(`${file}.tmp`, file);
  const replyFile = join(folder, `${name}${REPLY}`);
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
  // Gone means taken: the service is applying it (on a slow or hung disk, say) and will finish;
  // should it die first, the next service applies it (RequestServer). Still there, it was never
  // read, and removing it makes sure it never is.
  const taken = await unlink(file).then(
    () => false,
    (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
  );
  const seconds = Math.round(timeoutMs / 1000);
  if (taken) {
    throw new UnansweredRequest(
      `the running service took the request but did not finish it within ${seconds} s (a slow or hung disk?): it applies it when it can, or, should it stop first, when it starts again within a minute of the request (later, it logs the request as not applied); \`rbl-unlist queue list\` shows the outcome`,
      join(folder, `${name}${TAKEN}`),
    );
  }
  throw new UnansweredRequest(`the running service did not answer within ${seconds} s, and nothing was applied; check that it is healthy (it polls ${folder})`);
}

/** The service holding the lock did not answer a request in time (it may have died holding it). */
export class UnansweredRequest extends RblError {
  /**
   * @param takenFile the request as the service took it (`.taken`), when it did: what a service
   *   started later applies, unless whoever applies it instead removes it first.
   */
  constructor(
    message: string,
    readonly takenFile?: string,
  ) {
    super('RBL_STATE_DIR', message);
  }
}

/**
 * A request that a service took and stopped before answering (it died: crash, kill -9, OOM), found
 * too old to apply: it was removed, not applied, and the operator must be told so.
 */
export interface AbandonedRequest {
  /** Undefined when its file could not be read as a request. */
  readonly request: AdminRequest | undefined;
  /** Epoch ms the command wrote it, from its name; undefined when the name holds no time. */
  readonly writtenAt: number | undefined;
}

/**
 * Service side: applies the requests in `<state.dir>/requests/` with `apply` and writes each reply;
 * tells `notApplied` of each retry or drop a gone service left too old to apply, once removed. One
 * per service, polled on a timer: it knows which `.taken` files are its own, being applied now.
 */
export class RequestServer {
  readonly #folder: string;
  readonly #apply: (request: AdminRequest) => Promise<AdminReply>;
  readonly #notApplied: (left: AbandonedRequest) => void;
  /**
   * The requests (by name, without the ending) this process has taken and not finished. Only the
   * state.dir lock's holder takes requests, so every other `.taken` was left by a service that is
   * gone: it took the request and died before answering.
   */
  readonly #applying = new Set<string>();

  constructor(dir: string, apply: (request: AdminRequest) => Promise<AdminReply>, notApplied: (left: AbandonedRequest) => void) {
    this.#folder = join(dir, REQUESTS_FOLDER);
    this.#apply = apply;
    this.#notApplied = notApplied;
  }

  /** Applies every waiting request, and every one a gone service left taken that is young enough. */
  async poll(): Promise<void> {
    let all: string[];
    try {
      all = await readdir(this.#folder);
    } catch {
      return;
    }
    // What a command killed mid-way, or one that stopped waiting, left: a half-written request, a
    // reply nobody read. Every name starts with the time it was written.
    for (const name of all) {
      if (name.endsWith(REQUEST) || name.endsWith(TAKEN) || !(ageOf(name) > REQUEST_MAX_AGE_MS)) continue;
      await unlink(join(this.#folder, name)).catch(() => undefined);
    }
    // Oldest first, whether waiting or left taken.
    for (const name of all.filter((name) => name.endsWith(REQUEST) || name.endsWith(TAKEN)).sort()) {
      if (name.endsWith(REQUEST)) await this.#takeWaiting(name.slice(0, -REQUEST.length));
      else await this.#takeLeft(name.slice(0, -TAKEN.length), all);
    }
  }

  async #takeWaiting(stem: string): Promise<void> {
    const file = join(this.#folder, `${stem}${REQUEST}`);
    // A request without its time (not written by sendRequest) is not applied either.
    if (!(ageOf(stem) <= REQUEST_MAX_AGE_MS)) {
      await unlink(file).catch(() => undefined);
      return;
    }
    this.#applying.add(stem);
    try {
      // Claimed by its rename before it is applied: a command that stops waiting meanwhile finds it
      // gone and says it is being applied, not that nothing was (sendRequest).
      try {
        await rename(file, join(this.#folder, `${stem}${TAKEN}`));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      await this.#answer(stem);
    } finally {
      this.#applying.delete(stem);
    }
  }

  /** A `.taken` request: this process's own, being applied, is left to it; one a gone service left is applied, or reported when too old. */
  async #takeLeft(stem: string, all: readonly string[]): Promise<void> {
    if (this.#applying.has(stem)) return;
    const taken = join(this.#folder, `${stem}${TAKEN}`);
    this.#applying.add(stem);
    try {
      // Its service answered, and died before it removed the request: it was applied.
      if (all.includes(`${stem}${REPLY}`)) {
        await unlink(taken).catch(() => undefined);
        return;
      }
      // Young enough that the command may still wait for the reply, or has just told the operator
      // that the service applies it. Its service may have applied it already, if it died between
      // the journal's write and the reply: applying it again is harmless (Store.applyAdmin).
      if (ageOf(stem) <= REQUEST_MAX_AGE_MS) {
        await this.#answer(stem);
        return;
      }
      const text = await readFile(taken, 'utf8').catch(ignoreGone);
      if (text === undefined) return;
      if ((await unlink(taken).then(() => true, ignoreGone)) === undefined) return;
      let request: AdminRequest | undefined;
      try {
        request = parseRequest(text);
      } catch {
        request = undefined;
      }
      // A listing nobody waits for any more is not worth a word.
      if (request?.action === 'list') return;
      const writtenAt = timeOf(stem);
      this.#notApplied({ request, writtenAt: Number.isNaN(writtenAt) ? undefined : writtenAt });
    } finally {
      this.#applying.delete(stem);
    }
  }

  /**
   * Applies a `.taken` request, writes its reply, and removes it, even when no reply could be
   * written: it was applied, and left there it would pass for one a gone service left.
   */
  async #answer(stem: string): Promise<void> {
    const taken = join(this.#folder, `${stem}${TAKEN}`);
    // Gone: the command applied it itself, having found the service that took it gone (admin.ts).
    const text = await readFile(taken, 'utf8').catch(ignoreGone);
    if (text === undefined) return;
    let reply: AdminReply;
    try {
      reply = await this.#apply(parseRequest(text));
    } catch (error) {
      reply = { count: 0, notFound: [], error: (error as Error).message };
    }
    try {
      const replyFile = join(this.#folder, `${stem}${REPLY}`);
      await writeFile(`${replyFile}.tmp`, JSON.stringify(reply), { mode: STATE_FILE_MODE });
      await rename(`${replyFile}.tmp`, replyFile);
    } finally {
      await unlink(taken).catch(() => undefined);
    }
  }
}

/** undefined for a file that is gone (ENOENT); any other error is thrown again. */
function ignoreGone(error: NodeJS.ErrnoException): undefined {
  if (error.code === 'ENOENT') return undefined;
  throw error;
}

/** When a file of the folder was written, by the time its name starts with; NaN when it names none. */
function timeOf(name: string): number {
  return Number(name.slice(0, name.indexOf('-')));
}

/** How long ago a file of the folder was written; NaN when its name holds no time. */
function ageOf(name: string): number {
  return Date.now() - timeOf(name);
}

function parseRequest(text: string): AdminRequest {
  const value = JSON.parse(text) as { action?: unknown; ids?: unknown };
  if (value.action !== 'retry' && value.action !== 'drop' && value.action !== 'list') throw new Error(`unknown action ${String(value.action)}`);
  if (value.ids !== undefined && !(Array.isArray(value.ids) && value.ids.every((id) => typeof id === 'string'))) throw new Error('ids must be a list of strings');
  return { action: value.action, ids: value.ids as string[] | undefined };
}
