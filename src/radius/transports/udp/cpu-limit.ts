/**
 * How many CPUs' time the process may use, as `radius.receive_thread: auto` judges it: its CPU
 * affinity (os.availableParallelism(), what `nproc` shows) and the CFS quota of its cgroup and of
 * each cgroup above it (a container's `--cpus`, a systemd unit's `CPUQuota=`), whichever allows
 * fewer. A container limited to one CPU by a quota keeps its affinity to every CPU of the host,
 * and the libuv of Node 20 does not read quotas at all (nor does Node 24's read cgroup v1's), so
 * the service reads them itself.
 *
 * Pure: the files come through `read`, which gives a file's text or undefined when it cannot be
 * read. Whatever cannot be read or understood limits nothing, as with no quota.
 */

/** Reads a file's text; undefined when it is missing or unreadable. */
export type ReadText = (path: string) => string | undefined;

/** A cgroup file system mounted in this process's mount namespace. */
interface CgroupMount {
  /** The cgroup this mount shows at its mount point (mountinfo's root field: `/` in a cgroup namespace). */
  readonly root: string;
  readonly mountPoint: string;
}

/** The cgroup v1 `cpu` controller's mount and the cgroup v2 mount, from /proc/self/mountinfo. */
function cgroupMounts(mountinfo: string): { v1Cpu?: CgroupMount; v2?: CgroupMount } {
  const found: { v1Cpu?: CgroupMount; v2?: CgroupMount } = {};
  for (const line of mountinfo.split('\n')) {
    // "36 25 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct" (proc(5))
    const [mountFields, superFields] = line.split(' - ');
    if (!mountFields || !superFields) continue;
    const fields = mountFields.split(' ');
    const [type, , superOptions = ''] = superFields.split(' ');
    const root = fields[3];
    const mountPoint = fields[4];
    if (root === undefined || mountPoint === undefined) continue;
    const mount = { root: unescapeMountPath(root), mountPoint: unescapeMountPath(mountPoint) };
    if (type === 'cgroup2') found.v2 ??= mount;
    else if (type === 'cgroup' && superOptions.split(',').includes('cpu')) found.v1Cpu ??= mount;
  }
  return found;
}

/** mountinfo writes a space, tab, newline and backslash in a path as an octal escape. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** The process's cgroup in the v1 `cpu` hierarchy and in the v2 one, from /proc/self/cgroup. */
function cgroupPaths(membership: string): { v1Cpu?: string; v2?: string } {
  const paths: { v1Cpu?: string; v2?: string } = {};
  for (const line of membership.split('\n')) {
    // "4:cpu,cpuacct:/docker/abc" (v1) or "0::/user.slice" (v2) (cgroups(7))
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (line.slice(0, first) === '0' && controllers === '') paths.v2 = path;
    else if (controllers.split(',').includes('cpu')) paths.v1Cpu = path;
  }
  return paths;
}

/**
 * The folders of the process's cgroup and of each one above it up to the mount point, innermost
 * first; none when the cgroup is not below the mount's root (another namespace's mount).
 */
function cgroupFolders(mount: CgroupMount, path: string): string[] {
  const root = mount.root === '/' ? '' : mount.root;
  if (root !== '' && path !== root && !path.startsWith(`${root}/`)) return [];
  const below = path.slice(root.length).split('/').filter((part) => part !== '');
  const base = mount.mountPoint.endsWith('/') ? mount.mountPoint.slice(0, -1) : mount.mountPoint;
  const folders: string[] = [];
  for (let depth = below.length; depth >= 0; depth--) folders.push([base, ...below.slice(0, depth)].join('/'));
  return folders;
}

/** CPUs' time from a quota and a period in microseconds; undefined for no limit or nonsense. */
function cpusOf(quota: number, period: number): number | undefined {
  return Number.isFinite(quota) && Number.isFinite(period) && quota > 0 && period > 0 ? quota / period : undefined;
}

/** cgroup v2's cpu.max: "max 100000" (no limit) or "150000 100000" (1.5 CPUs). */
function v2Limit(text: string | undefined): number | undefined {
  const [quota, period] = (text ?? '').trim().split(/\s+/);
  if (quota === undefined || quota === 'max' || period === undefined) return undefined;
  return cpusOf(Number(quota), Number(period));
}

/** cgroup v1's cpu.cfs_quota_us (-1: no limit) and cpu.cfs_period_us. */
function v1Limit(quota: string | undefined, period: string | undefined): number | undefined {
  if (quota === undefined || period === undefined) return undefined;
  return cpusOf(Number(quota.trim()), Number(period.trim()));
}

/**
 * The CPUs' time the CFS quotas on the process's cgroup and those above it allow (the smallest,
 * possibly a fraction such as 1.5), or undefined when none limits it.
 */
export function cgroupCpuLimit(read: ReadText): number | undefined {
  const folders = cpuCgroupFolders(read);
  let limit: number | undefined;
  const consider = (cpus: number | undefined): void => {
    if (cpus !== undefined && (limit === undefined || cpus < limit)) limit = cpus;
  };
  for (const folder of folders.v2) consider(v2Limit(read(`${folder}/cpu.max`)));
  for (const folder of folders.v1Cpu) consider(v1Limit(read(`${folder}/cpu.cfs_quota_us`), read(`${folder}/cpu.cfs_period_us`)));
  return limit;
}

/**
 * The folders of the process's cgroup and of each one above it up to the mount point, innermost
 * first, in the cgroup v1 `cpu` hierarchy and in cgroup v2; none where the hierarchy is not
 * mounted, or the files cannot be read.
 */
export function cpuCgroupFolders(read: ReadText): { readonly v1Cpu: string[]; readonly v2: string[] } {
  const membership = read('/proc/self/cgroup');
  const mountinfo = read('/proc/self/mountinfo');
  if (membership === undefined || mountinfo === undefined) return { v1Cpu: [], v2: [] };
  const mounts = cgroupMounts(mountinfo);
  const paths = cgroupPaths(membership);
  return {
    v1Cpu: mounts.v1Cpu && paths.v1Cpu !== undefined ? cgroupFolders(mounts.v1Cpu, paths.v1Cpu) : [],
    v2: mounts.v2 && paths.v2 !== undefined ? cgroupFolders(mounts.v2, paths.v2) : [],
  };
}

/**
 * Whole CPUs the process may keep busy: the affinity's count, or fewer where a quota allows less
 * time (rounded down, as libuv and Rust's standard library do; at least one).
 */
export function usableCpus(affinityCpus: number, quotaCpus: number | undefined): number {
  return quotaCpus === undefined ? affinityCpus : Math.max(1, Math.min(affinityCpus, Math.floor(quotaCpus)));
}
