/** The DNS UPDATE backend's policy: what each answer means, the dry-run text, and bad configuration. */
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, test } from 'vitest';
import { createDnsUpdateBackend } from '../../src/backends/dns-update/backend.js';
import { tsigKey } from '../../src/backends/dns-update/keyfile.js';
import { checkAnswer, type AnswerContext } from '../../src/backends/dns-update/outcome.js';
import type { TsigVerification } from '../../src/backends/dns-update/tsig.js';
import type { DnsUpdateBackendConfig } from '../../src/backends/dns-update/config.js';
import { parsePrefix } from '../../src/net/address.js';
import { freePort } from '../helpers/peers.js';
import { startRecordingServer } from '../helpers/recording-server.js';

const KEY = tsigKey('unlist-key', 'hmac-sha256', Buffer.alloc(32, 1).toString('base64'), 'test');
const CONTEXT: AnswerContext = { server: '127.0.0.1:53', zone: 'rbl.example.net', key: KEY, keySource: '/etc/rbl-unlist/tsig.key', what: 'A, TXT', operation: 'update' };

const verified: TsigVerification = { valid: true, tsigError: 0, problem: undefined, serverTime: 1 };
const unsigned = (tsigError = 0): TsigVerification => ({ valid: false, tsigError, problem: 'unsigned', serverTime: tsigError ? 1 : undefined });
const badMac: TsigVerification = { valid: false, tsigError: 0, problem: 'mac', serverTime: 1 };

function outcome(rcode: number, verification: TsigVerification, acceptNxdomain = false): { code: string; transient: boolean; message: string } | 'ok' {
  try {
    checkAnswer(rcode, verification, CONTEXT, acceptNxdomain);
    return 'ok';
  } catch (error) {
    const { code, transient, message } = error as { code: string; transient: boolean; message: string };
    return { code, transient, message };
  }
}

describe('checkAnswer', () => {
  test.each([
    ['NOERROR, signed', 0, verified, false, 'ok', false],
    ['NXDOMAIN to a query at an unlisted name', 3, verified, true, 'ok', false],
    // RFC 8945 §5.3.2 lets these come unsigned, so they are read, but anyone could send them: retried.
    ['NOTAUTH/BADSIG, unsigned', 9, unsigned(16), false, 'RBL_DNS_BADSIG', true],
    ['NOTAUTH/BADKEY, unsigned', 9, unsigned(17), false, 'RBL_DNS_BADKEY', true],
    ['NOTAUTH/BADTIME, unsigned', 9, unsigned(18), false, 'RBL_DNS_BADTIME', true],
    // A clock comes right by itself (NTP): retried even when signed.
    ['NOTAUTH/BADTIME, signed', 9, { ...verified, tsigError: 18 }, false, 'RBL_DNS_BADTIME', true],
    // What was not verified is never permanent: RBL_DNS_BAD_RESPONSE, retried.
    ['NOTAUTH/BADTRUNC, unsigned', 9, unsigned(22), false, 'RBL_DNS_BAD_RESPONSE', true],
    ['NOTAUTH without a TSIG error, signed', 9, verified, false, 'RBL_DNS_NOTAUTH', false],
    ['NOTAUTH without a TSIG record (Knot, zone not served)', 9, unsigned(), false, 'RBL_DNS_BAD_RESPONSE', true],
    ['REFUSED, signed (a frozen zone refuses every UPDATE until the thaw)', 5, verified, false, 'RBL_DNS_REFUSED', true],
    ['NOTZONE', 10, verified, false, 'RBL_DNS_NOTZONE', false],
    ['NXDOMAIN to an update', 3, verified, false, 'RBL_DNS_NXDOMAIN', false],
    ['SERVFAIL', 2, verified, false, 'RBL_DNS_SERVFAIL', true],
    ['FORMERR, unsigned', 1, unsigned(), false, 'RBL_DNS_BAD_RESPONSE', true],
    ['NOTIMP', 4, verified, false, 'RBL_DNS_RCODE', false],
    ['YXDOMAIN', 6, verified, false, 'RBL_DNS_RCODE', false],
    ['NOERROR without a TSIG record', 0, unsigned(), false, 'RBL_DNS_BAD_RESPONSE', true],
    ['NXDOMAIN to a query without a TSIG record', 3, unsigned(), true, 'RBL_DNS_BAD_RESPONSE', true],
    ['NOERROR with a wrong MAC', 0, badMac, false, 'RBL_DNS_BAD_RESPONSE', true],
    ['REFUSED with a wrong MAC', 5, badMac, false, 'RBL_DNS_BAD_RESPONSE', true],
  ] as const)('%s -> %s', (_case, rcode, verification, acceptNxdomain, code, transient) => {
    const result = outcome(rcode, verification, acceptNxdomain);
    if (code === 'ok') expect(result).toBe('ok');
    else expect(result).toMatchObject({ code, transient });
  });

  test.each([
    [unsigned(16), "TSIG key `unlist-key` rejected by 127.0.0.1:53 (BADSIG): the secret in /etc/rbl-unlist/tsig.key differs from the server's"],
    [unsigned(17), 'TSIG key `unlist-key` (hmac-sha256) rejected by 127.0.0.1:53 for zone rbl.example.net (BADKEY): check that the key name and algorithm'],
    [{ ...verified, tsigError: 18 }, 'TSIG key `unlist-key` rejected by 127.0.0.1:53 (BADTIME): this host\'s clock and the server\'s differ'],
  ])('says what to check for a TSIG rejection', (verification, message) => {
    expect(outcome(9, verification)).toMatchObject({ message: expect.stringContaining(message) });
  });

  test('names the update-policy for REFUSED', () => {
    expect(outcome(5, verified)).toMatchObject({ message: expect.stringContaining('update-policy') });
  });
});

