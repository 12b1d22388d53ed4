/**
 * The RADIUS listener: the one request handler, fed by every transport the list in
 * ./transports/index.ts builds for the config (UDP always, RadSec when radius.tls is set). It is
 * wiring only; the handler decides about packets and each transport moves octets.
 */
import type { Config } from '../config/load.js';
import type { CheckState } from '../http/readiness.js';
import { createRequestHandler, type PacketDetail, type PacketOutcome, type RequestHandlerOptions } from './handler.js';
import { TRANSPORTS, type ListenerAddress, type Transport } from './transports/index.js';

export type { AccountingAttributes } from './attributes.js';
export type { AccountingRequest, PacketDetail, PacketOutcome, PacketSource, Reply, RequestHandler } from './handler.js';
export { createRequestHandler } from './handler.js';
export type { ListenerAddress, TransportName } from './transports/index.js';
export { loadDictionaries } from './dictionary.js';

export interface RadiusListenerOptions extends Omit<RequestHandlerOptions, 'onPacket'> {
  readonly onPacket: (outcome: PacketOutcome, detail: PacketDetail) => void;
  /** A connection closed for a reason the operator should see (idle, client removed). */
  readonly onNotice?: (message: string, detail: Record<string, unknown>) => void;
  /** A socket error after start; the listener keeps running. */
  readonly onError?: (error: Error) => void;
}

export interface RadiusListener {
  /** Binds every transport; throws RblError RBL_LISTEN (and unbinds what was bound) when one fails. */
  start(): Promise<void>;
  close(): Promise<void>;
  /** Hands each transport the reloaded config (RadSec certificates); clients are read per packet. */
  reload(config: Config): void;
  addresses(): ListenerAddress[];
  /** One /readyz check per transport ("radius" for UDP, "radius tls" for RadSec). */
  checks(): Record<string, CheckState>;
}

/** Builds the handler and the transports the config asks for; nothing is bound until start(). */
export function createRadiusListener(config: Config, options: RadiusListenerOptions): RadiusListener {
  const handler = createRequestHandler(options);
  const context = { handler, clients: options.clients, report: handler.report, onNotice: options.onNotice, onError: options.onError };
  const transports: Transport[] = TRANSPORTS.flatMap((plugin) => plugin.create(config, context) ?? []);

  return {
    async start() {
      const started: Transport[] = [];
      try {
        for (const transport of transports) {
          await transport.start();
          started.push(transport);
        }
      } catch (error) {
        await Promise.all(started.map((transport) => transport.close()));
        throw error;
      }
    },
    async close() {
      await Promise.all(transports.map((transport) => transport.close()));
      handler.clear();
    },
    reload(next) {
      for (const transport of transports) transport.reload(next);
    },
    addresses() {
      return transports.flatMap((transport) => transport.addresses());
    },
    checks() {
      return Object.fromEntries(transports.map((transport) => [transport.checkName, transport.ready()]));
    },
  };
}
