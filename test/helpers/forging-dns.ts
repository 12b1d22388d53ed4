/**
 * A DNS server that forges answers: to each UDP request it first sends the forgeries it was given
 * (an unsigned REFUSED, a NOERROR with a made-up MAC, ...), each from its own port as an off-path
 * attacker racing the real server would, then, once told to, relays the request to a real server
 * (BIND) and sends the real answer back. No real server forges, so this is the one fake peer.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type RemoteInfo } from 'node:dgram';
import type { TsigKey } from '../../src/backends/dns-update/keyfile.js';
import { RR_TYPE, encodeName } from '../../src/backends/dns-update/message.js';
import { tsigMacLength } from '../../src/backends/dns-update/tsig.js';
import { freePort } from './peers.js';

/** What an attacker who cannot sign may send in answer to an UPDATE or query. */
export type Forgery =
  | 'unsigned REFUSED'
  | 'unsigned FORMERR'
  | 'unsigned NOTZONE'
  | 'unsigned NOERROR'
  | 'NOERROR with a wrong MAC'
  | 'REFUSED with a wrong MAC'
  | 'NOTAUTH/BADSIG with a MAC'
  | 'NOTAUTH/BADKEY with a MAC'
  | 'unsigned NOTAUTH without a TSIG error'
  | 'unsigned REFUSED with another message ID'
  | 'unsigned REFUSED from another port'
  // The one unsigned answer RFC 8945 §5.3.2 lets a server send: anyone can forge it too.
  | 'NOTAUTH/BADSIG with an empty MAC'
  | 'NOTAUTH/BADKEY with an empty MAC'
  | 'NOTAUTH/BADTIME with an empty MAC';

export interface ForgingDnsServer {
  readonly port: number;
  /** UDP requests received. */
  requests(): number;
  /** Forged datagrams sent. */
  forged(): number;
  /** Real answers relayed from the upstream server. */
  relayed(): number;
  /** From now on, relay each request to the upstream server after the forgeries (false: stay silent after them). */
  letThrough(on: boolean): void;
  close(): Promise<void>;
}

/** Starts the forger on 127.0.0.1; `upstreamPort` is the real server requests are relayed to once letThrough(true). */
export async function startForgingDns(options: { key: TsigKey; forgeries: readonly Forgery[]; upstreamPort?: number; letThrough?: boolean }): Promise<ForgingDnsServer> {
  const port = await freePort();
  const server = createSocket('udp4');
  const spare = createSocket('udp4');
  let requests = 0;
  let forged = 0;
  let relayed = 0;
  let relaying = options.letThrough ?? false;
  let closed = false;

  const relay = (request: Buffer, remote: RemoteInfo): void => {
    if (options.upstreamPort === undefined) return;
    const upstream = createSocket('udp4');
    const timer = setTimeout(() => upstream.close(), 5000);
    upstream.once('message', (answer) => {
      clearTimeout(timer);
      upstream.close();
      if (closed) return;
      relayed++;
      server.send(answer, remote.port, remote.address);
    });
    upstream.send(request, options.upstreamPort, '127.0.0.1');
  };

  server.on('message', (request, remote) => {
    requests++;
    for (const forgery of options.forgeries) {
      forged++;
      const socket = forgery === 'unsigned REFUSED from another port' ? spare : server;
      socket.send(forgeAnswer(request, forgery, options.key), remote.port, remote.address);
    }
    if (relaying) relay(request, remote);
  });
  await new Promise<void>((resolve) => server.bind(port, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => spare.bind(0, '127.0.0.1', resolve));
  return {
    port,
    requests: () => requests,
    forged: () => forged,
    relayed: () => relayed,
    letThrough(on) {
      relaying = on;
    },
    async close() {
      closed = true;
      await Promise.all([server, spare].map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
    },
  };
}

const RCODE: Record<string, number> = { NOERROR: 0, FORMERR: 1, REFUSED: 5, NOTAUTH: 9, NOTZONE: 10 };

/** The forged answer: the request's header and first question (zone section) with QR and the RCODE set, and maybe a TSIG RR. */
export function forgeAnswer(request: Buffer, forgery: Forgery, key: TsigKey): Buffer {
  const rcode = RCODE[/NOERROR|FORMERR|REFUSED|NOTAUTH|NOTZONE/.exec(forgery)![0]]!;
  let end = 12;
  while (request[end]! !== 0) end += request[end]! + 1;
  end += 1 + 4;
  const body = Buffer.from(request.subarray(0, end));
  body.writeUInt16BE(0x8000 | (request.readUInt16BE(2) & 0x7800) | rcode, 2);
  body.writeUInt16BE(1, 4);
  body.writeUInt16BE(0, 6);
  body.writeUInt16BE(0, 8);
  body.writeUInt16BE(0, 10);
  if (forgery.includes('another message ID')) body.writeUInt16BE((request.readUInt16BE(0) + 1) & 0xffff, 0);
  if (forgery.startsWith('unsigned')) return body;
  const error = forgery.includes('BADSIG') ? 16 : forgery.includes('BADKEY') ? 17 : forgery.includes('BADTIME') ? 18 : 0;
  // A MAC of the right length that no one computed: all a forger without the key can offer.
  const mac = forgery.endsWith('with an empty MAC') ? Buffer.alloc(0) : randomBytes(tsigMacLength(key));
  const time = Buffer.alloc(6);
  time.writeUIntBE(Math.floor(Date.now() / 1000), 0, 6);
  const fixed = (value: number): Buffer => Buffer.from([value >> 8, value & 0xff]);
  const rdata = Buffer.concat([encodeName(key.algorithm), time, fixed(300), fixed(mac.length), mac, body.subarray(0, 2), fixed(error), fixed(0)]);
  const tsig = Buffer.concat([encodeName(key.name), fixed(RR_TYPE.TSIG), fixed(255), Buffer.alloc(4), fixed(rdata.length), rdata]);
  body.writeUInt16BE(1, 10);
  return Buffer.concat([body, tsig]);
}
