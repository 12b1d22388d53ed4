/**
 * The UDP transport as the built service runs it: its sockets read by the receive thread
 * (dist/radius/transports/udp/receive-thread.js). The cases every UDP transport must pass, then
 * what only the thread can get wrong: requests handed over in the order they were read, answers
 * held until the service says a request is recorded, what it took told with them, a client list changed by a reload while a
 * request of the removed client is in flight, close() with requests still in flight.
 */
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import type { ClientConfig, Config } from '../../src/config/load.js';
import type { AccountingRequest, createRequestHandler, PacketOutcome, RequestHandler } from '../../src/radius/handler.js';
import type { Transport } from '../../src/radius/transports/types.js';
import type { createUdpTransport } from '../../src/radius/transports/udp/transport.js';
import { buildAccountingRequest, buildStatusServer, verifyAccountingResponse, type NasSocket } from '../helpers/radius-packets.js';
import { freePort, waitFor } from '../helpers/peers.js';
import { PROJECT_ROOT } from '../helpers/service.js';
import { client, closedAfterEach, deferred, LOOPBACK4, SECRET, stop, udpListenerCases } from '../helpers/udp-listener-cases.js';

const built = (path: string): Promise<unknown> => import(`${PROJECT_ROOT}/dist/${path}`);
const { createUdpTransport: createBuiltUdpTransport } = (await built('radius/transports/udp/transport.js')) as { createUdpTransport: typeof createUdpTransport };
const { createRequestHandler: createBuiltRequestHandler } = (await built('radius/handler.js')) as { createRequestHandler: typeof createRequestHandler };

/**
 * Sends the datagrams to 127.0.0.1:port from another process, in steps a reader keeps up with,
 * and returns when it is done: this thread, the transport's main thread, does nothing meanwhile.
 */
