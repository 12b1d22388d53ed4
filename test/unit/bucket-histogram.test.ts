/**
 * The per-packet histogram (src/http/bucket-histogram.ts) must read out exactly as prom-client's
 * Histogram does for the same observations: the same exposition text and the same JSON, so a
 * dashboard or promtool cannot tell them apart.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { BucketHistogram } from '../../src/http/bucket-histogram.js';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

function pair(): { ours: BucketHistogram; theirs: Histogram; ourRegistry: Registry; theirRegistry: Registry } {
  const ourRegistry = new Registry();
  const theirRegistry = new Registry();
  const options = { name: 'rbl_unlist_test_seconds', help: 'Time of a test' };
  const ours = new BucketHistogram({ ...options, buckets: BUCKETS, registers: [ourRegistry] });
  const theirs = new Histogram({ ...options, buckets: BUCKETS, registers: [theirRegistry] });
  return { ours, theirs, ourRegistry, theirRegistry };
}

/** The JSON reading with the samples' exemplar fields left out. */
function withoutExemplars(metrics: readonly { values: readonly object[] }[]): unknown {
  return metrics.map((metric) => ({ ...metric, values: metric.values.map(({ exemplar: _exemplar, ...sample }: { exemplar?: unknown }) => sample) }));
}

describe('the per-packet histogram', () => {
  it('reads out as prom-client’s Histogram does, as text and as JSON, for any observations', async () => {
    const value = fc.oneof(fc.constantFrom(...BUCKETS, 0, -1, 5.000001, 1e9), fc.double({ min: -1, max: 10, noNaN: true }));
    await fc.assert(
      fc.asyncProperty(fc.array(value, { maxLength: 60 }), async (values) => {
        const { ours, theirs, ourRegistry, theirRegistry } = pair();
        for (const v of values) {
          ours.observe(v);
          theirs.observe(v);
        }
        expect(await ourRegistry.metrics()).toBe(await theirRegistry.metrics());
        // prom-client adds an empty exemplar to each sample; exemplars are off here, so none is compared.
        expect(withoutExemplars(await ourRegistry.getMetricsAsJSON())).toEqual(withoutExemplars(await theirRegistry.getMetricsAsJSON()));
      }),
      { numRuns: 200 },
    );
  });

  it('counts a value equal to a bound in that bound’s bucket (le is "less or equal")', async () => {
    const { ours, ourRegistry } = pair();
    ours.observe(0.001);
    const text = await ourRegistry.metrics();
    expect(text).toContain('rbl_unlist_test_seconds_bucket{le="0.0005"} 0');
    expect(text).toContain('rbl_unlist_test_seconds_bucket{le="0.001"} 1');
    expect(text).toContain('rbl_unlist_test_seconds_bucket{le="+Inf"} 1');
    expect(text).toContain('rbl_unlist_test_seconds_count 1');
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])('refuses %s, as prom-client does, and counts nothing', async (bad) => {
    const { ours, ourRegistry } = pair();
    expect(() => ours.observe(bad)).toThrow(TypeError);
    expect(await ourRegistry.metrics()).toContain('rbl_unlist_test_seconds_count 0');
  });

  it('starts from zero again when the registry resets its metrics', async () => {
    const { ours, ourRegistry } = pair();
    ours.observe(0.3);
    ourRegistry.resetMetrics();
    const text = await ourRegistry.metrics();
    expect(text).toContain('rbl_unlist_test_seconds_count 0');
    expect(text).toContain('rbl_unlist_test_seconds_sum 0');
    expect(text).toContain('rbl_unlist_test_seconds_bucket{le="0.5"} 0');
  });

  it.each([
    ['not increasing', [0.1, 0.05]],
    ['repeated', [0.1, 0.1]],
    ['not finite', [0.1, Number.POSITIVE_INFINITY]],
  ])('refuses buckets that are %s', (_why, buckets) => {
    expect(() => new BucketHistogram({ name: 'rbl_unlist_bad_seconds', help: 'x', buckets, registers: [] })).toThrow(RangeError);
  });
});
