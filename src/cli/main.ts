#!/usr/bin/env node
/**
 * The `rbl-unlist` executable: runs the command line and exits with its status. The only place
 * in rbl-unlist that calls process.exit; `serve` settles only once the daemon has stopped.
 *
 * Node runs with its own young generation (up to 16 MB a semi-space). An 8 MB cap
 * (`--max-semi-space-size=8` on this line until 2026-12-02) kept the peak of a 100,000-Stop burst
 * under 160 MB with the UDP receive thread beside it; with the sockets read on this thread, as
 * `radius.receive_thread: auto` does on two CPUs now, the burst peaks near 128 MB uncapped, and the
 * cap cost about a seventh more CPU a Stop in V8's collector (issue 13; README, Performance).
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
