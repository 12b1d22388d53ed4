import { Socket } from 'node:dgram';
import { describe, expect, it, vi } from 'vitest';
import type { ClientConfig } from '../../src/config/load.js';
import { createRequestHandler, type PacketOutcome } from '../../src/radius/handler.js';
import { createUdpTransport, usesReceiveThread } from '../../src/radius/transports/udp/transport.js';
import { verifyAccountingResponse } from '../helpers/radius-packets.js';
import { waitFor } from '../helpers/peers.js';
import { client, closedAfterEach, LOOPBACK4, SECRET, stop, udpListenerCases } from '../helpers/udp-listener-cases.js';

// From the TypeScript sources the transport reads its sockets on this thread (transport.ts); the
// same cases run through the receive thread in test/integration/udp-receive-thread.test.ts.
udpListenerCases('RADIUS listener', { createUdpTransport, createRequestHandler });

describe('radius.receive_thread', () => {
  it.each([
    ['auto', 1, false],
    ['auto', 2, false],
    ['auto', 3, true],
    ['auto', 64, true],
    [true, 2, true],
    [true, 1, true],
    [false, 2, false],
  ] as const)('%s with %i CPUs to run on: a receive thread %s', (setting, cpus, threaded) => {
    expect(usesReceiveThread(setting, cpus)).toBe(threaded);
  });
});

describe('RADIUS listener on this thread', () => {
  const { open, nasSocket } = closedAfterEach();

  it('reports an answer the socket refuses at once as a send error, and goes on serving', async () => {
    const errors: Error[] = [];
    const outcomes: PacketOutcome[] = [];
    const clients = (): ClientConfig[] => [client('local', '127.0.0.0/8')];
    const transport = createUdpTransport({
      listen: [LOOPBACK4],
      handler: createRequestHandler({ clients, onAccounting: async () => {}, onPacket: (outcome) => outcomes.push(outcome) }),
      onError: (error) => errors.push(error),
      clients,
    });
    open.push(transport);
    await transport.start();
    const nas = await nasSocket(transport.addresses()[0]!.port);
    // The NAS's own send goes out; the answer's throws, as dgram does for a destination it cannot
    // address (port 0, say) before anything is sent.
    const original = Socket.prototype.send;
    let calls = 0;
    const send = vi.spyOn(Socket.prototype, 'send').mockImplementation(function (this: Socket, ...args: unknown[]) {
      if (++calls === 2) throw Object.assign(new RangeError('Port should be > 0 and < 65536. Received 0.'), { code: 'ERR_SOCKET_BAD_PORT' });
      return (original as (...a: unknown[]) => void).apply(this, args);
    } as typeof original);
    nas.send(stop(15));
    await waitFor('the refused send to be reported', () => errors.length === 1);
    expect(errors[0]).toMatchObject({ code: 'ERR_SOCKET_BAD_PORT' });
    send.mockRestore();
    const again = stop(16);
    nas.send(again);
    expect(verifyAccountingResponse(await nas.answerTo(again), again, SECRET)).toBe(true);
    expect(outcomes).toEqual(['accepted', 'accepted']);
  });
});
