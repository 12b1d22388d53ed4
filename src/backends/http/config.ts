/**
 * Resolves a `type: http` entry: the URL template, credentials read from their files, the CA, and
 * what `preset: powerdns` fills in (the zone from the API URL, PATCH, 204).
 */
import { durationMs } from '../../config/duration.js';
import { RblError } from '../../errors.js';
import { redactUrl } from '../../redact.js';
import type { BackendConfigBase, BackendResolveContext, BackendSummary } from '../types.js';
import { resolveDeleteTypes, resolveZones } from '../zones.js';
import type { RawHttpBackend } from './schema.js';

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
  let url: URL;
  try {
    url = new URL(raw.url.replace(/\{(address|name|zone)\}/g, 'x'));
  } catch {
    throw new RblError('RBL_CONFIG_INVALID', `${path}: ${key}.url: "${raw.url}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RblError('RBL_CONFIG_INVALID', `${path}: ${key}.url: use http or https`);
  const powerDns = raw.preset === 'powerdns';
  // The PowerDNS API URL ends in the zone: .../zones/rbl.example.net.
  const presetZones = powerDns && zones.length === 0
    ? [decodeURIComponent(url.pathname.split('/').filter(Boolean).pop() ?? '').toLowerCase().replace(/\.$/, '')]
    : zones;
  if (presetZones.length === 0 || presetZones[0] === '') throw new RblError('RBL_CONFIG_INVALID', `${path}: ${key}.zones: list at least one zone`);
  const ca = raw.ca_file ? context.readFile(raw.ca_file, `${key}.ca_file`) : undefined;
  return Object.freeze({
    type: 'http',
    name: raw.name ?? `http ${url.host}`,
    preset: raw.preset,
    url: raw.url,
    zones: presetZones,
    method: (raw.method ?? (powerDns ? 'PATCH' : 'DELETE')).toUpperCase(),
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

/** The preset, method and URL (credentials in it redacted), for check-config. */
export function httpSummary(config: HttpBackendConfig): BackendSummary {
  return {
    fields: { preset: config.preset ?? null, url: redactUrl(config.url), method: config.method },
    how: `HTTP ${config.method} ${redactUrl(config.url)}${config.preset ? ` (${config.preset})` : ''}`,
  };
}
