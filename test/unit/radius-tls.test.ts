/**
 * The RadSec transport (RFC 6614) with the real request handler, TLS from node:tls and certificates
 * made by openssl: who is let in, how the stream is framed, and that one bad connection never
 * disturbs another.
 */
import { connect as connectTcp } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/load.js';
import { createRequestHandler, type PacketOutcome } from '../../src/radius/handler.js';
import { createTlsTransport } from '../../src/radius/transports/tls/transport.js';
import { havePeers, waitFor } from '../helpers/peers.js';
import { buildStatusServer, sendRadius, verifyAccountingResponse } from '../helpers/radius-packets.js';
import { RADSEC_SECRET as SECRET, radsecClient, radsecStop as stop, useRadsecTransport } from '../helpers/radsec-harness.js';

describe.runIf(havePeers('openssl'))('the RadSec transport', () => {
  const { certs, tlsConfig, start, open, stillAnswers } = useRadsecTransport();

  it('answers an Accounting-Request once the handler resolves, with the client bound at the handshake', async () => {
    const { port, requests, outcomes, transport } = await start();
    expect(transport.ready()).toEqual({ ok: true });
    const connection = await open(port);
    const request = stop(1);
    await connection.write(request);
    const [answer] = await connection.waitForAnswers(1);
    expect(verifyAccountingResponse(answer!, request, SECRET)).toBe(true);
    expect(requests[0]).toMatchObject({ client: { name: 'proxy1' }, source: { address: '127.0.0.1', transport: 'tls' }, attributes: { statusType: 2 } });
    expect(requests[0]!.packet.bytes).toEqual(request);
    expect(outcomes.map((o) => [o.outcome, o.transport])).toEqual([['accepted', 'tls']]);
  });

  it('reports its listener in readiness until closed, and names the port when it cannot listen', async () => {
    const { port, transport } = await start();
    expect(transport.ready()).toEqual({ ok: true });
    const handler = createRequestHandler({ clients: () => [], onAccounting: async () => {} });
    const second = createTlsTransport(tlsConfig({ listen: [{ host: '127.0.0.1', port, family: 4 }] }), { handler, clients: () => [], report: handler.report });
    await expect(second.start()).rejects.toThrow(new RegExp(`cannot listen for RadSec on 127\\.0\\.0\\.1:${port}: EADDRINUSE`));
    expect(second.ready()).toEqual({ ok: false, error: 'RadSec listener not bound' });
    await transport.close();
    expect(transport.ready()).toEqual({ ok: false, error: 'RadSec listener not bound' });
  });

  it.each(['TLSv1.2', 'TLSv1.3'] as const)('speaks %s', async (maxVersion) => {
    const { port } = await start();
    const connection = await open(port, undefined, undefined, { maxVersion });
    expect(connection.socket.getProtocol()).toBe(maxVersion);
    await stillAnswers(connection, 2);
  });

  it('answers Status-Server on the connection (RFC 6614 §2.6, RFC 5997)', async () => {
    const { port, requests } = await start();
    const connection = await open(port);
    const request = buildStatusServer({ identifier: 7, secret: SECRET });
    await connection.write(request);
    const [answer] = await connection.waitForAnswers(1);
    expect(answer!.length).toBe(38);
    expect(verifyAccountingResponse(answer!, request, SECRET)).toBe(true);
    expect(requests).toHaveLength(0);
  });

  it('frames two requests written in one TLS record, and one request written an octet at a time', async () => {
    const { port, requests } = await start();
    const connection = await open(port);
    const [first, second, third] = [stop(10), stop(11), stop(12)];
    await connection.write(Buffer.concat([first, second]));
    await connection.waitForAnswers(2);
    for (const octet of third) {
      await connection.write(Buffer.from([octet]));
    }
    const answers = await connection.waitForAnswers(3);
    expect(requests.map((r) => r.attributes.sessionId)).toEqual(['s10', 's11', 's12']);
    expect(verifyAccountingResponse(answers[2]!, third, SECRET)).toBe(true);
  });

  it('keeps 256 requests in flight over one connection, one per Identifier, and answers each once recorded', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { port, requests } = await start({ onAccounting: () => gate });
    const connection = await open(port);
    // RFC 6613 §2.6.5: as many as a client may have outstanding on a connection.
    const sent = Array.from({ length: 256 }, (_, i) => stop(i, `flight-${i}`));
    await connection.write(Buffer.concat(sent));
    // Every request reached the handler while none was answered: they are all in flight at once.
    await waitFor('256 requests handed over', () => requests.length === 256);
    expect(connection.answers).toHaveLength(0);
    release();
    const answers = await connection.waitForAnswers(256);
    const verified = answers.filter((answer) => verifyAccountingResponse(answer, sent[answer[1]!]!, SECRET));
    expect(verified).toHaveLength(256);
  });

  it('answers a retransmission on the same connection from the duplicate cache, without handing it over again', async () => {
    const { port, requests, outcomes } = await start();
    const connection = await open(port);
    const request = stop(20);
    await connection.write(request);
    await connection.waitForAnswers(1);
    await connection.write(request);
    const answers = await connection.waitForAnswers(2);
    expect(answers[1]).toEqual(answers[0]);
    expect(requests).toHaveLength(1);
    expect(outcomes.map((o) => o.outcome)).toEqual(['accepted', 'duplicate']);
  });

  it('sends nothing when the handler rejects, and the connection goes on', async () => {
    let calls = 0;
    const { port, outcomes } = await start({ onAccounting: async () => {
      if (++calls === 1) throw new Error('journal is full');
    } });
    const connection = await open(port);
    await connection.write(stop(30));
    await waitFor('the refusal', () => outcomes.length === 1);
    expect(outcomes[0]).toMatchObject({ outcome: 'not_acknowledged', reason: 'journal is full' });
    await stillAnswers(connection, 31);
    expect(connection.answers).toHaveLength(1);
  });

  describe('refuses, logs and counts, while an established connection keeps working', () => {
    it('a client certificate from another CA, at the handshake', async () => {
      const { port, outcomes, requests } = await start();
      const good = await open(port);
      const bad = await open(port, certs().otherCa);
      await bad.write(stop(40)).catch(() => undefined);
      await bad.waitForClose();
      await waitFor(`the refusal to be counted ${JSON.stringify(outcomes)}`, () => outcomes.some((o) => o.outcome === 'bad_certificate'), 2000);
      expect(outcomes.find((o) => o.outcome === 'bad_certificate')).toMatchObject({ source: expect.stringMatching(/^127\.0\.0\.1:\d+$/), reason: 'certificate refused: UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
      expect(requests).toHaveLength(0);
      await stillAnswers(good, 41);
    });

    it('a client that shows no certificate at all', async () => {
      const { port, outcomes } = await start();
      const good = await open(port);
      const anonymous = await open(port, { certificate: undefined, key: undefined } as never);
      await anonymous.waitForClose();
      expect(outcomes.find((o) => o.outcome === 'bad_certificate')?.reason).toMatch(/^certificate refused: /);
      await stillAnswers(good, 39);
    });

    it('a certificate of the right CA without the client\'s certificate_name', async () => {
      const { port, outcomes, requests } = await start();
      const good = await open(port);
      const bad = await open(port, certs().wrongName);
      await bad.write(stop(42)).catch(() => undefined);
      await bad.waitForClose();
      expect(outcomes.find((o) => o.outcome === 'bad_certificate')).toMatchObject({
        client: 'proxy1',
        reason: 'certificate names intruder.test, not certificate_name proxy1.test',
      });
      expect(requests).toHaveLength(0);
      await stillAnswers(good, 43);
    });

    it('a good certificate from an address no tls client holds', async () => {
      const { port, outcomes } = await start({ clients: [radsecClient('elsewhere', undefined, '192.0.2.10')] });
      const bad = await open(port);
      await bad.waitForClose();
      expect(outcomes[0]).toMatchObject({ outcome: 'unknown_client', transport: 'tls' });
    });

    it('plain TCP on the TLS port', async () => {
      const { port, outcomes } = await start();
      const good = await open(port);
      const plain = connectTcp({ host: '127.0.0.1', port });
      plain.on('error', () => undefined);
      plain.write(stop(44));
      await new Promise<void>((resolve) => plain.once('close', () => resolve()));
      await waitFor('the refusal to be counted', () => outcomes.some((o) => o.outcome === 'malformed'));
      expect(outcomes.find((o) => o.outcome === 'malformed')?.reason).toMatch(/^TLS handshake failed: /);
      await stillAnswers(good, 45);
    });

    it.each([
      ['3', 3, /Length 3 is below the 20-octet minimum/],
      ['5,000', 5000, /Length 5000 is above the 4096-octet maximum/],
    ])('a Length of %s closes that connection only (RFC 6614 §2.5)', async (_name, length, reason) => {
      const { port, outcomes } = await start();
      const good = await open(port);
      const bad = await open(port);
      const broken = stop(46);
      broken.writeUInt16BE(length, 2);
      await bad.write(broken);
      await bad.waitForClose();
      expect(outcomes.find((o) => o.outcome === 'malformed')).toMatchObject({ client: 'proxy1', transport: 'tls' });
      expect(outcomes.find((o) => o.outcome === 'malformed')?.reason).toMatch(reason);
      await stillAnswers(good, 47);
    });

    it('half a packet and then silence, by the idle timeout', async () => {
      const { port, notices } = await start({ config: { idleTimeoutMs: 1000 } });
      const good = await open(port);
      const keepAlive = setInterval(() => void good.write(buildStatusServer({ identifier: 1, secret: SECRET })), 100);
      try {
        const stalled = await open(port);
        await stalled.write(stop(48).subarray(0, 15));
        await stalled.waitForClose(5000);
        expect(notices).toContain('RadSec connection closed: idle for 1 s with 15 octets of an unfinished packet');
        await stillAnswers(good, 49);
      } finally {
        clearInterval(keepAlive);
      }
    });
  });

  it('takes new certificates on reload for new handshakes, and keeps established connections', async () => {
    const { port, transport } = await start();
    const established = await open(port);
    const before = established.socket.getPeerX509Certificate()!.serialNumber;
    const renewed = certs().ca.issue('server-renewed', { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], server: true });
    const next = tlsConfig({ certificate: renewed.certificate, key: renewed.key });
    transport.reload({ radius: { tls: next } } as unknown as Config);
    const fresh = await open(port);
    expect(fresh.socket.getPeerX509Certificate()!.serialNumber).not.toBe(before);
    await stillAnswers(established, 60);
    await stillAnswers(fresh, 61);
  });

  it('closes the connection of a client removed by a reload at its next packet', async () => {
    const harness = await start();
    const connection = await open(harness.port);
    await stillAnswers(connection, 62);
    harness.setClients([]);
    await connection.write(stop(63));
    await connection.waitForClose();
    expect(harness.notices).toContain('RadSec connection closed: its client is no longer configured');
  });

  it('closes a connection whose address a reload gives to another client, unhandled, at its next packet', async () => {
    const harness = await start({ clients: [radsecClient('proxy1', 'proxy1.test', '127.0.0.0/8')] });
    const connection = await open(harness.port);
    await stillAnswers(connection, 64);
    // The more specific address is proxy2's now: the connection would be proxy2's, whose certificate it may not have.
    harness.setClients([radsecClient('proxy1', 'proxy1.test', '127.0.0.0/8'), radsecClient('proxy2', 'proxy1.test', '127.0.0.1')]);
    const handled = harness.requests.length;
    await connection.write(stop(65));
    await connection.waitForClose();
    expect(harness.notices).toContain("RadSec connection closed: its address is client proxy2's in the reloaded config, not proxy1's");
    expect(harness.requests).toHaveLength(handled);
    // A new connection from there is proxy2's.
    await stillAnswers(await open(harness.port), 66);
    expect(harness.requests.at(-1)!.client.name).toBe('proxy2');
  });

  it('closes a connection whose certificate lacks the certificate_name a reload adds to its client', async () => {
    const harness = await start({ clients: [radsecClient('proxy1')] });
    const connection = await open(harness.port);
    await stillAnswers(connection, 68);
    harness.setClients([radsecClient('proxy1', 'other-proxy.test')]);
    const handled = harness.requests.length;
    await connection.write(stop(69));
    await connection.waitForClose();
    expect(harness.notices).toContain('RadSec connection closed: its certificate does not carry certificate_name other-proxy.test, which the reloaded config asks of proxy1');
    expect(harness.requests).toHaveLength(handled);
  });

  it('keeps a connection a reload still admits as the same client, with the reloaded secret', async () => {
    const harness = await start({ clients: [radsecClient('proxy1', 'proxy1.test')] });
    const connection = await open(harness.port);
    await stillAnswers(connection, 71);
    harness.setClients([radsecClient('proxy1', 'proxy1.test'), radsecClient('proxy9', undefined, '127.0.0.9')]);
    await stillAnswers(connection, 72);
    expect(harness.notices).toEqual([]);
  });
});

describe('a RadSec client over UDP', () => {
  it('is a stranger: its address is never accepted without TLS, whatever the secret', async () => {
    const outcomes: PacketOutcome[] = [];
    const clients = () => [radsecClient('proxy1')];
    const handler = createRequestHandler({ clients, onAccounting: async () => {}, onPacket: (outcome) => outcomes.push(outcome) });
    const { createUdpTransport } = await import('../../src/radius/transports/udp/transport.js');
    const udp = createUdpTransport({ listen: [{ host: '127.0.0.1', port: 0, family: 4 }], handler, clients });
    await udp.start();
    try {
      expect(await sendRadius(stop(70), udp.addresses()[0]!.port, '127.0.0.1', 300)).toBeUndefined();
      expect(outcomes).toEqual(['unknown_client']);
    } finally {
      await udp.close();
    }
  });
});
