import { defineConfig } from 'vitest/config';

// The fast unit tests of the mutation-tested core (stryker.config.mjs): no peers, no sleeps, so
// Stryker can run the tests that cover each mutant thousands of times within its time budget.
export default defineConfig({
  test: {
    include: [
      'test/unit/accounting-*.test.ts',
      'test/unit/canonical-address.test.ts',
      'test/unit/address.test.ts',
      'test/unit/dns-backend.test.ts',
      'test/unit/dns-message.test.ts',
      'test/unit/dns-outcome.test.ts',
      'test/unit/dns-response.test.ts',
      'test/unit/host-port.test.ts',
      'test/unit/journal-record.test.ts',
      'test/unit/naming.test.ts',
      'test/unit/policy.test.ts',
      'test/unit/radius-*.test.ts',
      'test/unit/tsig.test.ts',
      'test/unit/tsig-keyfile.test.ts',
    ],
    // The socket listener and the DNS transport are not mutated, and their tests wait on sockets.
    exclude: ['test/unit/radius-listener.test.ts'],
    // Left out: a speed test (it would measure Stryker's instrumentation) and the nsupdate
    // cross-checks (a process per test; the independent HMAC tests hold the same bytes).
    testNamePattern: /^(?!.*(in well under a second|as nsupdate -k))/,
    testTimeout: 10_000,
  },
});
