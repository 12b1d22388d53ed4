/**
 * The YAML config's shape, checked by zod: unknown keys are errors, every key but
 * radius.clients, pools and backends has a default. Semantic checks (addresses, files) are in load.ts.
 */
import { z } from 'zod';
import { transportClientShape, transportSectionShape } from '../radius/transports/schemas.js';

/** A duration: a number of seconds, or text such as "250ms", "5s", "10m", "1h", "7d". */
const duration = z.union([z.number().nonnegative(), z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/, 'a duration such as "5s", "250ms", "10m", "7d"')]);

const nonEmpty = z.string().min(1, 'must not be empty');

const clientSchema = z
  .strictObject({
    name: nonEmpty,
    address: nonEmpty,
    secret: nonEmpty.optional(),
    secret_file: nonEmpty.optional(),
    pools: z.array(nonEmpty).default([]),
    ...transportClientShape,
  })
  .refine((client) => client.secret === undefined || client.secret_file === undefined, {
    message: 'give exactly one of secret or secret_file (a tls client may give neither)',
  })
  // RFC 6614 §2.3: over TLS the secret defaults to "radsec"; over UDP it is the only protection.
  .refine((client) => client.transport === 'tls' || client.secret !== undefined || client.secret_file !== undefined, {
    message: 'give exactly one of secret or secret_file',
  });

const tsigInline = z.strictObject({
  name: nonEmpty,
  algorithm: nonEmpty.default('hmac-sha256'),
  secret: nonEmpty,
});

const dnsUpdateBackend = z
  .strictObject({
    type: z.literal('dns-update'),
    name: nonEmpty.optional(),
    server: nonEmpty,
    zones: z.array(nonEmpty).min(1, 'list at least one zone'),
    tsig_key_file: nonEmpty.optional(),
    tsig: tsigInline.optional(),
    delete: z.array(nonEmpty).min(1).default(['A', 'TXT']),
    timeout: duration.default('3s'),
  })
  .refine((backend) => (backend.tsig_key_file === undefined) !== (backend.tsig === undefined), {
    message: 'give exactly one of tsig_key_file or tsig',
  });

const httpBackend = z.strictObject({
  type: z.literal('http'),
  name: nonEmpty.optional(),
  preset: z.enum(['powerdns']).optional(),
  url: nonEmpty,
  zones: z.array(nonEmpty).default([]),
  method: nonEmpty.optional(),
  headers: z.record(z.string(), z.string()).default({}),
  body: z.string().optional(),
  api_key_file: nonEmpty.optional(),
  token_file: nonEmpty.optional(),
  success_status: z.array(z.number().int().min(100).max(599)).optional(),
  delete: z.array(nonEmpty).min(1).default(['A', 'TXT']),
  timeout: duration.default('5s'),
  ca_file: nonEmpty.optional(),
});

export const configSchema = z.strictObject({
  radius: z.strictObject({
    ...transportSectionShape,
    clients: z.array(clientSchema).min(1, 'list at least one client'),
    dictionaries: z.array(nonEmpty).default([]),
  }),
  pools: z.array(nonEmpty).min(1, 'list at least one pool'),
  unlist_on: z.array(z.enum(['stop', 'start', 'accounting-on', 'accounting-off'])).default(['stop', 'start', 'accounting-on', 'accounting-off']),
  backends: z.array(z.discriminatedUnion('type', [dnsUpdateBackend, httpBackend])).min(1, 'list at least one backend'),
  state: z
    .strictObject({
      dir: nonEmpty.default('/var/lib/rbl-unlist'),
      ack: z.enum(['journal', 'unlisted']).default('journal'),
    })
    .default({ dir: '/var/lib/rbl-unlist', ack: 'journal' }),
  sessions: z
    .strictObject({ max_age: duration.default('7d'), max: z.number().int().positive().default(2_000_000) })
    .default({ max_age: '7d', max: 2_000_000 }),
  http: z
    .strictObject({ listen: z.string().default('127.0.0.1:9813'), probe_interval: duration.default('10s') })
    .default({ listen: '127.0.0.1:9813', probe_interval: '10s' }),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      format: z.enum(['json', 'pretty']).default('json'),
    })
    .default({ level: 'info', format: 'json' }),
});

/** The config as written in YAML, after defaults. */
export type RawConfig = z.infer<typeof configSchema>;

/** Milliseconds in a duration value of the schema. */
export function durationMs(value: number | string): number {
  if (typeof value === 'number') return value * 1000;
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(value);
  if (!match) throw new Error(`bad duration ${value}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}
