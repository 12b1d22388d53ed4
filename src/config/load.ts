/**
 * Reads the YAML config once, validates it against the schema (unknown keys rejected), resolves
 * relative paths, reads every secret and key file, and returns one frozen {@link Config}. Each
 * backend entry and each transport's keys are resolved by their own folder's step, with the
 * files and endpoints this module lends them; problems of every part are reported together.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { RblError } from '../errors.js';
import { formatAddressBytes, parsePrefix, type IpPrefix } from '../net/address.js';
import type { BackendConfig, BackendRegistry, BackendResolveContext } from '../backends/index.js';
import { configError, schemaProblems, yamlProblem, type ConfigProblem } from './problems.js';
import { resolveTransportConfigs, type TransportConfigs } from '../radius/transports/config.js';
import type { ResolveContext, TransportName } from '../radius/transports/types.js';
import { durationMs } from './duration.js';
import { configSchemaFor, type RawConfig } from './schema.js';
import { hostPort } from '../net/host-port.js';

export type { BackendConfig } from '../backends/index.js';

/** The default config path when neither --config nor $RBL_UNLIST_CONFIG is given. */
export const DEFAULT_CONFIG_PATH = '/etc/rbl-unlist/config.yaml';

/** RFC 6614 §2.3: the shared secret of RADIUS over TLS, unless configured otherwise. */
const RADSEC_SECRET = 'radsec';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
}

export interface ClientConfig {
  readonly name: string;
  readonly address: IpPrefix;
  readonly secret: Buffer;
  /** Where the secret came from, for messages: "secret" or the file path. */
  readonly secretSource: string;
  readonly pools: readonly IpPrefix[];
  /** How it reaches us: udp (also when absent), or tls (RadSec, RFC 6614). */
  readonly transport?: TransportName;
  /** RadSec: a DNS SAN (else the subject CN) its certificate must carry. */
  readonly certificateName?: string;
  /** The most sessions its NASes may hold in the table; past it a new one evicts the client's own oldest. */
  readonly maxSessions?: number;
}

export type UnlistTrigger = 'stop' | 'start' | 'accounting-on' | 'accounting-off';

export interface Config {
  /** Absolute path of the file this was read from. */
  readonly file: string;
  /** listen (UDP) and tls (RadSec) come from the transports' own config steps. */
  readonly radius: TransportConfigs & {
    readonly clients: readonly ClientConfig[];
    readonly dictionaries: readonly string[];
  };
  readonly pools: readonly IpPrefix[];
  readonly unlistOn: ReadonlySet<UnlistTrigger>;
  readonly backends: readonly BackendConfig[];
  /**
   * state.max_unwritten: the requests (and their journal records) that may wait for the journal's
   * write (to the disk) at once; past it a new request is not answered (the NAS retransmits).
   */
  readonly state: { readonly dir: string; readonly ack: 'journal' | 'unlisted'; readonly maxUnwritten: number };
  /** sessions.max_age, and sessions.max: the cap past which the oldest sessions are evicted. */
  readonly sessions: { readonly maxAgeMs: number; readonly max: number };
  /** The monitoring endpoint, and how often backends are probed for /readyz. */
  readonly http: { readonly listen: Endpoint | undefined; readonly probeIntervalMs: number };
  /** format: pino JSON lines (json, the default) or one readable line per entry for a terminal (pretty). */
  readonly log: { readonly level: string; readonly format: 'json' | 'pretty' };
  /** Secret and key files readable by group or others, for check-config's warnings. */
  readonly looseFiles: readonly string[];
}

/** The config path: --config, then $RBL_UNLIST_CONFIG, then /etc/rbl-unlist/config.yaml. */
export function configPath(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(option ?? env.RBL_UNLIST_CONFIG ?? DEFAULT_CONFIG_PATH);
}

/**
 * Reads, validates and freezes the config file; throws RblError (exit 2) naming what is wrong.
 * `backends` are the backend types its entries may name: the caller's list (the product's is
 * BACKENDS of src/backends/index.ts), so config/ knows no backend type of its own.
 */
export function loadConfig(file: string, backends: BackendRegistry): Config {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new RblError('RBL_CONFIG_READ', `cannot read config ${path}: ${readFailure(error)}`, { cause: error });
  }
  return parseConfig(text, path, backends);
}

