import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real BIND, Knot, PowerDNS and FreeRADIUS; two cores, so keep parallelism modest.
    maxWorkers: 2,
    testTimeout: 60_000,
    // The JSON report lets .ci/run print a one-line summary of what ran.
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest/results.json' },
    hookTimeout: 60_000,
  },
});
