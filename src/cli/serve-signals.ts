/**
 * The signals of `rbl-unlist serve`, handled from before the daemon starts: SIGTERM and SIGINT
 * close it (after the start, when they land during it), SIGHUP reloads the config (after the start,
 * likewise). The exit comes within FORCED_EXIT_MS of a stop signal whatever the daemon does.
 */
import { BACKENDS } from '../backends/index.js';
import { loadConfig, type Config } from '../config/load.js';
import type { Logger } from '../log.js';
import { errorReport, type SignalSource } from './output.js';

/** How long close() may take after SIGTERM before the process exits anyway. */
export const FORCED_EXIT_MS = 10_000;

/**
 * The error object (stack and causes) for the log only at debug: at info the message already says
 * what is wrong and what to do, and pino's serializer would repeat the cause after it.
 */
export function stackAtDebug(logger: Logger, error: unknown): { err?: unknown } {
  return logger.isLevelEnabled('debug') ? { err: error } : {};
}

/** What the signals act on: the daemon. */
export interface Reloadable {
  close(): Promise<void>;
  reload(config: Config): Promise<void>;
  /** A stop was asked for while it starts: a start that waits (for room on a full disk) gives up. */
  interruptStart(): void;
}

/** What `serve` tells the signal handling, and learns from it, around the daemon's start. */
export interface SignalControl {
  /** The daemon is up: a stop asked for while it started begins now. Resolves with the exit status. */
  started(): Promise<number>;
  /** Resolves with exit status 1 if a stop was asked for and the start did not end within FORCED_EXIT_MS. */
  readonly abandoned: Promise<number>;
  /** Removes the listeners (the start failed). */
  detach(): void;
  /** The stop signal received while starting, if any: a start that then fails was asked to stop. */
  stopAsked(): NodeJS.Signals | undefined;
}

/** Listens for SIGTERM, SIGINT and SIGHUP on `signals` until the daemon has closed or the start failed. */
export function handleSignals(signals: SignalSource, logger: Logger, file: string, daemon: Reloadable): SignalControl {
  let running = false;
  let stopAsked: NodeJS.Signals | undefined;
  let reloadAsked = false;
  let closing = false;
  let settled = false;
  let forced: NodeJS.Timeout | undefined;
  // SIGHUPs are handled one after another, so two quick reloads never interleave.
  let reloading: Promise<void> = Promise.resolve();
  let resolveStatus!: (status: number) => void;
  const status = new Promise<number>((resolve) => (resolveStatus = resolve));
  let resolveAbandoned!: (status: number) => void;
  const abandoned = new Promise<number>((resolve) => (resolveAbandoned = resolve));

  const reload = (): void => {
    // SIGHUP's default action ends the process: a `systemctl reload` that lands while the journal
    // is still being replayed must not stop the service. The start read the config before the
    // file changed, so the reload follows the start.
    if (!running) {
      if (!stopAsked && !reloadAsked) logger.info('SIGHUP while starting: reloading the config as soon as started');
      reloadAsked = true;
      return;
    }
    reloading = reloading.then(async () => {
      if (closing) return;
      let next: Config;
      try {
        next = loadConfig(file, BACKENDS);
      } catch (error) {
        logger.error({ code: errorReport(error).code, ...stackAtDebug(logger, error) }, `config reload refused: ${errorReport(error).message}; keeping the running config`);
        return;
      }
      try {
        await daemon.reload(next);
      } catch (error) {
        logger.error({ code: errorReport(error).code, ...stackAtDebug(logger, error) }, `config reload failed: ${errorReport(error).message}`);
      }
    });
  };

  /** Ends the signal handling once, with the exit status for the promise runServe waits on. */
  const settle = (exitStatus: number, resolve: (status: number) => void): void => {
    if (settled) return;
    settled = true;
    clearTimeout(forced);
    detach();
    logger.flush();
    resolve(exitStatus);
  };
  const done = (exitStatus: number): void => settle(exitStatus, resolveStatus);

  const close = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, `${signal}: stopping`);
    reloading
      .then(() => daemon.close())
      .then(
        () => done(0),
        (error: unknown) => {
          logger.error({ code: errorReport(error).code, ...stackAtDebug(logger, error) }, `close failed: ${errorReport(error).message}`);
          done(1);
        },
      );
  };

  const askStop = (signal: NodeJS.Signals): void => {
    if (stopAsked) return;
    stopAsked = signal;
    // The promise to systemd is an exit within FORCED_EXIT_MS of the signal, even from a start that
    // hangs: exiting then is no worse than a crash, which the journal is made to survive.
    forced = setTimeout(() => {
      if (running) {
        logger.error({ timeoutMs: FORCED_EXIT_MS }, `did not close within ${FORCED_EXIT_MS / 1000} s; exiting anyway`);
        return done(1);
      }
      logger.error({ timeoutMs: FORCED_EXIT_MS }, `still starting ${FORCED_EXIT_MS / 1000} s after ${signal}; exiting anyway`);
      settle(1, resolveAbandoned);
    }, FORCED_EXIT_MS);
    if (running) return close(signal);
    // Closing halfway through the start would race it: the close waits for the start (a journal
    // replay takes seconds) and follows at once, within the same FORCED_EXIT_MS.
    logger.info({ signal }, `${signal} while starting: stopping as soon as started`);
    daemon.interruptStart();
  };

  const listeners: [NodeJS.Signals, () => void][] = [
    ['SIGTERM', () => askStop('SIGTERM')],
    ['SIGINT', () => askStop('SIGINT')],
    ['SIGHUP', reload],
  ];
  const detach = (): void => {
    for (const [name, listener] of listeners) signals.off(name, listener);
  };
  for (const [name, listener] of listeners) signals.on(name, listener);

  return {
    started() {
      running = true;
      if (stopAsked) close(stopAsked);
      else if (reloadAsked) reload();
      return status;
    },
    abandoned,
    stopAsked: () => stopAsked,
    detach() {
      clearTimeout(forced);
      detach();
    },
  };
}
