/**
 * The measurements that run the daemon: throughput (every Stop as fast as a window allows, after
 * a warm-up) and latency (paced Stops), each against a fresh daemon process and its own zone,
 * checked at the end by AXFR.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BindServer } from '../test/helpers/bind.js';
import { freePort } from '../test/helpers/peers.js';
import { benchTempDir } from './temp-dir.js';
import type { Series } from './chart.js';
import { mainThreadSchedule, processCpuSeconds, threadCpuSeconds, threadSplit, type ThreadSchedule } from './cpu.js';
import { nowMs, runLoad, type LoadResult } from './load.js';
import type { DaemonRun, LatencyRun, StopRun } from './report.js';
import { metricSum, readDaemonLog, startBenchService, type BenchService } from './service.js';
import { BENCH_SECRET, listedNames, stopPacket, type BenchZone } from './zone.js';

/** What the daemon measurements need to know of the run's settings. */
export interface DaemonRunSettings {
  readonly window: number;
  readonly warmupStops: number;
  readonly latencyRate: number;
  readonly latencySeconds: number;
  readonly latencyWarmupSeconds: number;
  readonly cli: string | undefined;
}

/** The p-th percentile (0 to 100) of sorted values, nearest rank. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The largest value, -Infinity when there is none. */
export function maxOf(values: Iterable<number>): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const value of values) if (value > max) max = value;
  return max;
}

/** A thread's running and waiting between two readings, as shares of `seconds` (cores). */
function shareOf(after: ThreadSchedule, before: ThreadSchedule, seconds: number): ThreadSchedule {
  return { running: (after.running - before.running) / seconds, waiting: (after.waiting - before.waiting) / seconds };
}

/** Events per second in bins of binMs, as [seconds since origin, rate] points. */
function binRate(times: Iterable<number>, origin: number, binMs = 250): [number, number][] {
  const counts: number[] = [];
  for (const time of times) {
    if (!(time >= origin)) continue;
    const bin = Math.floor((time - origin) / binMs);
    counts[bin] = (counts[bin] ?? 0) + 1;
  }
  return Array.from(counts, (count, bin) => [((bin + 1) * binMs) / 1000, ((count ?? 0) * 1000) / binMs] as [number, number]);
}

interface Drain {
  readonly at: number;
  readonly unlists: number;
  readonly metrics: Map<string, number>;
}

/** Polls /metrics until `expected` targets are unlisted and the queue is empty (or 60 s pass). */
async function waitForDrain(service: BenchService, expected: number): Promise<Drain> {
  const deadline = Date.now() + 60_000;
  while (true) {
    const metrics = await service.metrics();
    const at = nowMs();
    const unlists = metricSum(metrics, 'rbl_unlist_backend_unlists_total', 'outcome="success"');
    const depth = metricSum(metrics, 'rbl_unlist_queue_depth');
    if ((unlists >= expected && depth === 0) || Date.now() > deadline) return { at, unlists, metrics };
    await sleep(50);
  }
}

export interface ThroughputOutcome {
  readonly run: DaemonRun;
  readonly acked: [number, number][];
  readonly unlisted: [number, number][];
  readonly profileFile?: string;
}

