/**
 * The state directory itself: the service creates it, with any missing parents (as systemd's
 * StateDirectory= does), mode 0700 whatever the umask, since its files name subscribers' sessions and
 * addresses; the queue commands only read or edit one that exists. Either fails at once, naming the
 * folder, when it is not a directory it can use. (Node's own recursive mkdir never returns for a path
 * under /proc, so the levels are made one by one.)
 */
import { chmod, lstat, mkdir, readdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { RblError } from '../errors.js';

export const STATE_DIR_MODE = 0o700;

/** For `serve`: makes sure state.dir is a directory, creating it and missing parents mode 0700. */
export async function prepareStateDir(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let level = resolve(dir); ; level = dirname(level)) {
    const exists = await stat(level).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return false;
        throw unusable(dir, error, 'cannot be created');
      },
    );
    if (exists || dirname(level) === level) break;
    missing.unshift(level);
  }
  for (const level of missing) {
    try {
      await mkdir(level, { mode: STATE_DIR_MODE });
      // mkdir's mode passes through the umask; the folder must not be readable by others whatever it is.
      await chmod(level, STATE_DIR_MODE);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw unusable(dir, error, 'cannot be created');
    }
  }
  await requireStateDir(dir);
}

/** What {@link tightenStateDir} did: the paths it took group and other access off, and those it could not. */
export interface Tightened {
  readonly paths: readonly string[];
  readonly failed: readonly { readonly path: string; readonly code: string }[];
}

/**
 * For `serve`: takes group and other access off state.dir and everything in it (symbolic links are
 * left alone). Releases before 0.2 left the folder 0750 and its files 0644 under the usual umask,
 * and those files may hold what 0.1 journaled unredacted: the backend URLs with their tokens.
 */
export async function tightenStateDir(dir: string): Promise<Tightened> {
  const paths: string[] = [];
  const failed: { path: string; code: string }[] = [];
  const visit = async (path: string): Promise<void> => {
    // state.dir itself is followed when it is a link (/var/lib/rbl-unlist pointing at a bigger
    // volume); links inside it are left alone.
    const info = path === dir ? await stat(path) : await lstat(path);
    if (info.isSymbolicLink()) return;
    if ((info.mode & 0o077) !== 0) {
      try {
        await chmod(path, info.mode & 0o700);
        paths.push(path);
      } catch (error) {
        failed.push({ path, code: (error as NodeJS.ErrnoException).code ?? (error as Error).message });
      }
    }
    if (info.isDirectory()) for (const name of await readdir(path)) await visit(join(path, name));
  };
  await visit(dir);
  return { paths, failed };
}

/**
 * For the queue commands that write to state.dir: they must run as its owner (the service's user).
 * A file root made there (the requests folder, a request, a compacted journal) would be root's,
 * 0600: the service could not read it, and would not answer, or not start, until someone chowned it.
 */
export async function requireStateDirOwner(dir: string): Promise<void> {
  const uid = process.getuid?.();
  if (uid === undefined) return;
  const owner = (await stat(dir)).uid;
  if (owner === uid) return;
  throw new RblError(
    'RBL_STATE_DIR',
    `state.dir ${dir} belongs to uid ${owner}, and this command runs as uid ${uid}: what it wrote there would not be readable by the service; run it as the service's user (sudo -u '#${owner}' rbl-unlist ...)`,
  );
}

/** For the queue commands: state.dir must exist and be a directory. */
export async function requireStateDir(dir: string): Promise<void> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(dir)).isDirectory();
  } catch (error) {
    throw unusable(dir, error, 'cannot be used');
  }
  if (!isDirectory) throw new RblError('RBL_STATE_DIR', `state.dir ${dir} is not a directory; check state.dir in the config`);
}

function unusable(dir: string, error: unknown, what: 'cannot be created' | 'cannot be used'): RblError {
  const code = (error as NodeJS.ErrnoException).code;
  let why: string;
  if (code !== 'ENOENT') why = `(${code ?? (error as Error).message})`;
  else why = what === 'cannot be used' ? ': it does not exist' : '(ENOENT: its parent is not a folder that can hold folders)';
  return new RblError('RBL_STATE_DIR', `state.dir ${dir} ${what}${why.startsWith(':') ? why : ` ${why}`}; check state.dir in the config`, { cause: error });
}
