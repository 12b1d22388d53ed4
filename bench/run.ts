/**
 * `npm run bench`: rbl-unlist's throughput, latency and memory against a real BIND, with the
 * baselines measured in the same run (BIND one name per UPDATE, FreeRADIUS + rlm_exec + nsupdate),
 * judged against the targets as ratios. Prints a table; writes JSON and an SVG chart to bench/results/.
 *
 *   npm run bench [-- --quick] [-- --profile] [-- --stops N] [-- --window N] [-- --repeat N] [-- --cli path/to/cli/main.js]
 *                 [-- --only decode,sessions,bind,daemon,latency,warn,freeradius,startup,backlog] [-- --baseline v0.3.0|none]
 *
 * `--baseline REF` (default v0.3.0, the previous release) builds REF from git into bench/results/ and
 * runs it beside the candidate (throughput, latency, backlog, and start-up for a release that reads
 * journal format 2), so each figure has the old code's beside it.
 *
 * The daemon is the built `dist/cli/main.js serve` in its own process, with the shipped defaults
 * (state.ack: journal, log.level info); this process is the NAS. Every load is bounded in count and time.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startBind } from '../test/helpers/bind.js';
import { measureBindCeiling, sweepSingleNameCeiling, type CeilingOptions } from './bind-ceiling.js';
import { renderChart, type Panel, type Series } from './chart.js';
import { ForeignLoad, waitForQuiet } from './cpu.js';
import { daemonThroughput, latencyRun, maxOf, stopRunOf, type DaemonRunSettings, type ThroughputOutcome } from './daemon-runs.js';
import { measureDecode } from './decode.js';
import { measureUdpFloor } from './udp-floor.js';
import { measureDnsFloor, type DnsFloorResult } from './dns-floor.js';
import { haveFreeRadius, measureFreeRadiusExec } from './freeradius-exec.js';
import { summarizeProfile } from './profile.js';
import { buildBaseline } from './baseline.js';
import { formatTable, judgeTargets, medianBy, medianWithRepetitions, TARGETS, type BaselineResults, type BenchResults } from './report.js';
import { backlogRun, startupRun } from './state-runs.js';
import { PROJECT_ROOT } from './service.js';
import { benchZone, listedNames, listingRecords, repeatedZone, stopPacket, type BenchZone } from './zone.js';

const PHASES = ['decode', 'sessions', 'bind', 'daemon', 'latency', 'warn', 'freeradius', 'startup', 'backlog'] as const;
type Phase = (typeof PHASES)[number];

/** In-flight counts tried for BIND's one-name-per-message ceiling; the best counts. */
const SINGLE_CONCURRENCY = [4, 16, 32, 64];
/** Address blocks (10.x.0.0/12) of the repetitions' zones; the other zones use 1, 2, 4 to 7 and 10 to 14. */
const INFO_BLOCKS = [3, 8, 9];
/** Start-up: sessions and pending unlists in state.dir. */
const STARTUP_SESSIONS = 1_000_000;
const STARTUP_PENDING = 100_000;
/** Backlog: the distinct addresses the Stops end sessions on. */
const BACKLOG_ADDRESSES = 20_000;

const RESULTS_DIR = join(PROJECT_ROOT, 'bench', 'results');
const BUILD_DIR = join(RESULTS_DIR, 'build', 'bench');

interface Settings extends DaemonRunSettings {
  readonly stops: number;
  /** Stops sent (and unlisted) before a throughput run is measured, a multiple of 256. */
  readonly warmupStops: number;
  /** Runs of the log.level info throughput measurement; the median counts. */
  readonly repeat: number;
  readonly window: number;
  readonly latencyRate: number;
  readonly latencySeconds: number;
  /** Paced Stops sent first and not judged: the daemon's first second compiles its code (V8's JIT). */
  readonly latencyWarmupSeconds: number;
  readonly singleNames: number;
  readonly batchedNames: number;
  readonly execStops: number;
  readonly profile: boolean;
  /** The daemon's CLI entry (default dist/cli/main.js): --cli points at a candidate build to compare. */
  readonly cli: string | undefined;
  readonly phases: ReadonlySet<Phase>;
  /** Stops sent with the DNS server down in the backlog measurement. */
  readonly backlogStops: number;
  /** The previous release to run beside the candidate (a git tag or commit), or undefined for none. */
  readonly baseline: string | undefined;
}

