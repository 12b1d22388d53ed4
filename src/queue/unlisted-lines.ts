/**
 * The `unlisted` lines of one delivered batch: one info line per job, with the same fields and text
 * that `log.info({...}, 'unlisted')` writes, but built as one string and handed to the logger's
 * stream in one write. A batch holds up to 500 jobs, and pino's per-call work (walking the object,
 * escaping each value, one stream write per line) was a tenth of the daemon's CPU per Stop
 * (issue 13). The line starts with what pino itself would write (level, time and the child's
 * bindings, from the logger's own caches), so a line reads the same either way; a logger whose
 * output pino post-processes (mixins, hooks, log formatters, nested keys, a stream that needs
 * metadata) gets plain log.info calls instead.
 */
import { pino, type Logger } from 'pino';
import type { UnlistJob } from './state.js';

const symbols = pino.symbols;

/** The pino state a batched line is built from; read through pino.symbols, pino's interface for integrations. */
interface PinoParts {
  readonly [symbols.lsCacheSym]?: Record<number, string>;
  readonly [symbols.timeSym]?: () => string;
  readonly [symbols.chindingsSym]?: string;
  readonly [symbols.endSym]?: string;
  readonly [symbols.streamSym]?: { write(chunk: string): unknown; readonly [symbols.needsMetadataGsym]?: boolean };
  readonly [symbols.mixinSym]?: unknown;
  readonly [symbols.hooksSym]?: { readonly streamWrite?: unknown };
  readonly [symbols.formattersSym]?: { readonly log?: unknown };
  readonly [symbols.nestedKeySym]?: unknown;
  readonly [symbols.messageKeySym]?: string;
}

/** Writes the `unlisted` lines of jobs delivered together in one backend and zone at `at` (epoch ms). */
export type UnlistedLineWriter = (backend: string, zone: string, jobs: readonly UnlistJob[], at: number) => void;

/** The writer for `log` (the queue component's logger); nothing is written when info is off. */
export function unlistedLineWriter(log: Logger): UnlistedLineWriter {
  const parts = log as unknown as PinoParts;
  const stream = parts[symbols.streamSym];
  const time = parts[symbols.timeSym];
  const end = parts[symbols.endSym];
  const direct =
    !parts[symbols.mixinSym] &&
    !parts[symbols.hooksSym]?.streamWrite &&
    !parts[symbols.formattersSym]?.log &&
    !parts[symbols.nestedKeySym] &&
    parts[symbols.messageKeySym] === 'msg' &&
    typeof end === 'string' &&
    typeof time === 'function' &&
    stream !== undefined &&
    stream[symbols.needsMetadataGsym] !== true;
  if (!direct) return (backend, zone, jobs, at) => logEach(log, backend, zone, jobs, at);

  return (backend, zone, jobs, at) => {
    if (!log.isLevelEnabled('info')) return;
    const level = parts[symbols.lsCacheSym]?.[log.levels.values.info!];
    if (level === undefined) return logEach(log, backend, zone, jobs, at);
    // Read per batch: the level, the bindings and the time are the logger's as they are now.
    const head = `${level}${time.call(log)}${parts[symbols.chindingsSym] ?? ''}`;
    const place = `,"backend":${jsonString(backend)},"zone":${jsonString(zone)},"ms":`;
    // Joined once, not concatenated: the stream measures the text, and a concatenation is a rope
    // that measuring copies into a flat string first.
    const lines = new Array<string>(jobs.length);
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i]!;
      const { reason } = job;
      // Client, NAS and session id come from packets: escaped as pino would.
      const session = reason.sessionId === undefined ? '' : `,"session":${jsonString(reason.sessionId)}`;
      lines[i] =
        `${head},"client":${jsonString(reason.client)},"nas":${jsonString(reason.nas)}${session},"event":${jsonString(reason.event)}` +
        `,"addresses":${jsonStrings(job.targets)},"job":${jsonString(job.id)}${place}${at - job.createdAt},"msg":"unlisted"${end}`;
    }
    const text = lines.join('');
    if (text !== '') stream.write(text);
  };
}

/** Characters a JSON string holds as they are: printable ASCII but the quote and the backslash. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * The text as a JSON string, as JSON.stringify writes it. Nearly every text is plain (addresses,
 * NAS names, session ids), and testing for that costs less than the escaping pass.
 */
function jsonString(text: string): string {
  return PLAIN.test(text) ? `"${text}"` : JSON.stringify(text);
}

/** The texts as a JSON array of strings, as JSON.stringify writes it; a job mostly has one. */
function jsonStrings(texts: readonly string[]): string {
  return texts.length === 1 ? `[${jsonString(texts[0]!)}]` : JSON.stringify(texts);
}

/** The same lines through pino, one call each. */
function logEach(log: Logger, backend: string, zone: string, jobs: readonly UnlistJob[], at: number): void {
  if (!log.isLevelEnabled('info')) return;
  for (const job of jobs) log.info({ ...jobLogFields(job), backend, zone, ms: at - job.createdAt }, 'unlisted');
}

/** The fields that tie a job's lines to the event that made it. */
export function jobLogFields(job: UnlistJob): Record<string, unknown> {
  return { client: job.reason.client, nas: job.reason.nas, session: job.reason.sessionId, event: job.reason.event, addresses: job.targets, job: job.id };
}
