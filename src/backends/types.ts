/**
 * What every backend (DNS UPDATE, HTTP API) offers the queue worker and the CLI. A backend
 * serves one or more zones; each call names one zone, so one zone's failure never hides another's.
 */
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
  /** Proves the server answers and accepts the credentials, changing nothing. */
  probe(zone: string): Promise<void>;
  /** What unlist would send, as text (nsupdate syntax for DNS UPDATE), for --dry-run. */
  describe(zone: string, targets: readonly IpPrefix[]): string;
  /** Releases sockets and agents. */
  close(): Promise<void>;
}
