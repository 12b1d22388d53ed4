/**
 * A `backends[]` entry of `type: http`: a generic HTTP API described by URL and body templates,
 * or the PowerDNS API with `preset: powerdns`. Only zod here, so the config schema can build its
 * union of backend types from it.
 */
import { z } from 'zod';
import { timerDuration } from '../../config/duration.js';

const nonEmpty = z.string().min(1, 'must not be empty');

export const httpSchema = z.strictObject({
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
  timeout: timerDuration.default('5s'),
  ca_file: nonEmpty.optional(),
});

export type RawHttpBackend = z.infer<typeof httpSchema>;
