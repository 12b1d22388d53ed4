/**
 * A start on a full state.dir waits for space instead of failing. A running service rides out a
 * full disk (the journal refuses writes, nothing is acknowledged, it resumes by itself); a start
 * needs a little space too (the lock file, the journal's header, the torn tail saved aside), and
 * failing it made systemd give up after a few tries (Restart=on-failure stops at its start limit),
 * so the service stayed down once the disk had room again, and the NASes gave up their Stops.
 */

/** Error codes of a file system without room: full (ENOSPC), or the user's quota spent (EDQUOT). */
const OUT_OF_SPACE = new Set(['ENOSPC', 'EDQUOT']);

/** The out-of-space code an error or one of its causes carries, if any. */
export function outOfSpaceCode(error: unknown): string | undefined {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 8; cause = cause.cause, depth++) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code !== undefined && OUT_OF_SPACE.has(code)) return code;
  }
  return undefined;
}

export interface WaitForSpaceOptions {
  /** Told each time an attempt failed for want of space, with the error and how many failed so far. */
  readonly onFull: (error: Error, code: string, failures: number) => void;
  /** Whether to stop trying (the service is closing): the last error is thrown. */
  readonly abandoned: () => boolean;
  /** Between attempts; default 2 s. */
  readonly retryMs?: number;
  /** Cuts the wait between attempts short (a stop signal); `abandoned` then decides. */
  readonly signal?: AbortSignal;
}

/** Waits `ms`, or less when `signal` aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Runs `open` until it succeeds or fails for another reason than space. */
export async function openWaitingForSpace<T>(open: () => Promise<T>, options: WaitForSpaceOptions): Promise<T> {
  for (let failures = 1; ; failures++) {
    try {
      return await open();
    } catch (error) {
      const code = outOfSpaceCode(error);
      if (code === undefined || options.abandoned()) throw error;
      options.onFull(error as Error, code, failures);
      await pause(options.retryMs ?? 2000, options.signal);
      if (options.abandoned()) throw error;
    }
  }
}
