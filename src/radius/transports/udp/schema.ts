/**
 * The UDP transport's part of the `radius` config section: the datagram listen addresses.
 * Only zod here, so config/schema.ts can build the section from it without an import cycle.
 */
import { z } from 'zod';

export const DEFAULT_UDP_LISTEN = ['0.0.0.0:1813'] as const;

/** `radius.listen`: host:port list for RADIUS over UDP (RFC 2866). */
export const udpSchema = {
  listen: z.array(z.string().min(1, 'must not be empty')).min(1).default([...DEFAULT_UDP_LISTEN]),
};
