/**
 * A "DNS server" on 127.0.0.1 that records whatever reaches it over UDP or TCP and answers nothing:
 * for tests that show a command or backend sent nothing. Probes from the test itself queue behind
 * anything sent before them, so once both probes are recorded, the rest is recorded too.
 */
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import { freePort, waitFor } from './peers.js';

export interface RecordingServer {
  readonly port: number;
  /** 'udp' and 'tcp' for each datagram and connection that arrived, once probes show all have. */
  received(): Promise<string[]>;
  close(): Promise<void>;
}

/** Starts a recording server on a port free for both UDP and TCP. */
export async function startRecordingServer(): Promise<RecordingServer> {
  const port = await freePort();
  const probePorts = new Set<number>();
  const arrivals: string[] = [];
  const udp = createSocket('udp4');
  udp.on('message', (_message, from) => arrivals.push(probePorts.has(from.port) ? 'udp probe' : 'udp'));
  await new Promise<void>((resolve) => udp.bind(port, '127.0.0.1', resolve));
  const tcp = createServer((socket) => {
    arrivals.push(probePorts.has(socket.remotePort!) ? 'tcp probe' : 'tcp');
    socket.destroy();
  });
  await new Promise<void>((resolve) => tcp.listen(port, '127.0.0.1', resolve));

  const received = async (): Promise<string[]> => {
    const probe = createSocket('udp4');
    await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve));
    probePorts.add(probe.address().port);
    probe.send('probe', port, '127.0.0.1');
    // Known before connecting: the server may see the connection before the client's 'connect' event.
    const localPort = await freePort();
    probePorts.add(localPort);
    const connection = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.1', localPort });
    connection.on('error', () => {});
    try {
      await waitFor('both probes to reach the recording server', () => arrivals.filter((what) => what.endsWith(' probe')).length === 2, 5000, 10);
    } finally {
      probe.close();
      connection.destroy();
    }
    const seen = arrivals.filter((what) => !what.endsWith(' probe'));
    arrivals.length = 0;
    return seen;
  };

  const close = async (): Promise<void> => {
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
  };
  return { port, received, close };
}
