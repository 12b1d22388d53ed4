/**
 * What a server's answer means: whether it may be believed at all (RFC 8945 §5.3, §5.4.1), then
 * its RCODE (RFC 1035 §4.1.1, RFC 2136 §2.2) and TSIG error become success or an RblError that says
 * what to check. Pure code.
 */
import { RblError } from '../../errors.js';
import type { TsigKey } from './keyfile.js';
import { RCODE_NAMES } from './message.js';
import { parseMessage, type DnsMessage } from './response.js';
import { TSIG_ERROR, tsigErrorName, verifyTsigResponse, type TsigVerification } from './tsig.js';

export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  NOTAUTH: 9,
  NOTZONE: 10,
} as const;

/** Who asked what, for the words of an error. */
export interface AnswerContext {
  /** "127.0.0.1:53" */
  readonly server: string;
  readonly zone: string;
  readonly key: TsigKey;
  /** Where the key came from: the key file path or the config key. */
  readonly keySource: string;
  /** The UPDATE's RR types ("A, TXT"), or the query ("SOA query") for a query. */
  readonly what: string;
  readonly operation: 'update' | 'query';
}

function keyText(context: AnswerContext): string {
  return `TSIG key \`${context.key.name}\``;
}

/** The error for a TSIG failure the server reported (NOTAUTH with a TSIG error), or undefined. */
function tsigRejection(context: AnswerContext, verification: TsigVerification): RblError | undefined {
  const { server, keySource } = context;
  const key = keyText(context);
  // An unsigned rejection (RFC 8945 §5.3.2) names the likely fault, but anyone could have sent it:
  // it is retried, never made a dead letter, so a forged one cannot freeze an unlist.
  const transient = !verification.valid;
  switch (verification.tsigError) {
    case TSIG_ERROR.BADSIG:
      return new RblError('RBL_DNS_BADSIG', `${key} rejected by ${server} (BADSIG): the secret in ${keySource} differs from the server's`, { transient });
    case TSIG_ERROR.BADKEY:
      // Knot also answers BADKEY when its ACL does not grant a known key the zone.
      return new RblError(
        'RBL_DNS_BADKEY',
        `${key} (${context.key.algorithm}) rejected by ${server} for zone ${context.zone} (BADKEY): check that the key name and algorithm in ${keySource} match a key in the server's config, and (Knot) that the zone's acl grants the key update`,
        { transient },
      );
    case TSIG_ERROR.BADTIME: {
      const now = Math.floor(Date.now() / 1000);
      const skew = verification.serverTime === undefined ? '' : ` (the server's clock is ${Math.abs(now - verification.serverTime)} s ${verification.serverTime < now ? 'behind' : 'ahead of'} this host's)`;
      // Retried even when signed: a clock that NTP has not set yet (after a boot, a VM restored)
      // comes right by itself, and every unlist sent meanwhile would otherwise wait as a dead letter.
      return new RblError('RBL_DNS_BADTIME', `${key} rejected by ${server} (BADTIME): this host's clock and the server's differ by more than the fudge${skew}; fix NTP`, { transient: true });
    }
    default:
      return undefined;
  }
}

const PROBLEM_TEXT: Readonly<Record<NonNullable<TsigVerification['problem']>, string>> = {
  unsigned: 'not signed',
  key: 'signed with another key',
  algorithm: 'signed with another algorithm',
  truncated: 'signed with a truncated MAC',
  mac: 'signed with a MAC that does not match',
  time: 'signed at a time outside the fudge',
};

/** TSIG errors by which a server rejects our key, MAC or time (RFC 8945 §5.2); only these may come unsigned (§5.3.2). */
const REJECTION_TSIG_ERRORS: ReadonlySet<number> = new Set([TSIG_ERROR.BADSIG, TSIG_ERROR.BADKEY, TSIG_ERROR.BADTIME]);

/** An answer that may be acted on: parsed, and its TSIG checked. */
export interface BelievedAnswer {
  readonly message: DnsMessage;
  readonly verification: TsigVerification;
}

/**
 * Whether an answer to a request signed with `requestMac` may be believed, or why not (RFC 8945
 * §5.3, §5.4.1): it must carry a valid, full-length MAC by our key, except for the one unsigned
 * answer a server is allowed to send, a NOTAUTH with BADSIG, BADKEY or BADTIME and an empty MAC
 * (§5.3.2). Anything else (an unsigned REFUSED, a forged MAC, a BADSIG whose MAC is not empty, a
 * malformed message) is not believed: the caller discards it and keeps waiting for the real answer,
 * since anyone who can send one UDP datagram can forge it.
 */
