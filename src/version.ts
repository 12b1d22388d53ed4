/** The package version, read once from package.json (one folder up from both src/ and dist/). */
import { readFileSync } from 'node:fs';

let version: string | undefined;

/** The version in package.json. */
export function packageVersion(): string {
  version ??= (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return version;
}
