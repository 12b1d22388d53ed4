/**
 * Resolves a `type: http` entry: the URL template, credentials read from their files, the CA, and
 * what `preset: powerdns` fills in (the zone from the API URL, PATCH, 204).
 */
import { durationMs } from '../../config/duration.js';
import { RblError } from '../../errors.js';
import { redactUrl, urlUserinfo } from '../../redact.js';
import type { BackendConfigBase, BackendResolveContext, BackendSummary } from '../types.js';
import { resolveDeleteTypes, resolveZones, zoneProblem } from '../zones.js';
import type { RawHttpBackend } from './schema.js';
import { templateProblem } from './template.js';

export interface HttpBackendConfig extends BackendConfigBase {
  readonly type: 'http';
  readonly preset: 'powerdns' | undefined;
  readonly url: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | undefined;
  readonly apiKey: string | undefined;
  readonly token: string | undefined;
  readonly successStatus: readonly number[];
  readonly ca: Buffer | undefined;
}

/** The resolved config of one http entry; throws RblError naming the key at fault. */
export function resolveHttpConfig(raw: RawHttpBackend, context: BackendResolveContext): HttpBackendConfig {
  const { path, key } = context;
  const zones = resolveZones(raw.zones, context);
  const deleteTypes = resolveDeleteTypes(raw.delete);
  const url = checkedUrl(raw.url, `${path}: ${key}.url`);
  const powerDns = raw.preset === 'powerdns';
  // The PowerDNS API URL ends in the zone: .../zones/rbl.example.net.
  const lastSegment = url.pathname.split('/').filter(Boolean).pop() ?? '';
  // ".../zones" and a {zone} template name no zone: the zones are the listed ones (powerDnsZoneUrl).
  if (powerDns && zones.length === 0 && (lastSegment === 'zones' || raw.url.includes('{zone}'))) {
    throw new RblError('RBL_CONFIG_INVALID', `${path}: ${key}.zones: list at least one zone: the url (${lastSegment === 'zones' ? 'ending in /zones' : 'with {zone}'}) names none`);
  }
  const urlZone = powerDns && zones.length === 0 ? decodeURIComponent(lastSegment).toLowerCase().replace(/\.$/, '') : undefined;
  const presetZones = urlZone === undefined ? zones : [urlZone];
  if (presetZones.length === 0 || presetZones[0] === '') throw new RblError('RBL_CONFIG_INVALID', `${path}: ${key}.zones: list at least one zone`);
  // The zone taken from the API URL is held to what a listed zone is.
  const urlZoneProblem = urlZone === undefined ? undefined : zoneProblem(urlZone);
  if (urlZoneProblem) throw new RblError('RBL_CONFIG_INVALID', `${path}: ${key}.url: the zone it ends in, ${urlZoneProblem}`);
  if (!powerDns) {
    const problem = templateProblem(raw.url, raw.body);
    if (problem) throw new RblError('RBL_CONFIG_INVALID', `${path}: ${key}: ${problem}`);
  }
  const method = (raw.method ?? (powerDns ? 'PATCH' : 'DELETE')).toUpperCase();
  if (!HTTP_TOKEN.test(method)) throw new RblError('RBL_CONFIG_INVALID', `${path}: ${key}.method: ${JSON.stringify(method)} is not an HTTP method (one word, such as DELETE or POST)`);
  for (const [name, value] of Object.entries(raw.headers)) {
    if (!HTTP_TOKEN.test(name)) throw new RblError('RBL_CONFIG_INVALID', `${path}: ${key}.headers: ${JSON.stringify(name)} is not a header name (letters, digits and !#$%&'*+-.^_\`|~ only)`);
    // The value is not quoted: it may be a credential.
    if (/[\r\n\0]/.test(value)) throw new RblError('RBL_CONFIG_INVALID', `${path}: ${key}.headers.${name}: the value holds a line break or NUL, which no header may`);
  }
  const ca = raw.ca_file ? context.readFile(raw.ca_file, `${key}.ca_file`) : undefined;
  return Object.freeze({
    type: 'http',
    name: raw.name ?? `http ${url.host}`,
    preset: raw.preset,
    url: raw.url,
    zones: presetZones,
    method,
    headers: Object.freeze({ ...raw.headers }),
    body: raw.body,
    apiKey: raw.api_key_file ? context.readSecret(raw.api_key_file, `${key}.api_key_file`) : undefined,
    token: raw.token_file ? context.readSecret(raw.token_file, `${key}.token_file`) : undefined,
    successStatus: Object.freeze(raw.success_status ?? (powerDns ? [204] : [200, 201, 202, 204])),
    deleteTypes,
    timeoutMs: durationMs(raw.timeout),
    ca,
  });
}

/** RFC 9110 §5.6.2: a method and a header name are tokens; Node throws at each request for anything else. */
const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** RFC 3986 §3.2.1: userinfo = *( unreserved / pct-encoded / sub-delims / ":" ). */
const RFC_USERINFO = /^(?:[\w.~!$&'()*+,;=:-]|%[0-9a-f]{2})*$/i;

/**
 * The url (placeholders filled in) as Node reads it, taken only if written as RFC 3986 has it
 * where a credential may be: http:// or https:// and the host, a user name and password
 * percent-encoded, no white space or control character, no fragment. Node's URL takes more (a
 * second @ or a space in a password, a tab it drops, `http:host`), but curl refuses such a URL and
 * other tools read it differently. The refusal never quotes the url: it may hold a password.
 */
function checkedUrl(text: string, where: string): URL {
  const refuse = (problem: string): RblError => new RblError('RBL_CONFIG_INVALID', `${where}: ${problem}`);
  if (!/^https?:\/\/[^/\\]/i.test(text)) throw refuse('write it as http://HOST/PATH or https://HOST/PATH');
  const userinfo = urlUserinfo(text);
  if (userinfo !== undefined && !(RFC_USERINFO.test(userinfo) && decodesAsUtf8(userinfo))) {
    throw refuse('the user name and password must be percent-encoded (RFC 3986 §3.2.1): write @ as %40, % as %25 and a space as %20, as encodeURIComponent does (the password is not shown here)');
  }
  if (/[\s\p{Cc}]/u.test(text)) throw refuse('holds white space or a control character: percent-encode it (a space is %20)');
  if (text.includes('#')) throw refuse('a #fragment is never sent: if # is part of a password or a value, write it as %23');
  try {
    return new URL(text.replace(/\{(address|name|zone)\}/g, 'x'));
  } catch {
    throw refuse('not a URL (not shown here, as it may hold a password); a / or ? in the user name or password must be percent-encoded too');
  }
}

// Node decodes the user name and password for the Authorization header, and throws on an escape that is not UTF-8.
function decodesAsUtf8(text: string): boolean {
  try {
    decodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}

/** The preset, method and URL (credentials in it redacted), for check-config. */
export function httpSummary(config: HttpBackendConfig): BackendSummary {
  return {
    fields: { preset: config.preset ?? null, url: redactUrl(config.url), method: config.method },
    how: `HTTP ${config.method} ${redactUrl(config.url)}${config.preset ? ` (${config.preset})` : ''}`,
  };
}
