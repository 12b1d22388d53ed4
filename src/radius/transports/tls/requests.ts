/**
 * How many requests of one RadSec connection wait for the journal at once. A peer that sends
 * distinct Accounting-Requests faster than the journal records them would otherwise have every one
 * held in memory until then. RFC 6613 §2.6.5: a client has at most 256 requests outstanding on a
 * connection, one per Identifier, and radsecproxy likewise caps the requests in flight per
 * connection. So a connection with MAX_REQUESTS_IN_FLIGHT requests handed to the request handler and
 * not yet finished (answered, or not acknowledged) stops being read, and the packets already read
 * wait here in order; as requests finish, the next are handed over, and reading resumes below the
 * cap. Nothing is dropped or refused: the peer waits, held back by TCP's flow control. A client that
 * keeps to the RFC never reaches the cap.
 */
import type { ReadingGate } from './reading.js';

/** RFC 6613 §2.6.5: the Identifier space, the most requests a client may have outstanding on a connection. */
export const MAX_REQUESTS_IN_FLIGHT = 256;

/**
 * Hands one packet to the request handler: 'handed_over' when it now waits for the journal and
 * `finished` will be called once it is done, 'decided' when it was decided at once (a duplicate, a
 * Status-Server, a discard), 'closing' when the connection is closing and nothing more is handed over.
 */
export type HandOver = (packet: Buffer, finished: () => void) => 'handed_over' | 'decided' | 'closing';

export interface RequestQueue {
  /** Queues the packets of one read, in order, and hands over as many as the cap allows. */
  push(packets: readonly Buffer[]): void;
  /** Calls `then` once every packet queued so far has been handed over (at once when none waits). */
  afterQueued(then: () => void): void;
  /** Drops the packets not yet handed over: the connection is closing. */
  clear(): void;
  /** Whether the connection has MAX_REQUESTS_IN_FLIGHT requests in flight, and is not read. */
  full(): boolean;
}

/** The requests of one established connection, at most MAX_REQUESTS_IN_FLIGHT of them in flight. */
export function requestQueue(reading: ReadingGate, handOver: HandOver): RequestQueue {
  const waiting: Buffer[] = [];
  let inFlight = 0;
  let then: (() => void) | undefined;
  let cleared = false;

  const finished = (): void => {
    inFlight--;
    handOverWaiting();
  };

  const handOverWaiting = (): void => {
    while (!cleared && waiting.length > 0 && inFlight < MAX_REQUESTS_IN_FLIGHT) {
      const packet = waiting.shift()!;
      let done = false;
      const outcome = handOver(packet, () => {
        // The handler calls it once; this keeps a second call from freeing a place twice.
        if (done) return;
        done = true;
        finished();
      });
      if (outcome === 'handed_over') inFlight++;
      else if (outcome === 'closing') return clear();
    }
    if (cleared) return;
    if (inFlight >= MAX_REQUESTS_IN_FLIGHT) reading.stop('requests_in_flight');
    else reading.allow('requests_in_flight');
    if (waiting.length === 0 && then) {
      const next = then;
      then = undefined;
      next();
    }
  };

  const clear = (): void => {
    cleared = true;
    waiting.length = 0;
    then = undefined;
    reading.allow('requests_in_flight');
  };

  return {
    push(packets) {
      if (cleared) return;
      waiting.push(...packets);
      handOverWaiting();
    },
    afterQueued(next) {
      if (cleared) return;
      if (waiting.length === 0) return next();
      then = next;
    },
    clear,
    full: () => inFlight >= MAX_REQUESTS_IN_FLIGHT,
  };
}
