/**
 * The CPUs a cgroup's CFS quota allows, as `radius.receive_thread: auto` reads them
 * (src/radius/transports/udp/cpu-limit.ts), from the files a kernel shows: cgroup v1 (a hybrid host
 * such as this project's machine), cgroup v2 in a container's cgroup namespace and on a systemd
 * host, a quota set only on a parent, a Docker v1 mount whose root is the container's cgroup, and
 * files that are missing or make no sense, which limit nothing.
 */
import { describe, expect, test } from 'vitest';
import { cgroupCpuLimit, usableCpus } from '../../src/radius/transports/udp/cpu-limit.js';

/** A reader over a map of paths to texts: what the kernel would show. */
const files = (entries: Record<string, string>) => (path: string): string | undefined => entries[path];

// Read off this project's machine (cgroup v1 controllers, an empty cgroup v2 beside them).
const HYBRID_MOUNTINFO = [
  '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
  '33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct',
  '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
].join('\n');
const V2_MOUNTINFO = '30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n';

describe('cgroupCpuLimit', () => {
  test('cgroup v1: the quota over the period of the cpu controller\'s cgroup', () => {
    const read = files({
      '/proc/self/cgroup': '3:cpuset:/\n2:cpuacct:/\n1:cpu:/rbl\n0::/\n',
      '/proc/self/mountinfo': HYBRID_MOUNTINFO,
      '/sys/fs/cgroup/cpu/rbl/cpu.cfs_quota_us': '100000\n',
      '/sys/fs/cgroup/cpu/rbl/cpu.cfs_period_us': '100000\n',
      '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n',
      '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
    });
    expect(cgroupCpuLimit(read)).toBe(1);
  });

  test('cgroup v1 with no quota (-1) at any level limits nothing', () => {
    const read = files({
      '/proc/self/cgroup': '1:cpu:/rbl\n',
      '/proc/self/mountinfo': HYBRID_MOUNTINFO,
      '/sys/fs/cgroup/cpu/rbl/cpu.cfs_quota_us': '-1\n',
      '/sys/fs/cgroup/cpu/rbl/cpu.cfs_period_us': '100000\n',
    });
    expect(cgroupCpuLimit(read)).toBeUndefined();
  });

  test('cgroup v1 as Docker mounts it without a cgroup namespace: the mount point is the container\'s cgroup', () => {
    const read = files({
      '/proc/self/cgroup': '5:cpu,cpuacct:/docker/0123abcd\n',
      '/proc/self/mountinfo': '36 25 0:31 /docker/0123abcd /sys/fs/cgroup/cpu,cpuacct ro,nosuid - cgroup cgroup rw,cpu,cpuacct\n',
      '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '150000\n',
      '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000\n',
    });
    expect(cgroupCpuLimit(read)).toBe(1.5);
  });

  test('cgroup v2 in a container\'s cgroup namespace: cpu.max at the mount point', () => {
    const read = files({ '/proc/self/cgroup': '0::/\n', '/proc/self/mountinfo': V2_MOUNTINFO, '/sys/fs/cgroup/cpu.max': '50000 100000\n' });
    expect(cgroupCpuLimit(read)).toBe(0.5);
  });

  test('cgroup v2 on a systemd host: the smallest quota of the service\'s cgroup and those above it', () => {
    const read = files({
      '/proc/self/cgroup': '0::/system.slice/rbl-unlist.service\n',
      '/proc/self/mountinfo': V2_MOUNTINFO,
      '/sys/fs/cgroup/system.slice/rbl-unlist.service/cpu.max': 'max 100000\n',
      '/sys/fs/cgroup/system.slice/cpu.max': '100000 100000\n',
    });
    expect(cgroupCpuLimit(read)).toBe(1);
    const looser = files({
      '/proc/self/cgroup': '0::/system.slice/rbl-unlist.service\n',
      '/proc/self/mountinfo': V2_MOUNTINFO,
      '/sys/fs/cgroup/system.slice/rbl-unlist.service/cpu.max': '300000 100000\n',
      '/sys/fs/cgroup/system.slice/cpu.max': '400000 100000\n',
    });
    expect(cgroupCpuLimit(looser)).toBe(3);
  });

  test('cgroup v2 "max" everywhere limits nothing', () => {
    const read = files({ '/proc/self/cgroup': '0::/a/b\n', '/proc/self/mountinfo': V2_MOUNTINFO, '/sys/fs/cgroup/a/b/cpu.max': 'max 100000\n', '/sys/fs/cgroup/a/cpu.max': 'max 100000\n' });
    expect(cgroupCpuLimit(read)).toBeUndefined();
  });

  test('missing /proc files, a cgroup outside the mount\'s root, and nonsense limit nothing', () => {
    expect(cgroupCpuLimit(files({}))).toBeUndefined();
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': '0::/\n' }))).toBeUndefined();
    const elsewhere = files({
      '/proc/self/cgroup': '1:cpu:/other\n',
      '/proc/self/mountinfo': '32 31 0:29 /docker/x /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n',
      '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '100000',
      '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000',
    });
    expect(cgroupCpuLimit(elsewhere)).toBeUndefined();
    for (const text of ['', 'max', '0 100000', '100000 0', 'abc 100000', '-5 100000']) {
      expect(cgroupCpuLimit(files({ '/proc/self/cgroup': '0::/\n', '/proc/self/mountinfo': V2_MOUNTINFO, '/sys/fs/cgroup/cpu.max': text })), text).toBeUndefined();
    }
  });

  test('a mount point with a space in it, as mountinfo escapes it', () => {
    const read = files({
      '/proc/self/cgroup': '0::/\n',
      '/proc/self/mountinfo': '30 24 0:26 / /run/my\\040cgroup rw - cgroup2 cgroup2 rw\n',
      '/run/my cgroup/cpu.max': '200000 100000',
    });
    expect(cgroupCpuLimit(read)).toBe(2);
  });
});

describe('usableCpus', () => {
  test.each([
    [8, undefined, 8],
    [8, 1, 1],
    [8, 1.5, 1],
    [8, 2.5, 2],
    [2, 4, 2],
    [8, 0.5, 1],
  ] as const)('affinity %s CPUs, quota %s: %s', (affinity, quota, usable) => {
    expect(usableCpus(affinity, quota)).toBe(usable);
  });
});
