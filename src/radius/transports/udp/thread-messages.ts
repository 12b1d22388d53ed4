/**
 * What the UDP transport and its receive thread say to each other (receive-thread.ts). Requests and
 * answers go in batches, one message per turn of either event loop: a message per datagram would
 * cost more than the work the thread takes off the service's JavaScript thread. Pure code.
 */
import type { ClientConfig, Endpoint } from '../../../config/load.js';
import type { IpPrefix } from '../../../net/address.js';
import type { PacketDetail, PacketOutcome } from '../../handler.js';

/** What the thread starts with (workerData). */
export interface ThreadStart {
  readonly listen: readonly Endpoint[];
  readonly receiveBufferBytes: number;
  readonly clients: readonly ClientConfig[];
  /** Which client list that is: one more at each reload (see `generation` in a batch). */
  readonly generation: number;
}

/** One bound socket, as the thread reports it. */
export interface BoundAddress {
  readonly address: string;
  readonly port: number;
  readonly family: string;
  readonly receiveBufferBytes: number;
}

/**
 * Requests the thread let through, seven fields each, flat (no object per request): id, client
 * name, source address, source port, where its octets (its Length's worth) start in the batch's
 * `octets` and how many, and the time it was read (Date.now()).
 */
export type RequestBatch = (string | number)[];

/** The fields of one request in a {@link RequestBatch}. */
export const REQUEST_FIELDS = 7;

/** Thread → transport. */
export type FromThread =
  | { readonly type: 'bound'; readonly addresses: readonly BoundAddress[] }
  | { readonly type: 'bind_failed'; readonly endpoint: Endpoint; readonly code: string | undefined; readonly message: string }
  | {
      readonly type: 'batch';
      /**
       * The client list the batch's requests were matched and proven with (ThreadStart's, or a
       * 'clients' message's): a batch never holds requests of two lists.
       */
      readonly generation: number;
      readonly requests: RequestBatch;
      readonly octets: Uint8Array;
      readonly reports: readonly ThreadReport[];
      /** Seconds from reading each request to sending its Accounting-Response, for the answers sent since the last batch. */
      readonly answerSeconds: readonly number[];
      /** Answers the kernel refused to send since the last batch: the first one's error, and how many. */
      readonly sendFailure: { readonly code: string | undefined; readonly message: string; readonly count: number } | undefined;
    }
  | { readonly type: 'closed' };

/** An outcome the thread decided on its own (a discard, a duplicate, a Status-Server). */
export interface ThreadReport {
  readonly outcome: PacketOutcome;
  readonly detail: PacketDetail;
  /** As many packets had this outcome (counted, not reported one by one: see receive-thread.ts); 1 when absent. */
  readonly count?: number;
}

/** Transport → thread. */
export type ToThread =
  | {
      readonly type: 'answers';
      readonly answered: readonly number[];
      readonly refused: readonly number[];
      /** Requests and reports the transport took from the batches since the last answers message. */
      readonly takenRequests: number;
      readonly takenReports: number;
    }
  | { readonly type: 'clients'; readonly clients: readonly ClientConfig[]; readonly generation: number }
  | { readonly type: 'close' };

/**
 * A ClientConfig as it arrives on the other side: a structured clone turns every Buffer into a
 * plain Uint8Array, which Buffer's methods (copy, equals) need back as a Buffer.
 */
export function revivedClient(client: ClientConfig): ClientConfig {
  return { ...client, secret: asBuffer(client.secret), address: revivedPrefix(client.address), pools: client.pools.map(revivedPrefix) };
}

function revivedPrefix(prefix: IpPrefix): IpPrefix {
  return { ...prefix, bytes: asBuffer(prefix.bytes) };
}

/** A view of the same memory as a Buffer. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
