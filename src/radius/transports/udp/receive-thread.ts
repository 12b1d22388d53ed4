/**
 * The UDP transport's receive thread (a worker thread, started by transport.ts): it owns the
 * sockets, screens each datagram (client, authenticators, Status-Server, duplicates: handler.ts's
 * screenDatagram) and hands the requests it lets through to the service's JavaScript thread in
 * batches; when that thread says a request is recorded, this one builds the Accounting-Response
 * and sends it. Node reads and sends a datagram per system call and a callback each, and with the
 * two MD5 digests of every request that is a third of what a Stop costs: on the second core it no
 * longer holds up the session table, the journal and the deliveries (issue 13).
 *
 * The guarantees are the transport's as before: nothing is answered before the service says it is
 * recorded (an id in `answered`), a request refused or unanswered leaves no trace in the duplicate
 * cache (so its retransmission is processed again), and the requests of one batch are handed over in
 * the order they were read.
 */
import type { Socket } from 'node:dgram';
import { parentPort, workerData } from 'node:worker_threads';
import type { ClientConfig } from '../../../config/load.js';
import { DuplicateCache } from '../../dedupe.js';
import { answerScreened, forgetScreened, screenDatagram, type PacketDetail, type PacketOutcome } from '../../handler.js';
import type { RadiusPacket } from '../../packet.js';
import { MAX_PACKET_LENGTH } from '../../protocol.js';
import { bindUdpSocket, closeUdpSockets, type BoundUdpSocket } from './socket-options.js';
import { revivedClient, REQUEST_FIELDS, type BoundAddress, type FromThread, type RequestBatch, type ThreadReport, type ThreadStart, type ToThread } from './thread-messages.js';

/** A request handed over and not yet answered or refused. */
interface Pending {
  readonly socket: Socket;
  readonly address: string;
  readonly port: number;
  readonly packet: RadiusPacket;
  readonly secret: Buffer;
  /** performance.now() when the datagram was read: the answer's latency runs from here. */
  readonly readAt: number;
}

/**
 * What may wait for the main thread to take it, at most: requests handed over, and outcomes
 * reported with their detail. The main thread says what it took with each answers message. A main
 * thread stalled (by a compaction of a million sessions, say) while datagrams keep coming would
 * otherwise have this thread fill memory, which the kernel's receive buffer bounded when the sockets
 * were read there. Past the first, a request is not answered (the NAS retransmits); past the
 * second, outcomes are only counted, by outcome and client, without their octets.
 */
const MAX_UNTAKEN_REQUESTS = 65_536;
const MAX_UNTAKEN_REPORTS = 1024;
/** Octets of a reported datagram kept for its trace line: a RADIUS packet is never longer (RFC 2865 §3). */
const MAX_REPORTED_OCTETS = MAX_PACKET_LENGTH;

const port = parentPort!;
const start = workerData as ThreadStart;
let clients: readonly ClientConfig[] = start.clients.map(revivedClient);
let generation = start.generation;
const cache = new DuplicateCache();
const pending = new Map<number, Pending>();
const sockets: Socket[] = [];
let nextId = 1;
let requests: RequestBatch = [];
/** The octets of the batch's requests, back to back: sent as one transferred buffer, not one clone each. */
let octets = Buffer.allocUnsafeSlow(64 * 1024);
let octetsUsed = 0;
let reports: ThreadReport[] = [];
/** The latency of each answer sent since the last batch, observed where the answer leaves: here, not where the service said to send it. */
let answerSeconds: number[] = [];
/** Outcomes counted, not reported one by one, since the last batch: by outcome and client. */
let counted = new Map<string, { outcome: PacketOutcome; detail: PacketDetail; count: number }>();
let untakenRequests = 0;
let untakenReports = 0;
let flushScheduled = false;
let closing = false;

const post = (message: FromThread): void => port.postMessage(message);

/**
 * How long the latencies of answers sent wait for a batch to carry them: while requests come, the
 * next one does within a millisecond; alone, they would cost the service's thread a message and a
 * wake-up per answer.
 */
const LATENCIES_WAIT_MS = 100;
let latenciesTimer: NodeJS.Timeout | undefined;

function flushLatenciesSoon(): void {
  if (flushScheduled || latenciesTimer) return;
  latenciesTimer = setTimeout(() => {
    latenciesTimer = undefined;
    scheduleFlush();
  }, LATENCIES_WAIT_MS);
  latenciesTimer.unref();
}

/** After the current poll phase, so every datagram read in it goes in one message. */
function scheduleFlush(): void {
  if (flushScheduled) return;
  flushScheduled = true;
  setImmediate(() => {
    if (flushScheduled) flush();
  });
}

/** Sends what waits for the service's thread now: at the end of a poll phase, or before the client list changes. */
function flush(): void {
  flushScheduled = false;
  clearTimeout(latenciesTimer);
  latenciesTimer = undefined;
  for (const entry of counted.values()) reports.push(entry);
  const bytes = octets.buffer.slice(0, octetsUsed);
  const batch = { type: 'batch', generation, requests, reports, octets: new Uint8Array(bytes), answerSeconds, sendFailure } as const;
  sendFailure = undefined;
  answerSeconds = [];
  untakenRequests += requests.length / REQUEST_FIELDS;
  untakenReports += reports.length;
  requests = [];
  reports = [];
  counted = new Map();
  octetsUsed = 0;
  port.postMessage(batch, [bytes]);
}

