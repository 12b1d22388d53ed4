/**
 * The bench's results: the JSON shape, the targets judged from one run's figures, and the table.
 */
import type { ThreadSchedule, ThreadSplit } from './cpu.js';
import type { BacklogRun, StartupRun } from './state-runs.js';
import type { DnsFloorResult } from './dns-floor.js';
import type { UdpFloorResult } from './udp-floor.js';

/** A rate measured by sending Stops to a RADIUS server (the daemon, or FreeRADIUS + exec). */
export interface StopRun {
  readonly stops: number;
  readonly acked: number;
  readonly lost: number;
  readonly retransmits: number;
  readonly badResponses: number;
  readonly window: number;
  /** Acknowledged Stops per second: acked / (last answer − first send). */
  readonly ackedPerSecond: number;
  /** Unlisted Stops per second: unlisted / (last unlist − first send); unlisted checked by AXFR. */
  readonly unlistedPerSecond: number;
  /** Names of the run still listed in the zone at the end (AXFR). */
  readonly stillListed: number;
  readonly seconds: number;
}

export interface DaemonRun extends StopRun {
  readonly logLevel: 'info' | 'warn';
  /** Stops sent and unlisted before the measured ones, so the daemon's code is compiled as in a running service. */
  readonly warmupStops: number;
  /** Daemon resident memory once started, at the end of the run, and its peak (VmHWM), in bytes. */
  readonly startRssBytes: number;
  readonly rssBytes: number;
  readonly peakRssBytes: number;
  /** From the daemon's own /metrics at the end: V8 heap used and total, and memory outside the heap (Buffers). */
  readonly heapUsedBytes: number;
  readonly heapTotalBytes: number;
  readonly externalBytes: number;
  /** CPU used from the first Stop to the drained queue, in cores (1 = one core busy all the time). */
  /**
   * Cores busy over the run. daemonMainThread: the daemon's JavaScript thread, its share of the
   * run on a core and runnable but waiting for one (absent in results from before 2026-11-30).
   */
  readonly cpu: { readonly daemon: number; readonly daemonMainThread?: ThreadSchedule; readonly bind: number; readonly generator: number };
  /** The daemon's CPU time (all its threads) per measured Stop: what a code change moves, less noisy than the rate. */
  readonly daemonCpuMicrosecondsPerStop: number;
  /** The same split by thread: the JavaScript thread, the busiest other (the receive thread, in a build with one), the rest (V8's and libuv's helpers); older results lack it. */
  readonly threadMicrosecondsPerStop?: ThreadSplit;
  /** Lines at warn or above that the daemon logged (none in a clean run). */
  readonly problems: number;
  /** rbl_unlist_backend_unlists_total{outcome="success"} at the end. */
  readonly unlistsMetric: number;
}

export interface LatencyRun {
  readonly ratePerSecond: number;
  /** The Stops judged: those sent after the warm-up. */
  readonly stops: number;
  readonly unlisted: number;
  /** Stops sent first at the same pace and not judged (the daemon's code is compiled meanwhile), and their p99; absent from results before 2026-12-02. */
  readonly warmupStops?: number;
  readonly warmupP99Ms?: number;
  /** Stop sent by the load generator → the daemon's `unlisted` log line (BIND answered NOERROR). */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** The daemon's own figure (datagram read → unlisted), from the `ms` of its log lines. */
  readonly daemonP50Ms: number;
  readonly daemonP99Ms: number;
  /** Share of rbl_unlist_unlist_latency_seconds at or below 50 ms. */
  readonly histogramShareWithin50Ms: number;
  /** Daemon resident memory at the end of the paced run. */
  readonly steadyRssBytes: number;
  /** Stop sent → Accounting-Response (state.ack: journal, so after the fsync). */
  readonly ackP50Ms: number;
  readonly ackP99Ms: number;
  /** Most the paced sender ran behind its schedule. */
  readonly maxSendLagMs: number;
  /** Each repetition's p99 (ms) when the run was repeated; this run is the median one. */
  readonly repetitions?: readonly number[];
}

