/**
 * The read-only HTTP endpoint for monitoring: /healthz, /readyz and /metrics (GET and HEAD).
 * Built by a factory that listens only on start().
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Endpoint } from '../config/load.js';
import { RblError } from '../errors.js';
import { hostAllowed, subscriberViewsAllowed } from './host-check.js';
import type { Metrics } from './metrics.js';
import type { ReadinessReport } from './readiness.js';
import { endpointText } from '../net/host-port.js';

export interface HttpServerOptions {
  readonly listen: Endpoint;
  readonly metrics: Metrics;
  readonly readiness: () => ReadinessReport;
  /** JSON views beside the fixed paths (GET /status, GET /addresses/ADDRESS): undefined for a path they do not serve. */
  readonly views?: (path: string) => { readonly status: number; readonly body: unknown } | undefined;
  /**
   * An error of the listening socket after start() (an accept() the kernel refused: out of file
   * descriptors or memory). Without a listener Node throws it, and the service with its RADIUS
   * sockets would end over its monitoring endpoint.
   */
  readonly onError?: (error: Error) => void;
}

export interface HttpServer {
  /** Binds the endpoint; throws RblError RBL_LISTEN when it cannot. */
  start(): Promise<void>;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
  /** The bound address and port (the real port when listen.port is 0). */
  address(): { address: string; port: number };
}

interface Reply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Bounds that keep a slow or greedy client from holding the endpoint (slowloris): monitoring makes
 * a few short requests, so these are tight and not configurable. Over the cap, a new connection is
 * closed at once; a client that has not sent its headers within HEADERS_TIMEOUT_MS, or its whole
 * request within REQUEST_TIMEOUT_MS, is answered 408 and closed; an idle keep-alive connection is
 * closed after KEEP_ALIVE_TIMEOUT_MS.
 */
export const HTTP_LIMITS = Object.freeze({
  maxConnections: 32,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  /** How often Node checks the two request timeouts; its default (30 s) would let a slow client stay six times longer. */
  checkIntervalMs: 1_000,
  /**
   * An answer not handed to the kernel this long after it was made closes its connection: the
   * request timeouts end once a request is read, and Node's socket timeout counts the kernel taking
   * a few bytes now and then as activity, so a client that never reads its answers would otherwise
   * hold its place (and the answers in memory) for good.
   */
  stalledMs: 10_000,
  /** Requests one connection may send; the ones past it are answered 503 and the connection closes. */
  maxRequestsPerConnection: 100,
  /**
   * Requests for /status or /addresses/... waiting for their view, the one being built included;
   * past it they are answered 503 at once. An operator asks one at a time (`rbl-unlist why` too).
   */
  maxWaitingViews: 8,
});

const JSON_TYPE = 'application/json; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';

