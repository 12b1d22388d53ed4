/**
 * The one place secrets are cut out of text that is printed, logged or served (rbl-unlist never
 * shows a credential): URL userinfo and credential-like query parameters. Pure code.
 *
 * What is redacted, and why:
 * - the password of `user:password@`, and a userinfo without a password as a whole, since
 *   `https://TOKEN@host` is how many APIs take a token;
 * - the value of each query parameter whose name contains key, token, secret, pass, pwd, auth,
 *   sig (signature), credential or session, case-insensitive (`api_key`, `access_token`,
 *   `X-Amz-Signature`, `apikey`, `password`...). A harmless parameter that matches loses only its
 *   value in the text; its request is sent unchanged.
 * Everything else (scheme, host, port, path, other parameters) stays, so the text still says where
 * a request went. Redaction works on the text, not through `new URL`, so a template's `{name}`
 * placeholders come out as they went in.
 */

/** What stands in for a secret. */
export const REDACTED = 'REDACTED';

const SECRET_PARAMETER = /key|token|secret|pass|pwd|auth|sig|credential|session/i;
/** scheme://, userinfo@ (optional), the rest up to a query, the query, the fragment. */
const URL_PARTS = /^([a-z][a-z0-9+.-]*:\/\/)(?:([^/?#@\s]*)@)?([^?#]*)(\?[^#]*)?(#.*)?$/is;
/** A URL inside free text: a scheme, ://, then anything up to white space or a quote. */
const URL_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;

/** The URL with its credentials replaced by REDACTED; text that is not a URL comes back as it is. */
export function redactUrl(url: string): string {
  const parts = URL_PARTS.exec(url);
  if (!parts) return url;
  const [, scheme, userinfo, rest, query, fragment] = parts;
  return `${scheme}${userinfo === undefined ? '' : `${redactUserinfo(userinfo)}@`}${rest}${query === undefined ? '' : redactQuery(query)}${fragment ?? ''}`;
}

/** Every URL in a message or log text with its credentials replaced by REDACTED. */
export function redactUrlsIn(text: string): string {
  return text.includes('://') ? text.replace(URL_IN_TEXT, redactUrl) : text;
}

function redactUserinfo(userinfo: string): string {
  const colon = userinfo.indexOf(':');
  return colon === -1 ? REDACTED : `${userinfo.slice(0, colon)}:${REDACTED}`;
}

/** "?a=1&api_key=x" → "?a=1&api_key=REDACTED"; `;` separates parameters too (HTML 4 forms). */
function redactQuery(query: string): string {
  return query.replace(/([?&;])([^=&;#]*)=([^&;#]*)/g, (whole, separator: string, name: string) =>
    SECRET_PARAMETER.test(safeDecode(name)) ? `${separator}${name}=${REDACTED}` : whole,
  );
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}
