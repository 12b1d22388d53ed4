/**
 * A small HTTP server on 127.0.0.1, port 0, that records every request and answers with what the
 * test tells it to: a stand-in for an HTTP blacklist API.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { tempDir } from './peers.js';

export interface RecordedRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface CannedResponse {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** Waits this long before answering (for time-out tests). */
  readonly delayMs?: number;
}

export type Responder = (request: RecordedRequest) => CannedResponse;

export interface RecordingServer {
  readonly port: number;
  /** http://127.0.0.1:PORT, or https:// with `tls` (no trailing slash). */
  readonly origin: string;
  readonly requests: RecordedRequest[];
  /** Changes the answer for the requests that follow. */
  respondWith(responder: Responder): void;
  close(): Promise<void>;
}

/** A self-signed certificate for 127.0.0.1 made with the openssl CLI: its key and certificate in PEM. */
export function selfSignedCertificate(): { key: Buffer; cert: Buffer } {
  const temp = tempDir('tls');
  try {
    const key = join(temp.dir, 'key.pem');
    const cert = join(temp.dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], {
      stdio: 'ignore',
    });
    return { key: readFileSync(key), cert: readFileSync(cert) };
  } finally {
    temp.remove();
  }
}

/** Starts a recording server (HTTPS when `tls` is given); by default every request gets 204. */
export async function startRecordingServer(responder: Responder = () => ({ status: 204 }), tls?: { key: Buffer; cert: Buffer }): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let current = responder;
  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const recorded = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(recorded);
      const answer = current(recorded);
      const send = () => {
        response.writeHead(answer.status, answer.headers);
        response.end(answer.body);
      };
      if (answer.delayMs) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          send();
        }, answer.delayMs);
        timers.add(timer);
      } else send();
    });
  };
  const server = tls ? createTlsServer(tls, handle) : createServer(handle);
  // A TLS server reports the raw TCP sockets on 'connection' too, which is what close() must destroy.
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    origin: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    respondWith(next) {
      current = next;
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
