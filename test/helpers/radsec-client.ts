/**
 * A raw RadSec client for tests (RFC 6614): a TLS connection with a client certificate that writes
 * RADIUS octets as the test chooses (whole, split, several per record, broken) and collects the
 * answers framed by their Length field.
 */
import { connect as connectTcp } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import type { CertificateFiles } from './certs.js';
import { waitFor } from './peers.js';

export interface RadsecConnection {
  readonly socket: TLSSocket;
  /** Every whole answer so far, in arrival order. */
  readonly answers: Buffer[];
  /** Whether the server closed (or reset) the connection. */
  readonly closed: () => boolean;
  /** The error the connection ended with, if any (a TLS alert from the server, for instance). */
  readonly error: () => Error | undefined;
  write(octets: Buffer): Promise<void>;
  /** Resolves once `count` answers arrived; throws after timeoutMs. */
  waitForAnswers(count: number, timeoutMs?: number): Promise<Buffer[]>;
  /** Resolves once the server closed the connection; throws after timeoutMs. */
  waitForClose(timeoutMs?: number): Promise<void>;
  end(): void;
}

/** Opens a RadSec connection to 127.0.0.1:port with `identity`'s certificate, trusting `ca`; resolves once TLS is up or has failed. */
export async function radsecConnect(port: number, identity: CertificateFiles, ca: Buffer, options: { maxVersion?: 'TLSv1.2' | 'TLSv1.3'; /** A source address other than 127.0.0.1, e.g. 127.0.0.2. */ localAddress?: string } = {}): Promise<RadsecConnection> {
  const answers: Buffer[] = [];
  let pending = Buffer.alloc(0);
  let closed = false;
  let failure: Error | undefined;
  const socket = connect({ host: '127.0.0.1', port, cert: identity.certificate, key: identity.key, ca, servername: 'localhost', maxVersion: options.maxVersion,
    // node:tls has no localAddress: a TCP socket from that address carries the TLS.
    ...(options.localAddress === undefined ? {} : { socket: connectTcp({ host: '127.0.0.1', port, localAddress: options.localAddress }) }) });
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= pending.readUInt16BE(2)) {
      const length = pending.readUInt16BE(2);
      answers.push(pending.subarray(0, length));
      pending = pending.subarray(length);
    }
  });
  socket.on('error', (error) => (failure = error));
  socket.on('close', () => (closed = true));
  await new Promise<void>((resolve) => {
    socket.once('secureConnect', () => resolve());
    socket.once('close', () => resolve());
  });
  const connection: RadsecConnection = {
    socket,
    answers,
    closed: () => closed,
    error: () => failure,
    write: (octets) => new Promise((resolve) => socket.write(octets, () => resolve())),
    async waitForAnswers(count, timeoutMs = 10_000) {
      await waitFor(`${count} RadSec answers (have ${answers.length})`, () => answers.length >= count || closed, timeoutMs, 10);
      if (answers.length < count) throw new Error(`the RadSec connection closed after ${answers.length} of ${count} answers`);
      return answers.slice(0, count);
    },
    async waitForClose(timeoutMs = 10_000) {
      await waitFor('the server to close the RadSec connection', () => closed, timeoutMs, 10);
    },
    end: () => socket.destroy(),
  };
  return connection;
}