function floodWhileStalled(port: number, datagrams: readonly Buffer[], sourcePort = 0, perMillisecond = 20): void {
  const folder = mkdtempSync(join(tmpdir(), 'rbl-unlist-flood-'));
  try {
    const file = join(folder, 'datagrams');
    writeFileSync(file, Buffer.concat(datagrams.flatMap((datagram) => [Buffer.from(Uint32Array.of(datagram.length).buffer), datagram])));
    const script = `
      const { createSocket } = require('node:dgram');
      const data = require('node:fs').readFileSync(process.argv[1]);
      const socket = createSocket('udp4');
      socket.bind(Number(process.argv[3]), '127.0.0.1', () => {
        let at = 0;
        const step = () => {
          for (let i = 0; i < Number(process.argv[4]) && at < data.length; i++) {
            const length = data.readUInt32LE(at);
            socket.send(data.subarray(at + 4, at + 4 + length), Number(process.argv[2]), '127.0.0.1');
            at += 4 + length;
          }
          if (at < data.length) setTimeout(step, 1);
          else setTimeout(() => socket.close(), 300);
        };
        step();
      });`;
    const result = spawnSync(process.execPath, ['-e', script, file, String(port), String(sourcePort), String(perMillisecond)], { timeout: 60_000 });
    expect(result.status, String(result.stderr)).toBe(0);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** Records the worker threads started until release(): how a test gets hold of the receive thread to stop it. */
function captureWorkers(): { list: Worker[]; release: () => void } {
  const list: Worker[] = [];
  const on = Worker.prototype.on;
  Worker.prototype.on = function (this: Worker, ...args: Parameters<Worker['on']>) {
    if (!list.includes(this)) list.push(this);
    return on.apply(this, args);
  } as Worker['on'];
  return { list, release: () => void (Worker.prototype.on = on) };
}

// Through the thread on any machine: `auto` reads the sockets on the main thread with two CPUs or fewer.
udpListenerCases('RADIUS listener through the receive thread', {
  createUdpTransport: (options) => createBuiltUdpTransport({ ...options, receiveThread: true }),
  createRequestHandler: createBuiltRequestHandler,
});

describe('the UDP receive thread', () => {
  const { open, nasSocket } = closedAfterEach();

  interface Started {
    readonly transport: Transport;
    readonly nas: NasSocket;
    readonly requests: AccountingRequest[];
    readonly outcomes: PacketOutcome[];
    readonly handler: RequestHandler;
    readonly errors: Error[];
  }

  async function start(onAccounting: (request: AccountingRequest) => Promise<void>, clients: () => readonly ClientConfig[] = () => [client('local', '127.0.0.0/8')]): Promise<Started> {
    const requests: AccountingRequest[] = [];
    const outcomes: PacketOutcome[] = [];
    const handler = createBuiltRequestHandler({
      clients,
      onAccounting: (request) => {
        requests.push(request);
        return onAccounting(request);
      },
      onPacket: (outcome) => outcomes.push(outcome),
    });
    // Every datagram must come through handOver: a transport that read its sockets on this thread would call receive.
    const screenedHere = { ...handler, receive: () => expect.unreachable('the datagram was read on the JavaScript thread, not the receive thread') };
    const errors: Error[] = [];
    const transport = createBuiltUdpTransport({ listen: [LOOPBACK4], receiveThread: true, handler: screenedHere, clients, onError: (error) => errors.push(error) });
    open.push(transport);
    await transport.start();
    const nas = await nasSocket(transport.addresses()[0]!.port);
    return { transport, nas, requests, outcomes, handler, errors };
  }

  it('hands the requests over in the order they were read, and answers each only once it is recorded', async () => {
    const gates = new Map<number, ReturnType<typeof deferred>>();
    const { nas, requests } = await start((request) => {
      const gate = deferred();
      gates.set(request.identifier, gate);
      return gate.promise;
    });
    const sent = Array.from({ length: 200 }, (_, i) => stop(i));
    for (const request of sent) nas.send(request);
    await waitFor('200 requests handed over', () => requests.length === 200);
    expect(requests.map((request) => request.identifier)).toEqual(sent.map((request) => request[1]));
    // Nothing is answered while nothing is recorded.
    const status = buildStatusServer({ identifier: 250, secret: SECRET });
    nas.send(status);
    await nas.answerTo(status);
    expect(nas.answers).toHaveLength(1);
    // Recorded out of order (two journal writes, say): each answered once its own promise resolves.
    gates.get(7)!.resolve();
    expect(verifyAccountingResponse(await nas.answerTo(sent[7]!), sent[7]!, SECRET)).toBe(true);
    expect(nas.answers).toHaveLength(2);
    for (const gate of gates.values()) gate.resolve();
    await waitFor('every request answered', () => nas.answers.length === 201);
  });

  it('tells the thread what it took with the answers, not in a message of its own, and within 50 ms for a request that waits longer', async () => {
    type Answers = { type: 'answers'; answered: number[]; refused: number[]; takenRequests: number; takenReports: number };
    const posted: Answers[] = [];
    const post = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function (this: Worker, message: unknown, ...rest: unknown[]) {
      if ((message as Answers).type === 'answers') posted.push(message as Answers);
      return (post as (...a: unknown[]) => void).call(this, message, ...rest);
    } as Worker['postMessage'];
    try {
      const slow = deferred();
      // Each request recorded a few milliseconds after it was taken, as a journal write is; the first one much later.
      const { nas, requests } = await start((request) =>
        request.identifier === 1 ? slow.promise : new Promise((resolve) => setTimeout(resolve, 5)),
      );
      const waiting = stop(1);
      nas.send(waiting);
      await waitFor('the waiting request handed over', () => requests.length === 1);
      await waitFor('its count told without an answer', () => posted.length === 1);
      expect(posted[0]).toMatchObject({ answered: [], refused: [], takenRequests: 1, takenReports: 0 });

      for (const identifier of [2, 3, 4]) {
        const request = stop(identifier);
        const before = posted.length;
        nas.send(request);
        expect(verifyAccountingResponse(await nas.answerTo(request), request, SECRET)).toBe(true);
        // One message: the answer, with the count of the request it answers.
        expect(posted.slice(before)).toEqual([expect.objectContaining({ answered: [expect.any(Number)], refused: [], takenRequests: 1 })]);
      }
      slow.resolve();
      expect(verifyAccountingResponse(await nas.answerTo(waiting), waiting, SECRET)).toBe(true);
      expect(posted.at(-1)).toMatchObject({ takenRequests: 0 });
    } finally {
      Worker.prototype.postMessage = post;
    }
  });

  it('forgets a request that was not recorded, so its retransmission is processed again', async () => {
    let calls = 0;
    const { nas, requests, outcomes } = await start(async () => {
      if (++calls === 1) throw new Error('state.dir full');
    });
    const request = stop(60);
    nas.send(request);
    await waitFor('the refusal', () => outcomes.includes('not_acknowledged'));
    nas.send(request);
    expect(verifyAccountingResponse(await nas.answerTo(request), request, SECRET)).toBe(true);
    expect(requests).toHaveLength(2);
    expect(nas.answers).toHaveLength(1);
  });

  it('takes a reloaded client list: the new client accepted, the old secret refused, a request in flight answered with the secret it was proven with', async () => {
    let clients: readonly ClientConfig[] = [client('local', '127.0.0.1')];
    const gate = deferred();
    const { transport, nas, requests, outcomes } = await start(() => gate.promise, () => clients);
    const first = stop(70);
    nas.send(first);
    await waitFor('the first request handed over', () => requests.length === 1);
    // The NAS moves to another client with another secret while a request proven with the old one
    // is in flight: recorded, it is answered with the secret it came with, which the NAS that sent
    // it holds.
    clients = [client('moved', '127.0.0.1', 'new-secret')];
    transport.reload({ radius: { clients } } as unknown as Config);
    gate.resolve();
    const second = stop(71, 'new-secret');
    nas.send(second);
    expect(verifyAccountingResponse(await nas.answerTo(second), second, 'new-secret')).toBe(true);
    expect(requests.map((request) => request.client.name)).toEqual(['local', 'moved']);
    expect(verifyAccountingResponse(await nas.answerTo(first), first, SECRET)).toBe(true);
    // A packet with the old secret is now a bad authenticator.
    const old = stop(72);
    nas.send(old);
    await waitFor('the old secret refused', () => outcomes.includes('bad_authenticator'));
  });

  it('closes with requests in flight: nothing is answered after close, and the thread exits', async () => {
    const gate = deferred();
    const { transport, nas, requests } = await start(() => gate.promise);
    nas.send(stop(90));
    await waitFor('the request handed over', () => requests.length === 1);
    const port = transport.addresses()[0]!.port;
    await transport.close();
    gate.resolve();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(nas.answers).toHaveLength(0);
    expect(transport.ready()).toEqual({ ok: false, error: 'RADIUS sockets not bound' });
    // The port is free again: the thread closed its socket.
    const again = createBuiltUdpTransport({ listen: [{ ...LOOPBACK4, port }], receiveThread: true, handler: createBuiltRequestHandler({ clients: () => [], onAccounting: async () => {} }), clients: () => [] });
    open.push(again);
    await again.start();
    expect(again.addresses()[0]!.port).toBe(port);
  });

  it('refuses requests past 65,536 waiting for a stalled main thread, unanswered and forgotten, so a retransmission is processed once there is room', async () => {
    const limit = 65_536;
    const total = limit + 300;
    const { transport, requests, outcomes, errors } = await start(async () => {});
    const request = (i: number): Buffer =>
      buildAccountingRequest({ identifier: i & 0xff, secret: SECRET, attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': `flood-${i}` } });
    const sourcePort = await freePort();
    // The main thread (this one) does nothing while another process sends: stalled, as by a compaction.
    floodWhileStalled(transport.addresses()[0]!.port, Array.from({ length: total }, (_, i) => request(i)), sourcePort);
    await waitFor('every request taken or refused', () => requests.length + outcomes.filter((outcome) => outcome === 'not_acknowledged').length === total, 30_000);
    expect(requests).toHaveLength(limit);
    expect(requests.at(-1)!.attributes.sessionId).toBe(`flood-${limit - 1}`);
    // Told to the operator (logged by the daemon), a line per batch, not only counted.
    const told = errors.map((error) => /^not recorded: 65536 requests wait for the service already \((\d+) refused\) from client local$/.exec(error.message));
    expect(told.reduce((sum, match) => sum + Number(match?.[1] ?? 0), 0)).toBe(300);
    // The NAS retransmits a refused one from the same port: a new request now, not one in progress.
    await waitFor('the flood recorded', () => outcomes.filter((outcome) => outcome === 'accepted').length === limit);
    const again = createSocket('udp4');
    await new Promise<void>((resolve) => again.bind(sourcePort, '127.0.0.1', resolve));
    try {
      again.send(request(total - 1), transport.addresses()[0]!.port, '127.0.0.1');
      await waitFor('the retransmission recorded', () => requests.length === limit + 1);
    } finally {
      again.close();
    }
    expect(requests.at(-1)!.attributes.sessionId).toBe(`flood-${total - 1}`);
    expect(outcomes).not.toContain('in_progress');
  }, 60_000);

  it('keeps what waits for a stalled main thread bounded when an unknown source floods 240 MB of junk: outcomes counted, not carried', async () => {
    const reported: { outcome: PacketOutcome; octets: number }[] = [];
    const handler = createBuiltRequestHandler({ clients: () => [], onAccounting: async () => {}, onPacket: (outcome, detail) => reported.push({ outcome, octets: detail.octets?.length ?? 0 }) });
    const transport = createBuiltUdpTransport({ listen: [LOOPBACK4], receiveThread: true, handler, clients: () => [] });
    open.push(transport);
    await transport.start();
    // Four 60 KB datagrams a millisecond: twenty (1.2 GB/s) overran the socket's buffer on a busy
    // machine, and fewer than the 1,024 this is about were read.
    floodWhileStalled(transport.addresses()[0]!.port, Array.from({ length: 4000 }, () => Buffer.alloc(60_000, 0x41)), 0, 4);
    let last = -1;
    await waitFor('the reports taken', () => {
      const settled = reported.length === last && last > 0;
      last = reported.length;
      return settled;
    }, 30_000, 500);
    expect(reported.every(({ outcome }) => outcome === 'unknown_client')).toBe(true);
    // Every datagram the thread read is counted, but at most 1,024 reports carry their octets
    // (each cut to a RADIUS packet's 4,096) while the main thread is stalled: 4 MiB, not 240 MB.
    expect(reported.length).toBeGreaterThan(1024);
    expect(reported.filter(({ octets }) => octets > 0).length).toBeLessThanOrEqual(1024);
    expect(reported.reduce((sum, { octets }) => sum + octets, 0)).toBeLessThanOrEqual(1024 * 4096);
  }, 90_000);

  it('starts a receive thread that stopped again, says so meanwhile, and still closes at once', async () => {
    const workers = captureWorkers();
    const { transport, nas, errors } = await start(async () => {}).finally(() => workers.release());
    expect(workers.list).toHaveLength(1);
    await workers.list[0]!.terminate();
    await waitFor('the stop reported', () => errors.some((error) => error.message.startsWith('the RADIUS receive thread stopped')));
    expect(transport.ready()).toMatchObject({ ok: false, error: expect.stringContaining('the RADIUS receive thread stopped') });
    await waitFor('a thread again', () => transport.ready().ok, 5000);
    const request = stop(95);
    nas.send(request);
    expect(verifyAccountingResponse(await nas.answerTo(request), request, SECRET)).toBe(true);
    const closing = Date.now();
    await transport.close();
    expect(Date.now() - closing).toBeLessThan(1000);
  });

  it('closes at once when its receive thread has already stopped', async () => {
    const workers = captureWorkers();
    const { transport, errors } = await start(async () => {}).finally(() => workers.release());
    await workers.list[0]!.terminate();
    await waitFor('the stop reported', () => errors.length > 0);
    const closing = Date.now();
    await transport.close();
    expect(Date.now() - closing).toBeLessThan(1000);
  });

  it('reports a request of a client a reload removed as from an unknown client, as the thread will once it has the new list', async () => {
    let clients: readonly ClientConfig[] = [client('local', '127.0.0.1')];
    const { nas, requests, outcomes } = await start(async () => {}, () => clients);
    clients = [];
    nas.send(stop(96));
    await waitFor('the outcome', () => outcomes.length === 1);
    expect(outcomes).toEqual(['unknown_client']);
    expect(requests).toHaveLength(0);
  });

  it('takes a request matched before a reload that gave its client name to another address as from an unknown client; its retransmission is the new client', async () => {
    let clients: readonly ClientConfig[] = [client('edge-1', '127.0.0.1')];
    const { transport, nas, requests, outcomes } = await start(async () => {}, () => clients);
    const request = stop(97);
    // Sent by another process while this thread stands still: the receive thread matches the
    // request as edge-1 and posts it, and the reload comes before this thread reads that batch.
    // edge-1 is now the NAS at 127.0.0.2, and 127.0.0.1 is core-1: the request was proven as neither.
    floodWhileStalled(transport.addresses()[0]!.port, [request]);
    clients = [client('edge-1', '127.0.0.2'), client('core-1', '127.0.0.1')];
    transport.reload({ radius: { clients } } as unknown as Config);
    await waitFor('the outcome', () => outcomes.length === 1);
    expect(outcomes).toEqual(['unknown_client']);
    expect(requests).toHaveLength(0);
    // Nothing is lost: unanswered and forgotten, the request sent again is matched with the new list.
    nas.send(request);
    await nas.answerTo(request);
    expect(requests.map((taken) => taken.client.name)).toEqual(['core-1']);
  });

  it('reports discards with the datagram, as the service logs and traces them', async () => {
    const reported: { outcome: PacketOutcome; octets?: Buffer }[] = [];
    const handler = createBuiltRequestHandler({ clients: () => [], onAccounting: async () => {}, onPacket: (outcome, detail) => reported.push({ outcome, octets: detail.octets }) });
    const transport = createBuiltUdpTransport({ listen: [LOOPBACK4], receiveThread: true, handler, clients: () => [] });
    open.push(transport);
    await transport.start();
    const nas = await nasSocket(transport.addresses()[0]!.port);
    const request = buildAccountingRequest({ identifier: 3, secret: SECRET, attributes: { 'Acct-Status-Type': 'Stop' } });
    nas.send(request);
    await waitFor('the discard', () => reported.length === 1);
    expect(reported[0]!.outcome).toBe('unknown_client');
    expect(Buffer.isBuffer(reported[0]!.octets)).toBe(true);
    expect(reported[0]!.octets).toEqual(request);
  });
});
