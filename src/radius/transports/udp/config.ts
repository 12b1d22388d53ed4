/** Resolves `radius.listen` into endpoints for the UDP transport. */
import type { Endpoint } from '../../../config/load.js';
import type { ResolveContext } from '../types.js';

/** `radius.receive_thread`: a thread of its own reads the sockets (true), the service's thread does (false), or `auto`. */
export type ReceiveThreadSetting = 'auto' | boolean;

/** RFC 2866 §3: RADIUS accounting is UDP port 1813. */
export const UDP_ACCOUNTING_PORT = 1813;

/** The UDP listen endpoints, frozen. */
export function resolveUdpConfig(listen: readonly string[], context: ResolveContext): readonly Endpoint[] {
  return Object.freeze(listen.map((text, i) => context.endpoint(text, `radius.listen.${i}`, UDP_ACCOUNTING_PORT)));
}