export interface BenchResults {
  readonly startedAt: string;
  readonly machine: { readonly cpus: number; readonly cpuModel: string; readonly node: string; readonly bind: string };
  /** The median run by µs a packet; `repetitions` each run's µs a packet (older results lack it). */
  readonly decode?: { readonly validateDecodePerSecond: number; readonly withEventPerSecond: number; readonly microsecondsPerPacket: number; readonly repetitions?: readonly number[] };
  /** A process that only answers Stops (bench/udp-floor.ts): the receive-and-send cost under every Stop. */
  readonly udpFloor?: UdpFloorResult & { readonly repetitions?: readonly number[] };
  /** rssBytes once V8 gave back the young generation it grew while inserting; rssRightAfterBytes at once (older results lack it). */
  readonly sessions?: { readonly sessions: number; readonly rssBytes: number; readonly rssRightAfterBytes?: number | undefined; readonly bytesPerSession: number; readonly insertMs: number };
  readonly bindSingle?: {
    readonly names: number;
    readonly namesPerSecond: number;
    readonly concurrency: number;
    readonly failures: number;
    readonly sweep: readonly { readonly concurrency: number; readonly namesPerSecond: number; readonly failures: number }[];
  };
  readonly bindBatched?: { readonly names: number; readonly namesPerSecond: number; readonly namesPerMessage: number; readonly concurrency: number; readonly failures: number };
  /** The median of the repetitions, with each repetition's unlisted rate. */
  readonly daemonInfo?: DaemonRun & { readonly repetitions: readonly number[] };
  /** Each log.level info run's unlisted rate over BIND's one-name ceiling measured just before it. */
  /** Each log.level info run's unlisted rate, with BIND's 250-names-per-UPDATE rate measured right before it. */
  readonly pairedRatios?: readonly { readonly daemon: number; readonly bind: number; readonly ratio: number }[];
  readonly daemonWarn?: DaemonRun;
  readonly latency?: LatencyRun;
  /** BIND alone deleting names at the latency run's pace (bench/dns-floor.ts): the latency under every Stop. */
  readonly dnsFloor?: DnsFloorResult & { readonly repetitions?: readonly number[] };
  readonly freeradiusExec?: StopRun | { readonly skipped: string };
  /** Share of the machine's CPU (0 to 1) that processes other than the bench's used, per measurement. */
  readonly otherLoad: Readonly<Record<string, number>>;
  readonly startup?: StartupRun;
  readonly backlog?: BacklogRun;
  readonly baseline?: BaselineResults;
  readonly profile?: { readonly file: string; readonly self: readonly { name: string; share: number }[]; readonly inclusive: readonly { name: string; share: number }[] };
  readonly targets: readonly Target[];
}

export interface Target {
  readonly name: string;
  readonly measured: string;
  readonly verdict: 'PASS' | 'FAIL' | 'SKIP';
  /** The previous release's figure and the ratio to it, when `--baseline` ran it. */
  readonly baseline?: string;
}

const MB = 1024 * 1024;

