/**
 * The bench's RADIUS load generator: precomputed Accounting-Requests sent from several source
 * sockets with a bounded window in flight, either as fast as the window allows or at a fixed rate,
 * bounded in count and time. A request's key is source port + Identifier (RFC 5080 §2.2.2), so an
 * Identifier is never reused while its request is in flight: packet i always leaves socket
 * (i >> 8) % sockets with Identifier i & 255, and waits if that slot is still busy.
 */
import { createSocket, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { verifyAccountingResponse } from '../test/helpers/radius-packets.js';

/** Wall-clock milliseconds with sub-millisecond resolution, comparable with another process's Date.now(). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export interface LoadOptions {
  readonly host?: string;
  readonly port: number;
  /** Packet i must carry Identifier i & 255 (see {@link identifierOf}). */
  readonly packets: readonly Buffer[];
  /** The shared secret, to verify a sample of the responses. */
  readonly secret: string;
  /** Source sockets (each holds 256 Identifiers). */
  readonly sockets: number;
  /** Most requests in flight. */
  readonly window: number;
  /** Requests per second; undefined sends as fast as the window allows. */
  readonly ratePerSecond?: number;
  /** Stops sending and waiting after this long, whatever is left. */
  readonly maxDurationMs: number;
  /** A request unanswered this long is sent again (same octets: a retransmission). */
  readonly retransmitMs?: number;
  /** A request is given up after this many retransmissions. */
  readonly maxRetransmits?: number;
}

export interface LoadResult {
  /** When each packet was first sent (nowMs), NaN if never. */
  readonly sentAt: Float64Array;
  /** When each packet's Accounting-Response arrived (nowMs), NaN if never. */
  readonly ackedAt: Float64Array;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly acked: number;
  readonly lost: number;
  readonly retransmits: number;
  /** Responses checked (one in 16) and how many of those failed the Response Authenticator check. */
  readonly verified: number;
  readonly badResponses: number;
  /** Most a paced send ran behind its schedule, in ms (0 when unpaced). */
  readonly maxLagMs: number;
  /** True when maxDurationMs ran out first. */
  readonly timedOut: boolean;
}

/** The Identifier packet i must carry. */
export function identifierOf(index: number): number {
  return index & 0xff;
}

/** Sends the packets and resolves once each is answered or given up, or the time bound ends. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const count = options.packets.length;
  const host = options.host ?? '127.0.0.1';
  const retransmitMs = options.retransmitMs ?? 3000;
  const maxRetransmits = options.maxRetransmits ?? 2;
  const sockets: Socket[] = [];
  for (let i = 0; i < options.sockets; i++) sockets.push(await connectedSocket(host, options.port));

  const slotCount = options.sockets * 256;
  if (options.window > slotCount / 2) throw new Error(`window ${options.window} needs at least ${Math.ceil(options.window / 128)} sockets`);
  /** Which packet holds each (socket, Identifier) slot, -1 when free. */
  const owner = new Int32Array(slotCount).fill(-1);
  const tries = new Uint8Array(count);
  const sentAt = new Float64Array(count).fill(Number.NaN);
  const lastSentAt = new Float64Array(count).fill(Number.NaN);
  const ackedAt = new Float64Array(count).fill(Number.NaN);
  let next = 0;
  let inFlight = 0;
  let acked = 0;
  let lost = 0;
  let retransmits = 0;
  let verified = 0;
  let badResponses = 0;
  let maxLagMs = 0;
  const slotOf = (index: number): number => ((index >> 8) % options.sockets) * 256 + identifierOf(index);

  const startedAt = nowMs();
  const deadline = startedAt + options.maxDurationMs;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const done = (): boolean => acked + lost === count;

  const sendPacket = (index: number, at: number): void => {
    sockets[(index >> 8) % options.sockets]!.send(options.packets[index]!);
    lastSentAt[index] = at;
    if (Number.isNaN(sentAt[index]!)) sentAt[index] = at;
  };

  /** Sends while the window, the slots and (when paced) the schedule allow. */
  const fill = (): void => {
    const now = nowMs();
    const due = options.ratePerSecond === undefined ? count : Math.min(count, Math.floor(((now - startedAt) * options.ratePerSecond) / 1000) + 1);
    while (next < due && inFlight < options.window) {
      const slot = slotOf(next);
      if (owner[slot] !== -1) break;
      owner[slot] = next;
      inFlight++;
      if (options.ratePerSecond !== undefined) maxLagMs = Math.max(maxLagMs, now - (startedAt + (next * 1000) / options.ratePerSecond));
      sendPacket(next, now);
      next++;
    }
  };

  sockets.forEach((socket, socketIndex) => {
    socket.on('message', (response: Buffer) => {
      if (response.length < 20 || response[0] !== 5) return;
      const slot = socketIndex * 256 + response[1]!;
      const index = owner[slot]!;
      if (index === -1) return;
      if ((index & 15) === 0) {
        verified++;
        if (!verifyAccountingResponse(response, options.packets[index]!, options.secret)) badResponses++;
      }
      owner[slot] = -1;
      inFlight--;
      acked++;
      ackedAt[index] = nowMs();
      if (done()) finish();
      else fill();
    });
  });

  const pacer = options.ratePerSecond === undefined ? undefined : setInterval(fill, 1);
  const watchdog = setInterval(() => {
    const now = nowMs();
    if (now > deadline) return finish();
    for (let slot = 0; slot < slotCount; slot++) {
      const index = owner[slot]!;
      if (index === -1 || now - lastSentAt[index]! < retransmitMs) continue;
      if (tries[index]! >= maxRetransmits) {
        owner[slot] = -1;
        inFlight--;
        lost++;
        continue;
      }
      tries[index]!++;
      retransmits++;
      sendPacket(index, now);
    }
    if (done()) finish();
    else fill();
  }, 100);

  fill();
  if (count === 0) finish();
  await finished;
  clearInterval(pacer);
  clearInterval(watchdog);
  const finishedAt = nowMs();
  await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
  return { sentAt, ackedAt, startedAt, finishedAt, acked, lost, retransmits, verified, badResponses, maxLagMs, timedOut: !done() };
}

async function connectedSocket(host: string, port: number): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => socket.connect(port, host, () => {
      socket.off('error', reject);
      resolve();
    }));
  });
  // Up to 256 answers may wait in this socket's buffer; the default (about 200 KiB) is tight for that.
  socket.setRecvBufferSize(1024 * 1024);
  // A connected socket reports an ICMP port unreachable as ECONNREFUSED on its next read: a
  // request sent before the service was listening, or after it closed. It is lost, and sent again
  // (counted as a retransmission) or given up as any other; never a crash of the load generator.
  socket.on('error', () => undefined);
  return socket;
}