/** Sends every Stop of the zone as fast as the window allows, waits for the queue to drain, checks the zone. */
export async function daemonThroughput(bind: BindServer, zone: BenchZone, logLevel: 'info' | 'warn', settings: DaemonRunSettings, profileTo?: string): Promise<ThroughputOutcome> {
  const { dir, remove } = benchTempDir('bench-daemon');
  try {
    const warmup = settings.warmupStops;
    const packets = Array.from({ length: zone.count }, (_, i) => stopPacket(zone, i, `${logLevel}-`));
    const radiusPort = await freePort();
    const service = await startBenchService({ dir, radiusPort, httpPort: await freePort(), bindPort: bind.port, keyFile: bind.keyFile, zone: zone.name, logLevel, cpuProfile: profileTo !== undefined, cli: settings.cli });
    const startRss = service.memory().rss;
    let scraping = true;
    try {
      const scrapes: { at: number; unlists: number }[] = [];
      const sockets = Math.max(2, Math.ceil(settings.window / 64));
      // A daemon that has been running meets a burst with its code compiled: warm it up first.
      // Packet i carries Identifier i & 255, so the measured packets start at a multiple of 256.
      const warm = await runLoad({ port: radiusPort, packets: packets.slice(0, warmup), secret: BENCH_SECRET, sockets, window: settings.window, maxDurationMs: 60_000 });
      await waitForDrain(service, warm.acked);
      const scraper = (async () => {
        while (scraping) {
          const metrics = await service.metrics().catch(() => undefined);
          if (metrics) scrapes.push({ at: nowMs(), unlists: metricSum(metrics, 'rbl_unlist_backend_unlists_total', 'outcome="success"') });
          await sleep(500);
        }
      })();
      const bindPid = Number(readFileSync(join(bind.dir, 'named.pid'), 'utf8').trim());
      const cpuBefore = { daemon: processCpuSeconds(service.pid), threads: threadCpuSeconds(service.pid), mainThread: mainThreadSchedule(service.pid), bind: processCpuSeconds(bindPid), generator: process.cpuUsage() };
      const load = await runLoad({ port: radiusPort, packets: packets.slice(warmup), secret: BENCH_SECRET, sockets, window: settings.window, maxDurationMs: 120_000 });
      scraping = false;
      await scraper;
      const drain = await waitForDrain(service, warm.acked + load.acked);
      scrapes.push({ at: drain.at, unlists: drain.unlists });
      const busySeconds = (drain.at - load.startedAt) / 1000;
      const generatorCpu = process.cpuUsage(cpuBefore.generator);
      const daemonCpuSeconds = processCpuSeconds(service.pid) - cpuBefore.daemon;
      const threads = threadSplit(service.pid, cpuBefore.threads, threadCpuSeconds(service.pid));
      const perStop = (seconds: number): number => (seconds * 1e6) / load.acked;
      const cpu = {
        daemon: daemonCpuSeconds / busySeconds,
        daemonMainThread: shareOf(mainThreadSchedule(service.pid), cpuBefore.mainThread, busySeconds),
        bind: (processCpuSeconds(bindPid) - cpuBefore.bind) / busySeconds,
        generator: (generatorCpu.user + generatorCpu.system) / 1e6 / busySeconds,
      };
      const memory = service.memory();
      const written = await service.stop();
      if (written && profileTo) copyFileSync(written, profileTo);
      const profileFile = written && profileTo;
      const log = readDaemonLog(service.logFile);
      const stillListed = listedNames(bind.port, zone.name, bind.keyFile).length;
      // At info the last `unlisted` line dates the end exactly; at warn there are none, so the scrape that saw the queue drained does.
      const end = log.unlisted.length > 0 ? maxOf(log.unlisted.map((line) => line.time)) + 0.5 : drain.at;
      const measured = zone.count - warmup;
      const run: DaemonRun = {
        ...stopRunOf(load, measured, settings.window, end, measured - stillListed, stillListed),
        warmupStops: warmup,
        logLevel,
        startRssBytes: startRss,
        rssBytes: memory.rss,
        peakRssBytes: memory.peak,
        heapUsedBytes: metricSum(drain.metrics, 'nodejs_heap_size_used_bytes'),
        heapTotalBytes: metricSum(drain.metrics, 'nodejs_heap_size_total_bytes'),
        externalBytes: metricSum(drain.metrics, 'nodejs_external_memory_bytes'),
        cpu,
        daemonCpuMicrosecondsPerStop: (daemonCpuSeconds * 1e6) / load.acked,
        threadMicrosecondsPerStop: { main: perStop(threads.main), busiestOther: perStop(threads.busiestOther), rest: perStop(threads.rest) },
        problems: log.problems.length,
        unlistsMetric: drain.unlists - warm.acked,
      };
      if (log.problems.length > 0) console.error(`daemon (${logLevel}) logged ${log.problems.length} warn/error lines, first: ${log.problems[0]}`);
      const unlisted =
        log.unlisted.length > 0
          ? binRate(log.unlisted.map((line) => line.time), load.startedAt)
          : scrapes.slice(1).map((scrape, i) => [(scrape.at - load.startedAt) / 1000, ((scrape.unlists - scrapes[i]!.unlists) * 1000) / (scrape.at - scrapes[i]!.at)] as [number, number]);
      return { run, acked: binRate(load.ackedAt, load.startedAt), unlisted, profileFile };
    } finally {
      scraping = false;
      await service.stop();
    }
  } finally {
    remove();
  }
}

export function stopRunOf(load: LoadResult, stops: number, window: number, unlistedAt: number, unlisted: number, stillListed: number): StopRun {
  const lastAck = maxOf(Array.from(load.ackedAt).filter(Number.isFinite));
  return {
    stops,
    acked: load.acked,
    lost: load.lost,
    retransmits: load.retransmits,
    badResponses: load.badResponses,
    window,
    ackedPerSecond: (load.acked * 1000) / (lastAck - load.startedAt),
    unlistedPerSecond: (unlisted * 1000) / (unlistedAt - load.startedAt),
    stillListed,
    seconds: (unlistedAt - load.startedAt) / 1000,
  };
}

