/**
 * A cgroup of the test's own with a CFS quota on the cpu controller, as a container's `--cpus`
 * or a systemd unit's `CPUQuota=` sets one: made below the test process's own cgroup, in the
 * cgroup v1 `cpu` hierarchy where the host has one (this project's machine), else in cgroup v2.
 * Where the process's cgroup is, is found as the service finds it (cpu-limit.ts). It needs root
 * and a writable cgroup file system.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpuCgroupFolders } from '../../src/radius/transports/udp/cpu-limit.js';

export interface QuotaCgroup {
  readonly dir: string;
  /** A launcher for startService: moves the shell into the cgroup, then execs the command. */
  readonly launcher: readonly string[];
  /** Removes the cgroup; the processes in it must have ended. */
  remove(): void;
}

/** Makes a cgroup allowed `cpus` CPUs' time (a quota of cpus × the 100 ms period); throws saying why it cannot. */
export function makeQuotaCgroup(name: string, cpus: number): QuotaCgroup {
  const period = 100_000;
  const quota = Math.round(cpus * period);
  // /proc/self/cgroup and /proc/self/mountinfo: a machine without them fails here, saying which.
  const folders = cpuCgroupFolders((path) => readFileSync(path, 'utf8'));
  const v1 = folders.v1Cpu[0];
  if (v1 !== undefined) {
    const dir = join(v1, name);
    mkdirSync(dir);
    try {
      writeFileSync(join(dir, 'cpu.cfs_period_us'), String(period));
      writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quota));
    } catch (error) {
      rmdirSync(dir);
      throw error;
    }
    return handle(dir);
  }
  const v2 = folders.v2[0];
  if (v2 === undefined) throw new Error('no cgroup file system with the cpu controller is mounted');
  const dir = join(v2, name);
  mkdirSync(dir);
  if (!existsSync(join(dir, 'cpu.max'))) {
    rmdirSync(dir);
    throw new Error(`the cpu controller is not enabled for the children of ${v2} (cgroup.subtree_control)`);
  }
  writeFileSync(join(dir, 'cpu.max'), `${quota} ${period}`);
  return handle(dir);
}

function handle(dir: string): QuotaCgroup {
  return {
    dir,
    launcher: ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', dir],
    remove: () => rmdirSync(dir),
  };
}
