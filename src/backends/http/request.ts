/**
 * One HTTP(S) request with a deadline, and the mapping of failures to RblError codes:
 * 401/403 RBL_HTTP_AUTH (401 transient, 403 a refusal), 404 RBL_HTTP_NOT_FOUND, other statuses
 * and a success status with an HTML page RBL_HTTP_STATUS (5xx, 407, 408, 429, a redirect and the
 * HTML page transient), time-outs RBL_HTTP_TIMEOUT and socket, TLS or DNS failures
 * RBL_HTTP_CONNECTION (both transient).
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import { RblError } from '../../errors.js';
import { redactSecretsIn, redactUrl, urlCredentials } from '../../redact.js';
import { ResponseBudget } from './response-budget.js';

export interface HttpRequestSpec {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | undefined;
}

export interface HttpResponse {
  readonly status: number;
  readonly statusText: string;
  readonly body: Buffer;
  /** The Location header of a redirect, as the server sent it. */
  readonly location?: string | undefined;
  /** The Retry-After header of a 429 or 503, as the server sent it. */
  readonly retryAfter?: string | undefined;
  /** The Content-Type header, as the server sent it. */
  readonly contentType?: string | undefined;
}

/** Keep-alive agents for http and https; `ca` is trusted in addition to the system CAs. */
export interface Agents {
  readonly http: HttpAgent;
  readonly https: HttpsAgent;
  /** What the answers being read may hold together. */
  readonly responses: ResponseBudget;
  destroy(): void;
}

const MIB = 1024 * 1024;
// A PowerDNS zone read with no server-side filter can be large; anything past this is not an API answer we want.
const MAX_RESPONSE_BYTES = 64 * MIB;
// Two answers of the largest size at once; the eight sockets' worth (512 MiB) would be a container's memory.
const MAX_RESPONSES_BYTES = 2 * MAX_RESPONSE_BYTES;

/** Agents for one backend. */
export function createAgents(ca: Buffer | undefined): Agents {
  const http = new HttpAgent({ keepAlive: true, maxSockets: 8 });
  // Node's `ca` replaces the bundled roots, so the system roots are passed along with the extra CA.
  const https = new HttpsAgent({ keepAlive: true, maxSockets: 8, ...(ca ? { ca: [...rootCertificates, ca.toString('utf8')] } : {}) });
  return {
    http,
    https,
    responses: new ResponseBudget(MAX_RESPONSES_BYTES),
    destroy() {
      http.destroy();
      https.destroy();
    },
  };
}

/** Sends one request and reads the whole answer within timeoutMs; throws RBL_HTTP_TIMEOUT or RBL_HTTP_CONNECTION. */
export function sendHttpRequest(backend: string, spec: HttpRequestSpec, agents: Agents, timeoutMs: number): Promise<HttpResponse> {
  const where = `${backend}: ${spec.method} ${redactUrl(spec.url)}`;
  return new Promise<HttpResponse>((resolve, reject) => {
    let url: URL;
    try {
      url = new URL(spec.url);
    } catch (error) {
      reject(new RblError('RBL_HTTP_CONNECTION', `${where}: not a valid URL; check url`, { cause: error }));
      return;
    }
    const https = url.protocol === 'https:';
    const headers: Record<string, string> = { ...spec.headers };
    if (spec.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(spec.body));
    let timedOut = false;
    /** Bytes of this answer taken from the backend's budget, until it is read or fails. */
    let held = 0;
    const giveBack = (): void => {
      agents.responses.giveBack(held);
      held = 0;
    };
    const request = (https ? httpsRequest : httpRequest)(url, { method: spec.method, headers, agent: https ? agents.https : agents.http }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => {
        // A chunk read after the answer was cut off would take from the budget what nothing gives back.
        if (request.destroyed) return;
        if (held + chunk.length > MAX_RESPONSE_BYTES) {
          request.destroy(new Error(`the answer is larger than ${MAX_RESPONSE_BYTES / MIB} MiB, more than an API's answer to this request`));
          return;
        }
        if (!agents.responses.take(chunk.length)) {
          request.destroy(new Error(`the answers being read hold ${agents.responses.limitBytes / MIB} MiB together, the most this backend keeps; this one is read again later`));
          return;
        }
        held += chunk.length;
        chunks.push(chunk);
      });
      response.on('end', () => {
        clearTimeout(timer);
        giveBack();
        resolve({ status: response.statusCode ?? 0, statusText: response.statusMessage ?? '', body: Buffer.concat(chunks), location: response.headers.location, retryAfter: response.headers['retry-after'], contentType: response.headers['content-type'] });
      });
      response.on('error', fail);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      request.destroy();
    }, timeoutMs);
    function fail(error: Error): void {
      clearTimeout(timer);
      giveBack();
      if (timedOut) {
        reject(new RblError('RBL_HTTP_TIMEOUT', `${where}: no answer within ${timeoutMs} ms; check that the API runs and the url`, { cause: error, transient: true }));
      } else {
        const code = (error as NodeJS.ErrnoException).code;
        reject(new RblError('RBL_HTTP_CONNECTION', `${where}: ${code ? `${code} ` : ''}${error.message}; check url${https ? ', ca_file' : ''} and that the API runs`, { cause: error, transient: true }));
      }
    }
    request.on('error', fail);
    request.end(spec.body);
  });
}

