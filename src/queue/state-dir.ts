/**
 * The state directory itself: the service creates it, with any missing parents (as systemd's
 * StateDirectory= does), mode 0700 whatever the umask, since its files name subscribers' sessions and
 * addresses; the queue commands only read or edit one that exists. Either fails at once, naming the
 * folder, when it is not a directory it can use. (Node's own recursive mkdir never returns for a path
 * under /proc, so the levels are made one by one.)
 */
import { chmod, mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
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
