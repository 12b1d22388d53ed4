/**
 * The reading of a RadSec connection stopped for more than one reason (src/radius/transports/tls/
 * reading.ts): unsent answers and requests in flight each lift only their own stop, so a connection
 * is read again only once neither holds it.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readingGate, type ReadingStop } from '../../src/radius/transports/tls/reading.js';

describe('the reading gate of a RadSec connection', () => {
  let server: Server | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    sockets.splice(0).forEach((socket) => socket.destroy());
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  /** The server side of a TCP connection on 127.0.0.1, flowing as a 'data' listener makes it. */
  async function connectedSocket(): Promise<Socket> {
    const accepted = new Promise<Socket>((resolve) => {
      server = createServer((socket) => {
        socket.on('data', () => undefined);
        resolve(socket);
      }).listen(0, '127.0.0.1', () => {
        const address = server!.address();
        sockets.push(connect({ host: '127.0.0.1', port: typeof address === 'object' && address ? address.port : 0 }));
      });
    });
    const socket = await accepted;
    sockets.push(socket);
    return socket;
  }

  const cases: { steps: [('stop' | 'allow'), ReadingStop][]; paused: boolean }[] = [
    { steps: [['stop', 'answers_unsent']], paused: true },
    { steps: [['stop', 'answers_unsent'], ['allow', 'answers_unsent']], paused: false },
    { steps: [['stop', 'answers_unsent'], ['stop', 'requests_in_flight'], ['allow', 'requests_in_flight']], paused: true },
    { steps: [['stop', 'requests_in_flight'], ['stop', 'answers_unsent'], ['allow', 'answers_unsent']], paused: true },
    { steps: [['stop', 'answers_unsent'], ['stop', 'requests_in_flight'], ['allow', 'answers_unsent'], ['allow', 'requests_in_flight']], paused: false },
    // Lifting a stop never made does not resume a connection another reason holds.
    { steps: [['stop', 'answers_unsent'], ['allow', 'requests_in_flight']], paused: true },
    { steps: [['stop', 'requests_in_flight'], ['stop', 'requests_in_flight'], ['allow', 'requests_in_flight']], paused: false },
  ];

  it.each(cases)('after $steps the connection is paused: $paused', async ({ steps, paused }) => {
    const socket = await connectedSocket();
    const gate = readingGate(socket);
    for (const [action, reason] of steps) gate[action](reason);
    expect(socket.isPaused()).toBe(paused);
  });
});
