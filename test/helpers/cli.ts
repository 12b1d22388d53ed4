/**
 * Runs the `rbl-unlist` command line: in-process through runCli with captured output, or as the
 * built binary (`node dist/cli/main.js`) the way an operator does. Also writes the config and
 * TSIG key files the CLI tests point it at.
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../src/cli/program.js';
import { freePort } from './peers.js';
import { BUILT_CLI, PROJECT_ROOT, serviceConfigYaml, writeConfig } from './service.js';

export interface CliResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the command line in-process with captured stdout and stderr; `env` replaces process.env. */
export async function runCliCaptured(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const status = await runCli(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env,
  });
  return { status, stdout, stderr };
}

/** Runs a command with a time limit (then SIGKILL), collecting its output; status is null when a signal ended it. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.once('error', reject);
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

/** Runs `node dist/cli/main.js ARGS` (after `npm run build`); `env` is added to process.env. */
export async function runBuiltCli(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<CliResult> {
  if (!existsSync(BUILT_CLI)) throw new Error(`${BUILT_CLI} is missing: run npm run build first (npm test does)`);
  const { status, signal, stdout, stderr } = await runCommand(process.execPath, [BUILT_CLI, ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, RBL_UNLIST_CONFIG: undefined, ...env },
    timeoutMs,
  });
  return { status: status ?? (signal ? 128 : 1), stdout, stderr };
}

/** A fixed TSIG secret for tests (base64 of 32 bytes), and a different one for "wrong key" cases. */
export const TEST_TSIG_SECRET = '0f3ZCWd0W0Ulu3DKtPnvWMqcyFqOLJ3PMlZ0V9tWnLU=';
export const WRONG_TSIG_SECRET = 'q5n1lV1K0wW2QGx0o0Z4v3m9cYH0c3l8lDq0m6bXl0A=';

/** Writes a BIND key file as `tsig-keygen` does, mode 0600 unless told; returns its path. */
export function writeKeyFile(dir: string, file: string, options: { name?: string; secret?: string; algorithm?: string; mode?: number } = {}): string {
  const path = join(dir, file);
  const text = `key "${options.name ?? 'unlist-key'}" {\n\talgorithm ${options.algorithm ?? 'hmac-sha256'};\n\tsecret "${options.secret ?? TEST_TSIG_SECRET}";\n};\n`;
  writeFileSync(path, text, { mode: options.mode ?? 0o600 });
  return path;
}

/**
 * A service config in `dir` on a free RADIUS port whose one backend never answers (127.0.0.1:9), so
 * every Stop stays pending: for tests of the service and its state.dir, not of delivery.
 */
export async function pendingServiceConfig(dir: string, stateDir: string, name = 'config.yaml'): Promise<{ file: string; radiusPort: number }> {
  const radiusPort = await freePort();
  const keyFile = writeKeyFile(dir, 'tsig.key');
  const yaml = serviceConfigYaml({
    radiusPort,
    backends: [{ type: 'dns-update', server: '127.0.0.1:9', zones: ['rbl.test'], tsig_key_file: keyFile, timeout: '1s' }],
    stateDir,
  });
  return { file: writeConfig(dir, yaml, name), radiusPort };
}

export interface DnsBackendSpec {
  readonly server: string;
  readonly zones: readonly string[];
  readonly keyFile: string;
  readonly name?: string;
  readonly timeout?: string;
}

/** Config YAML with one RADIUS client, the given pools and one dns-update backend per spec. */
export function cliConfigYaml(options: { pools: readonly string[]; backends: readonly DnsBackendSpec[]; stateDir?: string }): string {
  const backends = options.backends
    .map((backend) =>
      [
        `  - type: dns-update`,
        ...(backend.name ? [`    name: ${JSON.stringify(backend.name)}`] : []),
        `    server: ${JSON.stringify(backend.server)}`,
        `    zones: [${backend.zones.join(', ')}]`,
        `    tsig_key_file: ${JSON.stringify(backend.keyFile)}`,
        `    timeout: ${backend.timeout ?? '2s'}`,
      ].join('\n'),
    )
    .join('\n');
  return `radius:
  listen: ["127.0.0.1:0"]
  clients:
    - name: ras1
      address: 127.0.0.1/32
      secret: s3cret
pools: [${options.pools.map((pool) => JSON.stringify(pool)).join(', ')}]
backends:
${backends}
state:
  dir: ${JSON.stringify(options.stateDir ?? 'state')}
http:
  listen: ""
log:
  level: warn
`;
}