/** Which secret a 401/403 points at, for the message. */
export type CredentialSource = 'api_key_file' | 'token_file' | undefined;

/**
 * Throws the RblError for an unexpected status; returns when it is in `success`.
 * `what404` names what is missing on a 404 ("zone rbl.example.net", "URL").
 */
export function expectStatus(backend: string, spec: HttpRequestSpec, response: HttpResponse, success: readonly number[], credentials: CredentialSource, what404: string): void {
  if (success.includes(response.status) && !isHtmlPage(response)) return;
  // An API may echo the request, or the rejected key, in its error (its reason phrase too): the
  // credentials it was sent stay out.
  const sent = requestCredentials(spec);
  const status = `${response.status}${response.statusText ? ` ${redactSecretsIn(response.statusText, sent)}` : ''}`;
  const excerpt = bodyExcerpt(response.body, sent);
  const detail = `${spec.method} ${redactUrl(spec.url)}: ${status}${excerpt ? ` ${JSON.stringify(excerpt)}` : ''}`;
  const host = hostOf(spec.url);
  if (success.includes(response.status)) {
    // A captive portal, a proxy's login page or a misrouted reverse proxy answers 200 with a page
    // of its own: the API never saw the request, so the names are not unlisted. The whole route
    // fails, not these names (failsForItself), and it is retried until the API answers.
    throw new RblError(
      'RBL_HTTP_STATUS',
      `${backend}: ${host} answered ${response.status} with an HTML page (${detail}), not the API's answer: is a captive portal or a proxy's login page in the way? Nothing was taken as unlisted; check that url reaches the API from this host`,
      { transient: true },
    );
  }
  if (response.status === 401 || response.status === 403) {
    const hint = credentials ? `check ${credentials}` : 'the API wants credentials: set api_key_file or token_file';
    const rejected = credentials === 'token_file' ? 'token' : 'API key';
    // Never a dead letter for the key alone: a token rotated on the API before token_file, or one
    // that expired overnight, would turn every unlist of the outage into a dead letter that waits
    // for `queue retry` while the next customers inherit the listings. A 401 says the key is wrong
    // for the whole API: the unlists wait, as a wrong TSIG key's do, and go out once a reload reads
    // the right one. A 403 may also be the key's for one record only (one it may not change):
    // judged as a DNS server's REFUSED is, a dead letter only while the API takes other names.
    throw new RblError('RBL_HTTP_AUTH', `${backend}: ${rejected} rejected by ${host} (${detail}): ${hint}`, response.status === 401 ? { transient: true } : { refusal: true });
  }
  if (response.status === 404) {
    throw new RblError('RBL_HTTP_NOT_FOUND', `${backend}: ${what404} not found at ${host} (${detail}): check url and the zone name`);
  }
  const redirect = redirectTarget(spec, response);
  if (redirect !== undefined) {
    // Never followed: a redirect would carry the credentials to wherever the server points. Nor
    // a dead letter: the API never saw the request (a captive portal sends its login page this
    // way, a server that now wants https its new address), so the unlists wait for a url that
    // reaches it, and go out after the reload that sets it, or once the portal lets this host by.
    const shown = redactSecretsIn(redactUrl(redirect), requestCredentials(spec));
    throw new RblError('RBL_HTTP_STATUS', `${backend}: ${host} redirects (${detail}) to ${shown}: set url to the address it redirects to`, { transient: true });
  }
  // 5xx is the server's trouble, 408 and 429 ask us to come back later, 407 is a proxy in the way
  // that wants a login (the API never saw the request); every other 4xx repeats itself.
  const transient = response.status >= 500 || response.status === 407 || response.status === 408 || response.status === 429;
  const expected = success.join(', ');
  const retryAfter = transient ? retryAfterMs(response.retryAfter, Date.now()) : undefined;
  const when = retryAfter === undefined ? '' : `; the API asks to wait ${Math.ceil(retryAfter / 1000)} s`;
  throw new RblError('RBL_HTTP_STATUS', `${backend}: unexpected status from ${host} (${detail}), expected ${expected}${when}`, { transient, retryAfterMs: retryAfter });
}

