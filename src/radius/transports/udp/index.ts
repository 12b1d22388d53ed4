/** The UDP transport as the transport list holds it: built for every config (radius.listen has a default). */
import type { TransportPlugin } from '../types.js';
import { createUdpTransport } from './transport.js';

export const udpTransport: TransportPlugin = {
  name: 'udp',
  create: (config, context) =>
    createUdpTransport({ listen: config.radius.listen, receiveThread: config.radius.receiveThread, handler: context.handler, onError: context.onError, clients: context.clients }),
};