/** What `--help` prints: the usage of this file's comment. */
const USAGE = `usage: npm run bench [-- OPTIONS]
  --quick            smaller counts, one info run (a few minutes less)
  --profile          one more info run under the CPU profiler; prints its top functions
  --stops N          Stops in each throughput run (100000; 30000 with --quick)
  --window N         requests in flight from the load generator (512)
  --repeat N         log.level info runs and latency runs (3; 1 with --quick)
  --cli PATH         another build's dist/cli/main.js as the candidate
  --only PHASES      some of ${PHASES.join(',')}
  --baseline REF     the release run beside the candidate (v0.3.0), or none`;

function settingsFromArgs(): Settings {
  const { values } = parseArgs({
    options: {
      help: { type: 'boolean', short: 'h', default: false },
      quick: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      stops: { type: 'string' },
      window: { type: 'string' },
      only: { type: 'string' },
      cli: { type: 'string' },
      repeat: { type: 'string' },
      baseline: { type: 'string', default: 'v0.3.0' },
    },
  });
  if (values.help === true) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = values.quick === true;
  const phases = new Set<Phase>();
  for (const name of values.only?.split(',') ?? PHASES) {
    if (!(PHASES as readonly string[]).includes(name)) throw new Error(`--only: "${name}" is not one of ${PHASES.join(', ')}`);
    phases.add(name as Phase);
  }
  const number = (text: string | undefined, fallback: number, what: string): number => {
    const value = text === undefined ? fallback : Number(text);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`${what} must be a positive integer, not ${text}`);
    return value;
  };
  return {
    stops: number(values.stops, quick ? 30_000 : 100_000, '--stops'),
    warmupStops: quick ? 2560 : 5120,
    repeat: Math.min(INFO_BLOCKS.length, number(values.repeat, quick ? 1 : 3, '--repeat')),
    window: number(values.window, 512, '--window'),
    latencyRate: 1000,
    latencySeconds: quick ? 5 : 10,
    latencyWarmupSeconds: 1,
    singleNames: quick ? 8000 : 16_000,
    batchedNames: quick ? 20_000 : 50_000,
    execStops: quick ? 100 : 200,
    profile: values.profile === true,
    cli: values.cli === undefined ? undefined : resolve(values.cli),
    phases,
    backlogStops: quick ? 100_000 : 500_000,
    baseline: values.baseline === 'none' ? undefined : values.baseline,
  };
}

/** bench/sessions-memory.js in a process of its own, so nothing else is in its heap. */
function sessionsMemory(): NonNullable<BenchResults['sessions']> {
  const run = spawnSync(process.execPath, ['--expose-gc', join(BUILD_DIR, 'sessions-memory.js'), '1000000'], { encoding: 'utf8', timeout: 120_000 });
  if (run.status !== 0) throw new Error(`sessions-memory failed: ${run.stderr}`);
  const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { sessions: number; rssBytes: number; rssRightAfterBytes?: number; bytesPerSession: number; insertMs: number };
  return { sessions: result.sessions, rssBytes: result.rssBytes, rssRightAfterBytes: result.rssRightAfterBytes, bytesPerSession: result.bytesPerSession, insertMs: result.insertMs };
}

function bindVersion(): string {
  const run = spawnSync('named', ['-v'], { encoding: 'utf8' });
  return /^BIND \S+/.exec(run.stdout.trim())?.[0] ?? 'BIND (version unknown)';
}

function stamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
}

