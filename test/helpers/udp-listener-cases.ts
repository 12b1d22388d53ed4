/**
 * The UDP transport's behaviour, as one set of cases run against each way it runs: on the
 * service's JavaScript thread (the TypeScript sources, test/unit/radius-listener.test.ts) and
 * through its receive thread (the built dist/, test/integration/udp-receive-thread.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientConfig, Config, Endpoint } from '../../src/config/load.js';
import { parsePrefix } from '../../src/net/address.js';
import type { AccountingRequest, createRequestHandler, PacketOutcome, RequestHandlerOptions } from '../../src/radius/handler.js';
import type { Transport } from '../../src/radius/transports/types.js';
import type { createUdpTransport, UdpTransportOptions } from '../../src/radius/transports/udp/transport.js';
import { buildAccountingRequest, buildStatusServer, openNasSocket, sendRadius, verifyAccountingResponse, type NasSocket } from './radius-packets.js';
import { radclient } from './radclient.js';
import { havePeers, waitFor } from './peers.js';

/** The two factories the cases build a listener from, from src/ or from dist/. */
export interface UdpListenerModules {
  readonly createUdpTransport: typeof createUdpTransport;
  readonly createRequestHandler: typeof createRequestHandler;
}

export const SECRET = 'nas-secret';
export const LOOPBACK4: Endpoint = { host: '127.0.0.1', port: 0, family: 4 };
const LOOPBACK6: Endpoint = { host: '::1', port: 0, family: 6 };

export const client = (name: string, address: string, secret = SECRET): ClientConfig => ({
  name,
  address: parsePrefix(address),
  secret: Buffer.from(secret),
  secretSource: 'test',
  pools: [],
});

export const stop = (identifier: number, secret = SECRET): Buffer =>
  buildAccountingRequest({ identifier, secret, attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': `s${identifier}`, 'Framed-IP-Address': '10.64.0.9' } });

export function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * The transports and NAS sockets a test opens, closed after each test (registered in the
 * describe block or file that calls this).
 */
export function closedAfterEach(): { open: Transport[]; nasSocket: (port: number) => Promise<NasSocket> } {
  const open: Transport[] = [];
  const sockets: NasSocket[] = [];
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((socket) => socket.close()));
    await Promise.all(open.splice(0).map((transport) => transport.close()));
  });
  const nasSocket = async (port: number): Promise<NasSocket> => {
    const socket = await openNasSocket(port);
    sockets.push(socket);
    return socket;
  };
  return { open, nasSocket };
}

