/**
 * The RadSec transport (RFC 6614) under test with the real request handler, TLS from node:tls and
 * certificates made by openssl. `useRadsecTransport()`, called inside a describe, makes the
 * certificates once, and closes every transport and connection a test opened after it.
 */
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { ClientConfig } from '../../src/config/load.js';
import { parsePrefix } from '../../src/net/address.js';
import { createRequestHandler, type AccountingRequest, type PacketDetail, type PacketOutcome } from '../../src/radius/handler.js';
import type { TlsListenerConfig } from '../../src/radius/transports/tls/config.js';
import { createTlsTransport } from '../../src/radius/transports/tls/transport.js';
import type { Transport } from '../../src/radius/transports/types.js';
import { makeRadsecCertificates, type CertificateFiles, type RadsecCertificates } from './certs.js';
import { tempDir } from './peers.js';
import { buildAccountingRequest, verifyAccountingResponse } from './radius-packets.js';
import { radsecConnect, type RadsecConnection } from './radsec-client.js';

/** RFC 6614 §2.3: the shared secret over TLS. */
export const RADSEC_SECRET = 'radsec';

/** A `transport: tls` client at `address`, bound to `certificateName` when given. */
export const radsecClient = (name: string, certificateName?: string, address = '127.0.0.1'): ClientConfig => ({
  name,
  address: parsePrefix(address),
  secret: Buffer.from(RADSEC_SECRET),
  secretSource: 'test',
  pools: [],
  transport: 'tls',
  certificateName,
});

/** An Accounting-Request Stop for 10.64.0.9 signed with `secret`. */
export const radsecStop = (identifier: number, session = `s${identifier}`, secret = RADSEC_SECRET): Buffer =>
  buildAccountingRequest({ identifier: identifier & 0xff, secret, attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': session, 'Framed-IP-Address': '10.64.0.9' } });

export interface RadsecHarness {
  /** The port of the first listen endpoint. */
  port: number;
  /** The ports of every listen endpoint, in config order. */
  ports: number[];
  transport: Transport;
  requests: AccountingRequest[];
  outcomes: (PacketDetail & { outcome: PacketOutcome })[];
  /** The messages of the connections the transport closed for a reason the operator should see. */
  notices: string[];
  setClients(clients: readonly ClientConfig[]): void;
}

export interface StartOptions {
  config?: Partial<TlsListenerConfig>;
  clients?: readonly ClientConfig[];
  onAccounting?: (request: AccountingRequest) => Promise<void>;
}

/** Registers the hooks and returns what the tests of a describe use. */
export function useRadsecTransport() {
  let certs: RadsecCertificates;
  let removeDir: (() => void) | undefined;
  const transports: Transport[] = [];
  const connections: RadsecConnection[] = [];

  beforeAll(() => {
    const temp = tempDir('radsec-certs');
    removeDir = temp.remove;
    certs = makeRadsecCertificates(temp.dir);
  });
  afterAll(() => removeDir?.());
  afterEach(async () => {
    connections.splice(0).forEach((connection) => connection.end());
    await Promise.all(transports.splice(0).map((transport) => transport.close()));
  });

  const tlsConfig = (overrides: Partial<TlsListenerConfig> = {}): TlsListenerConfig => ({
    listen: [{ host: '127.0.0.1', port: 0, family: 4 }],
    certificateFile: certs.server.certificateFile,
    keyFile: certs.server.keyFile,
    caFile: certs.ca.certificateFile,
    certificate: certs.server.certificate,
    key: certs.server.key,
    ca: certs.ca.certificate,
    idleTimeoutMs: 10_000,
    maxConnections: 64,
    maxConnectionsPerClient: 16,
    ...overrides,
  });

  /** Starts a transport with a handler that records what it is given; closed after the test. */
  async function start(options: StartOptions = {}): Promise<RadsecHarness> {
    let clients = options.clients ?? [radsecClient('proxy1', 'proxy1.test')];
    const requests: AccountingRequest[] = [];
    const outcomes: RadsecHarness['outcomes'] = [];
    const notices: RadsecHarness['notices'] = [];
    const handler = createRequestHandler({
      clients: () => clients,
      onAccounting: (request) => {
        requests.push(request);
        return options.onAccounting ? options.onAccounting(request) : Promise.resolve();
      },
      onPacket: (outcome, detail) => outcomes.push({ outcome, ...detail }),
    });
    const transport = createTlsTransport(tlsConfig(options.config), {
      handler,
      clients: () => clients,
      report: handler.report,
      onNotice: (message) => notices.push(message),
    });
    transports.push(transport);
    await transport.start();
    const ports = transport.addresses().map((address) => address.port);
    return { port: ports[0]!, ports, transport, requests, outcomes, notices, setClients: (next) => (clients = next) };
  }

  /** A RadSec connection with the client certificate (or `identity`), ended after the test. */
  async function open(port: number, identity?: CertificateFiles, ca?: Buffer, options?: Parameters<typeof radsecConnect>[3]): Promise<RadsecConnection> {
    const connection = await radsecConnect(port, identity ?? certs.client, ca ?? certs.ca.certificate, options);
    connections.push(connection);
    return connection;
  }

  /** Proves a connection still works: one Stop, one verified answer. */
  async function stillAnswers(connection: RadsecConnection, identifier: number): Promise<void> {
    const before = connection.answers.length;
    const request = radsecStop(identifier, `alive-${identifier}-${Date.now()}`);
    await connection.write(request);
    // Other traffic on the connection (a keep-alive Status-Server) may be answered in between: the
    // Stop's answer is the one with its Identifier.
    for (let count = before + 1; ; count++) {
      const answer = (await connection.waitForAnswers(count)).slice(before).find((candidate) => candidate[1] === identifier);
      if (answer) {
        expect(verifyAccountingResponse(answer, request, RADSEC_SECRET)).toBe(true);
        return;
      }
    }
  }

  return { certs: () => certs, tlsConfig, start, open, stillAnswers };
}
