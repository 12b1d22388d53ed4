/**
 * The request handler alone (src/radius/handler.ts), fed octets as a transport would: what it does
 * with a packet whose source cannot be answered.
 */
import { describe, expect, it } from 'vitest';
import type { ClientConfig } from '../../src/config/load.js';
import { parsePrefix } from '../../src/net/address.js';
import { createRequestHandler, type AccountingRequest } from '../../src/radius/handler.js';
import { buildAccountingRequest } from '../helpers/radius-packets.js';

const SECRET = 'nas-secret';
const client = (name: string, address: string): ClientConfig => ({ name, address: parsePrefix(address), secret: Buffer.from(SECRET), secretSource: 'test', pools: [] });
const stop = (identifier: number): Buffer =>
  buildAccountingRequest({ identifier, secret: SECRET, attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': `s${identifier}`, 'Framed-IP-Address': '10.64.0.9' } });

describe('the request handler', () => {
  it('discards a valid Accounting-Request from source port 0, where no socket sends from and no answer can go, unprocessed', () => {
    const requests: AccountingRequest[] = [];
    const reasons: (string | undefined)[] = [];
    const handler = createRequestHandler({
      clients: () => [client('local', '127.0.0.0/8')],
      onAccounting: async (request) => void requests.push(request),
      onPacket: (outcome, detail) => reasons.push(`${outcome}: ${detail.reason}`),
    });
    const replies: Buffer[] = [];
    expect(handler.receive(stop(17), { transport: 'udp', address: '127.0.0.1', port: 0 }, (answer) => replies.push(answer))).toBe('malformed');
    expect(reasons).toEqual(['malformed: source port 0, where no answer can go']);
    expect(requests).toEqual([]);
    expect(replies).toEqual([]);
    // The same packet from a real port is processed.
    expect(handler.receive(stop(17), { transport: 'udp', address: '127.0.0.1', port: 1 }, (answer) => replies.push(answer))).toBeUndefined();
    expect(requests).toHaveLength(1);
  });

});
