/**
 * The packet trace of packets that are not recorded as a new request (src/radius/report.ts fed by
 * the request handler, as the daemon wires them): at log.level trace a retransmission answered from
 * the duplicate cache, a Status-Server and every kind of discard is traced with its outcome, the
 * discards within the same limit as their warning lines, and no secret is ever printed.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ClientConfig } from '../../src/config/load.js';
import { createMetrics } from '../../src/http/metrics.js';
import { createLogger } from '../../src/log.js';
import { parsePrefix } from '../../src/net/address.js';
import { createRequestHandler, type RequestHandler } from '../../src/radius/handler.js';
import { packetReporter } from '../../src/radius/report.js';
import { buildAccountingRequest, buildStatusServer } from '../helpers/radius-packets.js';
import { logLineSink } from '../helpers/log-lines.js';

interface Line {
  readonly level: string;
  readonly msg: string;
  readonly outcome?: string;
  readonly reason?: string;
  readonly client?: string;
  readonly attributes?: readonly string[];
  readonly suppressed?: number;
}

const SECRET = 'trace-secret-4711';
const NAS = { transport: 'udp', address: '192.0.2.1', port: 40_000 } as const;
const STRANGER = { transport: 'udp', address: '198.51.100.7', port: 40_001 } as const;

const client: ClientConfig = { name: 'nas1', address: parsePrefix('192.0.2.1/32'), secret: Buffer.from(SECRET), secretSource: 'test', pools: [] };

/** A handler whose outcomes go to a packet reporter logging at `level` into `lines`. */
function tracedHandler(level: string): { handler: RequestHandler; lines: Line[]; answers: Buffer[] } {
  const lines: Line[] = [];
  const reporter = packetReporter(createLogger(level, logLineSink(lines)).child({ component: 'radius' }), createMetrics());
  const handler = createRequestHandler({ clients: () => [client], onAccounting: async () => {}, onPacket: reporter.onPacket });
  return { handler, lines, answers: [] };
}

const stop = (identifier: number, secret = SECRET): Buffer =>
  buildAccountingRequest({ identifier, secret, attributes: [['Acct-Status-Type', 'Stop'], ['Acct-Session-Id', 'dup-1'], ['Framed-IP-Address', '10.64.0.9']] });

const traces = (lines: readonly Line[]): Line[] => lines.filter((line) => line.level === 'trace');

afterEach(() => {
  vi.useRealTimers();
});

