/** The recording backend as a backend list holds it: a folder of the same shape as src/backends/dns-update/ and http/. */
import type { BackendPlugin } from '../../../src/backends/types.js';
import { createRecordingBackend } from './backend.js';
import { recordingSummary, resolveRecordingConfig, type RecordingBackendConfig } from './config.js';
import { recordingSchema } from './schema.js';

export { recordedUnlists, type RecordedUnlist } from './backend.js';

export const recordingBackend: BackendPlugin<typeof recordingSchema, RecordingBackendConfig> = {
  type: 'recording',
  schema: recordingSchema,
  resolve: resolveRecordingConfig,
  create: createRecordingBackend,
  summary: recordingSummary,
};
