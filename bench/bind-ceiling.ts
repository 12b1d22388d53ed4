/**
 * BIND's ceiling with the project's own DNS UPDATE backend (direct encoder, TSIG signing and
 * response verification, UDP/TCP transport, kept TCP connections), without the daemon: the same
 * deletes (A and TXT at each name) sent `namesPerMessage` names to a message, `concurrency`
 * messages in flight. One name per message is what nsupdate-per-Stop setups send, at best. With
 * `client`, another build's backend sends them (the previous release's, a TCP connection per UPDATE).
 */
import { createDnsUpdateBackend } from '../src/backends/dns-update/backend.js';
import type { DnsUpdateBackendConfig } from '../src/backends/dns-update/config.js';
import type { Backend } from '../src/backends/types.js';
import type { TsigKey } from '../src/backends/dns-update/keyfile.js';
import { parsePrefix, type IpPrefix } from '../src/net/address.js';
import { dnsUpdateConfig } from '../test/helpers/dns.js';
import { nowMs } from './load.js';
import { addressOf, type BenchZone } from './zone.js';

export interface CeilingOptions {
  readonly bindPort: number;
  readonly key: TsigKey;
  readonly zone: BenchZone;
  /** The zone's addresses from `first` on, `count` of them (default: all). */
  readonly first?: number;
  readonly count?: number;
  readonly namesPerMessage: number;
  readonly concurrency: number;
  /** Stops starting messages after this long. */
  readonly maxDurationMs: number;
  /** Makes the backend that sends the UPDATEs; default this build's. */
  readonly client?: (config: DnsUpdateBackendConfig) => Backend;
}

export interface CeilingResult {
  readonly names: number;
  readonly messages: number;
  readonly failures: number;
  readonly seconds: number;
  readonly namesPerSecond: number;
  readonly firstError?: string;
}

/** Deletes the zone's names through the backend and measures names per second. */
export async function measureBindCeiling(options: CeilingOptions): Promise<CeilingResult> {
  const backend = (options.client ?? createDnsUpdateBackend)(dnsUpdateConfig(options.bindPort, [options.zone.name], options.key, { name: 'bench' }));
  const targets: IpPrefix[] = [];
  const first = options.first ?? 0;
  const end = Math.min(options.zone.count, first + (options.count ?? options.zone.count));
  for (let i = first; i < end; i++) targets.push(parsePrefix(addressOf(options.zone, i)));
  let next = 0;
  let names = 0;
  let messages = 0;
  let failures = 0;
  let firstError: string | undefined;
  const started = nowMs();
  const deadline = started + options.maxDurationMs;
  const sender = async (): Promise<void> => {
    while (next < targets.length && nowMs() < deadline) {
      const batch = targets.slice(next, next + options.namesPerMessage);
      next += batch.length;
      try {
        await backend.unlist(options.zone.name, batch);
        names += batch.length;
        messages++;
      } catch (error) {
        failures++;
        firstError ??= (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, sender));
  const seconds = (nowMs() - started) / 1000;
  await backend.close();
  return { names, messages, failures, seconds, namesPerSecond: names / seconds, firstError };
}

/** The best of one-name-per-message runs at several concurrencies (BIND drops UPDATEs when too many are in flight). */
export async function sweepSingleNameCeiling(
  options: Omit<CeilingOptions, 'namesPerMessage' | 'concurrency' | 'first' | 'count'>,
  concurrencies: readonly number[],
): Promise<{ best: CeilingResult & { concurrency: number }; runs: (CeilingResult & { concurrency: number })[] }> {
  const share = Math.floor(options.zone.count / concurrencies.length);
  const runs: (CeilingResult & { concurrency: number })[] = [];
  for (const [index, concurrency] of concurrencies.entries()) {
    const result = await measureBindCeiling({ ...options, first: index * share, count: share, namesPerMessage: 1, concurrency });
    runs.push({ ...result, concurrency });
  }
  const best = runs.reduce((a, b) => (b.failures === 0 && b.namesPerSecond > a.namesPerSecond ? b : a));
  return { best, runs };
}
