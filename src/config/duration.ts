/**
 * Durations as the config writes them: a number of seconds, or text such as "250ms", "5s", "10m".
 * A leaf module, so the config schema and every backend's own schema can share it without a cycle.
 */
import { z } from 'zod';

/**
 * A duration: a number of seconds, or text such as "250ms", "5s", "10m", "1h", "7d". Every duration
 * of the config is a time-out, an interval or an age, for which zero means nothing useful (a probe
 * every 0 ms, a DNS answer awaited for none): refused here, where check-config sees it.
 */
export const duration = z.union([
  z.number().positive('a duration above zero'),
  z
    .string()
    .regex(/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/, 'a duration such as "5s", "250ms", "10m", "7d"')
    // Run even when the pattern failed: only a number written as zero is judged here.
    .refine((text) => Number(/^\d+(\.\d+)?/.exec(text)?.[0] ?? 1) > 0, 'a duration above zero'),
]);

/** Milliseconds in a duration value of the schema. */
export function durationMs(value: number | string): number {
  if (typeof value === 'number') return value * 1000;
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(value);
  if (!match) throw new Error(`bad duration ${value}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

/** The longest wait Node's timers take (2^31 - 1 ms, 24.8 days): a longer one fires at once. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/**
 * A duration the service waits with a timer (a time-out, a probe interval): at most 24 days, since
 * a longer one would fire at once and, as a backend's timeout, fail every call.
 */
export const timerDuration = duration.refine((value) => {
  try {
    return durationMs(value) <= LONGEST_TIMER_MS;
  } catch {
    // Not a duration at all: said by the union above.
    return true;
  }
}, 'a duration of at most 24 days (24d): a longer wait overflows the timer and ends at once');
