/**
 * RADIUS over UDP (RFC 2865 §3, RFC 2866). With `radius.receive_thread: true`, or `auto` where this
 * process may keep more than two CPUs busy, the sockets are read by a receive thread of their own
 * (thread-host.ts, receive-thread.ts), which checks each datagram and sends the answers, so the
 * service's JavaScript thread keeps the session table, the journal and the deliveries (issue 13).
 * Otherwise (`false`, `auto` on two CPUs or fewer, or run from the TypeScript sources: the unit
 * tests, under vitest, have no compiled thread to start), the same steps run on this thread
 * (same-thread.ts): screenDatagram in handler.ts is what both run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Transport } from '../types.js';
import type { ReceiveThreadSetting } from './config.js';
import { cgroupCpuLimit, usableCpus } from './cpu-limit.js';
import { createSameThreadUdpTransport } from './same-thread.js';
import type { UdpTransportOptions } from './socket-options.js';
import { createThreadedUdpTransport } from './thread-host.js';

export { bindFailure, DEFAULT_RECEIVE_BUFFER_BYTES, type UdpTransportOptions } from './socket-options.js';

/** The receive thread's compiled module, beside this one in dist/. */
const RECEIVE_THREAD = new URL('./receive-thread.js', import.meta.url);

/**
 * Whether a receive thread reads the sockets. `auto`: only where the process may keep more than
 * two CPUs busy (its affinity and its cgroup's CPU quota: cpu-limit.ts). On one, the thread takes
 * nothing off the service's thread that it does not give back in hand-overs and context switches:
 * pinned to one core, three alternating pairs of 25,000-Stop bursts answered 7,075 to 7,819
 * Stops/s with it and 7,654 to 9,203 without. On two, the second is also what V8's collector,
 * libuv's disk threads, the kernel's network stack and (often) the DNS server run on: with BIND
 * beside it on this project's 2-CPU machine, five alternating comparisons of 100,000-Stop bursts
 * took 8 to 21% less CPU a Stop without the thread (and without the young-generation cap the
 * thread's memory needed: cli/main.ts), answered more Stops a second in each, and peaked about 24 MB
 * lower (issue 13; README, Performance).
 */
export function usesReceiveThread(setting: ReceiveThreadSetting, cpus: number): boolean {
  return setting === 'auto' ? cpus > 2 : setting;
}

/** A file's text, or undefined where it cannot be read (no cgroup file system, say). */
function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Builds the UDP transport; nothing is bound until start(). */
export function createUdpTransport(options: UdpTransportOptions): Transport {
  const setting = options.receiveThread ?? 'auto';
  // The cgroup files are read only for `auto`: a few small reads of /proc and /sys at start.
  const cpus = setting === 'auto' ? usableCpus(availableParallelism(), cgroupCpuLimit(readText)) : availableParallelism();
  const threaded = usesReceiveThread(setting, cpus) && existsSync(fileURLToPath(RECEIVE_THREAD));
  return threaded ? createThreadedUdpTransport(RECEIVE_THREAD, options) : createSameThreadUdpTransport(options);
}
