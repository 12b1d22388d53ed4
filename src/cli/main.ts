#!/usr/bin/env -S node --max-semi-space-size=8
/**
 * The `rbl-unlist` executable: runs the command line and exits with its status. The only place
 * in rbl-unlist that calls process.exit; `serve` settles only once the daemon has stopped.
 *
 * The first line caps V8's young generation at 8 MB a semi-space (it grows to 16 MB under a burst
 * otherwise): a burst of 100,000 Stops then peaks about 12 MB lower in resident memory, for about
 * 5 µs a Stop more in V8's collector threads (4 MB saved another 10 MB and cost twice that; issue
 * 13). `env -S` splits the line (GNU coreutils 8.30, the BSDs, macOS).
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
