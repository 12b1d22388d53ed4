/**
 * What a failed exchange with a DNS server says, over UDP or TCP: the server did not answer in
 * time, the connection was refused or dropped, or every answer that came was discarded as not
 * believable (RFC 8945 §5.4.1). All of them are transient: the delivery worker retries them.
 */
import type { Endpoint } from '../../config/load.js';
import { RblError } from '../../errors.js';
import { endpointText } from '../../net/host-port.js';

/** Judges an answer that matches the request: undefined takes it, a reason discards it. */
export type AnswerJudge = (response: Buffer) => string | undefined;

/** RBL_DNS_TIMEOUT (transient): no answer within the time-out. */
export function timeoutError(server: Endpoint, timeoutMs: number, protocol: string): RblError {
  return new RblError('RBL_DNS_TIMEOUT', `${endpointText(server)} did not answer over ${protocol} within ${timeoutMs} ms: check that the DNS server runs and listens there`, { transient: true });
}

/** RBL_DNS_CONNECTION (transient): the socket failed or the connection closed, named by its errno code. */
export function connectionError(server: Endpoint, protocol: string, cause: unknown): RblError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? String(cause);
  return new RblError('RBL_DNS_CONNECTION', `${endpointText(server)} refused or dropped the ${protocol} connection (${code}): check that the DNS server runs and listens on that address and port`, {
    cause,
    transient: true,
  });
}

/** Answers discarded by a judge during one exchange, for the error when no believable one came. */
export class DiscardedAnswers {
  count = 0;
  last = '';

  /** Whether `judge` takes the answer (no judge takes every one); counts and remembers it otherwise. */
  takes(response: Buffer, judge: AnswerJudge | undefined): boolean {
    const reason = judge?.(response);
    if (reason === undefined) return true;
    this.count++;
    this.last = reason;
    return false;
  }

  /** RBL_DNS_BAD_RESPONSE when answers were discarded, else `otherwise`: both transient. */
  error(server: Endpoint, protocol: string, ending: string, otherwise: RblError): RblError {
    if (this.count === 0) return otherwise;
    return new RblError(
      'RBL_DNS_BAD_RESPONSE',
      `${endpointText(server)} sent no answer that verifies over ${protocol} ${ending}; ${this.count} discarded, the last ${this.last}: check the TSIG key and that nothing else answers on that address`,
      { transient: true },
    );
  }
}
