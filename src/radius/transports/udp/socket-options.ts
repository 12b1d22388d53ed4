/** What both ways of running the UDP transport share: its options, the receive buffer's default, and the words for a failed bind. */
import type { ClientConfig, Endpoint } from '../../../config/load.js';
import type { RequestHandler } from '../../handler.js';

/** 8 MiB: room for a burst of tens of thousands of accounting packets while the event loop is busy. */
export const DEFAULT_RECEIVE_BUFFER_BYTES = 8 * 1024 * 1024;

export interface UdpTransportOptions {
  readonly listen: readonly Endpoint[];
  readonly handler: RequestHandler;
  /** Socket receive buffer asked of the kernel; it may grant less (net.core.rmem_max). Default 8 MiB. */
  readonly receiveBufferBytes?: number;
  /** A socket error after start (a failed send, for instance); the transport keeps running. */
  readonly onError?: (error: Error) => void;
  /**
   * The configured clients: read per datagram on this thread; the receive thread takes a copy at
   * start and a new one at each reload() (the daemon reloads every transport after a SIGHUP).
   */
  readonly clients: () => readonly ClientConfig[];
}

/** The reason a bind failed, with what to check. */
export function bindFailure(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'EADDRINUSE':
      return 'EADDRINUSE, the port is already in use (is another rbl-unlist or a RADIUS server running?)';
    case 'EADDRNOTAVAIL':
      return 'EADDRNOTAVAIL, the address is not configured on this host';
    case 'EACCES':
      return 'EACCES, permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)';
    default:
      return error.code ? `${error.code}, ${error.message}` : error.message;
  }
}
