/**
 * Durations as the config writes them: a number of seconds, or text such as "250ms", "5s", "10m".
 * A leaf module, so the config schema and every backend's own schema can share it without a cycle.
 */
import { z } from 'zod';

/** A duration: a number of seconds, or text such as "250ms", "5s", "10m", "1h", "7d". */
export const duration = z.union([z.number().nonnegative(), z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/, 'a duration such as "5s", "250ms", "10m", "7d"')]);

/** Milliseconds in a duration value of the schema. */
export function durationMs(value: number | string): number {
  if (typeof value === 'number') return value * 1000;
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(value);
  if (!match) throw new Error(`bad duration ${value}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}
