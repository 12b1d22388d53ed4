/**
 * The configured backends while the service runs: built by the backend list from the config,
 * every unlist call timed, probed in the background for /readyz, and swapped on a reload when
 * their config changed.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Config } from '../config/load.js';
import type { Metrics } from '../http/metrics.js';
import { BackendProber } from '../http/readiness.js';
import type { BackendRegistry } from './registry.js';
import type { Backend } from './types.js';

/** The backend with each unlist call observed in rbl_unlist_backend_request_duration_seconds. */
export function timedBackend(backend: Backend, metrics: Metrics): Backend {
  return {
    ...backend,
    async unlist(zone, targets) {
      const end = metrics.backendRequestSeconds.startTimer({ backend: backend.name });
      try {
        await backend.unlist(zone, targets);
      } finally {
        end();
      }
    },
  };
}

export class ActiveBackends {
  readonly #registry: BackendRegistry;
  readonly #metrics: Metrics;
  #config: Config;
  #list: readonly Backend[];
  #prober: BackendProber;

  /** Builds the backends of `config` (nothing is sent yet); `registry` knows their types. */
  constructor(config: Config, registry: BackendRegistry, metrics: Metrics) {
    this.#registry = registry;
    this.#metrics = metrics;
    this.#config = config;
    this.#list = this.#build(config);
    this.#prober = this.#newProber(config);
  }

  get list(): readonly Backend[] {
    return this.#list;
  }

  /** Their readiness: the remembered outcome of each zone's last probe. */
  get prober(): BackendProber {
    return this.#prober;
  }

  /** Starts probing every zone, now and every http.probe_interval. */
  startProbing(): void {
    this.#prober.start();
  }

  stopProbing(): void {
    this.#prober.stop();
  }

  /**
   * Takes the backends and probe interval of a reloaded config: when the backends changed, the
   * entries whose config changed get new backends, entries left as they were keep theirs (so the
   * queue can tell which lanes changed: those retry at once), the list is handed to `adopt`, and
   * then the replaced ones are closed. Returns whether they changed.
   */
  async reload(next: Config, adopt: (backends: readonly Backend[]) => void): Promise<boolean> {
    const previous = this.#config;
    const changed = !isDeepStrictEqual(previous.backends, next.backends);
    let retired: readonly Backend[] = [];
    if (changed) {
      const unused = new Map(previous.backends.map((entry, index) => [entry, this.#list[index]!]));
      this.#list = next.backends.map((entry) => {
        for (const [old, backend] of unused) {
          if (!isDeepStrictEqual(old, entry)) continue;
          unused.delete(old);
          return backend;
        }
        return timedBackend(this.#registry.create(entry), this.#metrics);
      });
      retired = [...unused.values()];
      adopt(this.#list);
    }
    this.#config = next;
    if (changed || previous.http.probeIntervalMs !== next.http.probeIntervalMs) {
      this.#prober.stop();
      this.#prober = this.#newProber(next, this.#prober);
      this.#prober.start();
    }
    await Promise.all(retired.map((backend) => backend.close()));
    return changed;
  }

  /** Stops probing and releases every backend's sockets. */
  async close(): Promise<void> {
    this.#prober.stop();
    await Promise.all(this.#list.map((backend) => backend.close()));
  }

  #build(config: Config): readonly Backend[] {
    return config.backends.map((entry) => timedBackend(this.#registry.create(entry), this.#metrics));
  }

  #newProber(config: Config, previous?: BackendProber): BackendProber {
    return new BackendProber(this.#list, { intervalMs: config.http.probeIntervalMs, previous });
  }
}
