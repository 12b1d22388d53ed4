/**
 * The floor under Stop-to-unlisted latency: what the DNS server alone takes to apply the deletes of
 * Stops arriving at the latency run's pace, with no daemon in between. Names "arrive" on the same
 * schedule as the paced Stops, and one UPDATE at a time carries every name that arrived while the
 * one before was under way, as a lane of the daemon does at that pace (one call in flight; a second
 * only for a backlog of half a batch). Each name's latency runs from its arrival to BIND's answer.
 *
 * The daemon cannot unlist a Stop before the DNS server has answered its UPDATE, so the latency
 * target is judged beside this figure: on a virtual machine whose disk and scheduler have a tail of
 * their own, BIND's answer (which follows its journal's fsync) is most of a Stop's p99 (issue 13).
 */
import { createDnsUpdateBackend } from '../src/backends/dns-update/backend.js';
import type { TsigKey } from '../src/backends/dns-update/keyfile.js';
import { parsePrefix, type IpPrefix } from '../src/net/address.js';
import { dnsUpdateConfig } from '../test/helpers/dns.js';
import { percentile } from './daemon-runs.js';
import { nowMs } from './load.js';
import { addressOf, type BenchZone } from './zone.js';

export interface DnsFloorResult {
  readonly ratePerSecond: number;
  readonly names: number;
  /** UPDATEs carrying names that count (after the warm-up). */
  readonly updates: number;
  readonly failures: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly firstError?: string;
}

/** The most names one UPDATE carries, as the daemon's lanes send (queue/store.ts). */
const MAX_NAMES_PER_UPDATE = 500;

/** Deletes the zone's names at `ratePerSecond` through this build's DNS UPDATE client, one UPDATE at a time; the first `warmupNames` are not counted. */
export async function measureDnsFloor(options: { bindPort: number; key: TsigKey; zone: BenchZone; ratePerSecond: number; warmupNames: number }): Promise<DnsFloorResult> {
  const backend = createDnsUpdateBackend(dnsUpdateConfig(options.bindPort, [options.zone.name], options.key, { name: 'bench' }));
  const targets: IpPrefix[] = Array.from({ length: options.zone.count }, (_, i) => parsePrefix(addressOf(options.zone, i)));
  const arrival = (index: number, startedAt: number): number => startedAt + (index * 1000) / options.ratePerSecond;
  const latencies: number[] = [];
  let updates = 0;
  let failures = 0;
  let firstError: string | undefined;
  // Bounded in time as every load is: the names' schedule plus a minute for a server that stalls.
  const deadline = nowMs() + (options.zone.count * 1000) / options.ratePerSecond + 60_000;
  try {
    const startedAt = nowMs();
    let next = 0;
    while (next < targets.length && nowMs() < deadline) {
      const waitMs = arrival(next, startedAt) - nowMs();
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
      const now = nowMs();
      let end = next + 1;
      while (end < targets.length && end - next < MAX_NAMES_PER_UPDATE && arrival(end, startedAt) <= now) end++;
      try {
        await backend.unlist(options.zone.name, targets.slice(next, end));
        const answeredAt = nowMs();
        // The first names are not counted, as the latency run's warm-up Stops are not.
        for (let i = Math.max(next, options.warmupNames); i < end; i++) latencies.push(answeredAt - arrival(i, startedAt));
      } catch (error) {
        failures++;
        firstError ??= (error as Error).message;
      }
      if (end > options.warmupNames) updates++;
      next = end;
    }
  } finally {
    await backend.close();
  }
  latencies.sort((a, b) => a - b);
  return {
    ratePerSecond: options.ratePerSecond,
    names: latencies.length,
    updates,
    failures,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? Number.NaN,
    firstError,
  };
}
