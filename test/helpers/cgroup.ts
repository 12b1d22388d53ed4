/**
 * A cgroup of the test's own with a CFS quota on the cpu controller, as a container's `--cpus`
 * or a systemd unit's `CPUQuota=` sets one: made below the test process's own cgroup, in the
 * cgroup v1 `cpu` hierarchy where the host has one (this project's machine), else in cgroup v2.
 * It needs root and a writable cgroup file system.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface QuotaCgroup {
  readonly dir: string;
  /** A launcher for startService: moves the shell into the cgroup, then execs the command. */
  readonly launcher: readonly string[];
  /** Removes the cgroup; the processes in it must have ended. */
  remove(): void;
}

/** The mount point and root of a cgroup file system: v1 with the cpu controller, or v2. */
function mountOf(kind: 'v1-cpu' | 'v2'): { root: string; mountPoint: string } | undefined {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [mount, super_] = line.split(' - ');
    if (!mount || !super_) continue;
    const fields = mount.split(' ');
    const [type, , options = ''] = super_.split(' ');
    if (kind === 'v2' ? type === 'cgroup2' : type === 'cgroup' && options.split(',').includes('cpu')) return { root: fields[3]!, mountPoint: fields[4]! };
  }
  return undefined;
}

/** The test process's cgroup path in the v1 cpu hierarchy or in v2. */
function pathOf(kind: 'v1-cpu' | 'v2'): string | undefined {
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [id, controllers, ...rest] = line.split(':');
    const path = rest.join(':');
    if (kind === 'v2' ? id === '0' && controllers === '' : controllers?.split(',').includes('cpu')) return path;
  }
  return undefined;
}

/** Makes a cgroup allowed `cpus` CPUs' time (a quota of cpus × the 100 ms period); throws saying why it cannot. */
export function makeQuotaCgroup(name: string, cpus: number): QuotaCgroup {
  const period = 100_000;
  const quota = Math.round(cpus * period);
  const place = (kind: 'v1-cpu' | 'v2'): string | undefined => {
    const mount = mountOf(kind);
    const path = pathOf(kind);
    if (!mount || path === undefined) return undefined;
    const below = mount.root === '/' ? path : path.slice(mount.root.length);
    return join(mount.mountPoint, below, name);
  };
  const v1 = place('v1-cpu');
  if (v1) {
    mkdirSync(v1);
    try {
      writeFileSync(join(v1, 'cpu.cfs_period_us'), String(period));
      writeFileSync(join(v1, 'cpu.cfs_quota_us'), String(quota));
    } catch (error) {
      rmdirSync(v1);
      throw error;
    }
    return handle(v1);
  }
  const v2 = place('v2');
  if (!v2) throw new Error('no cgroup file system with the cpu controller is mounted');
  mkdirSync(v2);
  if (!existsSync(join(v2, 'cpu.max'))) {
    rmdirSync(v2);
    throw new Error(`the cpu controller is not enabled for the children of ${join(v2, '..')} (cgroup.subtree_control)`);
  }
  writeFileSync(join(v2, 'cpu.max'), `${quota} ${period}`);
  return handle(v2);
}

function handle(dir: string): QuotaCgroup {
  return {
    dir,
    launcher: ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', dir],
    remove: () => rmdirSync(dir),
  };
}
