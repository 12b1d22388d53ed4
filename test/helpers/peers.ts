/**
 * Finding the real peers (named, knotd, pdns_server, freeradius, radclient) and free loopback ports.
 * Under CI=true a missing peer fails the test; elsewhere the test is skipped with the reason.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SEARCH_PATH = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

/** The absolute path of an executable, or undefined when it is not installed. */
export function findExecutable(name: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(':'), ...SEARCH_PATH]) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** True when every named executable exists; under CI=true a missing one throws so the suite fails. */
export function havePeers(...names: string[]): boolean {
  const missing = names.filter((name) => findExecutable(name) === undefined);
  if (missing.length === 0) return true;
  if (process.env.CI === 'true') {
    throw new Error(`CI=true and ${missing.join(', ')} not installed: .ci/run must install it`);
  }
  return false;
}

/** The path of a required executable; throws naming the Debian package when it is missing. */
export function executable(name: string): string {
  const path = findExecutable(name);
  if (!path) throw new Error(`${name} not found; install its Debian package (see .ci/run)`);
  return path;
}

/*
 * Ports are handed out below the kernel's ephemeral range (32768-60999 on Linux), never from it: a
 * port the kernel picked for `listen(0)` and that was closed again can be given at once to another
 * test's client socket, which then holds it when the service is started on it (EADDRINUSE). Below
 * that range only freePort itself hands out ports, and each vitest worker has a slice of its own.
 */
const FIRST_PORT = 20_000;
const LAST_PORT = 32_767;
const WORKER_SLICES = 8;
const sliceSize = Math.floor((LAST_PORT - FIRST_PORT + 1) / WORKER_SLICES);
const workerSlice = (Number(process.env.VITEST_POOL_ID ?? process.pid) || 0) % WORKER_SLICES;
const sliceStart = FIRST_PORT + workerSlice * sliceSize;
let nextInSlice = Math.floor(Math.random() * sliceSize);

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

/** A port that is free for both TCP and UDP on 127.0.0.1 right now, and that no other test is given. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < sliceSize; attempt++) {
    const port = sliceStart + (nextInSlice++ % sliceSize);
    if ((await tcpFree(port)) && (await udpFree(port))) return port;
  }
  throw new Error(`no free port on 127.0.0.1 in ${sliceStart}-${sliceStart + sliceSize - 1}`);
}

/** A new temporary folder and a function that removes it. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `rbl-unlist-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Polls `check` every `intervalMs` until it returns true or `timeoutMs` passes; throws with `what` on time-out. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** A peer process whose stdout and stderr go to a file in its folder. */
export interface LoggedProcess {
  readonly child: ChildProcess;
  /** Everything it printed so far (what was read last, once its folder is gone). */
  output(): string;
}

/**
 * Starts `binary` in `dir` with its stdout and stderr written to `dir`/peer-output.log. A file, not
 * a pipe: a bench's BIND logs a line per name it deletes, and reading those through a pipe took the
 * process that also runs the load about a sixth of a core.
 */
export function spawnLogged(binary: string, args: readonly string[], dir: string): LoggedProcess {
  const outputFile = join(dir, 'peer-output.log');
  const fd = openSync(outputFile, 'w');
  let child: ChildProcess;
  try {
    child = spawn(binary, args, { cwd: dir, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  let lastRead = '';
  return {
    child,
    output() {
      try {
        lastRead = readFileSync(outputFile, 'utf8');
      } catch {
        // The folder was removed after the peer stopped: what it printed is what was read last.
      }
      return lastRead;
    },
  };
}

/** A peer daemon run in the foreground by a test, its stdout and stderr collected. */
export interface ForegroundPeer {
  /** Everything it printed so far. */
  output(): string;
  /** Stops it (SIGTERM, SIGKILL after 5 s) and removes its temporary folder. */
  stop(): Promise<void>;
}

/**
 * Starts `binary` in the foreground and waits until `ready(output)` holds; if it exits first, or is
 * not ready within timeoutMs, it is stopped and the error carries what it printed.
 */
export async function startForegroundPeer(
  what: string,
  binary: string,
  args: readonly string[],
  temp: { dir: string; remove: () => void },
  ready: (output: string) => boolean,
  timeoutMs: number,
): Promise<ForegroundPeer> {
  const { child, output } = spawnLogged(binary, args, temp.dir);
  let exited: number | null | undefined;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exited = code;
      resolve();
    }),
  );
  const stop = async (): Promise<void> => {
    if (exited === undefined) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(killer);
    }
    output();
    temp.remove();
  };
  try {
    await waitFor(what, () => {
      if (exited !== undefined) throw new Error(`${what}: it exited (${exited}) first:\n${output()}`);
      return ready(output());
    }, timeoutMs);
  } catch (error) {
    await stop();
    throw error;
  }
  return { output, stop };
}