async function main(): Promise<void> {
  const settings = settingsFromArgs();
  const want = (phase: Phase): boolean => settings.phases.has(phase);
  /** " (run 2 of 3)" in the progress lines of a repeated measurement; nothing when it runs once. */
  const runOf = (index: number): string => (settings.repeat > 1 ? ` (run ${index + 1} of ${settings.repeat})` : '');
  const started = new Date();
  mkdirSync(RESULTS_DIR, { recursive: true });
  const results: { -readonly [K in keyof BenchResults]?: BenchResults[K] } = {
    startedAt: started.toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, bind: bindVersion() },
  };
  const say = (text: string): void => console.log(`[${((Date.now() - started.getTime()) / 1000).toFixed(0).padStart(3)} s] ${text}`);
  const throughputSeries: Series[] = [];
  const latencySeries: Series[] = [];
  const otherLoad: Record<string, number> = {};
  results.otherLoad = otherLoad;
  /** Runs one measurement, recording how busy other processes kept the machine meanwhile. */
  const measure = async <T>(phase: string, body: () => T | Promise<T>): Promise<T> => {
    // A shared machine (a test suite beside the bench) halves the figures: wait a little for quiet first.
    await waitForQuiet(0.05, 20_000, (share) => say(`other processes use ${(share * 100).toFixed(0)}% of the CPU: waiting up to 20 s before ${phase}`));
    const load = new ForeignLoad();
    load.start();
    const value = await body();
    otherLoad[phase] = load.stop();
    return value;
  };

  /** Runs one measurement `settings.repeat` times, as the daemon's runs are, each as `phase N`. */
  const repeated = async <T>(what: string, phase: string, body: () => T | Promise<T>): Promise<T[]> => {
    const runs: T[] = [];
    for (let i = 0; i < settings.repeat; i++) {
      say(`${what}${runOf(i)}`);
      runs.push(await measure(`${phase} ${i + 1}`, body));
    }
    return runs;
  };

  if (want('decode')) {
    // Repeated as well: the CPU target divides by this figure, and one run disturbed by another
    // process would move the ratio as much as a change of the daemon.
    const decodes = await repeated('decode + validation microbenchmark (one core)', 'decode', () => measureDecode());
    results.decode = medianWithRepetitions(decodes, (result) => result.microsecondsPerPacket);
    // Repeated as the daemon's runs are: the floor is the figure its CPU is judged beside.
    const floors = await repeated(`UDP floor: a process that only answers Stops, ${settings.stops.toLocaleString('en-US')} of them`, 'udp floor', () =>
      measureUdpFloor(settings.stops, settings.window),
    );
    results.udpFloor = medianWithRepetitions(floors, (result) => result.cpuMicrosecondsPerPacket);
  }
  if (want('sessions')) {
    say('session table: 1,000,000 sessions (bench/sessions-memory)');
    results.sessions = await measure('sessions', () => sessionsMemory());
  }

  // The latency run's names: its warm-up's, then those it judges.
  const latencyNames = settings.latencyRate * (settings.latencyWarmupSeconds + settings.latencySeconds);
  const zones = {
    single: benchZone('single', 1, settings.singleNames),
    batched: benchZone('batched', 2, settings.batchedNames),
    // One zone per repetition of the log.level info run, and names for BIND's ceiling measured beside each.
    info: Array.from({ length: settings.repeat }, (_, i) => benchZone(`info-${i + 1}`, INFO_BLOCKS[i]!, settings.warmupStops + settings.stops)),
    paired: benchZone('paired', 10, settings.repeat * settings.batchedNames),
    // One zone per repetition of the latency run, and of the DNS floor measured right after each.
    latency: Array.from({ length: settings.repeat }, (_, i) => repeatedZone(`latency-${i + 1}`, 4, i, latencyNames)),
    dnsFloor: Array.from({ length: settings.repeat }, (_, i) => repeatedZone(`dns-floor-${i + 1}`, 17, i, latencyNames)),
    warn: benchZone('warn', 5, settings.warmupStops + settings.stops),
    exec: benchZone('exec', 6, settings.execStops),
    profile: benchZone('profile', 7, settings.warmupStops + settings.stops),
    backlog: benchZone('backlog', 11, BACKLOG_ADDRESSES),
    baseInfo: benchZone('base-info', 12, settings.warmupStops + settings.stops),
    baseLatency: benchZone('base-latency', 13, latencyNames),
    baseBacklog: benchZone('base-backlog', 14, BACKLOG_ADDRESSES),
    baseBatched: benchZone('base-batched', 15, settings.batchedNames),
  };
  const baseline = settings.baseline === undefined ? undefined : buildBaseline(settings.baseline, RESULTS_DIR);
  const baseNotes: string[] = [];
  const baseResults: { -readonly [K in keyof BaselineResults]?: BaselineResults[K] } = baseline ? { ref: baseline.ref, commit: baseline.commit, notes: baseNotes } : {};
  if (baseline) results.baseline = baseResults as BaselineResults;
  /** Runs a measurement of the release; a release that cannot do it leaves a note instead of ending the bench. */
  const onBaseline = async <T>(what: string, body: (cli: string) => Promise<T>): Promise<T | undefined> => {
    if (!baseline) return undefined;
    say(`${baseline.ref}: ${what}`);
    try {
      return await measure(`${baseline.ref} ${what}`, () => body(baseline.cli));
    } catch (error) {
      baseNotes.push(`${what}: ${(error as Error).message.split('\n')[0]}`);
      return undefined;
    }
  };
  if (want('startup')) {
    say(`start-up with ${STARTUP_SESSIONS.toLocaleString('en-US')} sessions and ${STARTUP_PENDING.toLocaleString('en-US')} pending unlists in state.dir`);
    results.startup = await measure('startup', () => startupRun(STARTUP_SESSIONS, STARTUP_PENDING, settings.cli));
    // The seeded journal is format 2: 0.2 reads it, 0.1 refuses it (its note says so).
    baseResults.startup = await onBaseline('start-up, the same state.dir', (cli) => startupRun(STARTUP_SESSIONS, STARTUP_PENDING, cli));
  }
  const needed: BenchZone[] = [];
  if (want('bind')) needed.push(zones.single, zones.batched);
  if (want('daemon')) needed.push(...zones.info);
  if (want('bind') && want('daemon')) needed.push(zones.paired);
  if (want('latency')) needed.push(...zones.latency, ...zones.dnsFloor);
  if (want('warn')) needed.push(zones.warn);
  if (want('freeradius') && haveFreeRadius()) needed.push(zones.exec);
  if (settings.profile) needed.push(zones.profile);
  if (want('backlog')) needed.push(zones.backlog);
  if (baseline && want('daemon')) needed.push(zones.baseInfo);
  if (baseline && want('latency')) needed.push(zones.baseLatency);
  if (baseline && want('backlog')) needed.push(zones.baseBacklog);
  if (baseline && want('bind')) needed.push(zones.baseBatched);
  if (want('freeradius') && !haveFreeRadius()) results.freeradiusExec = { skipped: 'freeradius or nsupdate not installed' };

  if (needed.length > 0) {
    const records = needed.reduce((sum, zone) => sum + zone.count * 2, 0);
    say(`starting BIND with ${needed.length} zones, ${records.toLocaleString('en-US')} records`);
    const bind = await startBind({ zones: needed.map((zone) => ({ name: zone.name, records: listingRecords(zone) })) });
    try {
      if (want('bind')) {
        say(`BIND ceiling, 1 name per UPDATE: ${settings.singleNames.toLocaleString('en-US')} names, best of ${SINGLE_CONCURRENCY.join(', ')} in flight`);
        const single = await measure('bind 1/msg', () =>
          sweepSingleNameCeiling({ bindPort: bind.port, key: bind.key, zone: zones.single, maxDurationMs: 3000 }, SINGLE_CONCURRENCY),
        );
        for (const run of single.runs) if (run.firstError) console.error(`BIND 1/msg at ${run.concurrency} in flight: ${run.failures} failures, first: ${run.firstError}`);
        results.bindSingle = {
          names: single.best.names,
          namesPerSecond: single.best.namesPerSecond,
          concurrency: single.best.concurrency,
          failures: single.best.failures,
          sweep: single.runs.map((run) => ({ concurrency: run.concurrency, namesPerSecond: run.namesPerSecond, failures: run.failures })),
        };
        say(`BIND, 250 names per UPDATE: ${settings.batchedNames} names, 2 in flight`);
        const batched = await measure('bind 250/msg', () => measureBindCeiling({ bindPort: bind.port, key: bind.key, zone: zones.batched, namesPerMessage: 250, concurrency: 2, maxDurationMs: 15_000 }));
        if (batched.firstError) console.error(`BIND batched: ${batched.failures} failures, first: ${batched.firstError}`);
        results.bindBatched = { names: batched.names, namesPerSecond: batched.namesPerSecond, namesPerMessage: 250, concurrency: 2, failures: batched.failures };
        // The same through the release's client: what BIND takes when each UPDATE has a TCP connection of its own (0.3.0 and before).
        const throughRelease = await onBaseline('BIND, 250 names per UPDATE through its DNS client', async () => {
          const { createDnsUpdateBackend } = (await import(pathToFileURL(baseline!.dnsUpdateBackend).href)) as { createDnsUpdateBackend: NonNullable<CeilingOptions['client']> };
          return measureBindCeiling({ bindPort: bind.port, key: bind.key, zone: zones.baseBatched, namesPerMessage: 250, concurrency: 2, maxDurationMs: 15_000, client: createDnsUpdateBackend });
        });
        if (throughRelease) baseResults.bindBatched = { names: throughRelease.names, namesPerSecond: throughRelease.namesPerSecond, namesPerMessage: 250, concurrency: 2, failures: throughRelease.failures };
      }
      if (want('daemon')) {
        const outcomes: ThroughputOutcome[] = [];
        const pairs: { daemon: number; bind: number; ratio: number }[] = [];
        for (const [index, zone] of zones.info.entries()) {
          // The machine's speed drifts by 10 to 30% over minutes, so BIND's 250-names-per-UPDATE rate
          // is measured again right before each run: the rate target is judged on these pairs.
          const paired =
            results.bindBatched &&
            (await measure(`bind 250/msg ${index + 1}`, () =>
              measureBindCeiling({
                bindPort: bind.port,
                key: bind.key,
                zone: zones.paired,
                first: index * settings.batchedNames,
                count: settings.batchedNames,
                namesPerMessage: 250,
                concurrency: 2,
                maxDurationMs: 15_000,
              }),
            ));
          say(`rbl-unlist, log.level info: ${settings.stops.toLocaleString('en-US')} Stops, window ${settings.window}${runOf(index)}`);
          const outcome = await measure(`daemon info ${index + 1}`, () => daemonThroughput(bind, zone, 'info', settings));
          outcomes.push(outcome);
          if (paired && paired.failures === 0) {
            pairs.push({ daemon: outcome.run.unlistedPerSecond, bind: paired.namesPerSecond, ratio: outcome.run.unlistedPerSecond / paired.namesPerSecond });
          }
        }
        if (pairs.length > 0) results.pairedRatios = pairs;
        // The median run stands for the figure; the others are kept in the JSON.
        const median = medianBy(outcomes, (outcome) => outcome.run.unlistedPerSecond)!;
        results.daemonInfo = { ...median.run, repetitions: outcomes.map((outcome) => outcome.run.unlistedPerSecond) };
        throughputSeries.push(
          { label: 'acknowledged, log info', color: '#ff7f0e', points: median.acked },
          { label: 'unlisted, log info', color: '#1f77b4', points: median.unlisted },
        );
      }
      if (want('latency')) {
        // Repeated as the rate runs are, and judged on the median run's p99: one run's tail follows
        // the machine's moment (a stall of the host under this virtual machine) more than the build.
        const runs: Awaited<ReturnType<typeof latencyRun>>[] = [];
        const floors: DnsFloorResult[] = [];
        for (let i = 0; i < settings.repeat; i++) {
          const of = runOf(i);
          say(`rbl-unlist latency: ${settings.latencyRate} Stops/s for ${settings.latencyWarmupSeconds} s of warm-up, then ${settings.latencySeconds} s${of}`);
          runs.push(await measure(`latency ${i + 1}`, () => latencyRun(bind, zones.latency[i]!, settings)));
          say(`DNS floor: BIND alone deleting ${settings.latencyRate} names/s, one UPDATE at a time${of}`);
          const floor = await measure(`dns floor ${i + 1}`, () => measureDnsFloor({ bindPort: bind.port, key: bind.key, zone: zones.dnsFloor[i]!, ratePerSecond: settings.latencyRate, warmupNames: settings.latencyRate * settings.latencyWarmupSeconds }));
          if (floor.firstError) console.error(`DNS floor: ${floor.failures} failed UPDATEs, first: ${floor.firstError}`);
          floors.push(floor);
        }
        const median = medianBy(runs, (outcome) => outcome.run.p99Ms)!;
        results.latency = { ...median.run, repetitions: runs.map((outcome) => outcome.run.p99Ms) };
        latencySeries.push(...median.cdf);
        results.dnsFloor = medianWithRepetitions(floors, (result) => result.p99Ms);
      }
      if (want('backlog')) {
        say(`backlog: ${settings.backlogStops.toLocaleString('en-US')} Stops over ${BACKLOG_ADDRESSES.toLocaleString('en-US')} addresses with the DNS server down, then the drain`);
        results.backlog = await measure('backlog', () => backlogRun(bind, zones.backlog, settings.backlogStops, settings.window, settings.cli));
      }
      if (want('daemon')) {
        const outcome = await onBaseline(`log.level info: ${settings.stops.toLocaleString('en-US')} Stops`, (cli) => daemonThroughput(bind, zones.baseInfo, 'info', { ...settings, cli }));
        if (outcome) {
          baseResults.daemonInfo = outcome.run;
          throughputSeries.push({ label: `unlisted, log info, ${baseline!.ref}`, color: '#7f7f7f', points: outcome.unlisted, dashed: true });
        }
      }
      if (want('latency')) {
        const outcome = await onBaseline(`latency at ${settings.latencyRate} Stops/s`, (cli) => latencyRun(bind, zones.baseLatency, { ...settings, cli }));
        if (outcome) baseResults.latency = outcome.run;
      }
      if (want('backlog')) {
        baseResults.backlog = await onBaseline(`backlog, ${settings.backlogStops.toLocaleString('en-US')} Stops with the DNS server down`, (cli) => backlogRun(bind, zones.baseBacklog, settings.backlogStops, settings.window, cli));
      }
      if (want('warn')) {
        say(`rbl-unlist, log.level warn: ${settings.stops.toLocaleString('en-US')} Stops, window ${settings.window}`);
        const outcome = await measure('daemon warn', () => daemonThroughput(bind, zones.warn, 'warn', settings));
        results.daemonWarn = outcome.run;
        throughputSeries.push(
          { label: 'acknowledged, log warn', color: '#ff7f0e', points: outcome.acked, dashed: true },
          { label: 'unlisted, log warn (from /metrics)', color: '#1f77b4', points: outcome.unlisted, dashed: true },
        );
      }
      if (want('freeradius') && haveFreeRadius()) {
        say(`FreeRADIUS + rlm_exec + nsupdate: ${settings.execStops} Stops, 32 in flight`);
        const packets = Array.from({ length: zones.exec.count }, (_, i) => stopPacket(zones.exec, i, 'exec-'));
        const load = await measure('freeradius', () => measureFreeRadiusExec({ bindPort: bind.port, keyFile: bind.keyFile, zone: zones.exec.name, packets, window: 32, maxDurationMs: 60_000 }));
        const stillListed = listedNames(bind.port, zones.exec.name, bind.keyFile).length;
        // rlm_exec waits for nsupdate, so the last Accounting-Response comes after the last delete.
        const lastAck = maxOf(Array.from(load.ackedAt).filter(Number.isFinite));
        results.freeradiusExec = stopRunOf(load, zones.exec.count, 32, lastAck, zones.exec.count - stillListed, stillListed);
      }
      if (settings.profile) {
        say(`profiling rbl-unlist (node --cpu-prof), log.level info: ${settings.stops.toLocaleString('en-US')} Stops`);
        const file = join(RESULTS_DIR, `daemon-${stamp(started)}.cpuprofile`);
        const outcome = await daemonThroughput(bind, zones.profile, 'info', settings, file);
        if (outcome.profileFile) {
          const summary = summarizeProfile(file, PROJECT_ROOT, 20);
          results.profile = { file, self: summary.self, inclusive: summary.inclusive };
          say(`profile (${outcome.run.unlistedPerSecond.toFixed(0)} unlisted/s under the profiler): busy ${summary.busyMs.toFixed(0)} ms, idle ${summary.idleMs.toFixed(0)} ms`);
        }
      }
    } finally {
      await bind.close();
    }
  }

  const complete = { ...results, targets: judgeTargets(results as Omit<BenchResults, 'targets'>) } as BenchResults;
  const json = `${JSON.stringify(complete, null, 2)}\n`;
  const svg = chart(complete, throughputSeries, latencySeries, settings);
  for (const name of [`bench-${stamp(started)}`, 'latest']) {
    writeFileSync(join(RESULTS_DIR, `${name}.json`), json);
    writeFileSync(join(RESULTS_DIR, `${name}.svg`), svg);
  }
  console.log('');
  console.log(formatTable(complete));
  if (complete.profile) {
    console.log('\ndaemon CPU profile, self time (share of busy time):');
    for (const entry of complete.profile.self) console.log(`  ${(entry.share * 100).toFixed(1).padStart(5)}%  ${entry.name}`);
    console.log('daemon CPU profile, inclusive time in rbl-unlist code:');
    for (const entry of complete.profile.inclusive) console.log(`  ${(entry.share * 100).toFixed(1).padStart(5)}%  ${entry.name}`);
  }
  console.log(`\nresults: ${join('bench', 'results', `bench-${stamp(started)}.json`)} and .svg (also latest.json, latest.svg)`);
  console.log(`total ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s`);
}

