/**
 * Child processes in the crash and lock tests run plain JavaScript: every file of src/ transpiled
 * (types stripped, no type check) into a temporary folder, so they import what the product imports
 * without depending on a prior `npm run build`.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

const ROOT = join(import.meta.dirname, '..', '..');

/** Transpiles src/ into a new temporary folder (an ES module package) and returns its path; the caller removes it. */
export function transpileSources(prefix: string): string {
  const build = mkdtempSync(join(tmpdir(), `rbl-unlist-${prefix}-`));
  const sources = readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.ts'));
  for (const name of sources) {
    const source = join(ROOT, 'src', name);
    const output = ts.transpileModule(readFileSync(source, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
    }).outputText;
    const target = join(build, relative(ROOT, source)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, output);
  }
  writeFileSync(join(build, 'package.json'), '{"type":"module"}');
  return build;
}