function config(overrides: Partial<DnsUpdateBackendConfig> = {}): DnsUpdateBackendConfig {
  return {
    type: 'dns-update',
    name: 'dns-update 127.0.0.1:53',
    server: { host: '127.0.0.1', port: 53, family: 4 },
    zones: ['rbl.example.net'],
    tsig: KEY,
    tsigSource: '/etc/rbl-unlist/tsig.key',
    deleteTypes: ['A', 'TXT'],
    timeoutMs: 500,
    ...overrides,
  };
}

describe('describe', () => {
  test('prints nsupdate syntax for an address and a prefix', () => {
    const text = createDnsUpdateBackend(config()).describe('rbl.example.net', [parsePrefix('10.64.0.2'), parsePrefix('2001:db8::/32')]);
    expect(text).toBe(
      [
        '; signed with TSIG key unlist-key (hmac-sha256) from /etc/rbl-unlist/tsig.key: nsupdate -k FILE',
        'server 127.0.0.1 53',
        'zone rbl.example.net.',
        'update delete 2.0.64.10.rbl.example.net. A',
        'update delete 2.0.64.10.rbl.example.net. TXT',
        'update delete 8.b.d.0.1.0.0.2.rbl.example.net. A',
        'update delete 8.b.d.0.1.0.0.2.rbl.example.net. TXT',
        'update delete *.8.b.d.0.1.0.0.2.rbl.example.net. A',
        'update delete *.8.b.d.0.1.0.0.2.rbl.example.net. TXT',
        'send',
        '',
      ].join('\n'),
    );
  });

  test('prints a whole-name delete for [ANY] and the IPv6 server as nsupdate wants it', () => {
    const backend = createDnsUpdateBackend(config({ deleteTypes: ['ANY', 'A'], server: { host: '::1', port: 5353, family: 6 } }));
    expect(backend.describe('rbl.example.net', [parsePrefix('10.64.0.2')]).split('\n').slice(1)).toEqual([
      'server ::1 5353',
      'zone rbl.example.net.',
      'update delete 2.0.64.10.rbl.example.net.',
      'send',
      '',
    ]);
  });

  test('prints one send per message for a batch larger than one message', () => {
    const targets = Array.from({ length: 4000 }, (_, i) => parsePrefix(`10.64.${i >> 8}.${i & 0xff}`));
    const text = createDnsUpdateBackend(config()).describe('rbl.example.net', targets);
    expect(text.match(/^send$/gm)?.length).toBe(3);
    expect(text.match(/^update delete /gm)?.length).toBe(8000);
  });
});

describe('createDnsUpdateBackend', () => {
  test('rejects an RR type it cannot delete when it is built', () => {
    expect(() => createDnsUpdateBackend(config({ deleteTypes: ['A', 'BOGUS'] }))).toThrow(expect.objectContaining({ code: 'RBL_CONFIG_INVALID' }));
  });

  test('refuses a zone that is not among its zones', async () => {
    await expect(createDnsUpdateBackend(config()).unlist('other.example', [parsePrefix('10.64.0.2')])).rejects.toMatchObject({ code: 'RBL_CONFIG_INVALID' });
  });

  test('sends nothing for no targets, and succeeds', async () => {
    const server = await startRecordingServer();
    try {
      const backend = createDnsUpdateBackend(config({ server: { host: '127.0.0.1', port: server.port, family: 4 } }));
      await expect(backend.unlist('rbl.example.net', [])).resolves.toBeUndefined();
      expect(await server.received()).toEqual([]);
    } finally {
      await server.close();
    }
  });
});

describe('against a server that answers unsigned', () => {
  let socket: Socket | undefined;
  afterEach(() => {
    socket?.close();
    socket = undefined;
  });

  test('does not take an unsigned NOERROR as done: a transient RBL_DNS_BAD_RESPONSE after the timeout', async () => {
    const port = await freePort();
    const server = createSocket('udp4');
    socket = server;
    server.on('message', (request, remote) => {
      // Echo the header and zone section as a NOERROR answer, without the TSIG RR.
      const zoneEnd = 12 + request.subarray(12).indexOf(0) + 1 + 4;
      const answer = Buffer.from(request.subarray(0, zoneEnd));
      answer.writeUInt16BE(0x8000 | (5 << 11), 2);
      answer.writeUInt16BE(0, 8);
      answer.writeUInt16BE(0, 10);
      server.send(answer, remote.port, remote.address);
    });
    await new Promise<void>((resolve) => server.bind(port, '127.0.0.1', resolve));
    const backend = createDnsUpdateBackend(config({ server: { host: '127.0.0.1', port, family: 4 } }));
    await expect(backend.unlist('rbl.example.net', [parsePrefix('10.64.0.2')])).rejects.toMatchObject({ code: 'RBL_DNS_BAD_RESPONSE', transient: true });
  });
});
