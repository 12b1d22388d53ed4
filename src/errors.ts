/**
 * Every error rbl-unlist reports is an RblError with one of the codes below. The README's
 * "Errors" table documents each code (what happened, what to do); test/unit/errors.test.ts
 * checks that the table and this list agree.
 */
import { redactUrlsIn } from './redact.js';

/** Each code: what happened, and what the operator should do. The README's error table holds the same words. */
export const ERROR_CODES = {
  // configuration and usage (exit 2)
  RBL_USAGE: ['bad command-line usage', 'see `rbl-unlist COMMAND --help`'],
  RBL_CONFIG_READ: ['the config file could not be read', 'check the path given by --config or $RBL_UNLIST_CONFIG and its permissions'],
  RBL_CONFIG_SYNTAX: ['the config file is not valid YAML', 'fix the line named in the message'],
  RBL_CONFIG_UNKNOWN_KEY: ['the config has a key rbl-unlist does not know', 'check its spelling against the README reference'],
  RBL_CONFIG_INVALID: ['a config value is missing or wrong', 'the message names the key and what is expected'],
  RBL_SECRET_FILE: ['a secret, key or token file could not be read or is empty', 'check the path and that the service user can read it'],
  RBL_TSIG_KEYFILE: ['the TSIG key file does not parse', 'it must be a BIND key file as `tsig-keygen NAME` writes it'],
  RBL_TLS_CERTIFICATE: ['a RadSec certificate, key or CA file does not load', 'check radius.tls: PEM files, and that key_file holds the key of certificate_file'],
  RBL_DICTIONARY: ['a RADIUS dictionary file could not be read or parsed', 'check radius.dictionaries'],
  RBL_ADDRESS_INVALID: ['an address or prefix does not parse', 'give an IPv4 or IPv6 address, or a prefix such as 2001:db8:1:200::/56'],
  // safety refusals (exit 1 from `unlist`)
  RBL_ADDRESS_OUTSIDE_POOLS: ['the address is outside the configured pools', 'only pool addresses are unlisted (use `unlist --force` by hand if you are sure)'],
  RBL_ADDRESS_PROTECTED: ['the address is in 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104, where RFC 5782 test entries live', 'it is never unlisted'],
  // DNS UPDATE backend (exit 1)
  RBL_DNS_TIMEOUT: ['the DNS server did not answer in time', 'check that it runs, the server address and port, and firewalls'],
  RBL_DNS_CONNECTION: ['the DNS server refused or dropped the connection', 'check that it runs and listens on the configured address and port'],
  RBL_DNS_BADKEY: ['the server does not know the TSIG key (NOTAUTH/BADKEY)', 'check the key name and algorithm in the key file against the server'],
  RBL_DNS_BADSIG: ['the server rejected the TSIG signature (NOTAUTH/BADSIG)', 'the secret in the key file differs from the server\'s'],
  RBL_DNS_BADTIME: ['the server rejected the TSIG time (NOTAUTH/BADTIME)', 'the clocks of this host and the server differ by more than the fudge, fix NTP'],
  RBL_DNS_NOTAUTH: ['the server is not authoritative for the zone (NOTAUTH)', 'check the zone name and that the server is its primary'],
  RBL_DNS_REFUSED: [
    'the server refused the update (REFUSED), or a query (`check`, the probe); while it refuses every name of the zone the unlists wait and are retried, a name refused while others are taken is a dead letter',
    'the zone is frozen for a hand edit (`rndc thaw ZONE`, `knotc zone-thaw ZONE`): the unlists go out by themselves after the thaw; or its update-policy or ACL does not grant this key the zone, the names or the record types: fix it, then `rbl-unlist queue retry` for the dead letters',
  ],
  RBL_DNS_NOTZONE: ['a name in the update is outside the zone (NOTZONE)', 'check the zone name'],
  RBL_DNS_NXDOMAIN: ['the zone does not exist on the server', 'check the zone name'],
  RBL_DNS_SERVFAIL: ['the server failed to process the update (SERVFAIL)', 'see the server\'s log; the service retries the update, a one-shot `unlist` does not (run it again)'],
  RBL_DNS_FORMERR: ['the server could not parse the update (FORMERR)', 'please report this as a bug with the server\'s log line'],
  RBL_DNS_RCODE: ['the server answered with an unexpected response code', 'see the server\'s log'],
  RBL_DNS_BAD_RESPONSE: ['the answer from the DNS server was malformed, unsigned or wrongly signed', 'check the key and that nothing else answers on that address'],
  // HTTP backend (exit 1)
  RBL_HTTP_AUTH: [
    "the HTTP API rejected the API key or token (401/403); the service's unlists wait and are retried (a 403 for one name while the API takes others is that name's dead letter)",
    'check api_key_file or token_file, and reload: the waiting unlists go out by themselves',
  ],
  RBL_HTTP_NOT_FOUND: ['the HTTP API does not know the zone or URL (404)', 'check url and the zone name'],
  RBL_HTTP_STATUS: [
    'the HTTP API answered with an unexpected status, or redirected (`… redirects (…) to https://…`: redirects are not followed, as they would carry the credentials), or a success status came with an HTML page (`… answered 200 with an HTML page (…)`: a captive portal\'s or a proxy\'s, not the API\'s answer)',
    'see its log; the service retries a 5xx, a 407, 408 or 429, a redirect and an HTML page (waiting as long as a `Retry-After` asks, up to 60 s), a one-shot `unlist` does not; for a redirect, set `url` to the address named and reload (the waiting unlists go out then); for an HTML page, see Troubleshooting',
  ],
  RBL_HTTP_TIMEOUT: ['the HTTP API did not answer in time', 'check that it runs and the url'],
  RBL_HTTP_CONNECTION: ['the HTTP API could not be reached (connection refused, TLS or DNS failure), or its answer was cut off: larger than 64 MiB, or past the 128 MiB a backend keeps of the answers it reads at once', 'check url and ca_file; an answer cut off is not the API\'s: check that url reaches the API; the service retries'],
  // state and service
  RBL_STATE_DIR: [
    'the state directory could not be created or written, or another rbl-unlist holds its lock',
    'check state.dir and its owner; when it is locked, the message names the holder: stop it, or, for a lock of 0.3 that no running service holds, delete `state.dir/lock`',
  ],
  RBL_BACKEND_REMOVED: [
    'no backend in the config serves the zone of these unlists any more: they are kept as dead letters',
    'put a backend for the zone back in the config, reload, and run `rbl-unlist queue retry`; `rbl-unlist queue drop` if they are not wanted',
  ],
  RBL_JOURNAL_CORRUPT: ['the journal has a corrupt record', 'a torn tail was cut, or a corrupt stretch skipped and the records after it replayed; see the warning (Troubleshooting)'],
  RBL_SERVICE_UNREACHABLE: [
    'the running service did not answer on http.listen, or answered `busy` (8 requests for `/status` or `/addresses` were waiting already)',
    'check that `rbl-unlist serve` runs with this config and that http.listen is not ""; when busy, ask again in a moment, and look for a script or dashboard asking in a loop',
  ],
  RBL_LISTEN: ['a socket could not be bound', 'check that the address exists on this host and the port is free (ports below 1024 need privileges)'],
  RBL_LISTED: ['`check` found the address listed in a zone', 'see the TXT reason; unlist it with `rbl-unlist unlist` if it is a dynamic address that should not be listed'],
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface RblErrorOptions {
  cause?: unknown;
  /** A transient failure is retried (timeouts, SERVFAIL, 5xx); a permanent one becomes a dead letter. */
  transient?: boolean;
  /**
   * The server refused the change (a signed REFUSED): for good when it takes other names of the
   * zone, for now when it refuses them all (a zone frozen for a hand edit); see queue/refusal-pass.ts.
   */
  refusal?: boolean;
  /** How long the server asked us to wait before trying again (an HTTP Retry-After), in ms. */
  retryAfterMs?: number | undefined;
}

/** A coded, operator-facing error: the message says what is wrong and what to check. */
export class RblError extends Error {
  readonly code: ErrorCode;
  readonly transient: boolean;
  readonly refusal: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options: RblErrorOptions = {}) {
    // Messages are printed, logged and served by /readyz: a URL in one never carries its credentials.
    super(redactUrlsIn(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RblError';
    this.code = code;
    this.transient = options.transient ?? false;
    this.refusal = options.refusal ?? false;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** The exit status for an error per the contract: 2 for bad usage or configuration, 1 otherwise. */
export function exitStatusFor(error: unknown): 1 | 2 {
  if (!(error instanceof RblError)) return 1;
  switch (error.code) {
    case 'RBL_USAGE':
    case 'RBL_CONFIG_READ':
    case 'RBL_CONFIG_SYNTAX':
    case 'RBL_CONFIG_UNKNOWN_KEY':
    case 'RBL_CONFIG_INVALID':
    case 'RBL_SECRET_FILE':
    case 'RBL_TSIG_KEYFILE':
    case 'RBL_DICTIONARY':
    case 'RBL_TLS_CERTIFICATE':
    case 'RBL_ADDRESS_INVALID':
      return 2;
    default:
      return 1;
  }
}

/** Whether a value is an RblError, optionally of a given code. */
export function isRblError(value: unknown, code?: ErrorCode): value is RblError {
  return value instanceof RblError && (code === undefined || value.code === code);
}
