/**
 * Resolves a `type: dns-update` entry: the server endpoint, the TSIG key (read from the key file
 * tsig-keygen writes, or given inline), zones, record types and the time-out.
 */
import type { Endpoint } from '../../config/load.js';
import { durationMs } from '../../config/duration.js';
import type { BackendConfigBase, BackendResolveContext, BackendSummary } from '../types.js';
import { resolveDeleteTypes, resolveZones } from '../zones.js';
import { parseTsigKeyFile, tsigKey, type TsigKey } from './keyfile.js';
import type { RawDnsUpdateBackend } from './schema.js';
import { endpointText } from '../../net/host-port.js';

/** RFC 1035 §4.2: DNS servers listen on port 53. */
const DNS_PORT = 53;

export interface DnsUpdateBackendConfig extends BackendConfigBase {
  readonly type: 'dns-update';
  readonly server: Endpoint;
  readonly tsig: TsigKey;
  /** Where the key came from, for messages: the key file path or "backends.N.tsig". */
  readonly tsigSource: string;
}

/** The resolved config of one dns-update entry; throws RblError naming the key at fault. */
export function resolveDnsUpdateConfig(raw: RawDnsUpdateBackend, context: BackendResolveContext): DnsUpdateBackendConfig {
  const { key } = context;
  const zones = resolveZones(raw.zones, context);
  const deleteTypes = resolveDeleteTypes(raw.delete);
  const server = context.endpoint(raw.server, `${key}.server`, DNS_PORT);
  const tsig = raw.tsig_key_file
    ? parseTsigKeyFile(context.readSecret(raw.tsig_key_file, `${key}.tsig_key_file`), context.file(raw.tsig_key_file))
    : tsigKey(raw.tsig!.name, raw.tsig!.algorithm, raw.tsig!.secret, `${context.path}: ${key}.tsig`);
  return Object.freeze({
    type: 'dns-update',
    // The server as written, not in the endpoint's canonical form: the name keys this backend's
    // queued jobs in state.dir, and a default name that changed on upgrade would drop them.
    name: raw.name ?? `dns-update ${raw.server}`,
    server,
    zones,
    tsig,
    tsigSource: raw.tsig_key_file ? context.file(raw.tsig_key_file) : `${key}.tsig`,
    deleteTypes,
    timeoutMs: durationMs(raw.timeout),
  });
}

/** The server and key, never the secret, for check-config. */
export function dnsUpdateSummary(config: DnsUpdateBackendConfig): BackendSummary {
  return {
    fields: { server: endpointText(config.server), tsig: { name: config.tsig.name, algorithm: config.tsig.algorithm, source: config.tsigSource } },
    how: `DNS UPDATE to ${endpointText(config.server)}, TSIG key ${config.tsig.name} (${config.tsig.algorithm}) from ${config.tsigSource}`,
  };
}
