/**
 * A RadSec peer that sends distinct Accounting-Requests faster than the journal records them
 * (src/radius/transports/tls/requests.ts): a connection has at most 256 requests handed to the
 * request handler and not yet finished (RFC 6613 §2.6.5); past that it is not read, so the peer
 * waits, and once the journal catches up every request is handled and answered on that connection.
 */
import { describe, expect, it } from 'vitest';
import { MAX_REQUESTS_IN_FLIGHT } from '../../src/radius/transports/tls/requests.js';
import { havePeers, waitFor } from '../helpers/peers.js';
import { verifyAccountingResponse } from '../helpers/radius-packets.js';
import { RADSEC_SECRET as SECRET, radsecStop, useRadsecTransport, type RadsecHarness } from '../helpers/radsec-harness.js';

/** `count` Stops of sessions of their own, one write's worth. */
const distinctStops = (count: number, prefix: string): Buffer[] => Array.from({ length: count }, (_, n) => radsecStop(n, `${prefix}-${n}`));

/** A journal held back until released: onAccounting resolves (or rejects) only then. */
function heldJournal() {
  let release!: () => void;
  let refuse!: (error: Error) => void;
  const recorded = new Promise<void>((resolve, reject) => {
    release = resolve;
    refuse = reject;
  });
  // Rejected before anyone waits on it, it must not count as unhandled.
  recorded.catch(() => undefined);
  return { recorded, release, refuse };
}

describe.runIf(havePeers('openssl'))('a RadSec peer that sends requests faster than the journal records them', () => {
  const { start, open, stillAnswers } = useRadsecTransport();

  /** Starts a transport whose journal waits for `recorded`; `largest()` is the most requests handed over and not yet finished at once. */
  async function startHeld(recorded: Promise<void>, config?: { idleTimeoutMs: number }) {
    // Set once started; onAccounting runs only after that.
    const started: { harness?: RadsecHarness } = {};
    let largest = 0;
    const finished = (): number => started.harness?.outcomes.filter((o) => o.outcome === 'accepted' || o.outcome === 'not_acknowledged').length ?? 0;
    const harness = await start({
      config,
      onAccounting: () => {
        largest = Math.max(largest, (started.harness?.requests.length ?? 0) - finished());
        return recorded;
      },
    });
    started.harness = harness;
    return { ...harness, largest: () => largest };
  }

  it('hands at most 256 requests of a connection to the journal at once, and answers all 2,000 on it once they are recorded', async () => {
    const journal = heldJournal();
    const { port, requests, outcomes, notices, largest } = await startHeld(journal.recorded);
    const connection = await open(port);
    const stops = distinctStops(2000, 'flood');
    await connection.write(Buffer.concat(stops));
    await waitFor('the first 256 Stops to be handed over', () => requests.length >= MAX_REQUESTS_IN_FLIGHT, 10_000);
    // The rest wait, unread, for as long as the journal does.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(requests).toHaveLength(MAX_REQUESTS_IN_FLIGHT);
    journal.release();
    await connection.waitForAnswers(stops.length, 20_000);
    expect(largest()).toBe(MAX_REQUESTS_IN_FLIGHT);
    expect(requests).toHaveLength(stops.length);
    expect(outcomes.map((o) => o.outcome)).toEqual(stops.map(() => 'accepted'));
    // Each answered once, in the order sent, on the connection it came on.
    expect(connection.answers).toHaveLength(stops.length);
    connection.answers.forEach((answer, n) => expect(verifyAccountingResponse(answer, stops[n]!, SECRET)).toBe(true));
    expect(connection.closed()).toBe(false);
    expect(notices).toEqual([]);
  }, 60_000);

  it('frees the place of a request the journal does not acknowledge, leaving it unanswered for the peer to resend', async () => {
    const journal = heldJournal();
    let refusing = true;
    const { port, requests, outcomes } = await start({ onAccounting: () => (refusing ? journal.recorded : Promise.resolve()) });
    const connection = await open(port);
    const stops = distinctStops(300, 'refused');
    await connection.write(Buffer.concat(stops));
    await waitFor('the first 256 Stops to be handed over', () => requests.length >= MAX_REQUESTS_IN_FLIGHT, 10_000);
    journal.refuse(new Error('journal not writable'));
    await waitFor('every Stop to be refused', () => outcomes.filter((o) => o.outcome === 'not_acknowledged').length === stops.length, 10_000);
    expect(requests).toHaveLength(stops.length);
    expect(connection.answers).toEqual([]);
    // The connection is read again: the journal back, its next Stop is answered.
    refusing = false;
    await stillAnswers(connection, 7);
  }, 60_000);

  it('keeps a connection left unread for its 256 requests in flight past idle_timeout: its peer waits for the journal, it is not idle', async () => {
    const journal = heldJournal();
    const { port, outcomes, notices } = await startHeld(journal.recorded, { idleTimeoutMs: 1000 });
    const connection = await open(port);
    const stops = distinctStops(300, 'slow');
    await connection.write(Buffer.concat(stops));
    await new Promise((resolve) => setTimeout(resolve, 2500));
    journal.release();
    await connection.waitForAnswers(stops.length, 20_000);
    expect(outcomes.filter((o) => o.outcome === 'accepted')).toHaveLength(stops.length);
    expect(notices).toEqual([]);
  }, 60_000);

  it('closes a connection on a broken Length only after the requests before it are handed over', async () => {
    const journal = heldJournal();
    const { port, requests, outcomes } = await startHeld(journal.recorded);
    const connection = await open(port);
    const stops = distinctStops(300, 'broken');
    // A Length of 5, below the 20-octet minimum: the framing is lost after the 300 Stops.
    await connection.write(Buffer.concat([...stops, Buffer.from([4, 1, 0, 5])]));
    await waitFor('the first 256 Stops to be handed over', () => requests.length >= MAX_REQUESTS_IN_FLIGHT, 10_000);
    expect(outcomes.some((o) => o.outcome === 'malformed')).toBe(false);
    journal.release();
    await connection.waitForClose();
    expect(requests).toHaveLength(stops.length);
    expect(outcomes.filter((o) => o.outcome === 'accepted')).toHaveLength(stops.length);
    expect(outcomes.find((o) => o.outcome === 'malformed')?.reason).toBe('Length 5 is below the 20-octet minimum; the stream cannot be framed; connection closed');
  }, 60_000);
});
