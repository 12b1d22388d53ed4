/**
 * A `backends[]` entry of `type: recording`, the tests' own backend type: it sends nothing and
 * remembers every call. Only zod here, as in every backend folder.
 */
import { z } from 'zod';
import { duration } from '../../../src/config/duration.js';

export const recordingSchema = z.strictObject({
  type: z.literal('recording'),
  name: z.string().min(1).optional(),
  zones: z.array(z.string().min(1)).min(1, 'list at least one zone'),
  delete: z.array(z.string().min(1)).min(1).default(['A', 'TXT']),
  timeout: duration.default('1s'),
  /** A file whose text the probe must find non-empty: readiness the test can turn off. */
  health_file: z.string().min(1).optional(),
});

export type RawRecordingBackend = z.infer<typeof recordingSchema>;
