/**
 * What a server's answer means: the RCODE (RFC 1035 §4.1.1, RFC 2136 §2.2) and the TSIG result
 * (RFC 8945 §5.3) become success or an RblError that says what to check. Pure code.
 */
import { RblError } from '../../errors.js';
import type { TsigKey } from './keyfile.js';
import { RCODE_NAMES } from './message.js';
import { TSIG_ERROR, tsigErrorName, type TsigVerification } from './tsig.js';

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
  switch (verification.tsigError) {
    case TSIG_ERROR.BADSIG:
      return new RblError('RBL_DNS_BADSIG', `${key} rejected by ${server} (BADSIG): the secret in ${keySource} differs from the server's`);
    case TSIG_ERROR.BADTRUNC:
      return new RblError('RBL_DNS_BADSIG', `${key} rejected by ${server} (BADTRUNC): the server wants a longer MAC; check the key's algorithm in ${keySource}`);
    case TSIG_ERROR.BADKEY:
      // Knot also answers BADKEY when its ACL does not grant a known key the zone.
      return new RblError(
        'RBL_DNS_BADKEY',
        `${key} (${context.key.algorithm}) rejected by ${server} for zone ${context.zone} (BADKEY): check that the key name and algorithm in ${keySource} match a key in the server's config, and (Knot) that the zone's acl grants the key update`,
      );
    case TSIG_ERROR.BADTIME: {
      const now = Math.floor(Date.now() / 1000);
      const skew = verification.serverTime === undefined ? '' : ` (the server's clock is ${Math.abs(now - verification.serverTime)} s ${verification.serverTime < now ? 'behind' : 'ahead of'} this host's)`;
      return new RblError('RBL_DNS_BADTIME', `${key} rejected by ${server} (BADTIME): this host's clock and the server's differ by more than the fudge${skew}; fix NTP`);
    }
    default:
      return undefined;
  }
}

const PROBLEM_TEXT: Readonly<Record<NonNullable<TsigVerification['problem']>, string>> = {
  unsigned: 'is not signed',
  key: 'is signed with another key',
  algorithm: 'is signed with another algorithm',
  truncated: 'has a truncated MAC',
  mac: 'has a MAC that does not match',
  time: 'has a TSIG time outside the fudge',
};

/**
 * Throws the RblError an answer stands for, or returns when it is a success. `acceptNxdomain`
 * makes NXDOMAIN a success, as it is for a query at a name that is not listed.
 */
export function checkAnswer(rcode: number, verification: TsigVerification, context: AnswerContext, acceptNxdomain = false): void {
  const { server, zone } = context;
  if (rcode === RCODE.NOTAUTH) {
    const rejection = tsigRejection(context, verification);
    if (rejection) throw rejection;
  }
  // An error answer that is not signed at all is still read for its RCODE: a server that does not
  // serve the zone (Knot: NOTAUTH) may not sign, and a forged error can only fail the update,
  // never make it look done. A success must be signed, and a wrong MAC is never trusted.
  const unsignedError = verification.problem === 'unsigned' && rcode !== RCODE.NOERROR && !(acceptNxdomain && rcode === RCODE.NXDOMAIN);
  if (!verification.valid && !unsignedError) {
    const reported = verification.tsigError === 0 ? '' : ` (TSIG error ${tsigErrorName(verification.tsigError)})`;
    throw new RblError(
      'RBL_DNS_BAD_RESPONSE',
      `the ${RCODE_NAMES[rcode] ?? `RCODE ${rcode}`} answer from ${server} for zone ${zone} ${PROBLEM_TEXT[verification.problem ?? 'mac']}${reported}: check ${keyText(context)} in ${context.keySource} and that nothing else answers on ${server}`,
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
      throw new RblError(
        'RBL_DNS_REFUSED',
        update
          ? `${server} refused to let ${keyText(context)} delete ${context.what} in zone ${zone} (REFUSED): its update-policy or ACL must grant the key those types in the zone`
          : `${server} refused the ${context.what} for zone ${zone} (REFUSED): check that it serves the zone and allows queries from this host`,
      );
    case RCODE.NOTZONE:
      throw new RblError('RBL_DNS_NOTZONE', `${server} says a name in the update is outside zone ${zone} (NOTZONE): check the zone name`);
    case RCODE.SERVFAIL:
      throw new RblError('RBL_DNS_SERVFAIL', `${server} failed the ${update ? 'update' : context.what} for zone ${zone} (SERVFAIL): see the server's log; it is retried`, {
        transient: true,
      });
    case RCODE.FORMERR:
      throw new RblError('RBL_DNS_FORMERR', `${server} could not parse the ${update ? 'update' : context.what} for zone ${zone} (FORMERR): please report this as a bug with the server's log line`);
    default:
      throw new RblError('RBL_DNS_RCODE', `${server} answered the ${update ? 'update' : context.what} for zone ${zone} with ${RCODE_NAMES[rcode] ?? `RCODE ${rcode}`}: see the server's log`);
  }
}