/** Validates config text as if read from `path` (relative paths resolve against its folder), with `backends`' types. */
export function parseConfig(text: string, path: string, backends: BackendRegistry): Config {
  const document = parseDocument(text, { uniqueKeys: true });
  if (document.errors.length > 0) {
    const problems = document.errors.map((error) => yamlProblem(error, text));
    throw configError(path, problems.filter((problem, i) => problems.findIndex((other) => other.text === problem.text) === i));
  }
  const input: unknown = document.toJS() ?? {};
  const schema = schemaOf(backends);
  const result = schema.safeParse(input);
  if (!result.success) throw configError(path, schemaProblems(result.error, schema, input));
  // Each backend entry is resolved by its own type's step in the registry.
  return resolveConfig(result.data as RawConfig, path, backends);
}

/** The config schema of each backend list, built once: a SIGHUP reload reuses it. */
const schemas = new WeakMap<BackendRegistry, ReturnType<typeof configSchemaFor>>();

function schemaOf(backends: BackendRegistry): ReturnType<typeof configSchemaFor> {
  let schema = schemas.get(backends);
  if (!schema) schemas.set(backends, (schema = configSchemaFor(backends)));
  return schema;
}

/** Why a file could not be read, in words (the path is already in the message). */
function readFailure(error: unknown): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return `no such file (ENOENT); give the config file with --config FILE or $RBL_UNLIST_CONFIG (the default is ${DEFAULT_CONFIG_PATH})`;
    case 'EACCES':
      return 'permission denied (EACCES); the user running rbl-unlist must be able to read it';
    case 'EISDIR':
      return 'it is a folder, not a file (EISDIR)';
    default:
      return (error as Error).message;
  }
}

function resolveConfig(raw: RawConfig, path: string, backendTypes: BackendRegistry): Config {
  const base = dirname(path);
  const looseFiles: string[] = [];
  // Every value is checked, and all problems are reported together at the end. A failed step
  // yields a placeholder that never leaves this function: the config is not returned then.
  const problems: ConfigProblem[] = [];
  const attempt = <T>(step: () => T): T => {
    try {
      return step();
    } catch (error) {
      if (!(error instanceof RblError)) throw error;
      problems.push({ code: error.code, text: error.message.startsWith(`${path}: `) ? error.message.slice(path.length + 2) : error.message });
      return undefined as T;
    }
  };
  const file = (relative: string): string => resolve(base, relative);
  const readSecret = (relative: string, key: string): string => {
    const full = file(relative);
    let content: string;
    try {
      content = readFileSync(full, 'utf8');
      if ((statSync(full).mode & 0o077) !== 0) looseFiles.push(full);
    } catch (error) {
      throw new RblError('RBL_SECRET_FILE', `${path}: ${key}: cannot read ${full}: ${(error as Error).message}`, { cause: error });
    }
    const trimmed = content.trim();
    if (trimmed === '') throw new RblError('RBL_SECRET_FILE', `${path}: ${key}: ${full} is empty`);
    return trimmed;
  };
  const readConfigFile = (relative: string, key: string, secret: boolean): Buffer => {
    const full = file(relative);
    try {
      const content = readFileSync(full);
      if (secret && (statSync(full).mode & 0o077) !== 0) looseFiles.push(full);
      return content;
    } catch (error) {
      throw new RblError('RBL_SECRET_FILE', `${path}: ${key}: cannot read ${full}: ${(error as Error).message}`, { cause: error });
    }
  };
  const prefix = (text: string, key: string): IpPrefix => {
    try {
      return parsePrefix(text);
    } catch {
      throw new RblError('RBL_CONFIG_INVALID', `${path}: ${key}: "${text}" is not an address or CIDR prefix`);
    }
  };

  const names = new Set<string>();
  const clients = raw.radius.clients.map((client, index): ClientConfig => {
    const key = `radius.clients.${index}`;
    if (names.has(client.name)) problems.push({ code: 'RBL_CONFIG_INVALID', text: `${key}.name: "${client.name}" is used twice` });
    names.add(client.name);
    // RFC 6614 §2.3: over TLS the shared secret is "radsec" unless both ends agree on another.
    const secret = client.secret ?? (client.secret_file ? attempt(() => readSecret(client.secret_file!, `${key}.secret_file`)) ?? '' : RADSEC_SECRET);
    if (client.certificate_name !== undefined && client.transport !== 'tls') {
      problems.push({ code: 'RBL_CONFIG_INVALID', text: `${key}.certificate_name: only a client with transport: tls has a certificate` });
    }
    return Object.freeze({
      name: client.name,
      address: attempt(() => prefix(client.address, `${key}.address`)),
      secret: Buffer.from(secret, 'utf8'),
      secretSource: client.secret_file ? file(client.secret_file) : client.secret === undefined ? 'radsec (RFC 6614 default)' : `${key}.secret`,
      pools: Object.freeze(client.pools.map((pool, i) => attempt(() => prefix(pool, `${key}.pools.${i}`)))),
      transport: client.transport,
      certificateName: client.certificate_name,
      maxSessions: client.max_sessions,
    });
  });

  const backendNames = new Set<string>();
  const backends = raw.backends.map((backend, index): BackendConfig => attempt(() => {
    const key = `backends.${index}`;
    const context: BackendResolveContext = {
      path,
      key,
      file,
      readSecret,
      readFile: (relative, fileKey) => readConfigFile(relative, fileKey, false),
      endpoint: (text, endpointKey, defaultPort) => endpoint(text, endpointKey, path, defaultPort),
    };
    const result = backendTypes.resolve(backend, context);
    if (backendNames.has(result.name)) throw new RblError('RBL_CONFIG_INVALID', `${path}: ${key}.name: "${result.name}" is used twice; give each backend its own name`);
    backendNames.add(result.name);
    return result;
  }));

  const transportContext: ResolveContext = {
    path,
    file,
    readFile: readConfigFile,
    endpoint: (text, key, defaultPort) => attempt(() => endpoint(text, key, path, defaultPort)),
  };
  const transports: TransportConfigs = attempt(() => resolveTransportConfigs(raw.radius, transportContext)) ?? { listen: [], tls: undefined };
  if (!transports.tls && clients.some((client) => client.transport === 'tls')) {
    problems.push({ code: 'RBL_CONFIG_INVALID', text: 'radius.tls: a client has transport: tls, so radius.tls must name the certificate, key and CA' });
  }

  const config: Config = {
    file: path,
    radius: Object.freeze({
      ...transports,
      clients: Object.freeze(clients),
      dictionaries: Object.freeze(raw.radius.dictionaries.map(file)),
    }),
    pools: Object.freeze(raw.pools.map((pool, i) => attempt(() => prefix(pool, `pools.${i}`)))),
    unlistOn: new Set(raw.unlist_on),
    backends: Object.freeze(backends),
    state: Object.freeze({ dir: file(raw.state.dir), ack: raw.state.ack, maxUnwritten: raw.state.max_unwritten }),
    sessions: Object.freeze({ maxAgeMs: durationMs(raw.sessions.max_age), max: raw.sessions.max }),
    http: Object.freeze({
      listen: raw.http.listen === '' ? undefined : attempt(() => endpoint(raw.http.listen, 'http.listen', path, 9813)),
      probeIntervalMs: durationMs(raw.http.probe_interval),
    }),
    log: Object.freeze({ level: raw.log.level, format: raw.log.format }),
    looseFiles: Object.freeze([...new Set(looseFiles)]),
  };
  if (problems.length > 0) throw configError(path, problems);
  return Object.freeze(config);
}

