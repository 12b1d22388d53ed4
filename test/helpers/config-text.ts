/**
 * Config text for the tests that parse a config (no files, no service): one RADIUS client, the pool
 * 10.64.0.0/16 and the backend a test is about, and the error a config is refused with.
 */
import { BACKENDS } from '../../src/backends/index.js';
import { parseConfig, type Config } from '../../src/config/load.js';
import { RblError } from '../../src/errors.js';

/** A config whose one backend is `backend`: YAML lines of a list item's keys, indented four spaces, `type:` first. */
export function configWithBackend(backend: string, extra = ''): string {
  return `
radius:
  clients:
    - name: ras1
      address: 192.0.2.10/32
      secret: s3cret
pools: [10.64.0.0/16]
backends:
  - ${backend.trimStart()}
${extra}`;
}

/** Parses `text` as the config at `path`, with the product's backend types. */
export function parseConfigText(text: string, path: string): Config {
  return parseConfig(text, path, BACKENDS);
}

/** The RblError `text` is refused with; throws if it is accepted, or refused with another error. */
export function configRefusal(text: string, path: string): RblError {
  try {
    parseConfigText(text, path);
  } catch (error) {
    if (error instanceof RblError) return error;
    throw error;
  }
  throw new Error('the config was accepted');
}
