/**
 * RADIUS over UDP (RFC 2865 §3, RFC 2866). The sockets are read by a receive thread of their own
 * (thread-host.ts, receive-thread.ts), which checks each datagram and sends the answers, so the
 * service's JavaScript thread keeps the session table, the journal and the deliveries (issue 13).
 * Run from the TypeScript sources (the unit tests, under vitest) there is no compiled thread to
 * start, and the same steps run on this thread (same-thread.ts): screenDatagram in handler.ts is
 * what both run.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Transport } from '../types.js';
import { createSameThreadUdpTransport } from './same-thread.js';
import type { UdpTransportOptions } from './socket-options.js';
import { createThreadedUdpTransport } from './thread-host.js';

export { bindFailure, DEFAULT_RECEIVE_BUFFER_BYTES, type UdpTransportOptions } from './socket-options.js';

/** The receive thread's compiled module, beside this one in dist/. */
const RECEIVE_THREAD = new URL('./receive-thread.js', import.meta.url);

/** Builds the UDP transport; nothing is bound until start(). */
export function createUdpTransport(options: UdpTransportOptions): Transport {
  return existsSync(fileURLToPath(RECEIVE_THREAD)) ? createThreadedUdpTransport(RECEIVE_THREAD, options) : createSameThreadUdpTransport(options);
}
