/**
 * The `rbl-unlist` command line: commander wiring for every command, with usage errors mapped to
 * exit status 2 (commander's own default is 1) and all output through the given streams, so
 * tests run it in-process. main.ts is the thin entry that calls process.exit.
 */
import { Command, CommanderError } from 'commander';
import { exitStatusFor } from '../errors.js';
import { addCheckConfigCommand } from './check-config.js';
import { addCheckCommand } from './check.js';
import { reportFatal, type CliIo, type CommandRunner } from './output.js';
import { addQueueCommand } from './queue.js';
import { addServeCommand } from './serve.js';
import { addStatusCommand } from './status.js';
import { addUnlistCommand } from './unlist.js';
import { addWhyCommand } from './why.js';
import { packageVersion } from '../version.js';

export type { CliIo } from './output.js';

export { packageVersion } from '../version.js';

/** Runs the command line in `argv` (without node and the script); resolves with the exit status. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let status = 0;
  const run: CommandRunner = async (body, json = false) => {
    try {
      status = await body();
    } catch (error) {
      reportFatal(io, error, json);
      status = exitStatusFor(error);
    }
  };
  const program = buildProgram(io, run);
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    // exitOverride turns commander's process.exit into a throw: 0 after --help or --version,
    // anything else is bad usage, which the contract says is status 2.
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  return status;
}

function buildProgram(io: CliIo, run: CommandRunner): Command {
  const program = new Command('rbl-unlist');
  program
    .description(
      'Removes a disconnected customer\'s dynamic address from a DNS blacklist zone, driven by RADIUS accounting, ' +
        'through RFC 2136 DNS UPDATE with TSIG or an HTTP API.',
    )
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show this help')
    .helpCommand('help [command]', 'show help for a command')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(`rbl-unlist: RBL_USAGE: ${text.replace(/^error: /, '')}`),
    })
    .showHelpAfterError('(run with --help for usage and examples)')
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      `
Examples:
  $ rbl-unlist serve --config /etc/rbl-unlist/config.yaml
  $ rbl-unlist unlist --dry-run 10.64.3.7
  $ rbl-unlist check 10.64.3.7
  $ rbl-unlist check-config --probe
  $ rbl-unlist status
  $ rbl-unlist why 10.64.3.7

--config defaults to $RBL_UNLIST_CONFIG, then /etc/rbl-unlist/config.yaml.
Exit status: 0 done; 1 the operation failed (a backend refused, a server did not answer,
check found a listing); 2 bad usage or bad configuration.`,
    );
  // Subcommands made with .command() inherit exitOverride and configureOutput from the program.
  addServeCommand(program, io, run);
  addUnlistCommand(program, io, run);
  addCheckCommand(program, io, run);
  addCheckConfigCommand(program, io, run);
  addQueueCommand(program, io, run);
  addStatusCommand(program, io, run);
  addWhyCommand(program, io, run);
  return program;
}