/**
 * Whether an answer is an HTML page (text/html, application/xhtml+xml, parameters such as charset
 * ignored): a page for a person, never an API's answer. An empty body is no page, whatever its
 * type: frameworks (PHP) label every answer text/html, a 204 too.
 */
export function isHtmlPage(response: HttpResponse): boolean {
  if (response.body.length === 0) return false;
  const mediaType = response.contentType?.split(';')[0]?.trim().toLowerCase();
  return mediaType === 'text/html' || mediaType === 'application/xhtml+xml';
}

/**
 * The wait a Retry-After header asks for (RFC 9110 §10.2.3): delay-seconds, or an HTTP-date; in ms,
 * undefined when absent or not understood. A date in the past asks for no wait.
 */
export function retryAfterMs(header: string | undefined, now: number): number | undefined {
  if (header === undefined) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text), 86_400) * 1000;
  // Date.parse takes far more than an HTTP-date (a bare "1"); only the IMF-fixdate form every server sends.
  if (!/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Where a 3xx answer points, as origin and path (no query, no user or password), or undefined when
 * the answer is no redirect or names no valid Location.
 */
export function redirectTarget(spec: HttpRequestSpec, response: HttpResponse): string | undefined {
  if (response.status < 300 || response.status > 399 || response.location === undefined) return undefined;
  try {
    const target = new URL(response.location, spec.url);
    return `${target.origin}${target.pathname}`;
  } catch {
    return undefined;
  }
}

/** Whether a redirect leaves the request's origin (scheme, host and port): http to https, or another host. */
export function redirectsElsewhere(spec: HttpRequestSpec, response: HttpResponse): boolean {
  const target = redirectTarget(spec, response);
  return target !== undefined && new URL(target).origin !== new URL(spec.url).origin;
}

/** Headers that carry no credential: everything else a request sends (Authorization, X-API-Key, configured headers) may. */
const PLAIN_HEADERS: ReadonlySet<string> = new Set(['user-agent', 'accept', 'content-type', 'content-length']);

/**
 * The credentials a request carries: its URL's, and every header value but the plain ones (with
 * "Bearer X", also X), and the Basic credentials Node makes of a URL's user:password@, which decode
 * back to the password.
 */
function requestCredentials(spec: HttpRequestSpec): string[] {
  const values = Object.entries(spec.headers)
    .filter(([name]) => !PLAIN_HEADERS.has(name.toLowerCase()))
    .flatMap(([, value]) => [value, value.slice(value.indexOf(' ') + 1)]);
  return [...values, ...urlCredentials(spec.url), ...basicCredentials(spec.url)];
}

/** The Authorization: Basic value Node sends for a URL's userinfo (http.request decodes it first). */
function basicCredentials(url: string): string[] {
  try {
    const { username, password } = new URL(url);
    if (!username && !password) return [];
    const basic = Buffer.from(`${decodeURIComponent(username)}:${decodeURIComponent(password)}`).toString('base64');
    return [basic, `Basic ${basic}`];
  } catch {
    return [];
  }
}

/**
 * The first 200 characters of a response body, whitespace collapsed, with `credentials` REDACTED
 * (before the cut, so none is shown in part); PowerDNS's {"error": ...} is unwrapped.
 */
export function bodyExcerpt(body: Buffer, credentials: readonly string[] = []): string {
  let text = body.subarray(0, 4096).toString('utf8');
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && typeof (parsed as { error?: unknown }).error === 'string') text = (parsed as { error: string }).error;
  } catch {
    // not JSON, or cut: keep the text
  }
  text = redactSecretsIn(text, credentials).replace(/\s+/g, ' ').trim();
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
