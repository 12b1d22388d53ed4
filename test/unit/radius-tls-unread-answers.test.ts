/**
 * A RadSec peer that keeps sending but does not read its answers (src/radius/transports/tls/
 * answers.ts): the server stops reading from it once its answers back up, reads again when the peer
 * catches up, and closes the connection when the peer leaves them unread too long or when the
 * answers it holds unsent would pass the cap, so the daemon's memory stays bounded whatever the
 * peer's send rate. Answers arrive whole or not at all, and requests already handed over stay recorded.
 */
import { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_UNSENT_OCTETS } from '../../src/radius/transports/tls/answers.js';
import { havePeers, waitFor } from '../helpers/peers.js';
import { buildAccountingRequest, buildStatusServer, verifyAccountingResponse } from '../helpers/radius-packets.js';
import type { RadsecConnection } from '../helpers/radsec-client.js';
import { RADSEC_SECRET as SECRET, useRadsecTransport } from '../helpers/radsec-harness.js';

/** 15 Proxy-States of 253 octets: each is copied into the answer (RFC 2865 §5.33), so answers are ~4 KB. */
const PROXY_STATES = Array.from({ length: 15 }, (_, i) => [33, Buffer.alloc(251, i)] as const);

/** A ~4 KB Status-Server: answered at once, without the journal (RFC 5997 §3). */
const statusServer = buildStatusServer({ identifier: 1, secret: SECRET, attributes: PROXY_STATES });

/**
 * A Stop of its own session whose answer is 4068 octets, near the 4096-octet maximum: 16
 * Proxy-States of 253 octets (the Stop itself is at most 4096 octets).
 */
const largestStop = (n: number): Buffer =>
  buildAccountingRequest({
    identifier: n & 0xff,
    secret: SECRET,
    attributes: [['Acct-Status-Type', 'Stop'], ['Acct-Session-Id', `unread-${n}`], ['Framed-IP-Address', '10.64.0.9'], ...PROXY_STATES, [33, Buffer.alloc(251, 15)]],
  });

/** Whether `promise` settles within `ms`. */
const within = (promise: Promise<unknown>, ms: number): Promise<boolean> =>
  Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);

/**
 * Writes batches of Status-Servers until the server stops reading them (a batch not flushed within a
 * second) or `limit` octets were written. Returns how many it wrote (the last batch included, flushed
 * or not) and whether the server stopped reading.
 */
async function floodUntilRefused(connection: RadsecConnection, limit: number): Promise<{ sent: number; refused: boolean }> {
  const perBatch = 64;
  const batch = Buffer.concat(Array.from({ length: perBatch }, () => statusServer));
  let sent = 0;
  while (sent * statusServer.length < limit) {
    sent += perBatch;
    if (!(await within(connection.write(batch), 1000))) return { sent, refused: true };
  }
  return { sent, refused: false };
}

