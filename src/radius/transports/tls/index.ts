/** The RadSec transport as the transport list holds it: built when radius.tls is configured. */
import type { TransportPlugin } from '../types.js';
import { createTlsTransport } from './transport.js';

export const tlsTransport: TransportPlugin = {
  name: 'tls',
  create: (config, context) => (config.radius.tls ? createTlsTransport(config.radius.tls, context) : undefined),
};
