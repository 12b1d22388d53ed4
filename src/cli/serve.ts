/**
 * `rbl-unlist serve`: runs the daemon until SIGTERM or SIGINT; SIGHUP re-reads the config and
 * hands it to the daemon, keeping the old one when the new one is wrong. The returned promise
 * settles with the exit status once the daemon has closed; main.ts then exits.
 */
import type { Command } from 'commander';
import { BACKENDS } from '../backends/index.js';
import { configPath, loadConfig, type Config } from '../config/load.js';
import { createLogger, type Logger } from '../log.js';
import { configOption, type ConfigOptions } from './options.js';
import { errorReport, type CliIo, type CommandRunner, type SignalSource } from './output.js';

/** How long close() may take after SIGTERM before the process exits anyway. */
export const FORCED_EXIT_MS = 10_000;

/** Adds `serve` to the program; `run` reports its errors and exit status when the daemon stops. */
export function addServeCommand(program: Command, io: CliIo, run: CommandRunner): void {
  program
    .command('serve')
    .summary('run the RADIUS accounting listener, queue, backends and HTTP endpoint')
    .description(
      'Runs the service in the foreground, logging pino JSON lines on stdout (log.format: pretty for a terminal). SIGTERM or SIGINT closes it ' +
        `(pending work is journalled; it exits anyway after ${FORCED_EXIT_MS / 1000} s). SIGHUP re-reads the config; ` +
        'a config that does not load is logged and the running one kept.',
    )
    .addOption(configOption())
    .option('--trace', 'log every received Accounting-Request decoded, attribute by attribute (log.level trace)')
    .addHelpText(
      'after',
      `
Examples:
  $ rbl-unlist serve --config /etc/rbl-unlist/config.yaml
  $ systemctl reload rbl-unlist    # sends SIGHUP
  $ rbl-unlist serve --trace       # see what a new NAS really sends (log.format: pretty reads best)

Exit status: 0 stopped by a signal; 1 the service failed to start or stop; 2 bad usage or config.`,
    )
    .action((options: ServeOptions) => run(() => runServe(options, io)));
}

export interface ServeOptions extends ConfigOptions {
  /** Log at trace, whatever log.level says: every received packet, decoded. */
  readonly trace?: boolean;
}

/** Runs the daemon; resolves with the exit status after SIGTERM/SIGINT. Throws RblError for a bad config (exit 2). */
export async function runServe(options: ServeOptions, io: CliIo): Promise<number> {
  const file = configPath(options.config, io.env);
  // The product's backend types, for the config and the daemon alike (a test passes its own list).
  const config = loadConfig(file, BACKENDS);
  const logger = createLogger(options.trace ? 'trace' : config.log.level, undefined, config.log.format);
  // Loaded here rather than at the top so one-shot commands never load the listener and queue.
  const { createDaemon } = await import('../daemon.js');
  const daemon = createDaemon(config, { logger, backends: BACKENDS });
  // Every signal is handled from before the start: a SIGTERM that lands while the journal is
  // replayed, or just after "rbl-unlist started" is logged, must close the service, not kill it.
  const control = handleSignals(io.signals ?? process, logger, file, daemon);
  const starting = daemon.start();
  try {
    // A start that a stop signal has waited on for FORCED_EXIT_MS is abandoned: main.ts exits.
    if ((await Promise.race([starting.then(() => undefined), control.abandoned])) !== undefined) {
      starting.catch(() => undefined);
      return control.abandoned;
    }
  } catch (error) {
    const { code, message } = errorReport(error);
    logger.fatal({ code, ...stackAtDebug(logger, error) }, `rbl-unlist failed to start: ${message}`);
    await daemon.close().catch(() => undefined);
    control.detach();
    logger.flush();
    throw error;
  }
  return control.started();
}

/**
 * The error object (stack and causes) for the log only at debug: at info the message already says
 * what is wrong and what to do, and pino's serializer would repeat the cause after it.
 */
function stackAtDebug(logger: Logger, error: unknown): { err?: unknown } {
  return logger.isLevelEnabled('debug') ? { err: error } : {};
}

interface Reloadable {
  close(): Promise<void>;
  reload(config: Config): Promise<void>;
}

interface SignalControl {
  /** The daemon is up: a stop asked for while it started begins now. Resolves with the exit status. */
  started(): Promise<number>;
  /** Resolves with exit status 1 if a stop was asked for and the start did not end within FORCED_EXIT_MS. */
  readonly abandoned: Promise<number>;
  /** Removes the listeners (the start failed). */
  detach(): void;
}

function handleSignals(signals: SignalSource, logger: Logger, file: string, daemon: Reloadable): SignalControl {
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

  const done = (exitStatus: number): void => {
    if (settled) return;
    settled = true;
    clearTimeout(forced);
    detach();
    logger.flush();
    resolveStatus(exitStatus);
  };

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
      settled = true;
      detach();
      logger.flush();
      resolveAbandoned(1);
    }, FORCED_EXIT_MS);
    if (running) return close(signal);
    // Closing halfway through the start would race it; the start is bounded (journal replay), so
    // the stop waits for it and follows at once.
    logger.info({ signal }, `${signal} while starting: stopping as soon as started`);
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
    detach() {
      clearTimeout(forced);
      detach();
    },
  };
}
