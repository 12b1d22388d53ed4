/**
 * What the commands write: human lines by default, one JSON document with --json, and errors on
 * stderr as `rbl-unlist: CODE: message`. No command writes to process.stdout directly, so
 * `runCli` can be driven in-process by tests.
 */
import { RblError } from '../errors.js';
import { printable, printableLines } from '../printable.js';

/** Where output goes; process.stdout, process.stderr and process.env in the real program. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: NodeJS.ProcessEnv;
  /** Where `serve` listens for SIGTERM, SIGINT and SIGHUP; process by default. */
  readonly signals?: SignalSource;
}

/** The part of `process` that `serve` needs for signals. */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  off(signal: NodeJS.Signals, listener: () => void): unknown;
}

/**
 * Runs a command's body: records the exit status it returns, or reports what it threw
 * (`rbl-unlist: CODE: message`, and the JSON error document with --json) and records exitStatusFor.
 */
export type CommandRunner = (body: () => Promise<number>, json?: boolean) => Promise<void>;

/** An error as scripts see it in --json output. */
export interface ErrorReport {
  readonly code: string;
  readonly message: string;
}

/** The code and message of any thrown value: an RblError's code, a Node error's code, else ERROR. */
export function errorReport(error: unknown): ErrorReport {
  if (error instanceof RblError) return { code: error.code, message: error.message };
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { code: typeof code === 'string' ? code : 'ERROR', message: error.message };
  }
  return { code: 'ERROR', message: String(error) };
}

/** `rbl-unlist: CODE: message`, with an optional prefix naming where it happened (backend, zone). */
export function errorLine(error: unknown, where?: string): string {
  const { code, message } = errorReport(error);
  return `rbl-unlist: ${code}: ${where ? `${where}: ` : ''}${message}`;
}

/**
 * Writes one line to stdout. Its control characters are shown escaped (`\x1b`): a line shows what
 * others chose (a User-Name, an Acct-Session-Id, a TXT reason, a server's error), and a newline or a
 * terminal escape in one must not forge a line of the report or drive the operator's terminal.
 */
export function printLine(io: CliIo, text = ''): void {
  io.stdout.write(`${printable(text)}\n`);
}

/** Writes text of this program's own making as it is, newlines and all (an nsupdate script). */
export function printText(io: CliIo, text: string): void {
  io.stdout.write(text);
}

/**
 * Writes one line to stderr. An error quotes what it met (an API's answer, a DNS name): its
 * control characters are shown escaped, as printLine's are; a line feed of a message of several
 * lines stays.
 */
export function printErrorLine(io: CliIo, text: string): void {
  io.stderr.write(`${printableLines(text)}\n`);
}

/** Writes the one JSON document of a --json run. */
export function printJson(io: CliIo, document: unknown): void {
  io.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
}

/**
 * Reports an error that ends the command: always on stderr, and with --json also as
 * `{"ok": false, "error": {...}}` on stdout so a script still gets one document.
 */
export function reportFatal(io: CliIo, error: unknown, json: boolean): void {
  printErrorLine(io, errorLine(error));
  if (json) printJson(io, { ok: false, error: errorReport(error) });
}

/** Pads each column of the rows to the widest cell, for dig-like aligned output. */
export function alignColumns(rows: readonly (readonly string[])[], indent = ''): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  '));
}
