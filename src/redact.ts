/**
 * The one place secrets are cut out of text that is printed, logged or served (rbl-unlist never
 * shows a credential): URL userinfo, credential-like query parameters and body fields. Pure code.
 *
 * What is redacted, and why:
 * - the password of `user:password@`, and a userinfo without a password as a whole, since
 *   `https://TOKEN@host` is how many APIs take a token. The userinfo is everything between `://`
 *   and the last @ before the first / ? or #, as Node's URL (WHATWG) reads it: it sends a raw @, a
 *   space or a quote in a password, so a rule that stopped at the first @ or at white space would
 *   show the rest;
 * - the value of each query parameter whose name contains key, token, secret, pass, pwd, auth,
 *   sig (signature), credential or session, case-insensitive (`api_key`, `access_token`,
 *   `X-Amz-Signature`, `apikey`, `password`...), up to the next & (a ; does not end a value for
 *   URLSearchParams, and so for the API). A harmless parameter that matches loses only its value in
 *   the text; its request is sent unchanged;
 * - in a request body as printed, the value of each JSON member, XML element or attribute, or form
 *   field named the same way.
 * Everything else (scheme, host, port, path, other parameters) stays, so the text still says where
 * a request went. Redaction works on the text, not through `new URL`, so a template's `{name}`
 * placeholders come out as they went in.
 */

/** What stands in for a secret. */
export const REDACTED = 'REDACTED';

