/**
 * Turns what is wrong with a config file into one error that lists every problem at once, as
 * an operator fixing a file wants: YAML syntax errors with their line, unknown keys with the
 * nearest known key ("did you mean"), missing keys, and wrong values named by their key path.
 */
import type { YAMLError } from 'yaml';
import type { z } from 'zod';
import { RblError, type ErrorCode } from '../errors.js';

/** One problem: its error code and its text without the file name. */
export interface ConfigProblem {
  readonly code: ErrorCode;
  readonly text: string;
}

/**
 * One RblError for all the problems of `path`: the first problem's code; one problem reads
 * `FILE: text`, several read `FILE: N problems:` with one indented line each.
 */
export function configError(path: string, problems: readonly ConfigProblem[]): RblError {
  const first = problems[0]!;
  if (problems.length === 1) return new RblError(first.code, `${path}: ${first.text}`);
  return new RblError(first.code, `${path}: ${problems.length} problems:\n${problems.map((problem) => `  - ${problem.text}`).join('\n')}`);
}

/** A YAML syntax error as `line L, column C: reason: "the line"`, without the yaml library's trailing context block. */
export function yamlProblem(error: YAMLError, text: string): ConfigProblem {
  // The library's message is "reason at line L, column C:\n\n<context>"; keep the reason only.
  const reason = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '').replace(/:$/, '');
  const position = error.linePos?.[0];
  if (!position) return { code: 'RBL_CONFIG_SYNTAX', text: reason };
  const lines = text.split(/\r?\n/);
  const line = lines[position.line - 1] ?? '';
  const shown = continuesCredential(lines, position.line - 1) ? 'REDACTED' : withoutSecret(line.trimEnd());
  return { code: 'RBL_CONFIG_SYNTAX', text: `line ${position.line}, column ${position.col}: ${reason}: ${JSON.stringify(shown)}` };
}

/**
 * Whether line `at` (0-based) continues the value of a credential key above it: a line more
 * indented than the key (a block scalar `secret: |`, a plain scalar's next line), or inside a quote
 * the key's line opened and did not close (`secret: "hunter2` on one line, `hunter3"` on the next,
 * in block or flow style). Such a line is nothing but the secret, whatever it looks like, so it is
 * not quoted at all. Read from the top, as the parser does.
 */
function continuesCredential(lines: readonly string[], at: number): boolean {
  let within: { readonly quote: '"' | "'" } | { readonly indent: number } | undefined;
  for (let i = 0; i <= at; i++) {
    const line = lines[i]!;
    if (within && 'quote' in within) {
      if (i === at) return true;
      if (closesQuote(line, within.quote)) within = undefined;
      continue;
    }
    if (within) {
      if (line.trim() === '' || line.search(/\S/) > within.indent) {
        if (i === at) return true;
        continue;
      }
      within = undefined;
    }
    if (i === at) return false;
    within = credentialOpenedBy(line);
  }
  return false;
}

/** What a line's credential key leaves open for the lines after it: a quote, or its value's indentation. */
function credentialOpenedBy(line: string): { readonly quote: '"' | "'" } | { readonly indent: number } | undefined {
  const block = BLOCK_CREDENTIAL.exec(line);
  if (block && !isPathKey(block[3]!)) {
    const quote = openQuote(line.slice(block[1]!.length).trim());
    return quote === undefined ? { indent: line.indexOf(block[3]!) - (block[2] ? 1 : 0) } : { quote };
  }
  for (const match of line.matchAll(FLOW_CREDENTIAL)) {
    const quote = isPathKey(match[3]!) ? undefined : openQuote(match[4]!.trim());
    if (quote !== undefined) return { quote };
  }
  return undefined;
}

/** The quote character a value opens and does not close on its line, if any. */
function openQuote(value: string): '"' | "'" | undefined {
  const quote = value[0];
  if (quote !== '"' && quote !== "'") return undefined;
  return closesQuote(value.slice(1), quote) ? undefined : quote;
}

/** Whether the text holds the closing `quote`: an unescaped `"`, or a `'` not doubled. */
function closesQuote(text: string, quote: '"' | "'"): boolean {
  return quote === '"' ? /(^|[^\\])(\\\\)*"/.test(text) : /'(?!')/.test(text.replace(/''/g, ''));
}

/** Keys whose values are credentials: `secret` (a RADIUS client's, an inline TSIG key's), and an HTTP header's or API's. */
const CREDENTIAL_KEY = String.raw`[\w-]*(?:secret|password|passwd|token|authorization|api[-_]?key)[\w-]*`;
/** A credential key starting the line (block style): its value runs to the end of the line. */
const BLOCK_CREDENTIAL = new RegExp(String.raw`^(\s*(?:-\s+)?(["']?)(${CREDENTIAL_KEY})\2\s*:).*$`, 'i');
/** A credential key inside a flow map (`{name: k, secret: X}`): its value runs to the next `,`, `}` or `]`, or its closing quote. */
const FLOW_CREDENTIAL = new RegExp(String.raw`([{,]\s*(["']?)(${CREDENTIAL_KEY})\2\s*:)\s*("(?:[^"\\]|\\.)*"?|'(?:[^']|'')*'?|[^,}\]]*)`, 'gi');

