/**
 * The measurements of what state.dir holds: start-up with a large journal (1,000,000 sessions and
 * 100,000 pending unlists) until the daemon answers Status-Server, and the backlog while the DNS
 * server is down (many Stops over few addresses merge into one pending unlist per address) and its
 * drain once the server is back.
 */
import { closeSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeRecord } from '../src/queue/record.js';
import { JOURNAL_FILE } from '../src/queue/store-open.js';
import { tsigKeygen, type BindServer } from '../test/helpers/bind.js';
import { freePort } from '../test/helpers/peers.js';
import { benchTempDir } from './temp-dir.js';
import { buildStatusServer, sendRadius } from '../test/helpers/radius-packets.js';
import { processCpuSeconds } from './cpu.js';
import { sampleJournal, type JournalSizes } from './journal-size.js';
import { maxOf } from './daemon-runs.js';
import { nowMs, runLoad } from './load.js';
import { metricSum, startBenchService, type BenchService } from './service.js';
import { BENCH_SECRET, listedNames, stopPacket, type BenchZone } from './zone.js';

const BENCH_NAS = '192.0.2.10';
const BENCH_CLIENT = 'bench-nas';

export interface StartupRun {
  readonly sessions: number;
  readonly pendingUnlists: number;
  readonly journalBytes: number;
  /** Process spawned → first Status-Server answered. */
  readonly statusServerSeconds: number;
  readonly rssBytes: number;
  readonly peakRssBytes: number;
  /** rbl_unlist_sessions and rbl_unlist_queue_depth once up: the state replayed. */
  readonly sessionsMetric: number;
  readonly queueDepthMetric: number;
}

export interface BacklogRun {
  readonly stops: number;
  readonly addresses: number;
  readonly acked: number;
  readonly ackedPerSecond: number;
  /** rbl_unlist_queue_depth after the last Stop with the server down (each job holds one address: pending targets). */
  readonly pending: number;
  /** The journal's size after the last Stop. */
  readonly journalBytes: number;
  /** The journal's size sampled while the Stops went in (every 150 ms) and after the last: what the target is judged on. */
  readonly journal: JournalSizes;
  readonly peakRssBytes: number;
  /** The server back (SIGHUP with its port) → the first delivery, which waits for the lane's backoff. */
  readonly firstDeliverySeconds: number;
  /** Pending deliveries ÷ (queue empty − first delivery). */
  readonly drainPerSecond: number;
  /** Distinct addresses ÷ the same time: what the zone gained per second (a release that did not merge sends some twice). */
  readonly drainAddressesPerSecond: number;
  readonly stillListed: number;
  readonly daemonCpuMicrosecondsPerStop: number;
}

/**
 * Writes a format-2 journal into `stateDir` as the service itself would after a compaction: a header,
 * chunks of sessions (client, NAS, Acct-Session-Id, an address, times) and chunks of one-address jobs
 * pending in the lane `backendName` / `zone`.
 */
export function seedJournal(stateDir: string, sessions: number, pending: number, backendName: string, zone: string): number {
  const file = join(stateDir, JOURNAL_FILE);
  const fd = openSync(file, 'w', 0o600);
  const now = Date.now();
  const nasTime = Math.floor(now / 1000);
  const address = (i: number): string => `10.${64 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}`;
  try {
    writeSync(fd, encodeRecord({ t: 'h', v: 2, seq: pending + 1, at: now }));
    for (let first = 0; first < sessions; first += 2000) {
      const rows = [];
      for (let i = first; i < Math.min(sessions, first + 2000); i++) rows.push([BENCH_CLIENT, BENCH_NAS, `seed-${i}`, [address(i)], now, now, nasTime]);
      writeSync(fd, encodeRecord({ t: 's', s: rows }));
    }
    const lane = `${backendName}\n${zone}`;
    for (let first = 0; first < pending; first += 2000) {
      const rows = [];
      for (let i = first; i < Math.min(pending, first + 2000); i++) {
        rows.push({ i: i + 1, t: [address(sessions + i)], r: { event: 'stop', client: BENCH_CLIENT, nas: BENCH_NAS, sessionId: `gone-${i}` }, a: now, p: [lane] });
      }
      writeSync(fd, encodeRecord({ t: 'j', j: rows }));
    }
  } finally {
    closeSync(fd);
  }
  return statSync(file).size;
}

/** Sends Status-Server every 25 ms until one is answered; resolves with when (nowMs), or NaN after `maxMs`. */
async function firstStatusAnswer(port: number, maxMs: number): Promise<number> {
  const deadline = nowMs() + maxMs;
  for (let identifier = 0; nowMs() < deadline; identifier = (identifier + 1) & 255) {
    const answer = await sendRadius(buildStatusServer({ identifier, secret: BENCH_SECRET }), port, '127.0.0.1', 25);
    if (answer && answer[0] === 5) return nowMs();
    if (!answer) continue;
    await sleep(25);
  }
  return Number.NaN;
}

