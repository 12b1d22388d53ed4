/**
 * The UDP transport's part of the `radius` config section: the datagram listen addresses, and
 * whether a thread of its own reads them.
 * Only zod here, so config/schema.ts can build the section from it without an import cycle.
 */
import { z } from 'zod';

export const DEFAULT_UDP_LISTEN = ['0.0.0.0:1813'] as const;

/** `radius.listen`: host:port list for RADIUS over UDP (RFC 2866); `radius.receive_thread`: who reads those sockets. */
export const udpSchema = {
  listen: z.array(z.string().min(1, 'must not be empty')).min(1).default([...DEFAULT_UDP_LISTEN]),
  receive_thread: z.union([z.literal('auto'), z.boolean()], { message: 'must be auto, true or false' }).default('auto'),
};
