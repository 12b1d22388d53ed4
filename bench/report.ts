/**
 * The bench's results: the JSON shape, the targets judged from one run's figures, and the table.
 */

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
  readonly cpu: { readonly daemon: number; readonly bind: number; readonly generator: number };
  /** The daemon's CPU time (all its threads) per measured Stop: what a code change moves, less noisy than the rate. */
  readonly daemonCpuMicrosecondsPerStop: number;
  /** Lines at warn or above that the daemon logged (none in a clean run). */
  readonly problems: number;
  /** rbl_unlist_backend_unlists_total{outcome="success"} at the end. */
  readonly unlistsMetric: number;
}

export interface LatencyRun {
  readonly ratePerSecond: number;
  readonly stops: number;
  readonly unlisted: number;
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
}

export interface BenchResults {
  readonly startedAt: string;
  readonly machine: { readonly cpus: number; readonly cpuModel: string; readonly node: string; readonly bind: string };
  readonly decode?: { readonly validateDecodePerSecond: number; readonly withEventPerSecond: number; readonly microsecondsPerPacket: number };
  readonly sessions?: { readonly sessions: number; readonly rssBytes: number; readonly bytesPerSession: number; readonly insertMs: number };
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
  readonly pairedRatios?: readonly { readonly daemon: number; readonly bind: number; readonly ratio: number }[];
  readonly daemonWarn?: DaemonRun;
  readonly latency?: LatencyRun;
  readonly freeradiusExec?: StopRun | { readonly skipped: string };
  /** Share of the machine's CPU (0 to 1) that processes other than the bench's used, per measurement. */
  readonly otherLoad: Readonly<Record<string, number>>;
  readonly profile?: { readonly file: string; readonly self: readonly { name: string; share: number }[]; readonly inclusive: readonly { name: string; share: number }[] };
  readonly targets: readonly Target[];
}

export interface Target {
  readonly name: string;
  readonly measured: string;
  readonly verdict: 'PASS' | 'FAIL' | 'SKIP';
}

const MB = 1024 * 1024;

