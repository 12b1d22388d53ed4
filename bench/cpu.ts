/**
 * How busy the machine was with processes that are not the bench's own (the harness and its
 * descendants: the daemon, BIND, FreeRADIUS and its nsupdates), from /proc. On a shared 2-core
 * machine a test suite running beside the bench halves its figures; this makes that visible.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

interface Sample {
  /** All jiffies of all CPUs, and the busy ones (not idle, not iowait). */
  readonly total: number;
  readonly busy: number;
  /** Jiffies used by the harness and its descendants, including reaped children. */
  readonly ours: number;
}

function procStat(pid: string): { ppid: number; ticks: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const at = (field: number): number => Number(fields[field - 3]);
    return { ppid: at(4), ticks: at(14) + at(15) + at(16) + at(17) };
  } catch {
    return undefined;
  }
}

function sample(): Sample {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.slice(0, 8).reduce((sum, value) => sum + value, 0);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  const processes = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(entry);
    if (stat) processes.set(Number(entry), stat);
  }
  const ourPids = new Set<number>([process.pid]);
  // Parents come before children often but not always: repeat until nothing is added.
  for (let added = true; added; ) {
    added = false;
    for (const [pid, stat] of processes) {
      if (!ourPids.has(pid) && ourPids.has(stat.ppid)) {
        ourPids.add(pid);
        added = true;
      }
    }
  }
  let ours = 0;
  for (const pid of ourPids) ours += processes.get(pid)?.ticks ?? 0;
  return { total, busy: total - idle, ours };
}

/** Measures, from start() to stop(), the share of the machine's CPU used by other processes (0 to 1). */
export class ForeignLoad {
  #start: Sample | undefined;

  start(): void {
    this.#start = sample();
  }

  /** The share since start(); a descendant that exited unreaped by one of ours counts as foreign (rare: ours reap theirs). */
  stop(): number {
    if (!this.#start) return Number.NaN;
    const end = sample();
    const total = end.total - this.#start.total;
    if (total <= 0) return 0;
    // A process of ours that exited between the samples takes its ticks with it; clamp at 0.
    return Math.max(0, (end.busy - this.#start.busy - (end.ours - this.#start.ours)) / total);
  }
}

/** Waits until other processes use under `threshold` of the machine for a second, at most maxWaitMs; returns the last share seen. */
export async function waitForQuiet(threshold: number, maxWaitMs: number, onBusy: (share: number) => void): Promise<number> {
  const deadline = Date.now() + maxWaitMs;
  let warned = false;
  while (true) {
    const load = new ForeignLoad();
    load.start();
    await sleep(1000);
    const share = load.stop();
    if (share < threshold || Date.now() > deadline) return share;
    if (!warned) onBusy(share);
    warned = true;
  }
}

/** Jiffies per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** CPU seconds (user + system) a running process has used so far, from /proc; NaN if it is gone. */
export function processCpuSeconds(pid: number): number {
  return statCpuSeconds(`/proc/${pid}/stat`);
}

/** Seconds a thread spent on a CPU, and runnable but waiting for one (the run queue). */
export interface ThreadSchedule {
  readonly running: number;
  readonly waiting: number;
}

/**
 * The schedule of a process's main thread (its task has the process's id): for Node, the one
 * thread that runs the JavaScript, beside the threads for the disk and the garbage collector.
 * From /proc/PID/task/PID/schedstat (nanoseconds); NaN where the kernel keeps no schedstat.
 */
export function mainThreadSchedule(pid: number): ThreadSchedule {
  try {
    const [running, waiting] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(' ').map(Number);
    return { running: running! / 1e9, waiting: waiting! / 1e9 };
  } catch {
    return { running: Number.NaN, waiting: Number.NaN };
  }
}

/**
 * Seconds each thread of a process has run so far, by thread id, from /proc/PID/task/TID/schedstat:
 * the daemon's JavaScript thread, its receive thread, V8's and libuv's helpers. A thread that
 * ended is missing (its time stays in the process's total).
 */
export function threadCpuSeconds(pid: number): Map<number, number> {
  const threads = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return threads;
  }
  for (const tid of tids) {
    try {
      threads.set(Number(tid), Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e9);
    } catch {
      // Ended between the listing and the read.
    }
  }
  return threads;
}

/** Per-thread time between two samples: the main thread, the busiest other thread, and all the rest together. */
export interface ThreadSplit {
  readonly main: number;
  readonly busiestOther: number;
  readonly rest: number;
}

export function threadSplit(pid: number, before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): ThreadSplit {
  let main = 0;
  let busiestOther = 0;
  let rest = 0;
  for (const [tid, seconds] of after) {
    const used = seconds - (before.get(tid) ?? 0);
    if (tid === pid) main = used;
    else if (used > busiestOther) {
      rest += busiestOther;
      busiestOther = used;
    } else rest += used;
  }
  return { main, busiestOther, rest };
}

function statCpuSeconds(file: string): number {
  try {
    const text = readFileSync(file, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return Number.NaN;
  }
}