/**
 * Parses "host:port", "[v6]:port" or a bare host (with the default port). The host is kept in
 * canonical text (RFC 5952 for IPv6), so logs, check-config and errors name an address one way.
 */
export function endpoint(text: string, key: string, path: string, defaultPort: number): Endpoint {
  const match = /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? /^([^:]+)(?::(\d+))?$/.exec(text);
  const bad = () => new RblError('RBL_CONFIG_INVALID', `${path}: ${key}: "${text}" is not host:port (use "[::1]:${defaultPort}" for IPv6)`);
  if (!match) throw bad();
  const host = match[1]!;
  const port = match[2] === undefined ? defaultPort : Number(match[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RblError('RBL_CONFIG_INVALID', `${path}: ${key}: "${text}": port ${match[2]} is out of range (0 to 65535)`);
  }
  let address: IpPrefix;
  try {
    address = parsePrefix(host);
  } catch {
    throw bad();
  }
  // parsePrefix takes "127.0.0.1/8" too; as an address to send to or listen on it would fail only
  // at run time, as a connection error.
  const slash = host.indexOf('/');
  if (slash !== -1) {
    const alone = hostPort(host.slice(0, slash), port);
    throw new RblError('RBL_CONFIG_INVALID', `${path}: ${key}: "${text}" is a prefix, not an address: give the address alone, as "${alone}"`);
  }
  // A zone index ("%eth0") picks the interface of a link-local address: it is kept as written.
  const zone = host.indexOf('%');
  const canonical = formatAddressBytes(address.bytes) + (zone === -1 ? '' : host.slice(zone));
  return Object.freeze({ host: canonical, port, family: address.family });
}
