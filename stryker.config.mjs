// Mutation testing of the pure core (`npm run mutate`): every mutant the fast unit tests let
// survive is a behaviour no test holds. Survivors that change nothing observable are listed in
// stryker.equivalent.md with the reason. Not part of `npm test`: .ci/run runs it on every run,
// incrementally (below).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  mutate: [
    'src/radius/attributes.ts',
    'src/radius/authenticator.ts',
    'src/radius/clients.ts',
    'src/radius/dedupe.ts',
    'src/radius/describe.ts',
    'src/radius/dictionary.ts',
    'src/radius/packet.ts',
    'src/radius/protocol.ts',
    'src/radius/response.ts',
    'src/radius/validate.ts',
    'src/accounting/**/*.ts',
    // intake.ts is the accounting I/O step (logging, rate-limited warnings, the journal commit and
    // the answer): not pure code, and its behaviour is held by the integration tests, which start
    // the service and cannot run once per mutant.
    '!src/accounting/intake.ts',
    'src/net/**/*.ts',
    'src/backends/dns-update/message.ts',
    'src/backends/dns-update/tsig.ts',
    'src/backends/dns-update/response.ts',
    'src/backends/dns-update/outcome.ts',
    'src/queue/record.ts',
  ],
  coverageAnalysis: 'perTest',
  // Incremental mode: stryker-incremental.json (committed) holds every mutant's result and the
  // tests that covered it; a run re-tests only mutants whose code or covering tests changed since,
  // so CI runs `npm run mutate` on every commit in a few minutes. Refresh it with a full run
  // (`npm run mutate -- --force`) when the scope or the mutation config changes.
  incremental: true,
  incrementalFile: 'stryker-incremental.json',
  // Mutants in module-level constants would each need the whole test set; they are counted as
  // ignored so the run fits CI's time. The tables they touch are held by the codec tests anyway.
  ignoreStatic: true,
  // Two cores shared with the rest of CI; override with --concurrency.
  concurrency: 2,
  timeoutMS: 10_000,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportTests: false, reportMutants: false, reportScoreTable: true },
  thresholds: { high: 90, low: 85, break: 85 },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
