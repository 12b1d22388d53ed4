/** Resolves a `type: recording` entry through the context config/load.ts lends every backend type. */
import { durationMs } from '../../../src/config/duration.js';
import { resolveDeleteTypes, resolveZones } from '../../../src/backends/zones.js';
import type { BackendConfigBase, BackendResolveContext, BackendSummary } from '../../../src/backends/types.js';
import type { RawRecordingBackend } from './schema.js';

export interface RecordingBackendConfig extends BackendConfigBase {
  readonly type: 'recording';
  /** Absolute path of the health file, when given. */
  readonly healthFile: string | undefined;
}

export function resolveRecordingConfig(raw: RawRecordingBackend, context: BackendResolveContext): RecordingBackendConfig {
  const zones = resolveZones(raw.zones, context);
  return Object.freeze({
    type: 'recording',
    name: raw.name ?? `recording ${zones.join(' ')}`,
    zones,
    deleteTypes: resolveDeleteTypes(raw.delete),
    timeoutMs: durationMs(raw.timeout),
    healthFile: raw.health_file === undefined ? undefined : context.file(raw.health_file),
  });
}

export function recordingSummary(config: RecordingBackendConfig): BackendSummary {
  return { fields: { healthFile: config.healthFile ?? null }, how: 'recording (tests)' };
}