function fmt(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Each target of the issue, judged on this run's figures (SKIP when a figure is missing). */
export function judgeTargets(results: Omit<BenchResults, 'targets'>): Target[] {
  const targets: Target[] = [];
  const judge = (name: string, measured: string | undefined, pass: boolean | undefined): void => {
    targets.push({ name, measured: measured ?? 'not measured', verdict: pass === undefined ? 'SKIP' : pass ? 'PASS' : 'FAIL' });
  };
  const rate = results.daemonInfo?.unlistedPerSecond;
  const complete = results.daemonInfo ? results.daemonInfo.stillListed === 0 && results.daemonInfo.problems === 0 : undefined;
  judge(
    'unlisted rate >= 10,000 Stops/s (log.level info, zone empty at the end)',
    rate === undefined ? undefined : `${fmt(rate)} /s, ${results.daemonInfo!.stillListed} still listed`,
    rate === undefined ? undefined : rate >= 10_000 && complete === true,
  );
  const single = results.bindSingle?.namesPerSecond;
  const warn = results.daemonWarn?.unlistedPerSecond;
  const atWarn = warn === undefined || single === undefined ? '' : `; at log.level warn ${fmt(warn / single, 1)}x (${fmt(warn)} /s)`;
  const pairs = results.pairedRatios ?? [];
  if (pairs.length > 0) {
    // Each daemon run against BIND measured right before it; the median pair counts.
    const sorted = [...pairs].sort((a, b) => a.ratio - b.ratio);
    const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
    const each = pairs.map((pair) => `${fmt(pair.ratio, 1)}x`).join(', ');
    judge(
      'unlisted rate >= 7x BIND one name per message',
      `${fmt(median.ratio, 1)}x, median of ${each} (${fmt(median.daemon)} vs ${fmt(median.bind)} /s); against the first sweep's best ${fmt((rate ?? 0) / (single ?? 1), 1)}x${atWarn}`,
      median.ratio >= 7,
    );
  } else {
    judge(
      'unlisted rate >= 7x BIND one name per message',
      rate === undefined || single === undefined ? undefined : `${fmt(rate / single, 1)}x (${fmt(rate)} vs ${fmt(single)} /s)${atWarn}`,
      rate === undefined || single === undefined ? undefined : rate / single >= 7,
    );
  }
  const exec = results.freeradiusExec && 'unlistedPerSecond' in results.freeradiusExec ? results.freeradiusExec.unlistedPerSecond : undefined;
  judge(
    'unlisted rate >= 100x FreeRADIUS + rlm_exec + nsupdate',
    rate === undefined || exec === undefined ? undefined : `${fmt(rate / exec, 0)}x (${fmt(rate)} vs ${fmt(exec, 1)} /s)`,
    rate === undefined || exec === undefined ? undefined : rate / exec >= 100,
  );
  const latency = results.latency;
  judge(
    `p99 Stop-to-unlisted <= 50 ms at ${fmt(latency?.ratePerSecond ?? 1000)} Stops/s`,
    latency ? `p99 ${fmt(latency.p99Ms, 1)} ms (p50 ${fmt(latency.p50Ms, 1)} ms), ${latency.unlisted}/${latency.stops} unlisted` : undefined,
    latency ? latency.p99Ms <= 50 && latency.unlisted === latency.stops : undefined,
  );
  const sessions = results.sessions;
  judge(
    '1,000,000 sessions in <= 256 MB resident',
    sessions ? `${fmt(sessions.rssBytes / MB, 1)} MB for ${fmt(sessions.sessions)} sessions` : undefined,
    sessions ? sessions.sessions >= 1_000_000 && sessions.rssBytes <= 256 * MB : undefined,
  );
  const decode = results.decode?.validateDecodePerSecond;
  judge('decode + validation >= 50,000 packets/s on one core', decode === undefined ? undefined : `${fmt(decode)} packets/s`, decode === undefined ? undefined : decode >= 50_000);
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
      `cores busy: daemon ${fmt(run.cpu.daemon, 2)}, BIND ${fmt(run.cpu.bind, 2)}, load generator ${fmt(run.cpu.generator, 2)}`,
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
    add(`Stop-to-unlisted at ${fmt(l.ratePerSecond)} Stops/s`, `p50 ${fmt(l.p50Ms, 1)} ms, p99 ${fmt(l.p99Ms, 1)} ms`, `max ${fmt(l.maxMs, 1)} ms; ${l.unlisted}/${l.stops} unlisted; send lag <= ${fmt(l.maxSendLagMs, 1)} ms`);
    add('  same, daemon clock (read -> unlisted)', `p50 ${fmt(l.daemonP50Ms, 1)} ms, p99 ${fmt(l.daemonP99Ms, 1)} ms`, `histogram: ${fmt(l.histogramShareWithin50Ms * 100, 2)}% <= 50 ms`);
    add('  Stop -> Accounting-Response', `p50 ${fmt(l.ackP50Ms, 1)} ms, p99 ${fmt(l.ackP99Ms, 1)} ms`, 'state.ack: journal (after fsync)');
    add(`  daemon memory at ${fmt(l.ratePerSecond)} Stops/s`, `${fmt(l.steadyRssBytes / MB, 1)} MB RSS`, `after ${fmt(l.stops)} Stops`);
  }
  if (results.bindSingle) {
    const b = results.bindSingle;
    const sweep = b.sweep.map((run) => `${run.concurrency}: ${fmt(run.namesPerSecond)}${run.failures > 0 ? ` (${run.failures} failed)` : ''}`).join(', ');
    add('BIND, 1 name per UPDATE (baseline)', `${fmt(b.namesPerSecond)} names/s`, `best of in-flight ${sweep}`);
    if (results.pairedRatios && results.pairedRatios.length > 0) {
      const paired = results.pairedRatios.map((pair) => fmt(pair.bind)).join(', ');
      add(`  again before each info run, ${b.concurrency} in flight`, `${paired} names/s`, 'paired with the runs for the 7x target');
    }
  }
  if (results.bindBatched) {
    const b = results.bindBatched;
    add(`BIND, ${b.namesPerMessage} names per UPDATE`, `${fmt(b.namesPerSecond)} names/s`, `${fmt(b.names)} names, ${b.concurrency} in flight, ${b.failures} failures`);
  }
  if (results.freeradiusExec) {
    if ('skipped' in results.freeradiusExec) add('FreeRADIUS + rlm_exec + nsupdate', 'skipped', results.freeradiusExec.skipped);
    else stopRun('FreeRADIUS + exec + nsupdate', results.freeradiusExec);
  }
  if (results.sessions) {
    const s = results.sessions;
    add(`${fmt(s.sessions)} sessions (sessions-memory)`, `${fmt(s.rssBytes / MB, 1)} MB RSS`, `${s.bytesPerSession} bytes/session, inserted in ${fmt(s.insertMs)} ms`);
  }
  if (results.decode) {
    const d = results.decode;
    add('decode + validation, one core', `${fmt(d.validateDecodePerSecond)} packets/s`, `${fmt(d.microsecondsPerPacket, 2)} µs/packet; with client match + event: ${fmt(d.withEventPerSecond)}/s`);
  }
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i]!.length), i === 0 ? 11 : 5));
  const line = (cells: readonly string[]): string => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [line(['measurement', 'value', 'notes']), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), ''];
  const loads = Object.entries(results.otherLoad);
  if (loads.length > 0) {
    out.push(`other processes' CPU use during each measurement (share of all cores): ${loads.map(([phase, share]) => `${phase} ${fmt(share * 100, 1)}%`).join(', ')}`);
    const disturbed = loads.filter(([, share]) => share > 0.05).map(([phase]) => phase);
    if (disturbed.length > 0) out.push(`WARNING: other processes used over 5% of the CPU during ${disturbed.join(', ')}: those figures are low; run again on a quiet machine`);
    out.push('');
  }
  const nameWidth = Math.max(...results.targets.map((t) => t.name.length));
  out.push('targets (ratios from this run):');
  for (const target of results.targets) out.push(`  ${target.verdict.padEnd(4)}  ${target.name.padEnd(nameWidth)}  ${target.measured}`);
  return out.join('\n');
}