const SECRET_PARAMETER = /key|token|secret|pass|pwd|auth|sig|credential|session/i;
/** scheme://, userinfo@ (optional: up to the last @ before / ? #), the rest up to a query, the query, the fragment. */
const URL_PARTS = /^([a-z][a-z0-9+.-]*:\/\/)(?:([^/?#]*)@)?([^?#]*)(\?[^#]*)?(#.*)?$/is;
/**
 * A URL inside free text: a scheme, ://, a userinfo as above, then anything up to white space.
 * The userinfo may run across white space and quotes, as 0.2 and 0.3 journaled a password holding
 * them; a URL without a path that an @ follows in the text loses the text up to it, rather than
 * risk showing a password. Past the userinfo the URL ends at white space, which the config refuses
 * in a url; quotes do not end it, as a token may hold one.
 */
const URL_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/(?:[^/?#]*@)?\S*/gi;

/**
 * A JSON member: its name, the separator, and its value (a string, or a bare number or word). An
 * object or array value is not one: its own members are judged by their names.
 */
const JSON_MEMBER = /"((?:[^"\\]|\\.)*)"(\s*:\s*)("(?:[^"\\]|\\.)*"|[^\s,{}[\]]+)/g;

/**
 * An XML element that holds only text (or one CDATA section): its name, what its start tag holds
 * after the name, the text, and its end tag. An element with elements inside is not one: its own
 * elements are judged by their names, as a JSON object's members are.
 */
const XML_TEXT_ELEMENT = /<([A-Za-z_][\w.:-]*)(\s[^<>]*?)?>(<!\[CDATA\[[\s\S]*?\]\]>|[^<]*)<\/\1\s*>/g;
/** An XML attribute: its name, `=` with its spaces, and its quoted value. */
const XML_ATTRIBUTE = /(\s)([A-Za-z_][\w.:-]*)(\s*=\s*)("[^"]*"|'[^']*')/g;

/**
 * A request body as `unlist --dry-run` prints it, with the value of each secret-named field
 * REDACTED, by the names secret query parameters have: JSON members (`"api_key": "..."`), XML
 * elements and attributes (`<api:Password>...</api:Password>`, `token="..."`; a SOAP API's) and,
 * in a body that is neither, form fields (`api_key=...&`). A credential belongs in `token_file` or
 * `api_key_file`, whose headers are never printed; this is for one written into `body` itself.
 * Placeholders stay as they are; the request sent is unchanged.
 */
export function redactBody(body: string): string {
  if (/^\s*[[{]/.test(body)) {
    return body.replace(JSON_MEMBER, (member, name: string, separator: string, value: string) =>
      SECRET_PARAMETER.test(name) ? `"${name}"${separator}${value.startsWith('"') ? `"${REDACTED}"` : REDACTED}` : member,
    );
  }
  if (/^\s*</.test(body)) return redactXml(body);
  return redactQuery(`?${body}`).slice(1);
}

/**
 * The XML body with the text of each secret-named element and the value of each secret-named
 * attribute REDACTED. A name is judged without its namespace prefix: `auth:ip` is an address in
 * a namespace that happens to be called auth.
 */
function redactXml(body: string): string {
  const secretName = (name: string): boolean => SECRET_PARAMETER.test(name.slice(name.lastIndexOf(':') + 1));
  const elements = body.replace(XML_TEXT_ELEMENT, (element, name: string, attributes: string | undefined, text: string) =>
    secretName(name) && text !== '' ? `<${name}${attributes ?? ''}>${REDACTED}</${name}>` : element,
  );
  return elements.replace(/<[^<>!?/][^<>]*>/g, (tag) =>
    tag.replace(XML_ATTRIBUTE, (attribute, space: string, name: string, equals: string, value: string) =>
      // A namespace declaration names a schema, not a secret, though its prefix may read `auth`.
      secretName(name) && !/^xmlns(:|$)/.test(name) ? `${space}${name}${equals}${value[0]}${REDACTED}${value[0]}` : attribute,
    ),
  );
}

/** The URL with its credentials replaced by REDACTED; text that is not a URL comes back as it is. */
export function redactUrl(url: string): string {
  const parts = URL_PARTS.exec(url);
  if (!parts) return url;
  const [, scheme, userinfo, rest, query, fragment] = parts;
  return `${scheme}${userinfo === undefined ? '' : `${redactUserinfo(userinfo)}@`}${rest}${query === undefined ? '' : redactQuery(query)}${fragment ?? ''}`;
}

/** The userinfo as redaction reads it (undefined without one), so the config checks the same text it hides. */
export function urlUserinfo(url: string): string | undefined {
  return URL_PARTS.exec(url)?.[2];
}

/** Every URL in a message or log text with its credentials replaced by REDACTED. */
export function redactUrlsIn(text: string): string {
  return text.includes('://') ? text.replace(URL_IN_TEXT, redactUrl) : text;
}

/**
 * The credentials a URL carries, as they appear in text (raw and percent-decoded): its userinfo's
 * password (or the whole userinfo, without a password) and the values of secret-named query
 * parameters, as {@link redactUrl} hides them. For text that may repeat them outside a URL.
 */
export function urlCredentials(url: string): string[] {
  const parts = URL_PARTS.exec(url);
  if (!parts) return [];
  const [, , userinfo, , query] = parts;
  const found: string[] = [];
  if (userinfo !== undefined) found.push(userinfo.slice(userinfoSecretStart(userinfo)));
  if (query !== undefined) for (const [start, end] of secretValues(query)) found.push(query.slice(start, end));
  return found.flatMap((text) => [text, safeDecode(text)]);
}

/**
 * The text with each of `secrets` replaced by REDACTED, longest first, in every form an answer may
 * echo it in (echoedForms). Secrets shorter than 4 characters are left alone: hiding every "on"
 * or "1" in a message would say nothing and hide much.
 */
export function redactSecretsIn(text: string, secrets: readonly string[]): string {
  let shown = text;
  const forms = secrets.filter((value) => value.length >= 4).flatMap(echoedForms);
  for (const secret of [...new Set(forms)].sort((a, b) => b.length - a.length)) {
    shown = shown.split(secret).join(REDACTED);
  }
  return shown;
}

/**
 * A secret as an API's answer may quote it: as sent; inside a JSON string, also with "/" escaped
 * as PHP's json_encode writes it; percent-encoded with upper- or lower-case digits, or with "+"
 * for a space as in a form. A base64 token holds "/" and "+" often enough for this to matter.
 */
function echoedForms(secret: string): string[] {
  const json = JSON.stringify(secret).slice(1, -1);
  const percent = encodeURIComponent(secret);
  return [secret, json, json.replace(/\//g, '\\/'), percent, percent.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()), percent.replace(/%20/g, '+')];
}

/** Where a userinfo's secret starts: after the user name's colon (the password), or at once (a bare token). */
function userinfoSecretStart(userinfo: string): number {
  return userinfo.indexOf(':') + 1;
}

function redactUserinfo(userinfo: string): string {
  return `${userinfo.slice(0, userinfoSecretStart(userinfo))}${REDACTED}`;
}

/** "?a=1&api_key=x" → "?a=1&api_key=REDACTED". */
function redactQuery(query: string): string {
  let shown = '';
  let from = 0;
  for (const [start, end] of secretValues(query)) {
    shown += `${query.slice(from, start)}${REDACTED}`;
    from = end;
  }
  return shown + query.slice(from);
}

/**
 * Where the value of each secret-named parameter of a query starts and ends. A `;` may start a
 * parameter too (HTML 4 forms), but does not end a secret value: URLSearchParams reads "token=a;b"
 * as the token "a;b", so it runs to the next `&`.
 */
function* secretValues(query: string): Generator<[start: number, end: number]> {
  let from = 0;
  for (const parameter of query.matchAll(/[?&;]([^=&;]*)=/g)) {
    if (parameter.index < from || !SECRET_PARAMETER.test(safeDecode(parameter[1]!))) continue;
    const start = parameter.index + parameter[0].length;
    const ampersand = query.indexOf('&', start);
    from = ampersand === -1 ? query.length : ampersand;
    yield [start, from];
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}
