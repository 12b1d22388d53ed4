/**
 * The YAML config's shape, checked by zod: unknown keys are errors, every key but
 * radius.clients, pools and backends has a default. Semantic checks (addresses, files) are in load.ts;
 * each backend type's entry and each transport's keys come from their own folders.
 */
import { z } from 'zod';
import type { BACKENDS, BackendRegistry } from '../backends/index.js';
import { transportClientShape, transportSectionShape } from '../radius/transports/schemas.js';
import { duration, timerDuration } from './duration.js';

export { durationMs } from './duration.js';

const nonEmpty = z.string().min(1, 'must not be empty');

/**
 * state.max_unwritten's default. A burst keeps a few hundred requests waiting for one synchronized write;
 * ten thousand is seconds of a busy network's Stops on a slow disk, and a few tens of MB of memory
 * on a hung one (FreeRADIUS's max_requests plays the same part).
 */
export const DEFAULT_MAX_UNWRITTEN = 10_000;

const clientSchema = z
  .strictObject({
    name: nonEmpty,
    address: nonEmpty,
    secret: nonEmpty.optional(),
    secret_file: nonEmpty.optional(),
    pools: z.array(nonEmpty).default([]),
    max_sessions: z.number().int().positive().optional(),
    ...transportClientShape,
  })
  .refine((client) => client.secret === undefined || client.secret_file === undefined, {
    message: 'give exactly one of secret or secret_file (a tls client may give neither)',
  })
  // RFC 6614 §2.3: over TLS the secret defaults to "radsec"; over UDP it is the only protection.
  .refine((client) => client.transport === 'tls' || client.secret !== undefined || client.secret_file !== undefined, {
    message: 'give exactly one of secret or secret_file',
  });

/** The config schema whose `backends` entries are the types of `backends` (each type's own schema). */
export function configSchemaFor<Registry extends BackendRegistry>(backends: Registry) {
  return z.strictObject({
    radius: z.strictObject({
      ...transportSectionShape,
      clients: z.array(clientSchema).min(1, 'list at least one client'),
      dictionaries: z.array(nonEmpty).default([]),
    }),
    pools: z.array(nonEmpty).min(1, 'list at least one pool'),
    unlist_on: z.array(z.enum(['stop', 'start', 'accounting-on', 'accounting-off'])).default(['stop', 'start', 'accounting-on', 'accounting-off']),
    backends: z.array(backends.schema).min(1, 'list at least one backend'),
    state: z
      .strictObject({
        dir: nonEmpty.default('/var/lib/rbl-unlist'),
        ack: z.enum(['journal', 'unlisted']).default('journal'),
        max_unwritten: z.number().int().positive().default(DEFAULT_MAX_UNWRITTEN),
      })
      .default({ dir: '/var/lib/rbl-unlist', ack: 'journal', max_unwritten: DEFAULT_MAX_UNWRITTEN }),
    sessions: z
      .strictObject({ max_age: duration.default('7d'), max: z.number().int().positive().default(2_000_000) })
      .default({ max_age: '7d', max: 2_000_000 }),
    http: z
      .strictObject({ listen: z.string().default('127.0.0.1:9813'), probe_interval: timerDuration.default('10s') })
      .default({ listen: '127.0.0.1:9813', probe_interval: '10s' }),
    log: z
      .strictObject({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        format: z.enum(['json', 'pretty']).default('json'),
      })
      .default({ level: 'info', format: 'json' }),
  });
}

/** The config as written in YAML, after defaults, with the product's backend types (src/backends/index.ts). */
export type RawConfig = z.infer<ReturnType<typeof configSchemaFor<typeof BACKENDS>>>;