/**
 * The offending line as an error quotes it, with the value of every credential key REDACTED, in
 * block or flow style (`secret: X`, `{secret: X}`, `headers: {Authorization: Bearer X}`), but not a
 * `*_file` key's path: the error goes to a terminal and the service's log. (A URL's credentials are
 * redacted in every error's text already.)
 */
function withoutSecret(line: string): string {
  const block = BLOCK_CREDENTIAL.exec(line);
  if (block && !isPathKey(block[3]!)) return `${block[1]} REDACTED`;
  return line.replace(FLOW_CREDENTIAL, (match, head: string, _quote: string, key: string) => (isPathKey(key) ? match : `${head} REDACTED`));
}

function isPathKey(key: string): boolean {
  return key.toLowerCase().endsWith('_file');
}

/**
 * Every issue zod found, in the file's words, unknown keys first (a misspelt key is often why a
 * required one is missing); `input` is the parsed YAML, to suggest keys of the right backend type.
 */
export function schemaProblems(error: z.ZodError, schema: z.ZodType, input: unknown): ConfigProblem[] {
  const problems = error.issues.flatMap((issue): ConfigProblem[] => {
    const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(schema, issue.path, input);
      return issue.keys.map((key) => {
        const name = issue.path.length > 0 ? `${where}.${key}` : key;
        const suggestion = nearest(key, known);
        return { code: 'RBL_CONFIG_UNKNOWN_KEY', text: `unknown key ${name}${suggestion ? ` (did you mean ${suggestion}?)` : ''}` };
      });
    }
    if (issue.code === 'invalid_type' && issue.message.includes('undefined')) return [{ code: 'RBL_CONFIG_INVALID', text: `${where} is required` }];
    return [{ code: 'RBL_CONFIG_INVALID', text: `${where}: ${issue.message}` }];
  });
  return [...problems.filter((p) => p.code === 'RBL_CONFIG_UNKNOWN_KEY'), ...problems.filter((p) => p.code !== 'RBL_CONFIG_UNKNOWN_KEY')];
}

/** The keys the schema allows at `path` (an object's keys), or none when it is not an object. */
function knownKeys(schema: z.ZodType, path: readonly PropertyKey[], input: unknown): string[] {
  let node: SchemaNode | undefined = schema as unknown as SchemaNode;
  let value = input;
  for (const segment of path) {
    node = unwrap(node, value);
    if (!node) return [];
    const def: SchemaDef = node._zod.def;
    if (def.type === 'object' && typeof segment === 'string') node = def.shape?.[segment];
    else if (def.type === 'array') node = def.element;
    else return [];
    value = (value as Record<PropertyKey, unknown> | undefined)?.[segment];
  }
  node = unwrap(node, value);
  return node?._zod.def.type === 'object' ? Object.keys(node._zod.def.shape ?? {}) : [];
}

/** zod v4's schema definitions, as far as finding an object's keys needs them. */
interface SchemaDef {
  readonly type: string;
  readonly shape?: Record<string, SchemaNode>;
  readonly element?: SchemaNode;
  readonly innerType?: SchemaNode;
  readonly options?: readonly SchemaNode[];
}
interface SchemaNode {
  readonly _zod: { readonly def: SchemaDef };
}

/** Looks through defaults and optionals; for a union picks the option whose `type` literal matches the value's. */
function unwrap(node: SchemaNode | undefined, value: unknown): SchemaNode | undefined {
  for (let depth = 0; node && depth < 10; depth++) {
    const def = node._zod.def;
    if (def.innerType) node = def.innerType;
    else if (def.type === 'union' && def.options) {
      const type = (value as { type?: unknown } | undefined)?.type;
      return def.options.find((option) => {
        const literal = option._zod.def.shape?.type?._zod.def as { values?: readonly unknown[] } | undefined;
        return literal?.values?.includes(type);
      });
    } else return node;
  }
  return node;
}

/**
 * The known key closest to `key` when it is a likely typo (edit distance at most a third of its
 * length, at least 1) or a known key begins with it (`api_key` for `api_key_file`), else undefined.
 */
export function nearest(key: string, known: readonly string[]): string | undefined {
  const extended = key.length >= 3 ? known.find((candidate) => candidate.startsWith(key)) : undefined;
  if (extended) return extended;
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (!best || distance < best.distance) best = { key: candidate, distance };
  }
  return best && best.distance <= Math.max(1, Math.floor(key.length / 3)) ? best.key : undefined;
}

/** Levenshtein distance, with a transposition costing 1 ("zoens" is one step from "zones"). */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = value;
    }
  }
  return rows[a.length]![b.length]!;
}
