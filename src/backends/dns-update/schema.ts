/**
 * A `backends[]` entry of `type: dns-update`: RFC 2136 UPDATE signed with TSIG (RFC 8945).
 * Only zod here, so the config schema can build its union of backend types from it.
 */
import { z } from 'zod';
import { timerDuration } from '../../config/duration.js';

const nonEmpty = z.string().min(1, 'must not be empty');

const tsigInline = z.strictObject({
  name: nonEmpty,
  algorithm: nonEmpty.default('hmac-sha256'),
  secret: nonEmpty,
});

export const dnsUpdateSchema = z
  .strictObject({
    type: z.literal('dns-update'),
    name: nonEmpty.optional(),
    server: nonEmpty,
    zones: z.array(nonEmpty).min(1, 'list at least one zone'),
    tsig_key_file: nonEmpty.optional(),
    tsig: tsigInline.optional(),
    delete: z.array(nonEmpty).min(1).default(['A', 'TXT']),
    timeout: timerDuration.default('3s'),
  })
  .refine((backend) => (backend.tsig_key_file === undefined) !== (backend.tsig === undefined), {
    message: 'give exactly one of tsig_key_file or tsig',
  });

export type RawDnsUpdateBackend = z.infer<typeof dnsUpdateSchema>;
