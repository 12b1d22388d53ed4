/**
 * `rbl-unlist serve`: runs the daemon until SIGTERM or SIGINT; SIGHUP re-reads the config and
 * hands it to the daemon, keeping the old one when the new one is wrong. The returned promise
 * settles with the exit status once the daemon has closed; main.ts then exits.
 */
import type { Command } from 'commander';
import { BACKENDS } from '../backends/index.js';
import { configPath, loadConfig } from '../config/load.js';
import { createLogger } from '../log.js';
import { outOfSpaceCode } from '../queue/wait-for-space.js';
import { configOption, type ConfigOptions } from './options.js';
import { errorReport, type CliIo, type CommandRunner } from './output.js';
import { FORCED_EXIT_MS, handleSignals, stackAtDebug } from './serve-signals.js';

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
  try {
    // A start that a stop signal has waited on for FORCED_EXIT_MS is abandoned: main.ts exits
    // with that status (the race handles a later rejection of the start).
    const outcome = await Promise.race([daemon.start().then(() => 'started' as const), control.abandoned]);
    if (outcome !== 'started') return outcome;
  } catch (error) {
    const { code, message } = errorReport(error);
    const signal = control.stopAsked();
    if (signal !== undefined && outOfSpaceCode(error) !== undefined) {
      // Asked to stop while it waited for room: a stop, not a failure.
      logger.info({ signal, code }, `stopped while waiting for room in state.dir: ${message}`);
      await daemon.close().catch(() => undefined);
      control.detach();
      logger.flush();
      return 0;
    }
    logger.fatal({ code, ...stackAtDebug(logger, error) }, `rbl-unlist failed to start: ${message}`);
    await daemon.close().catch(() => undefined);
    control.detach();
    logger.flush();
    throw error;
  }
  return control.started();
}