function fmt(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** The item whose value is the median, the lower middle one of an even count: what stands for repeated runs. */
export function medianBy<Item>(items: readonly Item[] | undefined, value: (item: Item) => number): Item | undefined {
  if (!items || items.length === 0) return undefined;
  return [...items].sort((a, b) => value(a) - value(b))[Math.floor((items.length - 1) / 2)];
}

/** The median run of a repeated measurement by `value`, with each run's `value` in run order beside it. */
export function medianWithRepetitions<Item extends object>(items: readonly Item[], value: (item: Item) => number): Item & { readonly repetitions: readonly number[] } {
  return { ...medianBy(items, value)!, repetitions: items.map(value) };
}

/** "(JavaScript thread: 0.74 running, 0.15 waiting for a core)", or nothing where it was not measured. */
function mainThreadNote(thread: ThreadSchedule | undefined): string {
  if (thread === undefined || Number.isNaN(thread.running)) return '';
  return ` (JavaScript thread: ${fmt(thread.running, 2)} running, ${fmt(thread.waiting, 2)} waiting for a core)`;
}

/** The previous release's figures from the same run (`--baseline`), measured the same way. */
export interface BaselineResults {
  readonly ref: string;
  readonly commit: string;
  readonly daemonInfo?: DaemonRun;
  readonly latency?: LatencyRun;
  readonly backlog?: BacklogRun;
  readonly startup?: StartupRun;
  readonly sessions?: NonNullable<BenchResults['sessions']>;
  /** BIND's 250-names-per-UPDATE rate through the release's own DNS client. */
  readonly bindBatched?: BenchResults['bindBatched'];
  /** Why a measurement of the release could not be taken. */
  readonly notes: readonly string[];
}

/** Target thresholds of issue 13, all from the same run. */
export const TARGETS = {
  /** Unlisted rate over BIND's rate with 250 names to an UPDATE. */
  rateShareOfBatched: 0.6,
  /** Daemon CPU per Stop over decode-and-validate per packet. */
  cpuOverDecode: 10,
  peakRssBytes: 160 * 1024 * 1024,
  sessionsRssBytes: 100 * 1024 * 1024,
  latencyP99Ms: 20,
  startupSeconds: 10,
  backlogPending: 20_000,
  backlogJournalBytes: 10 * 1024 * 1024,
} as const;

/** "; by thread: ..." where the run has the split. */
function threadNote(split: ThreadSplit | undefined): string {
  return split ? `; per Stop by thread: JavaScript ${fmt(split.main, 1)} µs, busiest other ${fmt(split.busiestOther, 1)} µs, the rest ${fmt(split.rest, 1)} µs` : '';
}

/** "; reading and answering alone: F µs = Nx" when the UDP floor was measured: the share of the target no code of ours can save. */
function floorNote(floor: UdpFloorResult | undefined, decode: number): string {
  return floor ? `; reading and answering a Stop alone (UDP floor) ${fmt(floor.cpuMicrosecondsPerPacket, 1)} µs = ${fmt(floor.cpuMicrosecondsPerPacket / decode, 1)}x` : '';
}

/** "; {what} A, B, C {unit}" when a measurement was repeated: each run's figure, in run order. */
function repetitionsNote(what: string, repetitions: readonly number[] | undefined, unit: string, digits = 1): string {
  return repetitions && repetitions.length > 1 ? `; ${what} ${repetitions.map((figure) => fmt(figure, digits)).join(', ')} ${unit}` : '';
}

/** "; the run with the median p99 of A, B, C ms" when a latency measurement was repeated. */
function medianOfNote(repetitions: readonly number[] | undefined): string {
  return repetitionsNote('the run with the median p99 of', repetitions, 'ms');
}

/** " after N warm-up Stops (p99 F ms, not judged)" when the latency run began with a warm-up. */
function warmupNote(run: LatencyRun): string {
  return run.warmupStops ? ` after ${fmt(run.warmupStops)} warm-up Stops (p99 ${fmt(run.warmupP99Ms ?? Number.NaN, 1)} ms, not judged)` : '';
}

/** "; BIND alone at that pace: p99 F ms" when the DNS floor was measured: the share of the bound the DNS server takes itself. */
function dnsFloorNote(floor: DnsFloorResult | undefined): string {
  return floor ? `; BIND alone at that pace (DNS floor) p99 ${fmt(floor.p99Ms, 1)} ms = ${fmt(floor.p99Ms / TARGETS.latencyP99Ms, 2)}x the bound` : '';
}

/** Other processes' share of all cores past which a measurement's figures are called low. */
const DISTURBED_SHARE = 0.05;

/**
 * "; other processes took N% of the CPU while BIND's ceiling was measured ..." when the judged pair
 * was disturbed: a ceiling measured low passes a rate it should not, and the verdict says nothing
 * of that by itself.
 */
function pairDisturbedNote(results: Omit<BenchResults, 'targets'>, pair: { readonly ratio: number } | undefined): string {
  const index = pair ? (results.pairedRatios ?? []).indexOf(pair as NonNullable<BenchResults['pairedRatios']>[number]) : -1;
  if (index < 0) return '';
  const ceiling = results.otherLoad[`bind 250/msg ${index + 1}`] ?? 0;
  const run = results.otherLoad[`daemon info ${index + 1}`] ?? 0;
  if (ceiling <= DISTURBED_SHARE && run <= DISTURBED_SHARE) return '';
  return `; other processes took ${fmt(ceiling * 100, 1)}% of the CPU while BIND's ceiling was measured and ${fmt(run * 100, 1)}% during the run: judge the ratio on a quiet machine`;
}

/** Each target of issue 13, judged on this run's figures (SKIP when a figure is missing), with the release's figure beside it. */
export function judgeTargets(results: Omit<BenchResults, 'targets'>): Target[] {
  const targets: Target[] = [];
  const base = results.baseline;
  const judge = (name: string, measured: string | undefined, pass: boolean | undefined, baseline?: string): void => {
    targets.push({ name, measured: measured ?? 'not measured', verdict: pass === undefined ? 'SKIP' : pass ? 'PASS' : 'FAIL', baseline });
  };
  /** "(v0.1.0: X, now N.NNx of it)" when the release was measured too. */
  const against = (now: number | undefined, then: number | undefined, text: (value: number) => string): string | undefined =>
    base === undefined || then === undefined || !Number.isFinite(then) ? undefined : `${base.ref}: ${text(then)}${now === undefined ? '' : `, now ${fmt(now / then, 2)}x of it`}`;
  const batched = results.bindBatched?.namesPerSecond;
  const info = results.daemonInfo;
  const complete = info ? info.stillListed === 0 && info.problems === 0 : undefined;
  // Each run against BIND measured right before it, the median pair; without pairs, the median run against the one ceiling.
  const pair = medianBy(results.pairedRatios, (paired) => paired.ratio);
  const rate = pair?.daemon ?? info?.unlistedPerSecond;
  const ceiling = pair?.bind ?? batched;
  judge(
    `unlisted rate >= ${TARGETS.rateShareOfBatched * 100}% of BIND's 250-names-per-UPDATE rate (log.level info, zone empty at the end)`,
    rate === undefined || ceiling === undefined
      ? undefined
      : `${fmt((rate / ceiling) * 100, 0)}% (${fmt(rate)} vs ${fmt(ceiling)} names/s${pair ? ', BIND measured right before the run' : ''}), ${info!.stillListed} still listed${pairDisturbedNote(results, pair)}`,
    rate === undefined || ceiling === undefined ? undefined : rate / ceiling >= TARGETS.rateShareOfBatched && complete === true,
    [
      against(rate, base?.daemonInfo?.unlistedPerSecond, (then) => `${fmt(then)} /s${batched ? ` = ${fmt((then / batched) * 100, 0)}%` : ''}`),
      // Not the target's ceiling (that is BIND through this build's client), but what the ratio was judged against before.
      rate === undefined || base?.bindBatched === undefined
        ? undefined
        : `against BIND through ${base.ref}'s client (a TCP connection per UPDATE, ${fmt(base.bindBatched.namesPerSecond)} names/s): ${fmt((rate / base.bindBatched.namesPerSecond) * 100, 0)}%`,
    ]
      .filter((part) => part !== undefined)
      .join('; ') || undefined,
  );
  const cpu = info?.daemonCpuMicrosecondsPerStop;
  const decode = results.decode?.microsecondsPerPacket;
  judge(
    `daemon CPU per Stop <= ${TARGETS.cpuOverDecode}x decode + validation per packet`,
    cpu === undefined || decode === undefined ? undefined : `${fmt(cpu / decode, 1)}x (${fmt(cpu, 1)} vs ${fmt(decode, 2)} µs)${floorNote(results.udpFloor, decode)}`,
    cpu === undefined || decode === undefined ? undefined : cpu / decode <= TARGETS.cpuOverDecode,
    against(cpu, base?.daemonInfo?.daemonCpuMicrosecondsPerStop, (then) => `${fmt(then, 1)} µs${decode ? ` = ${fmt(then / decode, 1)}x` : ''}`),
  );
  judge(
    `peak RSS (VmHWM) over the ${fmt(info?.stops ?? 100_000)}-Stop burst <= ${TARGETS.peakRssBytes / MB} MB`,
    info ? `${fmt(info.peakRssBytes / MB, 1)} MB (${fmt((info.peakRssBytes / TARGETS.peakRssBytes) * 100, 0)}% of the target)` : undefined,
    info ? info.peakRssBytes <= TARGETS.peakRssBytes : undefined,
    against(info?.peakRssBytes, base?.daemonInfo?.peakRssBytes, (then) => `${fmt(then / MB, 1)} MB`),
  );
  const sessions = results.sessions;
  judge(
    `1,000,000 sessions in <= ${TARGETS.sessionsRssBytes / MB} MB resident`,
    sessions ? `${fmt(sessions.rssBytes / MB, 1)} MB for ${fmt(sessions.sessions)} sessions (${fmt((sessions.rssBytes / TARGETS.sessionsRssBytes) * 100, 0)}% of the target)` : undefined,
    sessions ? sessions.sessions >= 1_000_000 && sessions.rssBytes <= TARGETS.sessionsRssBytes : undefined,
    against(sessions?.rssBytes, base?.sessions?.rssBytes, (then) => `${fmt(then / MB, 1)} MB`),
  );
  const latency = results.latency;
  judge(
    `p99 Stop-to-unlisted <= ${TARGETS.latencyP99Ms} ms at ${fmt(latency?.ratePerSecond ?? 1000)} Stops/s`,
    latency
      ? `p99 ${fmt(latency.p99Ms, 1)} ms (${fmt(latency.p99Ms / TARGETS.latencyP99Ms, 2)}x the bound; p50 ${fmt(latency.p50Ms, 1)} ms), ${latency.unlisted}/${latency.stops} unlisted${warmupNote(latency)}${medianOfNote(latency.repetitions)}${dnsFloorNote(results.dnsFloor)}`
      : undefined,
    latency ? latency.p99Ms <= TARGETS.latencyP99Ms && latency.unlisted === latency.stops : undefined,
    against(latency?.p99Ms, base?.latency?.p99Ms, (then) => `p99 ${fmt(then, 1)} ms`),
  );
  const startup = results.startup;
  judge(
    `start-up with ${fmt(startup?.sessions ?? 1_000_000)} sessions and ${fmt(startup?.pendingUnlists ?? 100_000)} pending unlists answers Status-Server in <= ${TARGETS.startupSeconds} s`,
    startup
      ? `${fmt(startup.statusServerSeconds, 2)} s (${fmt(startup.statusServerSeconds / TARGETS.startupSeconds, 2)}x the bound; journal ${fmt(startup.journalBytes / MB, 1)} MB, ${fmt(startup.sessionsMetric)} sessions and ${fmt(startup.queueDepthMetric)} pending replayed, RSS ${fmt(startup.peakRssBytes / MB, 1)} MB peak)`
      : undefined,
    // A replay that stopped short starts fast: what it replayed must be all there was.
    startup ? startup.statusServerSeconds <= TARGETS.startupSeconds && startup.sessionsMetric === startup.sessions && startup.queueDepthMetric === startup.pendingUnlists : undefined,
    against(startup?.statusServerSeconds, base?.startup?.statusServerSeconds, (then) => `${fmt(then, 2)} s, ${fmt(base!.startup!.sessionsMetric)} sessions replayed`) ??
      (base ? `${base.ref}: not measured (see its notes; 0.1 reads journal format 1 only)` : undefined),
  );
  const backlog = results.backlog;
  judge(
    `backlog, DNS down: ${fmt(backlog?.stops ?? 500_000)} Stops over ${fmt(backlog?.addresses ?? 20_000)} addresses leave <= ${fmt(TARGETS.backlogPending)} pending and a journal < ${TARGETS.backlogJournalBytes / MB} MB throughout`,
    backlog
      ? `${fmt(backlog.pending)} pending, journal peak ${fmt(backlog.journal.peakBytes / MB, 2)} MB (${fmt(backlog.journal.peakBytes / TARGETS.backlogJournalBytes, 2)}x the bound; ${fmt(backlog.journal.endBytes / MB, 2)} MB at the end), ${fmt(backlog.acked)} of ${fmt(backlog.stops)} acknowledged`
      : undefined,
    backlog ? backlog.pending <= TARGETS.backlogPending && backlog.journal.peakBytes < TARGETS.backlogJournalBytes && backlog.acked === backlog.stops : undefined,
    base?.backlog ? `${base.ref}: ${fmt(base.backlog.pending)} pending, journal peak ${fmt(base.backlog.journal.peakBytes / MB, 2)} MB, ${fmt(base.backlog.journal.endBytes / MB, 2)} MB at the end` : undefined,
  );
  judge(
    `backlog drain when DNS returns >= ${TARGETS.rateShareOfBatched * 100}% of BIND's 250-names-per-UPDATE rate`,
    backlog && batched !== undefined
      ? `${fmt((backlog.drainAddressesPerSecond / batched) * 100, 0)}% (${fmt(backlog.drainAddressesPerSecond)} addresses/s vs ${fmt(batched)} names/s; first delivery ${fmt(backlog.firstDeliverySeconds, 1)} s after the server came back), ${backlog.stillListed} still listed`
      : undefined,
    backlog && batched !== undefined ? backlog.drainAddressesPerSecond / batched >= TARGETS.rateShareOfBatched && backlog.stillListed === 0 : undefined,
    against(backlog?.drainAddressesPerSecond, base?.backlog?.drainAddressesPerSecond, (then) => `${fmt(then)} addresses/s`),
  );
  return targets;
}

/** The table printed at the end of a run. */
export function formatTable(results: BenchResults): string {
  const rows: [string, string, string][] = [];
  const add = (what: string, value: string, note = ''): void => void rows.push([what, value, note]);
  const stopRun = (label: string, run: StopRun, extra = ''): void => {
    add(`${label}: acknowledged`, `${fmt(run.ackedPerSecond)} Stops/s`, `${fmt(run.acked)} of ${fmt(run.stops)} acked, window ${run.window}, ${run.retransmits} retransmits, ${run.lost} lost`);
    add(`${label}: unlisted`, `${fmt(run.unlistedPerSecond, run.unlistedPerSecond < 1000 ? 1 : 0)} Stops/s`, `${run.stillListed} still listed (AXFR)${extra}`);
  };
  const daemonDetails = (label: string, run: DaemonRun): void => {
    add(
      `${label}: daemon memory`,
      `${fmt(run.peakRssBytes / MB, 1)} MB RSS peak`,
      `${fmt(run.startRssBytes / MB, 1)} MB at start, ${fmt(run.rssBytes / MB, 1)} MB at the end; V8 heap ${fmt(run.heapUsedBytes / MB, 1)} MB used of ${fmt(run.heapTotalBytes / MB, 1)} MB, external ${fmt(run.externalBytes / MB, 1)} MB`,
    );
    add(
      `${label}: CPU`,
      `${fmt(run.daemonCpuMicrosecondsPerStop, 1)} µs per Stop`,
      `cores busy: daemon ${fmt(run.cpu.daemon, 2)}${mainThreadNote(run.cpu.daemonMainThread)}, BIND ${fmt(run.cpu.bind, 2)}, load generator ${fmt(run.cpu.generator, 2)}${threadNote(run.threadMicrosecondsPerStop)}`,
    );
  };
  if (results.daemonInfo) {
    const run = results.daemonInfo;
    const repeated = run.repetitions.length > 1 ? `; median of ${run.repetitions.map((rate) => fmt(rate)).join(', ')}` : '';
    stopRun('rbl-unlist, log info', run, `, ${run.problems} warn/error lines${repeated}`);
    daemonDetails('rbl-unlist, log info', run);
  }
  if (results.daemonWarn) {
    const run = results.daemonWarn;
    stopRun('rbl-unlist, log warn', run, `, ${run.problems} warn/error lines`);
    daemonDetails('rbl-unlist, log warn', run);
  }
  if (results.latency) {
    const l = results.latency;
    add(
      `Stop-to-unlisted at ${fmt(l.ratePerSecond)} Stops/s`,
      `p50 ${fmt(l.p50Ms, 1)} ms, p99 ${fmt(l.p99Ms, 1)} ms`,
      `max ${fmt(l.maxMs, 1)} ms; ${l.unlisted}/${l.stops} unlisted${warmupNote(l)}; send lag <= ${fmt(l.maxSendLagMs, 1)} ms${medianOfNote(l.repetitions)}`,
    );
    add('  same, daemon clock (read -> unlisted)', `p50 ${fmt(l.daemonP50Ms, 1)} ms, p99 ${fmt(l.daemonP99Ms, 1)} ms`, `histogram (warm-up included): ${fmt(l.histogramShareWithin50Ms * 100, 2)}% <= 50 ms`);
    add('  Stop -> Accounting-Response', `p50 ${fmt(l.ackP50Ms, 1)} ms, p99 ${fmt(l.ackP99Ms, 1)} ms`, 'state.ack: journal (after fsync)');
    if (results.dnsFloor) {
      const f = results.dnsFloor;
      add(
        `  DNS floor: BIND alone at ${fmt(f.ratePerSecond)} names/s`,
        `p50 ${fmt(f.p50Ms, 1)} ms, p99 ${fmt(f.p99Ms, 1)} ms`,
        `max ${fmt(f.maxMs, 1)} ms; no daemon: one UPDATE at a time with the names that arrived meanwhile (${fmt(f.updates)} UPDATEs for ${fmt(f.names)} names, ${f.failures} failed)${medianOfNote(f.repetitions)}`,
      );
    }
    add(`  daemon memory at ${fmt(l.ratePerSecond)} Stops/s`, `${fmt(l.steadyRssBytes / MB, 1)} MB RSS`, `after ${fmt(l.stops)} Stops`);
  }
  if (results.bindSingle) {
    const b = results.bindSingle;
    const sweep = b.sweep.map((run) => `${run.concurrency}: ${fmt(run.namesPerSecond)}${run.failures > 0 ? ` (${run.failures} failed)` : ''}`).join(', ');
    add('BIND, 1 name per UPDATE (baseline)', `${fmt(b.namesPerSecond)} names/s`, `best of in-flight ${sweep}`);
  }
  if (results.bindBatched) {
    const b = results.bindBatched;
    add(`BIND, ${b.namesPerMessage} names per UPDATE`, `${fmt(b.namesPerSecond)} names/s`, `${fmt(b.names)} names, ${b.concurrency} in flight, ${b.failures} failures`);
    if (results.pairedRatios && results.pairedRatios.length > 0) {
      const paired = results.pairedRatios.map((pair) => fmt(pair.bind)).join(', ');
      add('  again right before each info run', `${paired} names/s`, 'what the rate target judges each run against');
    }
  }
  if (results.freeradiusExec) {
    if ('skipped' in results.freeradiusExec) add('FreeRADIUS + rlm_exec + nsupdate', 'skipped', results.freeradiusExec.skipped);
    else stopRun('FreeRADIUS + exec + nsupdate', results.freeradiusExec);
  }
  if (results.sessions) {
    const s = results.sessions;
    const rightAfter = s.rssRightAfterBytes === undefined ? '' : `; ${fmt(s.rssRightAfterBytes / MB, 1)} MB right after inserting, before V8 gave back its young generation`;
    add(`${fmt(s.sessions)} sessions (sessions-memory)`, `${fmt(s.rssBytes / MB, 1)} MB RSS`, `${s.bytesPerSession} bytes/session, inserted in ${fmt(s.insertMs)} ms${rightAfter}`);
  }
  const startupRow = (label: string, st: StartupRun): void => {
    add(
      `${label}: ${fmt(st.sessions)} sessions, ${fmt(st.pendingUnlists)} pending`,
      `${fmt(st.statusServerSeconds, 2)} s to Status-Server`,
      `journal ${fmt(st.journalBytes / MB, 1)} MB; ${fmt(st.sessionsMetric)} sessions and ${fmt(st.queueDepthMetric)} pending once up; RSS ${fmt(st.rssBytes / MB, 1)} MB once up, ${fmt(st.peakRssBytes / MB, 1)} MB peak`,
    );
  };
  if (results.startup) startupRow('start-up', results.startup);
  const backlogRow = (label: string, b: BacklogRun): void => {
    add(`${label}: ${fmt(b.stops)} Stops over ${fmt(b.addresses)} addresses, DNS down`, `${fmt(b.pending)} pending, journal peak ${fmt(b.journal.peakBytes / MB, 2)} MB`, `${fmt(b.ackedPerSecond)} Stops/s acknowledged, ${fmt(b.daemonCpuMicrosecondsPerStop, 1)} µs CPU per Stop, ${fmt(b.peakRssBytes / MB, 1)} MB RSS peak`);
    add(
      `${label}: journal over the Stops`,
      `${fmt(b.journal.endBytes / MB, 2)} MB at the end`,
      `peak ${fmt(b.journal.peakBytes / MB, 2)} MB, with journal.compact ${fmt(b.journal.peakOnDiskBytes / MB, 2)} MB; ${b.journal.compactions} compactions seen in ${fmt(b.journal.samples)} samples (longest gap ${fmt(b.journal.maxGapMs)} ms)`,
    );
    add(`${label}: drain once DNS is back`, `${fmt(b.drainAddressesPerSecond)} addresses/s`, `${fmt(b.drainPerSecond)} deliveries/s; first delivery ${fmt(b.firstDeliverySeconds, 1)} s after the server came back (backoff); ${b.stillListed} still listed`);
  };
  if (results.backlog) backlogRow('backlog', results.backlog);
  const base = results.baseline;
  if (base) {
    const label = `${base.ref} (${base.commit.slice(0, 7)})`;
    if (base.daemonInfo) {
      stopRun(`${label}, log info`, base.daemonInfo, `, ${base.daemonInfo.problems} warn/error lines`);
      daemonDetails(`${label}, log info`, base.daemonInfo);
    }
    if (base.latency) add(`${label}: Stop-to-unlisted at ${fmt(base.latency.ratePerSecond)} Stops/s`, `p50 ${fmt(base.latency.p50Ms, 1)} ms, p99 ${fmt(base.latency.p99Ms, 1)} ms`, `${base.latency.unlisted}/${base.latency.stops} unlisted${warmupNote(base.latency)}`);
    if (base.startup) startupRow(`${label}: start-up`, base.startup);
    if (base.sessions) add(`${label}: ${fmt(base.sessions.sessions)} sessions`, `${fmt(base.sessions.rssBytes / MB, 1)} MB RSS`, `${base.sessions.bytesPerSession} bytes/session`);
    if (base.backlog) backlogRow(label, base.backlog);
    if (base.bindBatched) {
      const b = base.bindBatched;
      add(`${label}: BIND, ${b.namesPerMessage} names per UPDATE through its client`, `${fmt(b.namesPerSecond)} names/s`, `a TCP connection per UPDATE; ${fmt(b.names)} names, ${b.concurrency} in flight, ${b.failures} failures`);
    }
    for (const note of base.notes) add(`${label}: note`, '', note);
  }
  if (results.decode) {
    const d = results.decode;
    add(
      'decode + validation, one core',
      `${fmt(d.validateDecodePerSecond)} packets/s`,
      `${fmt(d.microsecondsPerPacket, 2)} µs/packet; with client match + event: ${fmt(d.withEventPerSecond)}/s${repetitionsNote('the median of', d.repetitions, 'µs', 2)}`,
    );
  }
  if (results.udpFloor) {
    const f = results.udpFloor;
    const times = results.decode ? ` = ${fmt(f.cpuMicrosecondsPerPacket / results.decode.microsecondsPerPacket, 1)}x decode` : '';
    add(
      'UDP floor: read a Stop, answer it',
      `${fmt(f.cpuMicrosecondsPerPacket, 1)} µs per Stop${times}`,
      `a Node process that does nothing else (one MD5, no journal, no UPDATE); ${fmt(f.answered)} of ${fmt(f.packets)} answered, ${fmt(f.packetsPerSecond)}/s${repetitionsNote('the median of', f.repetitions, 'µs')}`,
    );
  }
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i]!.length), i === 0 ? 11 : 5));
  const line = (cells: readonly string[]): string => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [line(['measurement', 'value', 'notes']), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), ''];
  const loads = Object.entries(results.otherLoad);
  if (loads.length > 0) {
    out.push(`other processes' CPU use during each measurement (share of all cores): ${loads.map(([phase, share]) => `${phase} ${fmt(share * 100, 1)}%`).join(', ')}`);
    const disturbed = loads.filter(([, share]) => share > DISTURBED_SHARE).map(([phase]) => phase);
    if (disturbed.length > 0) out.push(`WARNING: other processes used over 5% of the CPU during ${disturbed.join(', ')}: those figures are low; run again on a quiet machine`);
    out.push('');
  }
  const nameWidth = Math.max(...results.targets.map((t) => t.name.length));
  out.push('targets (ratios from this run):');
  for (const target of results.targets) {
    out.push(`  ${target.verdict.padEnd(4)}  ${target.name.padEnd(nameWidth)}  ${target.measured}`);
    if (target.baseline) out.push(`        ${''.padEnd(nameWidth)}  ${target.baseline}`);
  }
  return out.join('\n');
}