function chart(results: BenchResults, throughput: Series[], latency: Series[], settings: Settings): string {
  const panels: Panel[] = [];
  if (throughput.length > 0) {
    panels.push({
      kind: 'line',
      title: `Throughput: ${settings.stops.toLocaleString('en-US')} Stops, window ${settings.window} (Stops/s per 250 ms)`,
      xLabel: 'seconds since the first Stop',
      yLabel: 'Stops per second',
      series: throughput,
      marks: results.bindBatched ? [{ axis: 'y', value: results.bindBatched.namesPerSecond * TARGETS.rateShareOfBatched, label: `target: ${TARGETS.rateShareOfBatched * 100}% of BIND 250/UPDATE` }] : [],
    });
  }
  if (latency.length > 0) {
    const maxMs = results.latency?.maxMs ?? 100;
    panels.push({
      kind: 'line',
      title: `Latency at ${settings.latencyRate.toLocaleString('en-US')} Stops/s: cumulative distribution`,
      xLabel: 'milliseconds (log scale)',
      yLabel: 'percent of Stops',
      series: latency,
      xLog: true,
      xMin: 0.1,
      xMax: Math.max(100, 10 ** Math.ceil(Math.log10(maxMs))),
      yMax: 100,
      marks: [{ axis: 'x', value: TARGETS.latencyP99Ms, label: `target p99 ${TARGETS.latencyP99Ms} ms` }],
    });
  }
  const bars: { label: string; value: number; color: string }[] = [];
  if (results.daemonInfo) bars.push({ label: 'rbl-unlist, log info (unlisted)', value: results.daemonInfo.unlistedPerSecond, color: '#1f77b4' });
  if (results.daemonWarn) bars.push({ label: 'rbl-unlist, log warn (unlisted)', value: results.daemonWarn.unlistedPerSecond, color: '#6baed6' });
  const base = results.baseline;
  if (base?.daemonInfo) bars.push({ label: `${base.ref}, log info (unlisted)`, value: base.daemonInfo.unlistedPerSecond, color: '#7f7f7f' });
  if (results.backlog) bars.push({ label: 'backlog drain, DNS back', value: results.backlog.drainAddressesPerSecond, color: '#2ca02c' });
  if (base?.backlog) bars.push({ label: `${base.ref}, backlog drain`, value: base.backlog.drainAddressesPerSecond, color: '#98df8a' });
  if (results.bindBatched) bars.push({ label: 'BIND, 250 names/UPDATE, no daemon', value: results.bindBatched.namesPerSecond, color: '#999999' });
  if (results.bindSingle) bars.push({ label: 'BIND, 1 name/UPDATE (baseline)', value: results.bindSingle.namesPerSecond, color: '#ff7f0e' });
  if (results.freeradiusExec && 'unlistedPerSecond' in results.freeradiusExec) {
    bars.push({ label: 'FreeRADIUS + exec + nsupdate', value: results.freeradiusExec.unlistedPerSecond, color: '#d62728' });
  }
  if (bars.length > 0) panels.push({ kind: 'bars', title: 'Unlisted per second, same run', unit: 'names or Stops per second', bars });
  const verdicts = results.targets.map((t) => t.verdict);
  const subtitle = `${results.startedAt} · ${results.machine.cpus} cores ${results.machine.cpuModel} · node ${results.machine.node} · ${results.machine.bind} · targets: ${verdicts.filter((v) => v === 'PASS').length} pass, ${verdicts.filter((v) => v === 'FAIL').length} fail`;
  return renderChart('rbl-unlist bench', subtitle, panels);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