function report(outcome: PacketOutcome, detail: PacketDetail): void {
  if (untakenReports + reports.length < MAX_UNTAKEN_REPORTS) {
    const { octets: datagram } = detail;
    // A copy of its own: a view would take the whole datagram's memory along (up to 64 KiB).
    reports.push({ outcome, detail: datagram ? { ...detail, octets: Buffer.from(datagram.subarray(0, MAX_REPORTED_OCTETS)) } : detail });
  } else {
    count(outcome, { source: detail.source, transport: 'udp', client: detail.client, reason: detail.reason });
  }
  scheduleFlush();
}

function count(outcome: PacketOutcome, detail: PacketDetail): void {
  const key = `${outcome}\0${detail.client ?? ''}`;
  const entry = counted.get(key);
  if (entry) entry.count++;
  else counted.set(key, { outcome, detail, count: 1 });
}

function send(socket: Socket, response: Buffer, address: string, toPort: number): void {
  if (closing) return;
  try {
    socket.send(response, toPort, address, afterSend);
  } catch (error) {
    afterSend(error as Error);
  }
}

/** Sends refused since the last batch: one report for them all (a firewall rule refuses every answer). */
let sendFailure: { code: string | undefined; message: string; count: number } | undefined;

function afterSend(error: Error | null): void {
  if (!error) return;
  if (sendFailure) sendFailure.count++;
  else sendFailure = { code: (error as NodeJS.ErrnoException).code, message: error.message, count: 1 };
  scheduleFlush();
}

function receive(socket: Socket, datagram: Buffer, address: string, fromPort: number): void {
  const readAt = performance.now();
  const screened = screenDatagram(datagram, { transport: 'udp', address, port: fromPort }, clients, cache);
  if (screened.kind === 'done') {
    if (screened.response) send(socket, screened.response, address, fromPort);
    report(screened.outcome, screened.detail);
    return;
  }
  const { packet, client, detail } = screened;
  if (untakenRequests + requests.length / REQUEST_FIELDS >= MAX_UNTAKEN_REQUESTS) {
    // Not answered and forgotten, so the NAS's retransmission is a new request once there is room.
    forgetScreened(cache, address, fromPort, packet);
    const reason = `not recorded: ${MAX_UNTAKEN_REQUESTS} requests wait for the service already`;
    count('not_acknowledged', { source: detail.source, transport: 'udp', client: client.name, reason });
    scheduleFlush();
    return;
  }
  const id = nextId++;
  pending.set(id, { socket, address, port: fromPort, packet, secret: client.secret, readAt });
  const { bytes } = packet;
  if (octetsUsed + bytes.length > octets.length) {
    const grown = Buffer.allocUnsafeSlow(Math.max(octets.length * 2, octetsUsed + bytes.length));
    octets.copy(grown, 0, 0, octetsUsed);
    octets = grown;
  }
  bytes.copy(octets, octetsUsed);
  requests.push(id, client.name, address, fromPort, octetsUsed, bytes.length, detail.receivedAt);
  octetsUsed += bytes.length;
  scheduleFlush();
}

function answer(answered: readonly number[], refused: readonly number[]): void {
  for (const id of answered) {
    const request = pending.get(id);
    if (!request) continue;
    pending.delete(id);
    send(request.socket, answerScreened(cache, request.address, request.port, request.packet, request.secret), request.address, request.port);
    answerSeconds.push((performance.now() - request.readAt) / 1000);
  }
  if (answerSeconds.length > 0) flushLatenciesSoon();
  for (const id of refused) {
    const request = pending.get(id);
    if (!request) continue;
    pending.delete(id);
    forgetScreened(cache, request.address, request.port, request.packet);
  }
}

function bound({ socket, receiveBufferBytes }: BoundUdpSocket): BoundAddress {
  const { address, port: boundPort, family } = socket.address();
  return { address, port: boundPort, family, receiveBufferBytes };
}

async function closeAll(): Promise<void> {
  closing = true;
  await closeUdpSockets(sockets);
}

port.on('message', (message: ToThread) => {
  switch (message.type) {
    case 'answers':
      untakenRequests -= message.takenRequests;
      untakenReports -= message.takenReports;
      answer(message.answered, message.refused);
      return;
    case 'clients':
      // The requests matched with the old list go first, in a batch of its own: the service's
      // thread takes them knowing which list proved them.
      if (flushScheduled) flush();
      clients = message.clients.map(revivedClient);
      generation = message.generation;
      return;
    case 'close':
      void closeAll().then(() => {
        post({ type: 'closed' });
        port.close();
      });
  }
});

const addresses: BoundAddress[] = [];
for (const endpoint of start.listen) {
  let bindResult: BoundUdpSocket;
  try {
    bindResult = await bindUdpSocket(endpoint, start.receiveBufferBytes);
  } catch (error) {
    await closeAll();
    const failure = error as NodeJS.ErrnoException;
    post({ type: 'bind_failed', endpoint, code: failure.code, message: failure.message });
    port.close();
    break;
  }
  const { socket } = bindResult;
  sockets.push(socket);
  addresses.push(bound(bindResult));
  socket.on('message', (datagram, from) => receive(socket, datagram, from.address, from.port));
  socket.on('error', (error) => afterSend(error));
}
if (!closing) post({ type: 'bound', addresses });