export function judgeAnswer(response: Buffer, requestMac: Buffer, key: TsigKey): BelievedAnswer | { readonly reason: string } {
  let message: DnsMessage;
  try {
    message = parseMessage(response);
  } catch (error) {
    return { reason: `a malformed answer (${(error as Error).message})` };
  }
  const { rcode } = message.header;
  const rcodeName = RCODE_NAMES[rcode] ?? `RCODE ${rcode}`;
  const { tsig } = message;
  const tsigError = tsig && tsig.error !== 0 ? `/${tsigErrorName(tsig.error)}` : '';
  if (tsig && tsig.mac.length === 0 && rcode === RCODE.NOTAUTH && REJECTION_TSIG_ERRORS.has(tsig.error)) {
    return { message, verification: verifyTsigResponse(response, requestMac, key, { parsed: message }) };
  }
  // §5.3.2: a server MUST NOT sign a BADSIG or BADKEY answer; a MAC there means someone else made it.
  if (tsig && (tsig.error === TSIG_ERROR.BADSIG || tsig.error === TSIG_ERROR.BADKEY)) {
    return { reason: `a ${rcodeName}${tsigError} answer, which RFC 8945 §5.3.2 allows only as a NOTAUTH with an empty MAC` };
  }
  const verification = verifyTsigResponse(response, requestMac, key, { parsed: message });
  if (!verification.valid) return { reason: `a ${rcodeName}${tsigError} answer ${PROBLEM_TEXT[verification.problem ?? 'mac']}` };
  return { message, verification };
}

/**
 * Throws the RblError a believed answer (judgeAnswer) stands for, or returns when it is a success.
 * `acceptNxdomain` makes NXDOMAIN a success, as it is for a query at a name that is not listed.
 */
export function checkAnswer(rcode: number, verification: TsigVerification, context: AnswerContext, acceptNxdomain = false): void {
  const { server, zone } = context;
  if (rcode === RCODE.NOTAUTH && REJECTION_TSIG_ERRORS.has(verification.tsigError)) {
    const rejection = tsigRejection(context, verification);
    if (rejection) throw rejection;
  }
  if (!verification.valid) {
    // Only reached by a caller that did not judge the answer first: never act on it.
    throw new RblError(
      'RBL_DNS_BAD_RESPONSE',
      `the ${RCODE_NAMES[rcode] ?? `RCODE ${rcode}`} answer from ${server} for zone ${zone} is ${PROBLEM_TEXT[verification.problem ?? 'mac']}: check ${keyText(context)} in ${context.keySource} and that nothing else answers on ${server}`,
      { transient: true },
    );
  }
  const update = context.operation === 'update';
  switch (rcode) {
    case RCODE.NOERROR:
      return;
    case RCODE.NXDOMAIN:
      if (acceptNxdomain) return;
      throw new RblError('RBL_DNS_NXDOMAIN', `${server} says zone ${zone} does not exist (NXDOMAIN): check the zone name`);
    case RCODE.NOTAUTH:
      throw new RblError('RBL_DNS_NOTAUTH', `${server} is not authoritative for zone ${zone} (NOTAUTH): check the zone name and that the server is its primary`);
    case RCODE.REFUSED:
      // A refusal, not a dead letter at once: BIND and Knot also refuse every UPDATE to a zone
      // frozen for a hand edit (rndc freeze, knotc zone-freeze), and an unlist refused only until
      // the thaw must not leave the listing for the next customer. The delivery worker tells the
      // two apart (queue/refusal-pass.ts).
      if (update) {
        throw new RblError(
          'RBL_DNS_REFUSED',
          `${server} refused to let ${keyText(context)} delete ${context.what} in zone ${zone} (REFUSED): the zone may be frozen for a hand edit (rndc thaw, knotc zone-thaw), or its update-policy or ACL must grant the key those types in the zone`,
          { transient: true, refusal: true },
        );
      }
      throw new RblError('RBL_DNS_REFUSED', `${server} refused the ${context.what} for zone ${zone} (REFUSED): check that it serves the zone and allows queries from this host`);
    case RCODE.NOTZONE:
      throw new RblError('RBL_DNS_NOTZONE', `${server} says a name in the update is outside zone ${zone} (NOTZONE): check the zone name`);
    case RCODE.SERVFAIL:
      throw new RblError('RBL_DNS_SERVFAIL', `${server} failed the ${update ? 'update' : context.what} for zone ${zone} (SERVFAIL): see the server's log`, {
        transient: true,
      });
    case RCODE.FORMERR:
      throw new RblError('RBL_DNS_FORMERR', `${server} could not parse the ${update ? 'update' : context.what} for zone ${zone} (FORMERR): please report this as a bug with the server's log line`);
    default:
      throw new RblError('RBL_DNS_RCODE', `${server} answered the ${update ? 'update' : context.what} for zone ${zone} with ${RCODE_NAMES[rcode] ?? `RCODE ${rcode}`}: see the server's log`);
  }
}