/** Paced Stops at `rate` per second; latency from each Stop's send to its `unlisted` log line. */
export async function latencyRun(bind: BindServer, zone: BenchZone, settings: DaemonRunSettings): Promise<{ run: LatencyRun; cdf: Series[] }> {
  const { dir, remove } = benchTempDir('bench-latency');
  try {
    const prefix = 'lat-';
    const packets = Array.from({ length: zone.count }, (_, i) => stopPacket(zone, i, prefix));
    const radiusPort = await freePort();
    const service = await startBenchService({ dir, radiusPort, httpPort: await freePort(), bindPort: bind.port, keyFile: bind.keyFile, zone: zone.name, logLevel: 'info', cli: settings.cli });
    let load: LoadResult;
    let drain: Drain;
    let steadyRss: number;
    try {
      load = await runLoad({
        port: radiusPort,
        packets,
        secret: BENCH_SECRET,
        sockets: 4,
        window: 256,
        ratePerSecond: settings.latencyRate,
        maxDurationMs: (settings.latencyWarmupSeconds + settings.latencySeconds) * 1000 + 30_000,
      });
      steadyRss = service.memory().rss;
      drain = await waitForDrain(service, load.acked);
    } finally {
      await service.stop();
    }
    const log = readDaemonLog(service.logFile);
    if (log.problems.length > 0) console.error(`daemon (latency) logged ${log.problems.length} warn/error lines, first: ${log.problems[0]}`);
    // The first second's Stops, sent at the same pace, are not judged: the daemon's code is still
    // being compiled (V8 interprets a function at first and optimises it once it is hot, on the
    // same two cores), which a service that has been running has behind it. Their p99 is reported.
    const warmup = settings.latencyRate * settings.latencyWarmupSeconds;
    const endToEnd: number[] = [];
    const warmupEndToEnd: number[] = [];
    const daemonClock: number[] = [];
    for (const line of log.unlisted) {
      const index = Number(line.session.slice(prefix.length));
      const sent = load.sentAt[index];
      if (sent === undefined || !Number.isFinite(sent)) continue;
      // The log's time is whole milliseconds: +0.5 ms centres it.
      const latency = line.time + 0.5 - sent;
      if (index < warmup) {
        warmupEndToEnd.push(latency);
        continue;
      }
      endToEnd.push(latency);
      daemonClock.push(line.ms);
    }
    const ack = Array.from(load.ackedAt, (at, i) => at - load.sentAt[i]!).filter((value, i) => i >= warmup && Number.isFinite(value));
    const sort = (values: number[]): number[] => values.sort((a, b) => a - b);
    sort(endToEnd);
    sort(warmupEndToEnd);
    sort(daemonClock);
    sort(ack);
    const within = metricSum(drain.metrics, 'rbl_unlist_unlist_latency_seconds_bucket', 'le="0.05"');
    const total = metricSum(drain.metrics, 'rbl_unlist_unlist_latency_seconds_count');
    const stillListed = listedNames(bind.port, zone.name, bind.keyFile).length;
    const run: LatencyRun = {
      ratePerSecond: settings.latencyRate,
      stops: zone.count - warmup,
      // A name still listed is counted against the judged Stops, whichever it is.
      unlisted: Math.min(endToEnd.length, zone.count - warmup - stillListed),
      warmupStops: warmup,
      warmupP99Ms: percentile(warmupEndToEnd, 99),
      p50Ms: percentile(endToEnd, 50),
      p99Ms: percentile(endToEnd, 99),
      maxMs: endToEnd.at(-1) ?? Number.NaN,
      daemonP50Ms: percentile(daemonClock, 50),
      daemonP99Ms: percentile(daemonClock, 99),
      histogramShareWithin50Ms: total > 0 ? within / total : Number.NaN,
      steadyRssBytes: steadyRss,
      ackP50Ms: percentile(ack, 50),
      ackP99Ms: percentile(ack, 99),
      maxSendLagMs: load.maxLagMs,
    };
    const cdf = (values: readonly number[]): [number, number][] => {
      const step = Math.max(1, Math.floor(values.length / 400));
      const points: [number, number][] = [];
      for (let i = 0; i < values.length; i += step) points.push([values[i]!, ((i + 1) * 100) / values.length]);
      if (values.length > 0) points.push([values.at(-1)!, 100]);
      return points;
    };
    return {
      run,
      cdf: [
        { label: 'Stop sent -> unlisted (load generator clock -> daemon log)', color: '#1f77b4', points: cdf(endToEnd) },
        { label: 'datagram read -> unlisted (daemon clock)', color: '#2ca02c', points: cdf(daemonClock), dashed: true },
        { label: 'Stop sent -> Accounting-Response (after fsync)', color: '#ff7f0e', points: cdf(ack) },
      ],
    };
  } finally {
    remove();
  }
}

