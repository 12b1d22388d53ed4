/**
 * The floor under the daemon's CPU per Stop: a Node process that only reads each Stop from a UDP
 * socket and answers it with a correct Accounting-Response (one MD5, as RFC 2866 §3 asks), nothing
 * else: no client match, no decoding, no journal, no UPDATE. What it spends a packet is what the
 * kernel and Node's dgram take to receive and send one datagram here, which the daemon pays too and
 * the decode microbenchmark does not: the CPU target is judged beside it (issue 13).
 *
 * Run by the bench as a child process of its own (`node udp-floor.js serve`), driven by the load
 * generator with the same Stops, sockets and window as the daemon's runs; its CPU is read from /proc.
 */
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { DEFAULT_RECEIVE_BUFFER_BYTES } from '../src/radius/transports/udp/socket-options.js';
import { processCpuSeconds } from './cpu.js';
import { runLoad } from './load.js';
import { BENCH_SECRET, benchZone, stopPacket } from './zone.js';

export interface UdpFloorResult {
  readonly packets: number;
  readonly answered: number;
  readonly packetsPerSecond: number;
  /** The responder's CPU time (user + system) per answered packet. */
  readonly cpuMicrosecondsPerPacket: number;
}

/** Drives the responder with `count` Stops (after a warm-up) and measures its CPU per packet. */
export async function measureUdpFloor(count: number, window: number): Promise<UdpFloorResult> {
  const child = fork(fileURLToPath(import.meta.url), ['serve'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (message) => resolve(Number(message)));
      child.once('exit', (code) => reject(new Error(`the UDP floor responder exited (${code}) before it listened`)));
    });
    const zone = benchZone('floor', 16, count + 4096);
    const packets = Array.from({ length: zone.count }, (_, i) => stopPacket(zone, i, 'F'));
    const sockets = Math.max(2, Math.ceil(window / 64));
    const load = (slice: Buffer[]) => runLoad({ port, packets: slice, secret: BENCH_SECRET, sockets, window, maxDurationMs: 60_000 });
    await load(packets.slice(0, 4096));
    const before = processCpuSeconds(child.pid!);
    const run = await load(packets.slice(4096));
    const cpuSeconds = processCpuSeconds(child.pid!) - before;
    if (run.retransmits > 0 || run.lost > 0) throw new Error(`the UDP floor responder lost Stops: ${run.retransmits} retransmits, ${run.lost} lost`);
    if (run.badResponses > 0) throw new Error(`the UDP floor responder gave ${run.badResponses} wrong answers`);
    const seconds = (run.finishedAt - run.startedAt) / 1000;
    return { packets: count, answered: run.acked, packetsPerSecond: run.acked / seconds, cpuMicrosecondsPerPacket: (cpuSeconds * 1e6) / run.acked };
  } finally {
    child.kill('SIGKILL');
  }
}

/** The responder: the child process's whole work. */
function serve(): void {
  const secret = Buffer.from(BENCH_SECRET);
  const socket = createSocket('udp4');
  socket.on('message', (request, from) => {
    const response = Buffer.alloc(20);
    response[0] = 5;
    response[1] = request[1]!;
    response.writeUInt16BE(20, 2);
    request.copy(response, 4, 4, 20);
    createHash('md5').update(response).update(secret).digest().copy(response, 4);
    socket.send(response, from.port, from.address);
  });
  socket.bind(0, '127.0.0.1', () => {
    // As the daemon asks for (net.core.rmem_max caps it): a window of 512 overflows the default buffer.
    socket.setRecvBufferSize(DEFAULT_RECEIVE_BUFFER_BYTES);
    process.send!(socket.address().port);
  });
  // The bench kills it; should the bench die first, the lost IPC channel ends it.
  process.on('disconnect', () => process.exit(0));
}

if (process.argv[2] === 'serve' && process.argv[1] === fileURLToPath(import.meta.url)) serve();