/** Start-up of a daemon whose state.dir holds `sessions` sessions and `pending` unlists (the DNS server down, so nothing drains meanwhile). */
export async function startupRun(sessions: number, pending: number, cli: string | undefined): Promise<StartupRun> {
  const { dir, remove } = benchTempDir('bench-startup');
  try {
    const stateDir = join(dir, 'state');
    const deadPort = await freePort();
    const backendName = 'bench-dns';
    mkdirSync(stateDir, { mode: 0o700 });
    const { keyFile } = tsigKeygen(dir, 'unlist-key');
    const journalBytes = seedJournal(stateDir, sessions, pending, backendName, 'startup.rbl.bench');
    const radiusPort = await freePort();
    const answered = firstStatusAnswer(radiusPort, 120_000);
    const service = await startBenchService({
      dir, radiusPort, httpPort: await freePort(), bindPort: deadPort, keyFile, zone: 'startup.rbl.bench', logLevel: 'info', cli, backendName, startTimeoutMs: 120_000,
    });
    try {
      const at = await answered;
      const metrics = await service.metrics();
      const memory = service.memory();
      return {
        sessions,
        pendingUnlists: pending,
        journalBytes,
        statusServerSeconds: (at - service.spawnedAt) / 1000,
        rssBytes: memory.rss,
        peakRssBytes: memory.peak,
        sessionsMetric: metricSum(metrics, 'rbl_unlist_sessions'),
        queueDepthMetric: metricSum(metrics, 'rbl_unlist_queue_depth'),
      };
    } finally {
      await service.stop();
    }
  } finally {
    remove();
  }
}

async function queueDepth(service: BenchService): Promise<number> {
  return metricSum(await service.metrics(), 'rbl_unlist_queue_depth');
}

/** `stops` Stops over the zone's first `zone.count` addresses with the DNS server down; then the server comes back and the backlog drains. */
export async function backlogRun(bind: BindServer, zone: BenchZone, stops: number, window: number, cli: string | undefined): Promise<BacklogRun> {
  const { dir, remove } = benchTempDir('bench-backlog');
  try {
    const packets = Array.from({ length: stops }, (_, i) => stopPacket(zone, i, 'b-', i % zone.count));
    const radiusPort = await freePort();
    const deadPort = await freePort();
    const service = await startBenchService({ dir, radiusPort, httpPort: await freePort(), bindPort: deadPort, keyFile: bind.keyFile, zone: zone.name, logLevel: 'info', cli, backendName: 'bench-dns' });
    try {
      const cpuBefore = processCpuSeconds(service.pid);
      const sizes = sampleJournal(join(dir, 'state'));
      let load: Awaited<ReturnType<typeof runLoad>>;
      let journal: JournalSizes;
      try {
        load = await runLoad({ port: radiusPort, packets, secret: BENCH_SECRET, sockets: Math.max(2, Math.ceil(window / 64)), window, maxDurationMs: 300_000 });
      } finally {
        journal = sizes.stop();
      }
      const lastAck = maxOf(Array.from(load.ackedAt).filter(Number.isFinite));
      const pending = await queueDepth(service);
      const back = nowMs();
      service.moveBackend(bind.port);
      // The first delivery waits for the lane's backoff (at most a minute); then the drain is timed.
      const limit = back + 180_000;
      let first = Number.NaN;
      let depth = pending;
      while (nowMs() < limit) {
        const metrics = await service.metrics();
        depth = metricSum(metrics, 'rbl_unlist_queue_depth');
        const unlisted = metricSum(metrics, 'rbl_unlist_backend_unlists_total', 'outcome="success"');
        if (Number.isNaN(first) && unlisted > 0) first = nowMs();
        if (depth === 0) break;
        await sleep(Number.isNaN(first) ? 100 : 20);
      }
      const drained = nowMs();
      const memory = service.memory();
      const daemonCpu = processCpuSeconds(service.pid) - cpuBefore;
      const stillListed = listedNames(bind.port, zone.name, bind.keyFile).length;
      return {
        stops,
        addresses: zone.count,
        acked: load.acked,
        ackedPerSecond: (load.acked * 1000) / (lastAck - load.startedAt),
        pending,
        journalBytes: journal.endBytes,
        journal,
        peakRssBytes: memory.peak,
        firstDeliverySeconds: (first - back) / 1000,
        drainPerSecond: depth === 0 ? pending / ((drained - first) / 1000) : 0,
        drainAddressesPerSecond: depth === 0 ? zone.count / ((drained - first) / 1000) : 0,
        stillListed,
        daemonCpuMicrosecondsPerStop: (daemonCpu * 1e6) / load.acked,
      };
    } finally {
      await service.stop();
    }
  } finally {
    remove();
  }
}
