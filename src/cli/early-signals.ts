/**
 * Signals that reach `rbl-unlist serve` while its modules are still loading, before serve has
 * handlers of its own (a few hundred milliseconds after exec). Without a handler, SIGTERM and
 * SIGINT end a process by their default action, and the kernel does not deliver them at all to a
 * container's PID 1, so a `docker stop` in that moment waited out its grace period for a SIGKILL.
 * main.ts starts listening on its first line and hands this to serve as its signal source: a
 * signal that came first reaches serve's handler as soon as serve listens for it. Nothing but
 * types is imported here, so that listening starts before anything heavy loads.
 */
import type { SignalSource } from './output.js';

/** What serve handles: stop (SIGTERM, SIGINT) and reload (SIGHUP). */
const EARLY_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

/** The part of `process` this listens on. */
export interface SignalTarget {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

/** Starts remembering SIGTERM, SIGINT and SIGHUP on `target`; the source passes each on to the first listener for it. */
export function earlySignals(target: SignalTarget = process): SignalSource {
  const arrived = new Set<NodeJS.Signals>();
  const remember = (signal: NodeJS.Signals): void => {
    arrived.add(signal);
  };
  for (const signal of EARLY_SIGNALS) target.on(signal, remember);
  return {
    on(signal, listener) {
      target.on(signal, listener);
      // From now on the listener hears this signal itself.
      target.off(signal, remember);
      // After the caller has finished subscribing: serve's handlers expect to be called by an event, not from within on().
      if (arrived.delete(signal)) setImmediate(listener);
      return this;
    },
    off(signal, listener) {
      target.off(signal, listener);
      return this;
    },
  };
}
