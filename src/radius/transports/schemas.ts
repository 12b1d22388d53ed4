/**
 * The config schema parts of every transport, merged into the `radius` section by config/schema.ts.
 * Adding a transport adds its part here, beside its entry in ./index.ts.
 */
import { tlsClientSchema, tlsSchema } from './tls/schema.js';
import { udpSchema } from './udp/schema.js';

/** Keys of the `radius` section owned by the transports (listen, tls). */
export const transportSectionShape = { ...udpSchema, ...tlsSchema };

/** Keys of a `radius.clients` entry owned by the transports (transport, certificate_name). */
export const transportClientShape = { ...tlsClientSchema };
