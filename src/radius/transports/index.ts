/**
 * Every RADIUS transport, in one list the daemon wires: each folder exports its schema part
 * (schemas.ts merges them into the config), its config resolution, its factory and its readiness.
 */
import { tlsTransport } from './tls/index.js';
import type { TransportPlugin } from './types.js';
import { udpTransport } from './udp/index.js';

export type { ListenerAddress, Transport, TransportContext, TransportName, TransportPlugin } from './types.js';

export const TRANSPORTS: readonly TransportPlugin[] = [udpTransport, tlsTransport];
