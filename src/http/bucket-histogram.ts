/**
 * A Prometheus histogram without labels, for what is observed once per packet: an observation is
 * a bucket search and three additions on plain numbers. prom-client's Histogram builds a label
 * object, a closure and a value pair per observation and keys its buckets by the bound's text:
 * two of them per Stop were 3% of the daemon's CPU at thousands of Stops a second (issue 13).
 *
 * It registers with a prom-client Registry like any metric and reads out the same way (`get()`
 * gives what prom-client's Histogram gives: cumulative `_bucket` samples by `le`, `+Inf`, `_sum`,
 * `_count`), so the exposition is line for line the same.
 */
import type { Registry } from 'prom-client';

/** One sample as a prom-client metric's get() gives it. */
export interface HistogramSample {
  readonly labels: { readonly le?: number | '+Inf' };
  readonly value: number;
  readonly metricName: string;
}

/** What get() gives: the shape the Registry prints and returns as JSON. */
export interface HistogramReading {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram';
  readonly aggregator: 'sum';
  readonly values: readonly HistogramSample[];
}

export class BucketHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: readonly number[];
  /** Observations per bucket (not cumulative); the last one past every bound (+Inf). */
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;

  constructor(options: { readonly name: string; readonly help: string; readonly buckets: readonly number[]; readonly registers: readonly Registry[] }) {
    if (options.buckets.some((bound, i) => !Number.isFinite(bound) || (i > 0 && bound <= options.buckets[i - 1]!))) {
      throw new RangeError(`histogram ${options.name}: buckets must be finite and increasing, got ${options.buckets.join(', ')}`);
    }
    this.name = options.name;
    this.help = options.help;
    this.#bounds = [...options.buckets];
    this.#counts = new Float64Array(this.#bounds.length + 1);
    // registerMetric is typed for prom-client's own classes; it reads name, get() and reset().
    for (const registry of options.registers) registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** Counts a value in the first bucket whose bound is at least the value (Prometheus's `le`). */
  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`histogram ${this.name}: not a finite number: ${value}`);
    const bounds = this.#bounds;
    let bucket = 0;
    while (bucket < bounds.length && value > bounds[bucket]!) bucket++;
    this.#counts[bucket]!++;
    this.#sum += value;
    this.#count++;
  }

  reset(): void {
    this.#counts.fill(0);
    this.#sum = 0;
    this.#count = 0;
  }

  get(): Promise<HistogramReading> {
    const bucketName = `${this.name}_bucket`;
    const values: HistogramSample[] = [];
    let cumulative = 0;
    this.#bounds.forEach((bound, i) => {
      cumulative += this.#counts[i]!;
      values.push({ labels: { le: bound }, value: cumulative, metricName: bucketName });
    });
    values.push(
      { labels: { le: '+Inf' }, value: this.#count, metricName: bucketName },
      { labels: {}, value: this.#sum, metricName: `${this.name}_sum` },
      { labels: {}, value: this.#count, metricName: `${this.name}_count` },
    );
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }
}
