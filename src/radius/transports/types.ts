/**
 * The shape every RADIUS transport folder has (udp/, tls/): its config schema part (schema.ts),
 * the step that resolves that part (config.ts), a factory building the transport from the config
 * and the request handler, and its readiness check. ./index.ts lists them; the daemon wires the list.
 */
import type { Config, Endpoint } from '../../config/load.js';
import type { CheckState } from '../../http/readiness.js';
import type { PacketDetail, PacketOutcome, RequestHandler } from '../handler.js';

export type TransportName = 'udp' | 'tls';

/** What config/load.ts lends a transport to resolve its part: paths, files and endpoints named as the config does. */
export interface ResolveContext {
  /** The config file, for messages. */
  readonly path: string;
  /** An absolute path, relative paths taken from the config file's folder. */
  file(relative: string): string;
  /** Reads a file named by `key`; `secret` files are checked for loose permissions. Throws RblError RBL_SECRET_FILE. */
  readFile(relative: string, key: string, secret: boolean): Buffer;
  /** Parses "host:port" named by `key`. Throws RblError RBL_CONFIG_INVALID. */
  endpoint(text: string, key: string, defaultPort: number): Endpoint;
}

/** One bound socket or server of a transport. */
export interface ListenerAddress {
  readonly transport: TransportName;
  readonly address: string;
  readonly port: number;
  readonly family: string;
  /** The receive buffer the kernel granted (UDP only; Linux reports twice the usable size). */
  readonly receiveBufferBytes?: number;
  /** Whether a receive thread of its own reads the socket (UDP only; radius.receive_thread). */
  readonly receiveThread?: boolean;
}

/** A running transport: feeds the request handler, reports connection-level outcomes itself. */
export interface Transport {
  readonly name: TransportName;
  /** Binds every listen address; throws RblError RBL_LISTEN naming the one that failed. */
  start(): Promise<void>;
  /** Stops taking packets and releases the sockets. */
  close(): Promise<void>;
  /** Takes what a SIGHUP may change (certificates); clients are read per packet and need nothing. */
  reload(config: Config): void;
  addresses(): ListenerAddress[];
  /** Its /readyz check. */
  ready(): CheckState;
  /** Its /readyz check name. */
  readonly checkName: string;
}

/** What the daemon gives every transport factory. */
export interface TransportContext {
  readonly handler: RequestHandler;
  /** Read for every packet or connection, so a SIGHUP reload takes effect at once. */
  readonly clients: () => Config['radius']['clients'];
  /** Connection-level outcomes (refused certificate, bad framing); the handler reports per-packet ones. */
  readonly report: (outcome: PacketOutcome, detail: PacketDetail) => void;
  /** A socket error after start, or a connection closed for a reason the operator should see. */
  readonly onNotice?: (message: string, detail: Record<string, unknown>) => void;
  readonly onError?: (error: Error) => void;
}

/** One entry of the transport list: builds its transport when the config asks for one. */
export interface TransportPlugin {
  readonly name: TransportName;
  create(config: Config, context: TransportContext): Transport | undefined;
}