describe('the packet trace of packets not recorded as new requests', () => {
  it('traces a retransmission answered from the duplicate cache with its attributes and outcome duplicate', async () => {
    const { handler, lines, answers } = tracedHandler('trace');
    const packet = stop(7);
    expect(handler.receive(packet, NAS, (answer) => answers.push(answer))).toBeUndefined();
    await vi.waitFor(() => expect(answers).toHaveLength(1));
    // The first one is traced where it is recorded (the accounting intake), not here.
    expect(traces(lines)).toEqual([]);
    expect(handler.receive(packet, NAS, (answer) => answers.push(answer))).toBe('duplicate');
    expect(answers).toHaveLength(2);
    expect(traces(lines)).toEqual([
      expect.objectContaining({
        msg: 'Received Accounting-Request Id 7 from 192.0.2.1:40000 length 39',
        outcome: 'duplicate',
        client: 'nas1',
        reason: 'retransmission answered again from the duplicate cache, not processed again',
        attributes: ['Acct-Status-Type = Stop', 'Acct-Session-Id = "dup-1"', 'Framed-IP-Address = 10.64.0.9'],
      }),
    ]);
  });

  it('traces a retransmission of a request still being recorded with outcome in_progress', () => {
    const lines: Line[] = [];
    const reporter = packetReporter(createLogger('trace', logLineSink(lines)).child({ component: 'radius' }), createMetrics());
    // The first one's recording never finishes here, so the retransmission finds it in progress.
    const handler = createRequestHandler({ clients: () => [client], onAccounting: () => new Promise<void>(() => undefined), onPacket: reporter.onPacket });
    const packet = stop(8);
    expect(handler.receive(packet, NAS, () => {})).toBeUndefined();
    expect(handler.receive(packet, NAS, () => {})).toBe('in_progress');
    expect(traces(lines)).toEqual([
      expect.objectContaining({ msg: 'Received Accounting-Request Id 8 from 192.0.2.1:40000 length 39', outcome: 'in_progress', reason: 'retransmission of a request still being recorded: answered once it is' }),
    ]);
  });

  it('traces a Status-Server with outcome status_server', () => {
    const { handler, lines } = tracedHandler('trace');
    expect(handler.receive(buildStatusServer({ identifier: 9, secret: SECRET }), NAS, () => {})).toBe('status_server');
    expect(traces(lines)).toEqual([
      expect.objectContaining({ msg: 'Received Status-Server Id 9 from 192.0.2.1:40000 length 38', outcome: 'status_server', client: 'nas1', attributes: [expect.stringMatching(/^Message-Authenticator = 0x[0-9a-f]{32}$/)] }),
    ]);
  });

  it('traces a packet with a wrong authenticator, one from an unknown client and a malformed one, each with its discard reason', () => {
    const { handler, lines } = tracedHandler('trace');
    expect(handler.receive(stop(1, 'not-the-secret'), NAS, () => {})).toBe('bad_authenticator');
    expect(handler.receive(stop(2), STRANGER, () => {})).toBe('unknown_client');
    // An Access-Request sent to the accounting port: parsePacket refuses its code.
    const accessRequest = Buffer.from(stop(3));
    accessRequest[0] = 1;
    expect(handler.receive(accessRequest, NAS, () => {})).toBe('malformed');
    expect(handler.receive(Buffer.from([4, 5, 0]), NAS, () => {})).toBe('malformed');
    expect(traces(lines).map(({ msg, outcome, client: name, reason }) => ({ msg, outcome, client: name, reason }))).toEqual([
      { msg: 'Received Accounting-Request Id 1 from 192.0.2.1:40000 length 39', outcome: 'bad_authenticator', client: 'nas1', reason: "Request Authenticator does not match the client's secret" },
      { msg: 'Received Accounting-Request Id 2 from 198.51.100.7:40001 length 39', outcome: 'unknown_client', client: undefined, reason: undefined },
      { msg: 'Received Access-Request Id 3 from 192.0.2.1:40000 length 39 (39 octets received)', outcome: 'malformed', client: 'nas1', reason: 'code 1 is neither Accounting-Request (4) nor Status-Server (12)' },
      { msg: 'Received 3 octets from 192.0.2.1:40000', outcome: 'malformed', client: 'nas1', reason: 'datagram of 3 octets is shorter than the 20-octet header' },
    ]);
    // The parsed discards show what the sender put in them: the attributes a NAS operator compares with its config.
    expect(traces(lines)[1]!.attributes).toContain('Framed-IP-Address = 10.64.0.9');
  });

  it('traces discards within the limit of their warning lines: 20 in 10 s from a flood of strangers', () => {
    vi.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
    const { handler, lines } = tracedHandler('trace');
    for (let i = 0; i < 25; i++) handler.receive(stop(i), STRANGER, () => {});
    expect(lines.filter((line) => line.level === 'warn')).toHaveLength(20);
    expect(traces(lines)).toHaveLength(20);
    vi.setSystemTime(1_010_000);
    handler.receive(stop(99), STRANGER, () => {});
    expect(traces(lines).at(-1)).toMatchObject({ msg: 'Received Accounting-Request Id 99 from 198.51.100.7:40001 length 39', outcome: 'unknown_client' });
  });

  it('traces nothing below log.level trace, and a discard still gets its warning', async () => {
    const { handler, lines, answers } = tracedHandler('debug');
    const packet = stop(7);
    handler.receive(packet, NAS, (answer) => answers.push(answer));
    await vi.waitFor(() => expect(answers).toHaveLength(1));
    expect(handler.receive(packet, NAS, () => {})).toBe('duplicate');
    expect(handler.receive(buildStatusServer({ identifier: 9, secret: SECRET }), NAS, () => {})).toBe('status_server');
    expect(handler.receive(stop(1, 'wrong'), NAS, () => {})).toBe('bad_authenticator');
    expect(lines.map((line) => `${line.level} ${line.msg}`)).toEqual(['warn packet discarded: bad_authenticator']);
  });

  it('never prints a shared secret, an encrypted attribute or a token in a URL, not even of a discarded packet', () => {
    const { handler, lines } = tracedHandler('trace');
    const attributes = [
      ['Acct-Status-Type', 'Stop'],
      // RFC 2865 §5.2 hides it with the secret: as good as the secret to an offline guesser.
      [2, Buffer.from('0123456789abcdef')],
      // Reply-Message, a text attribute, carrying a URL with a token.
      [18, Buffer.from('see https://portal.example/unlist?access_token=tok-31337&lang=en')],
    ] as const;
    handler.receive(buildAccountingRequest({ identifier: 5, secret: 'wrong', attributes }), NAS, () => {});
    handler.receive(buildAccountingRequest({ identifier: 6, secret: SECRET, attributes }), STRANGER, () => {});
    expect(traces(lines)).toHaveLength(2);
    for (const line of traces(lines)) {
      expect(line.attributes).toEqual(['Acct-Status-Type = Stop', 'User-Password = REDACTED', 'Reply-Message = "see https://portal.example/unlist?access_token=REDACTED&lang=en"']);
    }
    const text = JSON.stringify(lines);
    for (const secret of [SECRET, 'tok-31337', '0123456789abcdef']) expect(text).not.toContain(secret);
  });
});
