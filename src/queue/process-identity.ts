/**
 * This process as a state.dir lock names it, and what it can see of another pid, from Linux /proc.
 * Elsewhere (or where /proc is missing) boot id, start time and PID namespace are unknown, and a
 * pid is looked up with kill(pid, 0).
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import type { OwnIdentity, ProcessSighting } from './lock-liveness.js';

/** This process: pid, host name, boot id, start time and PID namespace. */
export function ownIdentity(): OwnIdentity {
  return { pid: process.pid, host: hostname(), boot: bootId(), start: startTime('self'), pidns: ownPidNamespace() };
}

/** Whether `pid` runs in our PID namespace, and since when. */
export function lookAtPid(pid: number): ProcessSighting {
  const start = startTime(String(pid));
  if (start !== undefined) return { running: true, start };
  try {
    process.kill(pid, 0);
    return { running: true };
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return { running: (error as NodeJS.ErrnoException).code === 'EPERM' };
  }
}

function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * Our PID namespace, `pid:[inode]`, but only when the /proc mounted here is that namespace's (its
 * `self` is our own pid): otherwise /proc/PID shows other processes than our pids name, and a lock
 * must not be judged by them.
 */
function ownPidNamespace(): string | undefined {
  try {
    if (readlinkSync('/proc/self') !== String(process.pid)) return undefined;
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return undefined;
  }
}

/** The start time of a process from /proc/PID/stat (field 22, after the parenthesised command name). */
function startTime(pid: string): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
