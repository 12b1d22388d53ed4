/**
 * The temporary folder of one measurement (the daemon's config, state.dir and log). Removed after
 * the measurement, unless RBL_BENCH_KEEP is set: then kept, and its path printed, so the daemon's
 * log (with whatever a `--cli` wrapper made V8 print into it) can be read after the run.
 */
import { tempDir } from '../test/helpers/peers.js';

export function benchTempDir(prefix: string): { dir: string; remove: () => void } {
  const made = tempDir(prefix);
  if (!process.env.RBL_BENCH_KEEP) return made;
  return { dir: made.dir, remove: () => console.log(`kept ${made.dir} (RBL_BENCH_KEEP)`) };
}
