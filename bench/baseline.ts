/**
 * The previous release, built from git beside the candidate so the bench can run both in one run:
 * `git archive <ref>` into bench/results/baseline-<commit>/ (ignored by git), the project's own
 * node_modules linked in (a release's runtime dependencies are a subset of today's), and `tsc -p
 * tsconfig.build.json`. Built once per commit and reused.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './service.js';

export interface BaselineBuild {
  readonly ref: string;
  readonly commit: string;
  /** The release's dist/cli/main.js. */
  readonly cli: string;
  /** The release's DNS UPDATE backend module (dist/backends/dns-update/backend.js), for BIND's ceiling through its client. */
  readonly dnsUpdateBackend: string;
}

function git(args: string[]): string {
  const run = spawnSync('git', args, { cwd: PROJECT_ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${run.stderr}`);
  return run.stdout.trim();
}

/** The commits of released versions, for a clone that did not bring the release tags along. */
const RELEASE_COMMITS: Readonly<Record<string, string>> = {
  'v0.1.0': '52911f8eda750b05d8928fffeb53b2ebcc5f7399',
  'v0.2.0': '8d00a1233b41c888a9cdb479d270ce96061fd266',
  'v0.3.0': '80045c90f4e0a21b532e806d932a243876b6e401',
};

/** Builds `ref` (a tag or commit) once into bench/results/baseline-<commit>/ and returns its CLI. */
export function buildBaseline(ref: string, resultsDir: string): BaselineBuild {
  let commit: string;
  try {
    commit = git(['rev-parse', '--verify', `${ref}^{commit}`]);
  } catch (error) {
    const known = RELEASE_COMMITS[ref];
    if (known === undefined) throw error;
    commit = git(['rev-parse', '--verify', `${known}^{commit}`]);
  }
  const dir = join(resultsDir, `baseline-${commit.slice(0, 12)}`);
  const cli = join(dir, 'dist', 'cli', 'main.js');
  const dnsUpdateBackend = join(dir, 'dist', 'backends', 'dns-update', 'backend.js');
  if (existsSync(cli)) return { ref, commit, cli, dnsUpdateBackend };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const archive = spawnSync('sh', ['-c', `git archive --format=tar ${commit} | tar -x -C "${dir}"`], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  if (archive.status !== 0) throw new Error(`git archive ${ref} failed: ${archive.stderr}`);
  symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const tsc = spawnSync(process.execPath, [join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: dir, encoding: 'utf8' });
  if (tsc.status !== 0 || !existsSync(cli)) throw new Error(`building ${ref} failed:\n${tsc.stdout}${tsc.stderr}`);
  return { ref, commit, cli, dnsUpdateBackend };
}
