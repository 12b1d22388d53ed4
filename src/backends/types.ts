/**
 * What every backend (DNS UPDATE, HTTP API) offers the queue worker and the CLI, and the shape
 * every backend folder has: its config schema (schema.ts), the step that resolves it (config.ts),
 * a factory (backend.ts), and its readiness, which is the Backend's own `probe`. A backend serves
 * one or more zones; each call names one zone, so one zone's failure never hides another's.
 */
import type { z } from 'zod';
import type { Endpoint } from '../config/load.js';
import type { IpPrefix } from '../net/address.js';

/** What `check` found at a target's names in one zone. */
export interface Listing {
  readonly zone: string;
  /** The owner names looked up (RFC 5782 naming), each with what it holds. */
  readonly names: readonly { readonly name: string; readonly a: readonly string[]; readonly txt: readonly string[] }[];
  /** True when any name holds an A or TXT record. */
  readonly listed: boolean;
}

export interface Backend {
  /** The backend's name in logs, metrics and messages (config `name`, else type and server). */
  readonly name: string;
  readonly zones: readonly string[];
  /**
   * Deletes the DNSBL names of every target in one zone, in as few messages as the size bounds allow.
   * Unlisting what is not listed succeeds. Throws RblError; `transient` errors are worth retrying.
   */
  unlist(zone: string, targets: readonly IpPrefix[]): Promise<void>;
  /** Asks the zone's server what the target's names hold (A and TXT). */
  check(zone: string, target: IpPrefix): Promise<Listing>;
  /** Its readiness: proves the server answers and accepts the credentials, changing nothing (/readyz, check-config --probe). */
  probe(zone: string): Promise<void>;
  /** What unlist would send, as text (nsupdate syntax for DNS UPDATE), for --dry-run. */
  describe(zone: string, targets: readonly IpPrefix[]): string;
  /** Releases sockets and agents. */
  close(): Promise<void>;
}

/** The keys every resolved backend config has, whatever its type. */
export interface BackendConfigBase {
  readonly type: string;
  /** Unique among the backends: config `name`, else a default from the type and server. */
  readonly name: string;
  /** Lower case, without the trailing dot. */
  readonly zones: readonly string[];
  /** Record types to delete, upper case. */
  readonly deleteTypes: readonly string[];
  readonly timeoutMs: number;
}

/** What config/load.ts lends a backend to resolve its entry: files and endpoints, named as the config names them. */
export interface BackendResolveContext {
  /** The config file, for messages. */
  readonly path: string;
  /** "backends.N": the entry's key path, which starts every key a message names. */
  readonly key: string;
  /** An absolute path, relative paths taken from the config file's folder. */
  file(relative: string): string;
  /** A secret file's content, trimmed; notes a file others can read. Throws RblError RBL_SECRET_FILE (unreadable or empty). */
  readSecret(relative: string, key: string): string;
  /** A file that is not secret (a CA bundle). Throws RblError RBL_SECRET_FILE. */
  readFile(relative: string, key: string): Buffer;
  /** Parses "host:port" named by `key`. Throws RblError RBL_CONFIG_INVALID. */
  endpoint(text: string, key: string, defaultPort: number): Endpoint;
}

/** How check-config shows a backend beyond the common keys: JSON fields, and the words after its name. */
export interface BackendSummary {
  readonly fields: Readonly<Record<string, unknown>>;
  /** "DNS UPDATE to 127.0.0.1:53, TSIG key ...", "HTTP PATCH https://... (powerdns)". */
  readonly how: string;
}

/** A backend type's zod schema: an object whose `type` literal tells the config union which entry it is. */
export type BackendSchema = z.ZodObject<{ type: z.ZodLiteral<string> } & z.ZodRawShape>;

/** One entry of the backend list: everything the config and the daemon need of a backend type. */
export interface BackendPlugin<Schema extends BackendSchema = BackendSchema, Config extends BackendConfigBase = BackendConfigBase> {
  /** The `type` value of its config entries. */
  readonly type: Config['type'];
  readonly schema: Schema;
  /** The resolved, frozen config of one entry; throws RblError naming the key at fault. */
  resolve(raw: z.output<Schema>, context: BackendResolveContext): Config;
  /** Builds the backend; nothing is sent until a call. Throws RblError for a config it cannot serve. */
  create(config: Config): Backend;
  summary(config: Config): BackendSummary;
}
