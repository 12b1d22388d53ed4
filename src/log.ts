/**
 * pino JSON lines on stdout. The daemon makes one root logger and a child per component
 * (`component: "radius"`, "queue", "backend", "http"); inner code returns or throws instead of logging.
 */
import { pino, type Logger, type DestinationStream } from 'pino';
import { prettyDestination } from './log-pretty.js';

export type { Logger };

/** log.format: pino JSON lines, or one readable line per entry (src/log-pretty.ts). */
export type LogFormat = 'json' | 'pretty';

/** The root logger at the configured level and format; `destination` lets tests capture lines. */
export function createLogger(level: string, destination?: DestinationStream, format: LogFormat = 'json'): Logger {
  // maxWrite bounds each write(2): sonic-boom re-measures its pending buffer on every line, so a
  // smaller chunk keeps that cost flat under bursts of thousands of lines a second.
  const target = destination ?? pino.destination({ dest: 1, sync: false, maxWrite: 4096 });
  return pino(
    {
      level,
      base: { service: 'rbl-unlist' },
      timestamp: isoTimeOncePerMillisecond(),
      formatters: { level: (label) => ({ level: label }) },
    },
    format === 'pretty' ? prettyDestination(target) : target,
  );
}

/**
 * pino's isoTime, formatted once per millisecond: a burst logs several lines each millisecond, and
 * Date#toISOString was a visible share of the daemon's CPU profile. The text is the same.
 */
function isoTimeOncePerMillisecond(): () => string {
  let formattedAt = Number.NaN;
  let formatted = '';
  return () => {
    const now = Date.now();
    if (now !== formattedAt) {
      formattedAt = now;
      formatted = `,"time":"${new Date(now).toISOString()}"`;
    }
    return formatted;
  };
}

/** Lets at most `perInterval` calls through each `intervalMs`; counts the rest, for rate-limited logs. */
export function rateLimiter(perInterval: number, intervalMs: number): () => { allowed: boolean; suppressed: number } {
  let windowStart = 0;
  let used = 0;
  let suppressed = 0;
  return () => {
    const now = Date.now();
    if (now - windowStart >= intervalMs) {
      windowStart = now;
      used = 0;
    }
    if (used < perInterval) {
      used++;
      const report = suppressed;
      suppressed = 0;
      return { allowed: true, suppressed: report };
    }
    suppressed++;
    return { allowed: false, suppressed: 0 };
  };
}