/** The monitoring endpoint: GET/HEAD /healthz, /readyz, /metrics; 404 elsewhere, 405 for other methods. */
export function createHttpServer(options: HttpServerOptions): HttpServer {
  const { listen, metrics, readiness } = options;

  /**
   * A view is built in one synchronous run over the session table, the journal's jobs and the
   * history: half a second with a backlog of 200,000 IPv6 prefixes. Node hands the handler every
   * request a connection pipelined at once, so 100 on each of 32 connections would hold the event
   * loop, and the RADIUS answers with it, for minutes. So views are built one at a time, each in a
   * turn of the event loop of its own (RADIUS packets are read between two), and a request past
   * maxWaitingViews is answered 503.
   */
  let viewsWaiting = 0;
  let lastView: Promise<unknown> = Promise.resolve();
  const viewInTurn = (path: string): Promise<ReturnType<NonNullable<HttpServerOptions['views']>>> | undefined => {
    if (viewsWaiting >= HTTP_LIMITS.maxWaitingViews) return undefined;
    viewsWaiting++;
    const built = lastView.then(() => new Promise<void>((resolve) => setImmediate(resolve))).then(() => options.views?.(path));
    lastView = built.catch(() => undefined).finally(() => viewsWaiting--);
    return built;
  };

  const route = async (request: IncomingMessage): Promise<Reply> => {
    if (!hostAllowed(listen.host, request.headers.host)) {
      return {
        status: 403,
        contentType: TEXT_TYPE,
        body: `forbidden: this endpoint listens on a loopback address and answers requests for a loopback address or localhost only, not for ${JSON.stringify(request.headers.host)} (as a web page trying DNS rebinding would send)\n`,
      };
    }
    const path = (request.url ?? '/').split('?')[0];
    // Checked before a view is built: a POST must not cost what a GET of the same view does.
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return { status: 405, contentType: TEXT_TYPE, body: 'method not allowed: this endpoint is read-only\n', headers: { Allow: 'GET, HEAD' } };
    }
    const known = path === '/healthz' || path === '/readyz' || path === '/metrics';
    const namesSubscribers = path === '/status' || (path ?? '').startsWith('/addresses/');
    if (namesSubscribers && !subscriberViewsAllowed(listen.host, request.headers.host)) {
      return {
        status: 403,
        contentType: TEXT_TYPE,
        body: `forbidden: ${path} names subscribers, and is answered for a Host that is an address or localhost only, not for ${JSON.stringify(request.headers.host)} (a name a web page could make resolve to this endpoint, DNS rebinding); /healthz, /readyz and /metrics take any Host here\n`,
      };
    }
    let view: ReturnType<NonNullable<HttpServerOptions['views']>>;
    if (namesSubscribers && options.views) {
      const built = viewInTurn(path ?? '/');
      if (!built) {
        // JSON, as the views' own answers are: `status` and `why` read it and say why.
        const message = `busy: ${HTTP_LIMITS.maxWaitingViews} requests for /status or /addresses wait already; ask again in a moment`;
        return { status: 503, contentType: JSON_TYPE, body: `${JSON.stringify({ error: { code: 'busy', message } })}\n`, headers: { 'Retry-After': '1' } };
      }
      view = await built;
    } else if (!known) view = options.views?.(path ?? '/');
    if (!known && !view) return { status: 404, contentType: TEXT_TYPE, body: 'not found: try /healthz, /readyz, /metrics, /status or /addresses/ADDRESS\n' };
    if (view) return { status: view.status, contentType: JSON_TYPE, body: `${JSON.stringify(view.body)}\n` };
    if (path === '/healthz') return { status: 200, contentType: JSON_TYPE, body: `${JSON.stringify({ status: 'ok' })}\n` };
    if (path === '/readyz') {
      const report = readiness();
      return { status: report.ready ? 200 : 503, contentType: JSON_TYPE, body: `${JSON.stringify(report)}\n` };
    }
    return { status: 200, contentType: metrics.registry.contentType, body: await metrics.registry.metrics() };
  };

  /**
   * Each keep-alive connection's timer that closes it once it has been idle keepAliveTimeoutMs
   * after its last answer, and how many of its requests are being answered. Node's own keep-alive
   * timeout is the socket's idle timeout, which every byte received restarts, and the parser skips
   * empty lines before a request line (RFC 9112 §2.2) without starting a request, so no header
   * timeout runs either: a client sending "\r\n" every few seconds would hold its place for good.
   */
  const idleTimers = new WeakMap<Socket, NodeJS.Timeout>();
  const requestsAnswering = new WeakMap<Socket, number>();

  const server = createServer({
    headersTimeout: HTTP_LIMITS.headersTimeoutMs,
    requestTimeout: HTTP_LIMITS.requestTimeoutMs,
    keepAliveTimeout: HTTP_LIMITS.keepAliveTimeoutMs,
    connectionsCheckingInterval: HTTP_LIMITS.checkIntervalMs,
  }, (request: IncomingMessage, response: ServerResponse) => {
    // The request body, if any, is never needed: drain it so the connection can be reused.
    request.resume();
    const stalled = setTimeout(() => response.destroy(), HTTP_LIMITS.stalledMs);
    stalled.unref();
    const { socket } = request;
    clearTimeout(idleTimers.get(socket));
    requestsAnswering.set(socket, (requestsAnswering.get(socket) ?? 0) + 1);
    response.once('close', () => {
      clearTimeout(stalled);
      const left = requestsAnswering.get(socket)! - 1;
      requestsAnswering.set(socket, left);
      if (left > 0 || socket.destroyed) return;
      const idle = setTimeout(() => socket.destroy(), HTTP_LIMITS.keepAliveTimeoutMs);
      idle.unref();
      idleTimers.set(socket, idle);
    });
    route(request)
      .catch((error: unknown): Reply => ({ status: 500, contentType: TEXT_TYPE, body: `internal error: ${error instanceof Error ? error.message : String(error)}\n` }))
      .then((reply) => {
        response.writeHead(reply.status, {
          'Content-Type': reply.contentType,
          'Content-Length': Buffer.byteLength(reply.body),
          // Subscriber data is never kept by a cache on the way; and a browser takes an answer as the
          // type it says, never sniffing an echoed path or Host header into HTML.
          'Cache-Control': 'no-store',
          'X-Content-Type-Options': 'nosniff',
          ...reply.headers,
        });
        response.end(request.method === 'HEAD' ? undefined : reply.body);
      });
  });

  server.on('connection', (socket: Socket) => socket.once('close', () => clearTimeout(idleTimers.get(socket))));
  // Registered for the server's whole life; start() adds its own for the listen() failure it reports.
  server.on('error', (error: Error) => {
    if (server.listening) options.onError?.(error);
  });
  server.maxConnections = HTTP_LIMITS.maxConnections;
  server.maxRequestsPerSocket = HTTP_LIMITS.maxRequestsPerConnection;

  return {
    start() {
      return new Promise<void>((resolve, reject) => {
        const onError = (error: NodeJS.ErrnoException) => {
          const where = endpointText(listen);
          reject(new RblError('RBL_LISTEN', `http: cannot listen on ${where}: ${error.code ?? error.message}; check http.listen and that the port is free`, { cause: error }));
        };
        server.once('error', onError);
        server.listen({ host: listen.host, port: listen.port }, () => {
          server.off('error', onError);
          resolve();
        });
      });
    },
    close() {
      return new Promise<void>((resolve) => {
        if (!server.listening) {
          resolve();
          return;
        }
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
    address() {
      const bound = server.address() as AddressInfo | null;
      if (!bound) throw new Error('http server is not listening; call start() first');
      return { address: bound.address, port: bound.port };
    },
  };
}
