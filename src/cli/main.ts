#!/usr/bin/env -S node --max-semi-space-size=4
/**
 * The `rbl-unlist` executable: runs the command line and exits with its status. The only place
 * in rbl-unlist that calls process.exit; `serve` settles only once the daemon has stopped.
 *
 * The first line starts Node with a young generation of 4 MB a semi-space (V8 grows it up to 16
 * MB under a burst): a burst of Stops then peaks about 25 MB lower in resident memory, for no CPU
 * the bench tells apart (issue 13). `env -S` splits the line (GNU coreutils 8.30, BSD, macOS).
 */
import { earlySignals } from './early-signals.js';

// serve listens for its signals before anything else loads (see early-signals.ts); the one-shot
// commands keep the default actions, so a SIGTERM still ends them at once.
const signals = process.argv[2] === 'serve' ? earlySignals() : undefined;
const { runCli } = await import('./program.js');

runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, ...(signals ? { signals } : {}) }).then(
  // A pipe takes stdout asynchronously: exit once what was written (a long `queue list --json`) is flushed.
  (status) => process.stdout.write('', () => process.exit(status)),
  (error: unknown) => {
    process.stderr.write(`rbl-unlist: ERROR: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
