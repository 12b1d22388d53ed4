/**
 * Readiness: the RADIUS sockets (UDP, and the RadSec listener when configured) are bound, the journal is writable, and every backend answered a
 * probe of each of its zones recently. {@link BackendProber} probes in the background so /readyz
 * answers at once from remembered results and never waits on a slow server.
 */
import type { Backend } from '../backends/types.js';
import { redactUrlsIn } from '../redact.js';

/** One named check in the /readyz body. */
export interface CheckState {
  readonly ok: boolean;
  readonly error?: string;
  /** ISO 8601 time of the last successful probe (backend checks only). */
  readonly last_success?: string;
  /** ISO 8601 time of the last probe, successful or not (backend checks only). */
  readonly last_probe?: string;
}

export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, CheckState>>;
}

/** What the prober remembers of one (backend, zone). */
export interface ProbeState {
  readonly backend: string;
  readonly zone: string;
  /** Epoch ms of the last success, undefined before the first. */
  readonly lastSuccess: number | undefined;
  readonly lastProbe: number | undefined;
  /** The last probe's error message; undefined when it succeeded or none ran yet. */
  readonly error: string | undefined;
  /** Whether the last probe succeeded. */
  readonly up: boolean;
}

export interface BackendProberOptions {
  /** Time between probes of one zone; default 10 s. */
  readonly intervalMs?: number;
  /** A probe counts for this many intervals; default 3. */
  readonly staleAfterIntervals?: number;
  /** The clock, for tests. */
  readonly now?: () => number;
  /**
   * The prober this one replaces (a reload): what it knew of a backend kept as it was (the same
   * Backend object) and its zone is kept, so an unchanged backend stays ready across the reload.
   */
  readonly previous?: BackendProber;
}

export const DEFAULT_PROBE_INTERVAL_MS = 10_000;

interface MutableProbeState {
  backend: Backend;
  zone: string;
  lastSuccess: number | undefined;
  lastProbe: number | undefined;
  error: string | undefined;
  running: boolean;
}

/** Probes each backend's zones every interval (Backend.probe) and remembers the outcome. */
export class BackendProber {
  readonly intervalMs: number;
  private readonly staleAfterMs: number;
  private readonly now: () => number;
  private readonly states: MutableProbeState[];
  private timer: NodeJS.Timeout | undefined;

  constructor(backends: readonly Backend[], options: BackendProberOptions = {}) {
    this.intervalMs = options.intervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
    if (!(this.intervalMs > 0)) throw new RangeError(`BackendProber intervalMs must be positive, got ${this.intervalMs}`);
    this.staleAfterMs = this.intervalMs * (options.staleAfterIntervals ?? 3);
    this.now = options.now ?? Date.now;
    this.states = backends.flatMap((backend) =>
      backend.zones.map((zone) => {
        const known = options.previous?.states.find((state) => state.backend === backend && state.zone === zone);
        return { backend, zone, lastSuccess: known?.lastSuccess, lastProbe: known?.lastProbe, error: known?.error, running: false };
      }),
    );
  }

  /** Probes at once, then every interval, until stop(). */
  start(): void {
    if (this.timer) return;
    void this.probeAll();
    this.timer = setInterval(() => void this.probeAll(), this.intervalMs);
    // The prober alone must not keep the process alive.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Probes every (backend, zone) once, in parallel; a zone whose previous probe still runs is skipped. */
  async probeAll(): Promise<void> {
    await Promise.all(this.states.map((state) => this.probeOne(state)));
  }

  private async probeOne(state: MutableProbeState): Promise<void> {
    if (state.running) return;
    state.running = true;
    try {
      await state.backend.probe(state.zone);
      state.lastSuccess = this.now();
      state.error = undefined;
    } catch (error) {
      state.error = redactUrlsIn(error instanceof Error ? error.message : String(error));
    } finally {
      state.lastProbe = this.now();
      state.running = false;
    }
  }

  /** What is remembered of each (backend, zone). */
  probeStates(): ProbeState[] {
    return this.states.map((s) => ({
      backend: s.backend.name,
      zone: s.zone,
      lastSuccess: s.lastSuccess,
      lastProbe: s.lastProbe,
      error: s.error,
      up: s.lastProbe !== undefined && s.error === undefined,
    }));
  }

  /** For the rbl_unlist_backend_up gauge: whether each zone's last probe succeeded. */
  backendUp(): { backend: string; zone: string; up: boolean }[] {
    return this.probeStates().map(({ backend, zone, up }) => ({ backend, zone, up }));
  }

  /** One check per (backend, zone): ok when a probe succeeded within the last staleAfterIntervals intervals. */
  report(): Record<string, CheckState> {
    const now = this.now();
    const checks: Record<string, CheckState> = {};
    for (const s of this.probeStates()) {
      const fresh = s.lastSuccess !== undefined && now - s.lastSuccess <= this.staleAfterMs;
      let error = s.error;
      if (!fresh && error === undefined) {
        error = s.lastSuccess === undefined ? 'not probed yet' : `no successful probe for ${Math.round((now - s.lastSuccess) / 1000)} s`;
      }
      checks[`backend ${s.backend} zone ${s.zone}`] = {
        ok: fresh,
        ...(error === undefined ? {} : { error }),
        ...(s.lastSuccess === undefined ? {} : { last_success: new Date(s.lastSuccess).toISOString() }),
        ...(s.lastProbe === undefined ? {} : { last_probe: new Date(s.lastProbe).toISOString() }),
      };
    }
    return checks;
  }
}

export interface ReadinessSources {
  /** One check per RADIUS transport ("radius" for UDP, "radius tls" for RadSec), each transport's own. */
  readonly listeners: () => Readonly<Record<string, CheckState>>;
  /** Whether the journal accepts writes, as the state store reports it; absent when there is no journal (one-shot commands). */
  readonly journal?: () => { readonly writable: boolean; readonly error?: string };
  readonly prober?: BackendProber;
}

/** The function /readyz calls: every check, and ready when all are ok. */
export function createReadiness(sources: ReadinessSources): () => ReadinessReport {
  return () => {
    const checks: Record<string, CheckState> = {};
    Object.assign(checks, sources.listeners());
    if (sources.journal) {
      const health = sources.journal();
      checks.journal = health.writable ? { ok: true } : { ok: false, error: `journal not writable: ${health.error ?? 'unknown error'}` };
    }
    if (sources.prober) Object.assign(checks, sources.prober.report());
    return { ready: Object.values(checks).every((check) => check.ok), checks };
  };
}

/** /readyz while state.dir is not open yet: not ready, and why (the journal replaying, a full disk). */
export function startingReadiness(opening: string): ReadinessReport {
  return { ready: false, checks: { journal: { ok: false, error: opening }, radius: { ok: false, error: 'RADIUS sockets not bound until state.dir is open' } } };
}

/** GET /status and GET /addresses/ADDRESS while state.dir is not open yet: 503, saying why. */
export function startingView(path: string, opening: string): { readonly status: number; readonly body: unknown } | undefined {
  if (path !== '/status' && !path.startsWith('/addresses/')) return undefined;
  return { status: 503, body: { error: { code: 'RBL_STATE_DIR', message: `starting: ${opening}` } } };
}
