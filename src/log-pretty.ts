/**
 * log.format: pretty, for a person at a terminal: each pino JSON line becomes one readable line,
 * `2026-11-29 20:01:02.123 INFO  queue: unlisted client=nas1 addresses=[10.64.0.1] ms=12`, and a
 * packet trace's attributes follow on indented lines as radclient -x prints them. No colours, so
 * the output reads the same in a terminal, a file and `journalctl`. Pure formatting; pino still
 * builds the JSON, so every field the JSON format has is shown.
 */
import type { DestinationStream } from 'pino';
import { printable } from './printable.js';

/** Fields shown in the line's fixed part, not as key=value. */
const FIXED = new Set(['time', 'level', 'msg', 'service', 'component', 'attributes', 'pid', 'hostname']);

/** One pino JSON line as readable text (with its newline); a line that is not JSON is passed through. */
export function prettyLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return `${line.trimEnd()}\n`;
  const time = typeof entry.time === 'string' ? entry.time.replace('T', ' ').replace(/Z$/, '') : '';
  const level = String(entry.level ?? '').toUpperCase().padEnd(5);
  const component = typeof entry.component === 'string' ? `${entry.component}: ` : '';
  const fields = Object.entries(entry)
    .filter(([key, value]) => !FIXED.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${printable(fieldText(key, value))}`);
  // For a terminal: a message, field or packet attribute quoting a subscriber's User-Name or an
  // API's answer shows its control characters escaped (JSON leaves DEL and C1 controls as they are).
  const head = [time, level, `${component}${printable(String(entry.msg ?? ''))}`, ...fields].filter((part) => part !== '').join(' ');
  const attributes = Array.isArray(entry.attributes) ? entry.attributes.map((attribute) => `\t${printable(String(attribute))}\n`).join('') : '';
  return `${head}\n${attributes}`;
}

function fieldText(key: string, value: unknown): string {
  // pino serialises an Error as {type, message, stack}: the message is what a person needs here.
  if (key === 'err' && value !== null && typeof value === 'object' && 'message' in value) return JSON.stringify(String((value as { message: unknown }).message));
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (Array.isArray(value) && value.every((item) => typeof item === 'string' || typeof item === 'number')) return `[${value.join(',')}]`;
  return JSON.stringify(value);
}

/** A pino destination that writes each line to `target` as prettyLine formats it; flush passes through. */
export function prettyDestination(target: DestinationStream & { flush?: (callback?: (error?: Error) => void) => void; flushSync?: () => void }): DestinationStream {
  let pending = '';
  const stream = {
    write(chunk: string): void {
      pending += chunk;
      let newline: number;
      while ((newline = pending.indexOf('\n')) !== -1) {
        target.write(prettyLine(pending.slice(0, newline)));
        pending = pending.slice(newline + 1);
      }
    },
    flush(callback?: (error?: Error) => void): void {
      if (target.flush) target.flush(callback);
      else callback?.();
    },
    flushSync(): void {
      target.flushSync?.();
    },
  };
  return stream;
}
