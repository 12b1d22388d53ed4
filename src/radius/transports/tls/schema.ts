/**
 * The RadSec transport's part of the `radius` config section (RFC 6614): `radius.tls`, and the
 * keys a client entry gets for it. Only zod here, so config/schema.ts can build the section from it.
 */
import { z } from 'zod';
import { timerDuration } from '../../../config/duration.js';

const nonEmpty = z.string().min(1, 'must not be empty');
const count = z.number().int().positive();

/** Defaults of `radius.tls`; the README reference and deploy/config.example.yaml name the same. */
export const TLS_DEFAULTS = {
  /** RFC 6614 §2.1: the RadSec port is TCP 2083. */
  listen: ['0.0.0.0:2083'],
  idle_timeout: '60s',
  max_connections: 256,
  max_connections_per_client: 8,
} as const;

/** `radius.tls`: the RadSec listener, left out for none. */
export const tlsSchema = {
  tls: z
    .strictObject({
      listen: z.array(nonEmpty).min(1).default([...TLS_DEFAULTS.listen]),
      certificate_file: nonEmpty,
      key_file: nonEmpty,
      ca_file: nonEmpty,
      idle_timeout: timerDuration.default(TLS_DEFAULTS.idle_timeout),
      max_connections: count.default(TLS_DEFAULTS.max_connections),
      max_connections_per_client: count.default(TLS_DEFAULTS.max_connections_per_client),
    })
    .optional(),
};

/** The keys a `radius.clients` entry gets for RadSec. */
export const tlsClientSchema = {
  transport: z.enum(['udp', 'tls']).default('udp'),
  certificate_name: nonEmpty.optional(),
};