describe.runIf(havePeers('openssl'))('a RadSec peer that does not read its answers', () => {
  const { start, open, stillAnswers } = useRadsecTransport();

  /** The most answer octets any server-side RadSec socket held unsent, watched through TLSSocket.write. */
  let largestUnsent = 0;
  const originalWrite = TLSSocket.prototype.write;
  const watchUnsentAnswers = (): void => {
    largestUnsent = 0;
    TLSSocket.prototype.write = function (this: TLSSocket, ...args: unknown[]) {
      const result = (originalWrite as (...a: unknown[]) => boolean).apply(this, args);
      if ((this as unknown as { _tlsOptions?: { isServer?: boolean } })._tlsOptions?.isServer) largestUnsent = Math.max(largestUnsent, this.writableLength);
      return result;
    } as typeof originalWrite;
  };
  afterEach(() => {
    TLSSocket.prototype.write = originalWrite;
  });

  it('stops reading its requests once answers back up, holding a bounded amount, and reads again when it catches up', async () => {
    watchUnsentAnswers();
    const { port, outcomes } = await start();
    const connection = await open(port);
    connection.socket.pause();
    // 75 MB of requests: without backpressure the server reads them all and buffers every answer.
    const { sent, refused } = await floodUntilRefused(connection, 75_000_000);
    expect(refused).toBe(true);
    expect(largestUnsent).toBeLessThanOrEqual(MAX_UNSENT_OCTETS);
    // The peer reads again: every request the server read is answered, whole, and the rest are read.
    connection.socket.resume();
    await connection.waitForAnswers(sent, 20_000);
    expect(connection.answers.every((answer) => verifyAccountingResponse(answer, statusServer, SECRET))).toBe(true);
    expect(outcomes.filter((o) => o.outcome === 'status_server')).toHaveLength(sent);
    expect(outcomes.some((o) => o.outcome === 'answers_unread')).toBe(false);
    await stillAnswers(connection, 7);
  }, 60_000);

  it('closes a connection whose peer leaves its answers unread for idle_timeout, counted as answers_unread', async () => {
    const { port, outcomes } = await start({ config: { idleTimeoutMs: 1000 } });
    const connection = await open(port);
    connection.socket.pause();
    expect((await floodUntilRefused(connection, 75_000_000)).refused).toBe(true);
    await waitFor('the connection to be closed as answers_unread', () => outcomes.some((o) => o.outcome === 'answers_unread'), 5000);
    expect(outcomes.find((o) => o.outcome === 'answers_unread')).toMatchObject({
      transport: 'tls',
      client: 'proxy1',
      reason: expect.stringMatching(/^its peer left its answers unread for 1 s \(\d+ octets unsent\); connection closed$/),
    });
    // What it gets when it reads at last is whole answers, then the close.
    connection.socket.resume();
    await connection.waitForClose();
    expect(connection.answers.length).toBeGreaterThan(0);
    expect(connection.answers.every((answer) => verifyAccountingResponse(answer, statusServer, SECRET))).toBe(true);
    // Only that connection went.
    await stillAnswers(await open(port), 8);
  }, 60_000);

  it('drops the answer that would pass the unsent cap and closes the connection, keeping every request it recorded', async () => {
    watchUnsentAnswers();
    let release!: () => void;
    const recorded = new Promise<void>((resolve) => (release = resolve));
    const { port, outcomes, requests } = await start({ onAccounting: () => recorded });
    const connection = await open(port);
    connection.socket.pause();
    // 255 Stops wait for the journal, one short of the 256 that would stop the reading
    // (./radius-tls-requests-in-flight.test.ts); then the answers to Status-Servers back up until the
    // server stops reading for them, and the 255 answers, of 4068 octets, come on top.
    const stops = Array.from({ length: 255 }, (_, n) => largestStop(n));
    await connection.write(Buffer.concat(stops));
    await waitFor('every Stop to be handed over', () => requests.length === stops.length, 10_000);
    expect((await floodUntilRefused(connection, 75_000_000)).refused).toBe(true);
    release();
    await waitFor('the connection to be closed as answers_unread', () => outcomes.some((o) => o.outcome === 'answers_unread'), 5000);
    expect(outcomes.find((o) => o.outcome === 'answers_unread')?.reason).toMatch(
      new RegExp(`^an answer of 4068 octets would pass the ${MAX_UNSENT_OCTETS} octets of answers one connection may hold unsent \\(\\d+ unsent\\); connection closed$`),
    );
    expect(largestUnsent).toBeLessThanOrEqual(MAX_UNSENT_OCTETS);
    // Every Stop stays recorded: the client sends the unanswered ones again on its next connection.
    expect(outcomes.filter((o) => o.outcome === 'accepted')).toHaveLength(stops.length);
    connection.socket.resume();
    await connection.waitForClose();
    // The answers written before the cap arrive whole; the rest are not written at all.
    const stopAnswers = connection.answers.filter((answer) => answer.length === 4068);
    expect(stopAnswers.length).toBeGreaterThan(0);
    expect(stopAnswers.length).toBeLessThan(stops.length);
    stopAnswers.forEach((answer, n) => expect(verifyAccountingResponse(answer, stops[n]!, SECRET)).toBe(true));
    expect(connection.answers.filter((answer) => answer.length !== 4068).every((answer) => verifyAccountingResponse(answer, statusServer, SECRET))).toBe(true);
  }, 60_000);
});
