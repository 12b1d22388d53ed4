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
import { afterEach, beforeEach } from 'vitest';
import { createHttpBackend } from '../../src/backends/http/backend.js';
import type { Backend } from '../../src/backends/types.js';
import type { HttpBackendConfig } from '../../src/backends/http/config.js';
import { createMetrics } from '../../src/http/metrics.js';
import type { ReadinessReport } from '../../src/http/readiness.js';
import { createHttpServer, type HttpServer, type HttpServerOptions } from '../../src/http/server.js';
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

/** A recording server started before each test, and the HTTP backends a test made against it. */
export interface RecordingFixture {
  /** This test's server; a test that closes it may put a new one here, which is closed after the test. */
  server: RecordingServer;
  /** Makes an HTTP backend from the defaults below and `config`; closed after the test. */
  backend(config: Partial<HttpBackendConfig>): Backend;
}

/** The HTTP backend config most tests change a few keys of: a generic DELETE backend for rbl.example.net. */
export const HTTP_BACKEND_DEFAULTS: HttpBackendConfig = {
  type: 'http',
  name: 'blocklist-api',
  preset: undefined,
  url: 'http://127.0.0.1:1/{name}',
  zones: ['rbl.example.net'],
  method: 'DELETE',
  headers: {},
  body: undefined,
  apiKey: undefined,
  token: undefined,
  successStatus: [200, 201, 202, 204],
  deleteTypes: ['A', 'TXT'],
  timeoutMs: 2000,
  ca: undefined,
};

/** Registers beforeEach/afterEach hooks: a new recording server per test; after it, its backends and then the server are closed. */
export function useRecordingServer(): RecordingFixture {
  const backends: Backend[] = [];
  const fixture: RecordingFixture = {
    server: undefined as unknown as RecordingServer,
    backend(config) {
      const backend = createHttpBackend({ ...HTTP_BACKEND_DEFAULTS, ...config });
      backends.push(backend);
      return backend;
    },
  };
  beforeEach(async () => {
    fixture.server = await startRecordingServer();
  });
  afterEach(async () => {
    await Promise.all(backends.splice(0).map((backend) => backend.close()));
    await fixture.server.close();
  });
  return fixture;
}

/** 127.0.0.1, port 0: the listen address of a monitoring endpoint under test. */
export const LOOPBACK = { host: '127.0.0.1', port: 0, family: 4 as const };

/** Registers an afterEach hook that closes the monitoring endpoints `serve` started (those left in `servers`). */
export function useMonitoringServers(): {
  servers: HttpServer[];
  serve(readiness?: () => ReadinessReport, metrics?: ReturnType<typeof createMetrics>, views?: HttpServerOptions['views']): Promise<string>;
} {
  const servers: HttpServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });
  return {
    servers,
    /** Starts the monitoring endpoint on LOOPBACK and returns its http://127.0.0.1:PORT. */
    async serve(readiness = () => ({ ready: true, checks: {} }), metrics = createMetrics(), views = undefined) {
      const server = createHttpServer({ listen: LOOPBACK, metrics, readiness, views });
      servers.push(server);
      await server.start();
      return `http://127.0.0.1:${server.address().port}`;
    },
  };
}
