/**
 * What a believed DNS answer tells the operator (outcome.ts checkAnswer): the exact words for each
 * RCODE (RFC 1035 §4.1.1, RFC 2136 §2.2) and TSIG error (RFC 8945 §5.2), for an UPDATE and for a
 * query, and whether it is retried.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { tsigKey } from '../../src/backends/dns-update/keyfile.js';
import { checkAnswer, type AnswerContext } from '../../src/backends/dns-update/outcome.js';
import type { TsigVerification } from '../../src/backends/dns-update/tsig.js';
import type { RblError } from '../../src/errors.js';

const KEY = tsigKey('unlist-key', 'hmac-sha512', Buffer.alloc(64, 1).toString('base64'), 'test');
const UPDATE: AnswerContext = { server: '192.0.2.53:5353', zone: 'rbl.example.net', key: KEY, keySource: '/etc/rbl-unlist/tsig.key', what: 'A, TXT', operation: 'update' };
const QUERY: AnswerContext = { ...UPDATE, what: 'SOA query', operation: 'query' };
const NOW = 1_800_000_000;

const signed = (tsigError = 0, serverTime: number | undefined = NOW): TsigVerification => ({ valid: true, tsigError, problem: undefined, serverTime });
const notValid = (problem: TsigVerification['problem'], tsigError = 0): TsigVerification => ({ valid: false, tsigError, problem, serverTime: NOW });

function outcome(rcode: number, verification: TsigVerification, context = UPDATE, acceptNxdomain = false): string {
  try {
    checkAnswer(rcode, verification, context, acceptNxdomain);
    return 'ok';
  } catch (error) {
    const { code, transient, message } = error as { code: string; transient: boolean; message: string };
    return `${code}${transient ? ' (retried)' : ''}: ${message}`;
  }
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW * 1000);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('checkAnswer: the words of each answer', () => {
  test.each([
    ['NXDOMAIN to an update', 3, UPDATE, 'RBL_DNS_NXDOMAIN: 192.0.2.53:5353 says zone rbl.example.net does not exist (NXDOMAIN): check the zone name'],
    [
      'NOTAUTH',
      9,
      UPDATE,
      'RBL_DNS_NOTAUTH: 192.0.2.53:5353 is not authoritative for zone rbl.example.net (NOTAUTH): check the zone name and that the server is its primary',
    ],
    [
      'REFUSED to an update',
      5,
      UPDATE,
      'RBL_DNS_REFUSED (retried): 192.0.2.53:5353 refused to let TSIG key `unlist-key` delete A, TXT in zone rbl.example.net (REFUSED): the zone may be frozen for a hand edit (rndc thaw, knotc zone-thaw), or its update-policy or ACL must grant the key those types in the zone',
    ],
    [
      'REFUSED to a query',
      5,
      QUERY,
      'RBL_DNS_REFUSED: 192.0.2.53:5353 refused the SOA query for zone rbl.example.net (REFUSED): check that it serves the zone and allows queries from this host',
    ],
    ['NOTZONE', 10, UPDATE, 'RBL_DNS_NOTZONE: 192.0.2.53:5353 says a name in the update is outside zone rbl.example.net (NOTZONE): check the zone name'],
    ['SERVFAIL to an update', 2, UPDATE, "RBL_DNS_SERVFAIL (retried): 192.0.2.53:5353 failed the update for zone rbl.example.net (SERVFAIL): see the server's log"],
    ['SERVFAIL to a query', 2, QUERY, "RBL_DNS_SERVFAIL (retried): 192.0.2.53:5353 failed the SOA query for zone rbl.example.net (SERVFAIL): see the server's log"],
    [
      'FORMERR to an update',
      1,
      UPDATE,
      "RBL_DNS_FORMERR: 192.0.2.53:5353 could not parse the update for zone rbl.example.net (FORMERR): please report this as a bug with the server's log line",
    ],
    [
      'FORMERR to a query',
      1,
      QUERY,
      "RBL_DNS_FORMERR: 192.0.2.53:5353 could not parse the SOA query for zone rbl.example.net (FORMERR): please report this as a bug with the server's log line",
    ],
    ['NXRRSET to an update', 8, UPDATE, "RBL_DNS_RCODE: 192.0.2.53:5353 answered the update for zone rbl.example.net with NXRRSET: see the server's log"],
    ['NOTIMP to a query', 4, QUERY, "RBL_DNS_RCODE: 192.0.2.53:5353 answered the SOA query for zone rbl.example.net with NOTIMP: see the server's log"],
    ['an RCODE without a name', 12, UPDATE, "RBL_DNS_RCODE: 192.0.2.53:5353 answered the update for zone rbl.example.net with RCODE 12: see the server's log"],
  ] as const)('%s', (_case, rcode, context, words) => {
    expect(outcome(rcode, signed(), context)).toBe(words);
  });

  test('takes NOERROR as done, and NXDOMAIN only when told it is (a query at a name that is not listed)', () => {
    expect(outcome(0, signed())).toBe('ok');
    expect(outcome(3, signed(), QUERY, true)).toBe('ok');
    expect(outcome(3, signed(), QUERY)).toMatch(/^RBL_DNS_NXDOMAIN: /);
    expect(() => checkAnswer(3, signed(), QUERY)).toThrow('does not exist (NXDOMAIN)');
  });

  test.each([
    ['a REFUSED with a MAC that does not match', 5, notValid('mac'), 'REFUSED answer from 192.0.2.53:5353 for zone rbl.example.net is signed with a MAC that does not match'],
    ['an unsigned NOERROR', 0, notValid('unsigned'), 'NOERROR answer from 192.0.2.53:5353 for zone rbl.example.net is not signed'],
    ['a SERVFAIL signed with another key', 2, notValid('key'), 'SERVFAIL answer from 192.0.2.53:5353 for zone rbl.example.net is signed with another key'],
    ['a NOTZONE with another algorithm', 10, notValid('algorithm'), 'NOTZONE answer from 192.0.2.53:5353 for zone rbl.example.net is signed with another algorithm'],
    ['a NOERROR with a truncated MAC', 0, notValid('truncated'), 'NOERROR answer from 192.0.2.53:5353 for zone rbl.example.net is signed with a truncated MAC'],
    ['a NOERROR signed outside the fudge', 0, notValid('time'), 'NOERROR answer from 192.0.2.53:5353 for zone rbl.example.net is signed at a time outside the fudge'],
    ['an answer with RCODE 15 that says no problem', 15, notValid(undefined), 'RCODE 15 answer from 192.0.2.53:5353 for zone rbl.example.net is signed with a MAC that does not match'],
    ['a NOTAUTH/BADTRUNC', 9, notValid('unsigned', 22), 'NOTAUTH answer from 192.0.2.53:5353 for zone rbl.example.net is not signed'],
  ] as const)('never acts on %s: a retried RBL_DNS_BAD_RESPONSE naming the key and the server', (_case, rcode, verification, words) => {
    expect(outcome(rcode, verification)).toBe(
      `RBL_DNS_BAD_RESPONSE (retried): the ${words}: check TSIG key \`unlist-key\` in /etc/rbl-unlist/tsig.key and that nothing else answers on 192.0.2.53:5353`,
    );
  });
});

describe('checkAnswer: TSIG rejections (RFC 8945 §5.2, §5.3.2)', () => {
  const badsig = "192.0.2.53:5353 (BADSIG): the secret in /etc/rbl-unlist/tsig.key differs from the server's";
  const badkey =
    "192.0.2.53:5353 for zone rbl.example.net (BADKEY): check that the key name and algorithm in /etc/rbl-unlist/tsig.key match a key in the server's config, and (Knot) that the zone's acl grants the key update";
  const badtime = "192.0.2.53:5353 (BADTIME): this host's clock and the server's differ by more than the fudge";

  test.each([
    ['BADSIG, signed: permanent', signed(16), `RBL_DNS_BADSIG: TSIG key \`unlist-key\` rejected by ${badsig}`],
    ['BADSIG, unsigned: retried, anyone could send it', notValid('unsigned', 16), `RBL_DNS_BADSIG (retried): TSIG key \`unlist-key\` rejected by ${badsig}`],
    ['BADKEY, signed: permanent, with the algorithm', signed(17), `RBL_DNS_BADKEY: TSIG key \`unlist-key\` (hmac-sha512) rejected by ${badkey}`],
    ['BADKEY, unsigned: retried', notValid('unsigned', 17), `RBL_DNS_BADKEY (retried): TSIG key \`unlist-key\` (hmac-sha512) rejected by ${badkey}`],
    ['BADTIME, server 120 s behind: retried, a clock comes right by itself', signed(18, NOW - 120), `RBL_DNS_BADTIME (retried): TSIG key \`unlist-key\` rejected by ${badtime} (the server's clock is 120 s behind this host's); fix NTP`],
    ['BADTIME, server 7 s ahead', signed(18, NOW + 7), `RBL_DNS_BADTIME (retried): TSIG key \`unlist-key\` rejected by ${badtime} (the server's clock is 7 s ahead of this host's); fix NTP`],
    ['BADTIME, same second', signed(18, NOW), `RBL_DNS_BADTIME (retried): TSIG key \`unlist-key\` rejected by ${badtime} (the server's clock is 0 s ahead of this host's); fix NTP`],
    ['BADTIME without the server clock', { ...signed(18), serverTime: undefined }, `RBL_DNS_BADTIME (retried): TSIG key \`unlist-key\` rejected by ${badtime}; fix NTP`],
    ['BADTIME, unsigned: retried', { ...notValid('unsigned', 18), serverTime: undefined }, `RBL_DNS_BADTIME (retried): TSIG key \`unlist-key\` rejected by ${badtime}; fix NTP`],
  ] as const)('%s', (_case, verification, words) => {
    expect(outcome(9, verification)).toBe(words);
  });

  test('marks only a REFUSED to an update as a refusal, which the delivery worker judges by what the zone does with other names', () => {
    const refusalOf = (rcode: number, context: AnswerContext): boolean | undefined => {
      try {
        checkAnswer(rcode, signed(0), context);
      } catch (error) {
        return (error as RblError).refusal;
      }
      return undefined;
    };
    expect(refusalOf(5, UPDATE)).toBe(true);
    expect(refusalOf(5, QUERY)).toBe(false);
    expect(refusalOf(2, UPDATE)).toBe(false);
    expect(refusalOf(9, UPDATE)).toBe(false);
  });

  test('reads a TSIG error as a rejection only in a NOTAUTH answer (RFC 8945 §5.3.2)', () => {
    expect(outcome(5, signed(16))).toMatch(/^RBL_DNS_REFUSED \(retried\): /);
    expect(outcome(0, signed(18))).toBe('ok');
  });

  test('reads a signed NOTAUTH/BADTRUNC as the NOTAUTH it is', () => {
    expect(outcome(9, signed(22))).toMatch(/^RBL_DNS_NOTAUTH: /);
  });
});
