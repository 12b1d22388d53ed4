/**
 * The README is the user's manual: its error table, metric table and configuration reference must
 * say what the code does. Each table is compared with the one place the code defines it.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ERROR_CODES, exitStatusFor, RblError, type ErrorCode } from '../../src/errors.js';
import { METRIC_HELP } from '../../src/http/metrics.js';
import { BACKENDS } from '../../src/backends/index.js';
import { configSchemaFor } from '../../src/config/schema.js';
import { PROJECT_ROOT } from '../helpers/service.js';

/** The product's config schema: the one `serve` loads with. */
const configSchema = configSchemaFor(BACKENDS);

const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');

/** The rows of every markdown table whose header starts with `firstHeader`, split into cells. */
function tableRows(firstHeader: string): string[][] {
  const lines = readme.split('\n');
  const rows: string[][] = [];
  lines.forEach((line, index) => {
    if (!line.startsWith(`| ${firstHeader} |`)) return;
    for (const row of lines.slice(index + 2)) {
      if (!row.startsWith('|')) break;
      rows.push(row.slice(1, -1).split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, '|')));
    }
  });
  expect(rows.length, `a table headed "${firstHeader}"`).toBeGreaterThan(0);
  return rows;
}

/** Every key path of the config schema, with [] for list items (radius.clients[].name). */
function schemaKeys(schema: z.ZodType, prefix: string): string[] {
  let inner: z.ZodType = schema;
  // Unwrap defaults, optionals and refinements down to the object or array.
  for (;;) {
    if (inner instanceof z.ZodDefault || inner instanceof z.ZodOptional) inner = inner.unwrap() as z.ZodType;
    else break;
  }
  if (inner instanceof z.ZodObject) {
    return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([key, value]) => {
      const path = prefix === '' ? key : `${prefix}.${key}`;
      const below = schemaKeys(value, path);
      // A section (radius, state, ...) is documented through its keys.
      return below.length > 0 ? below : [path];
    });
  }
  if (inner instanceof z.ZodArray && prefix === 'radius.clients') return schemaKeys(inner.element as z.ZodType, `${prefix}[]`);
  return [];
}

describe('the README', () => {
  it('documents every error code with its exit status, what happened and what to do', () => {
    const rows = tableRows('code');
    const documented = new Map(rows.map(([code = '', exit, happened, todo]) => [code.replace(/`/g, ''), { exit, happened, todo }]));
    expect([...documented.keys()].sort()).toEqual(Object.keys(ERROR_CODES).sort());
    for (const [code, [happened, todo]] of Object.entries(ERROR_CODES)) {
      expect(documented.get(code)).toEqual({ exit: String(exitStatusFor(new RblError(code as ErrorCode, ''))), happened, todo });
    }
  });

  it('lists every metric with its type, labels and meaning', () => {
    const rows = tableRows('metric');
    expect(rows.map(([name = '']) => name.replace(/`/g, '')).sort()).toEqual(Object.keys(METRIC_HELP).sort());
    for (const [name = '', type, labels = '', help] of rows) {
      const metric = METRIC_HELP[name.replace(/`/g, '') as keyof typeof METRIC_HELP];
      expect(type).toBe(metric.type);
      expect(labels === '–' ? [] : labels.split(', ').map((label) => label.replace(/`/g, ''))).toEqual([...metric.labels]);
      expect(help).toBe(metric.help);
    }
  });

  it('has a reference row, with its default, for every config key', () => {
    const documented = new Set(tableRows('key').map(([key = '']) => key.replace(/`/g, '')));
    const backendKeys = ['dns-update', 'http'].flatMap((type) => {
      const backend = (configSchema.shape.backends.element as unknown as z.ZodDiscriminatedUnion<z.ZodObject[]>).options.find(
        (option) => (option.shape.type as z.ZodLiteral<string>).value === type,
      )!;
      return Object.keys(backend.shape);
    });
    const missing = [...schemaKeys(configSchema, ''), ...backendKeys].filter((key) => !documented.has(key));
    expect(missing).toEqual([]);
  });

  it('ships the license package.json names, and does not send users to a registry that lacks the package', () => {
    const license = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { license: string }).license;
    expect(license).toBe('MIT');
    expect(readFileSync(join(PROJECT_ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} /);
    expect(readme).not.toMatch(/npm install -g rbl-unlist\b/);
    expect(readme).toContain('not published to the npm registry yet');
  });

  it('gives a two-command quick start: one runs the whole job against a throwaway BIND, one installs the test peers and runs the tests', () => {
    const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## How it works'));
    const commands = /```sh\n([\s\S]*?)```/.exec(quickStart)![1]!.trim().split('\n');
    expect(commands).toEqual(['deploy/quickstart/run', 'sudo .ci/run']);
  });
});
