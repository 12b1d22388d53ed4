/**
 * The recording backend: every unlist call is remembered, by backend name, for the test to read;
 * its probe passes while its health file (if any) holds text.
 */
import { readFileSync } from 'node:fs';
import type { Backend } from '../../../src/backends/types.js';
import { RblError } from '../../../src/errors.js';
import { formatPrefix } from '../../../src/net/address.js';
import type { RecordingBackendConfig } from './config.js';

/** One unlist call: the zone and its targets as canonical text. */
export interface RecordedUnlist {
  readonly zone: string;
  readonly targets: readonly string[];
}

const recorded = new Map<string, RecordedUnlist[]>();

/** What the backend named `name` was asked to unlist so far. */
export function recordedUnlists(name: string): readonly RecordedUnlist[] {
  return recorded.get(name) ?? [];
}

export function createRecordingBackend(config: RecordingBackendConfig): Backend {
  const calls = recorded.get(config.name) ?? [];
  recorded.set(config.name, calls);
  return {
    name: config.name,
    zones: config.zones,
    unlist(zone, targets) {
      calls.push({ zone, targets: targets.map(formatPrefix) });
      return Promise.resolve();
    },
    check(zone) {
      return Promise.resolve({ zone, names: [], listed: false });
    },
    probe() {
      const healthy = config.healthFile === undefined || readFileSync(config.healthFile, 'utf8').trim() !== '';
      return healthy ? Promise.resolve() : Promise.reject(new RblError('RBL_HTTP_CONNECTION', `${config.name}: health file ${config.healthFile} is empty`));
    },
    describe(zone, targets) {
      return targets.map((target) => `record ${formatPrefix(target)} in ${zone}`).join('\n');
    },
    close() {
      return Promise.resolve();
    },
  };
}