/** Declares the cases, each describe block's title starting with `label`. */
export function udpListenerCases(label: string, modules: UdpListenerModules): void {
  type RadiusListener = Transport;
  type ListenerOverrides = Partial<Pick<RequestHandlerOptions, 'clients' | 'onAnswered'> & Pick<UdpTransportOptions, 'listen'>>;

  /** The request handler fed by the UDP transport, as the daemon wires them. */
  function createRadiusListener(options: Pick<RequestHandlerOptions, 'clients' | 'onAccounting' | 'onPacket' | 'onAnswered'> & { listen: UdpTransportOptions['listen'] }): RadiusListener {
    return modules.createUdpTransport({ listen: options.listen, handler: modules.createRequestHandler(options), clients: options.clients });
  }

  interface Harness {
    listener: RadiusListener;
    port: number;
    requests: AccountingRequest[];
    outcomes: { outcome: PacketOutcome; reason?: string; client?: string }[];
  }

  const { open, nasSocket } = closedAfterEach();

  async function startListener(
    onAccounting: (request: AccountingRequest) => Promise<void> = async () => {},
    overrides: ListenerOverrides = {},
  ): Promise<Harness> {
    const requests: AccountingRequest[] = [];
    const outcomes: Harness['outcomes'] = [];
    const listener = createRadiusListener({
      listen: [LOOPBACK4],
      clients: () => [client('local', '127.0.0.0/8'), client('local6', '::1')],
      onAccounting: (request) => {
        requests.push(request);
        return onAccounting(request);
      },
      onPacket: (outcome, detail) => outcomes.push({ outcome, reason: detail.reason, client: detail.client }),
      ...overrides,
    });
    open.push(listener);
    await listener.start();
    return { listener, port: listener.addresses()[0]!.port, requests, outcomes };
  }

  describe(label, () => {
    it('binds port 0 and reports the bound address and receive buffer', async () => {
      const { listener, port } = await startListener();
      expect(listener.ready()).toEqual({ ok: true });
      expect(port).toBeGreaterThan(0);
      expect(listener.addresses()[0]).toMatchObject({ address: '127.0.0.1', family: 'IPv4' });
      expect(listener.addresses()[0]!.receiveBufferBytes).toBeGreaterThan(0);
      await listener.close();
      expect(listener.ready()).toEqual({ ok: false, error: 'RADIUS sockets not bound' });
    });

    it('answers a valid Accounting-Request once the handler resolves, with the decoded request', async () => {
      const { port, requests, outcomes } = await startListener();
      const request = stop(11);
      const response = await sendRadius(request, port);
      expect(response && verifyAccountingResponse(response, request, SECRET)).toBe(true);
      expect(requests).toHaveLength(1);
      expect(requests[0]).toMatchObject({ identifier: 11, client: { name: 'local' }, source: { address: '127.0.0.1', transport: 'udp' } });
      expect(requests[0]!.packet.bytes).toEqual(request);
      expect(requests[0]!.attributes).toMatchObject({ statusType: 2, sessionId: 's11', framedIpAddress: '10.64.0.9' });
      expect(outcomes).toEqual([{ outcome: 'accepted', client: 'local', reason: undefined }]);
    });

    it("observes each answer's latency once, from the datagram's read to the answer's send, and none for a request not answered", async () => {
      const answered: number[] = [];
      const recordLatencyMs = 40;
      let calls = 0;
      const { port, outcomes } = await startListener(
        async () => {
          calls++;
          if (calls === 1) throw new Error('journal is full');
          await new Promise((resolve) => setTimeout(resolve, recordLatencyMs));
        },
        { onAnswered: (seconds) => answered.push(seconds) },
      );
      const nas = await nasSocket(port);
      const refused = stop(21);
      nas.send(refused);
      await waitFor('the first request to be refused', () => outcomes.length === 1);
      const status = buildStatusServer({ identifier: 22, secret: SECRET });
      nas.send(status);
      await nas.answerTo(status);
      // Neither a request not recorded nor a Status-Server is an answer to a recorded request.
      expect(answered).toEqual([]);
      const sentAt = performance.now();
      const request = stop(23);
      nas.send(request);
      expect(verifyAccountingResponse(await nas.answerTo(request), request, SECRET)).toBe(true);
      const roundTripSeconds = (performance.now() - sentAt) / 1000;
      await waitFor('the answer latency to be reported', () => answered.length === 1);
      // The time the service took to record it is in the figure, and the figure is no longer than the NAS waited.
      expect(answered[0]).toBeGreaterThanOrEqual((recordLatencyMs - 1) / 1000);
      expect(answered[0]).toBeLessThanOrEqual(roundTripSeconds);
      // A retransmission answered from the duplicate cache is not observed again.
      nas.send(request);
      await waitFor('the retransmission to be answered and reported', () => nas.answers.length === 3 && outcomes.some(({ outcome }) => outcome === 'duplicate'));
      expect(answered).toHaveLength(1);
    });

    it('sends nothing when the handler rejects, and handles the next request normally', async () => {
      let calls = 0;
      const { port, requests, outcomes } = await startListener(async () => {
        calls++;
        if (calls === 1) throw new Error('journal is full');
      });
      const request = stop(12);
      const nas = await nasSocket(port);
      nas.send(request);
      await waitFor('the handler to reject', () => outcomes.length === 1);
      expect(outcomes[0]).toMatchObject({ outcome: 'not_acknowledged', reason: 'journal is full' });
      nas.send(request);
      const response = await nas.answerTo(request);
      expect(verifyAccountingResponse(response, request, SECRET)).toBe(true);
      // The retransmission's answer is in, so any answer to the first try would be too: there is none.
      expect(nas.answers).toHaveLength(1);
      expect(requests).toHaveLength(2);
    });

    it('survives a handler that throws instead of rejecting', async () => {
      const { port, outcomes } = await startListener(() => {
        throw new Error('synchronous bug');
      });
      const nas = await nasSocket(port);
      nas.send(stop(13));
      await waitFor('the handler to throw', () => outcomes.length === 1);
      expect(outcomes[0]).toMatchObject({ outcome: 'not_acknowledged', reason: 'synchronous bug' });
      // Still serving: a later Status-Server is answered, and it is the only answer.
      const status = buildStatusServer({ identifier: 14, secret: SECRET });
      nas.send(status);
      expect(verifyAccountingResponse(await nas.answerTo(status), status, SECRET)).toBe(true);
      expect(nas.answers).toHaveLength(1);
    });

    it('answers a Status-Server without calling the handler', async () => {
      const { port, requests, outcomes } = await startListener();
      const request = buildStatusServer({ identifier: 99, secret: SECRET });
      const response = await sendRadius(request, port);
      expect(response?.[0]).toBe(5);
      expect(response && verifyAccountingResponse(response, request, SECRET)).toBe(true);
      expect(response?.length).toBe(38);
      expect(requests).toHaveLength(0);
      // The receive thread answers first and reports with its next batch: reported soon after.
      await waitFor('the outcome', () => outcomes.length === 1);
      expect(outcomes[0]?.outcome).toBe('status_server');
    });

    it('listens on IPv6 too', async () => {
      const { listener } = await startListener(undefined, { listen: [LOOPBACK4, LOOPBACK6] });
      const v6 = listener.addresses().find((address) => address.family === 'IPv6')!;
      const request = stop(14);
      const response = await sendRadius(request, v6.port, '::1');
      expect(response && verifyAccountingResponse(response, request, SECRET)).toBe(true);
    });

    it.each([
      { name: 'an unknown source', clients: [client('elsewhere', '192.0.2.10')], datagram: () => stop(20), outcome: 'unknown_client' },
      { name: 'a wrong secret', clients: [client('local', '127.0.0.1', 'other')], datagram: () => stop(21), outcome: 'bad_authenticator' },
      { name: 'an empty datagram', clients: undefined, datagram: () => Buffer.alloc(0), outcome: 'malformed' },
      { name: 'random octets', clients: undefined, datagram: () => Buffer.from('GET / HTTP/1.1\r\n\r\n'), outcome: 'malformed' },
      { name: 'a Length past the datagram', clients: undefined, datagram: () => Buffer.from([4, 1, 0xff, 0xff, ...Buffer.alloc(16)]), outcome: 'malformed' },
    ] as const)('discards $name silently and still answers the next good packet', async ({ clients, datagram, outcome }) => {
      const known = [client('local', '127.0.0.1')];
      let current: readonly ClientConfig[] = clients ?? known;
      const { listener, port, outcomes, requests } = await startListener(undefined, { clients: () => current });
      const nas = await nasSocket(port);
      nas.send(datagram());
      await waitFor('the datagram to be discarded', () => outcomes.length === 1);
      expect(outcomes[0]?.outcome).toBe(outcome);
      expect(requests).toHaveLength(0);
      current = known;
      // The daemon hands a reloaded client list to each transport (the receive thread keeps its copy).
      listener.reload({ radius: { clients: current } } as unknown as Config);
      const good = stop(30);
      nas.send(good);
      const response = await nas.answerTo(good);
      expect(verifyAccountingResponse(response, good, SECRET)).toBe(true);
      // The later packet's answer is in, so an answer to the discarded one would be too: there is none.
      expect(nas.answers).toEqual([response]);
    });
  });

  describe(`${label} under a burst`, () => {
    it('answers a burst of 3,000 Accounting-Requests sent without pause, none lost', async () => {
      const { port, requests } = await startListener();
      const { createSocket } = await import('node:dgram');
      const socket = createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024 });
      let answers = 0;
      socket.on('message', () => answers++);
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
      try {
        for (let i = 0; i < 3000; i++) {
          const packet = buildAccountingRequest({ identifier: i & 0xff, secret: SECRET, attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': `burst-${i}` } });
          socket.send(packet, port, '127.0.0.1');
        }
        await waitFor('3,000 answers', () => answers === 3000, 10_000);
        expect(requests).toHaveLength(3000);
      } finally {
        socket.close();
      }
    });
  });

  describe(`${label} duplicate detection`, () => {
    /**
     * Sends datagrams from one socket (one source port), as a NAS retransmitting does, then a
     * Status-Server whose answer shows the listener got through them all (its outcome comes last);
     * resolves with the answers to the datagrams.
     */
    async function fromOnePort(port: number, datagrams: Buffer[], gapMs = 50): Promise<Buffer[]> {
      const nas = await nasSocket(port);
      for (const datagram of datagrams) {
        nas.send(datagram);
        await new Promise((resolve) => setTimeout(resolve, gapMs));
      }
      const status = buildStatusServer({ identifier: 200, secret: SECRET });
      nas.send(status);
      const statusAnswer = await nas.answerTo(status);
      return nas.answers.filter((answer) => answer !== statusAnswer);
    }

    it('answers a duplicate of an answered request with the same octets, without calling the handler again', async () => {
      const { port, requests, outcomes } = await startListener();
      const request = stop(40);
      const answers = await fromOnePort(port, [request, request]);
      expect(answers).toHaveLength(2);
      expect(answers[1]).toEqual(answers[0]);
      expect(requests).toHaveLength(1);
      await waitFor('every outcome', () => outcomes.length === 3);
      expect(outcomes.map((o) => o.outcome)).toEqual(['accepted', 'duplicate', 'status_server']);
    });

    it('answers a duplicate carrying Proxy-States with the octets of the first answer, Proxy-States in order', async () => {
      const { port, requests, outcomes } = await startListener();
      const request = buildAccountingRequest({
        identifier: 43,
        secret: SECRET,
        attributes: [['Acct-Status-Type', 'Stop'], ['Acct-Session-Id', 'proxied'], [33, Buffer.from('hop-one')], [33, Buffer.from('hop-two')]],
      });
      const answers = await fromOnePort(port, [request, request]);
      expect(answers).toHaveLength(2);
      expect(answers[1]).toEqual(answers[0]);
      expect(verifyAccountingResponse(answers[1]!, request, SECRET)).toBe(true);
      expect(answers[1]!.subarray(20)).toEqual(Buffer.from([33, 9, ...Buffer.from('hop-one'), 33, 9, ...Buffer.from('hop-two')]));
      expect(requests).toHaveLength(1);
      await waitFor('every outcome', () => outcomes.length === 3);
      expect(outcomes.map((o) => o.outcome)).toEqual(['accepted', 'duplicate', 'status_server']);
    });

    it('drops a duplicate that arrives while the first is in progress', async () => {
      const gate = deferred();
      const { port, requests, outcomes } = await startListener(() => gate.promise);
      const request = stop(41);
      const nas = await nasSocket(port);
      nas.send(request);
      await waitFor('the first to reach the handler', () => requests.length === 1);
      nas.send(request);
      await waitFor('the duplicate to be seen', () => outcomes.length === 1);
      gate.resolve();
      await nas.answerTo(request);
      // A later Status-Server's answer shows any second answer to the request would have arrived.
      const status = buildStatusServer({ identifier: 200, secret: SECRET });
      nas.send(status);
      await nas.answerTo(status);
      expect(nas.answers.filter((answer) => answer[1] === request[1])).toHaveLength(1);
      expect(requests).toHaveLength(1);
      await waitFor('every outcome', () => outcomes.length === 3);
      expect(outcomes.map((o) => o.outcome)).toEqual(['in_progress', 'accepted', 'status_server']);
    });

    it('processes the retransmission of a request whose handler rejected', async () => {
      let calls = 0;
      const { port, requests, outcomes } = await startListener(async () => {
        if (++calls === 1) throw new Error('backend down');
      });
      const request = stop(42);
      const answers = await fromOnePort(port, [request, request], 100);
      expect(requests).toHaveLength(2);
      expect(answers).toHaveLength(1);
      expect(verifyAccountingResponse(answers[0]!, request, SECRET)).toBe(true);
      await waitFor('every outcome', () => outcomes.length === 3);
      expect(outcomes.map((o) => o.outcome)).toEqual(['not_acknowledged', 'accepted', 'status_server']);
    });

    it('treats the same Identifier with a new Request Authenticator as a new request', async () => {
      const { port, requests } = await startListener();
      const first = buildAccountingRequest({ identifier: 43, secret: SECRET, attributes: { 'Acct-Status-Type': 'Start' } });
      const second = buildAccountingRequest({ identifier: 43, secret: SECRET, attributes: { 'Acct-Status-Type': 'Stop' } });
      const answers = await fromOnePort(port, [first, second]);
      expect(answers).toHaveLength(2);
      expect(requests.map((r) => r.attributes.statusType)).toEqual([1, 2]);
    });
  });

  describe(`${label} start and close`, () => {
    it('rejects start() with RBL_LISTEN naming address:port when the port is taken', async () => {
      const { port } = await startListener();
      const second = createRadiusListener({ listen: [{ ...LOOPBACK4, port }], clients: () => [], onAccounting: async () => {} });
      open.push(second);
      const error = await second.start().then(() => undefined, (caught: unknown) => caught);
      // By its code: an RblError of dist/ is not an instance of src/'s class.
      expect(error).toMatchObject({ name: 'RblError', code: 'RBL_LISTEN' });
      expect((error as Error).message).toContain(`127.0.0.1:${port}`);
      expect((error as Error).message).toContain('EADDRINUSE');
      expect(second.ready().ok).toBe(false);
    });

    it('rejects an address that is not on this host, with IPv6 in brackets', async () => {
      const listener = createRadiusListener({ listen: [{ host: '2001:db8::77', port: 0, family: 6 }], clients: () => [], onAccounting: async () => {} });
      open.push(listener);
      await expect(listener.start()).rejects.toThrow(/\[2001:db8::77\]:0: EADDRNOTAVAIL/);
    });
  });

  describe.runIf(havePeers('radclient'))(`${label} with the real radclient`, () => {
    const stopText = 'Acct-Status-Type = Stop\nAcct-Session-Id = "rc-1"\nFramed-IP-Address = 10.64.0.77\nFramed-IPv6-Prefix = 2001:db8:9::/48\nNAS-Identifier = "bras-9"';

    it('gets an Accounting-Response when the handler resolves', async () => {
      const { port, requests } = await startListener();
      const result = await radclient(port, SECRET, stopText);
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toMatch(/Received Accounting-Response/);
      expect(requests[0]?.attributes).toMatchObject({ statusType: 2, sessionId: 'rc-1', framedIpAddress: '10.64.0.77', framedIpv6Prefixes: ['2001:db8:9::/48'], nasIdentifier: 'bras-9' });
    });

    it('gets no answer when the handler rejects', async () => {
      const { port, outcomes } = await startListener(async () => {
        throw new Error('not recorded');
      });
      const result = await radclient(port, SECRET, stopText, 'acct', { timeoutS: 1, retries: 1 });
      expect(result.code).not.toBe(0);
      expect(result.stdout + result.stderr).toMatch(/No reply/i);
      expect(outcomes.every((o) => o.outcome === 'not_acknowledged')).toBe(true);
    });

    it('accepts the Message-Authenticator radclient computes for an Accounting-Request', async () => {
      const { port, outcomes } = await startListener();
      const result = await radclient(port, SECRET, `${stopText}\nMessage-Authenticator = 0x00`);
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(outcomes.map((o) => o.outcome)).toEqual(['accepted']);
    });

    it('answers radclient status (Status-Server) with an Accounting-Response', async () => {
      const { port, outcomes } = await startListener();
      const result = await radclient(port, SECRET, 'Message-Authenticator = 0x00', 'status');
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toMatch(/Received Accounting-Response/);
      await waitFor('the outcome', () => outcomes.length === 1);
      expect(outcomes.map((o) => o.outcome)).toEqual(['status_server']);
    });

    it('stays silent for radclient with the wrong secret', async () => {
      const { port, outcomes } = await startListener();
      const result = await radclient(port, 'wrong-secret', stopText);
      expect(result.code).not.toBe(0);
      expect(outcomes[0]?.outcome).toBe('bad_authenticator');
    });
  });
}
