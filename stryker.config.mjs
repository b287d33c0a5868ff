/**
 * Mutation testing (`npm run mutate:adapters`; `npm run mutate` runs it after the core's): the adapters
 * that carry the service's guarantees (the DynamoDB stores' conditional writes, the S3 sink, the
 * endpoint guard, the HTTP mapping), against the unit and integration tests. Not part of `npm test`.
 * Scope, speed and scores: docs/testing.md.
 */
export default {
  $schema: './node_modules/@stryker-mutator/core/schema/stryker-schema.json',
  packageManager: 'npm',
  testRunner: 'jest',
  jest: { projectType: 'custom', configFile: 'jest.mutate.config.js', enableFindRelatedTests: true },
  // No type checker: it cost 3.7 times the CPU of the tests it saved (company-row.ts: 1 min 57 s against
  // 32 s, 2026-12-07). A mutant that does not compile runs anyway (@swc/jest strips types) and counts as
  // killed when a test fails, surviving otherwise; docs/testing.md lists such survivors as equivalent.
  checkers: [],
  coverageAnalysis: 'perTest',
  // Two test runners: the machine's two cores.
  concurrency: 2,
  // Static mutants (module-level constants) would run every test of every related file, each time.
  ignoreStatic: true,
  incremental: true,
  incrementalFile: 'reports/stryker-adapters-incremental.json',
  mutate: [
    'lambdas/adapters/dynamodb/*.ts',
    // Pure code (packing days into bytes), measured with the core against its unit tests: here its
    // endless-loop mutants each waited out a timeout of the integration tests (67 of 138 mutants in
    // 25 minutes, 47 timeouts), there all 138 take 42 seconds.
    '!lambdas/adapters/dynamodb/day-log.ts',
    'lambdas/adapters/s3/object-sink.ts',
    'lambdas/adapters/s3/endpoint-guard.ts',
    'lambdas/http/apigateway.ts',
    'lambdas/http/errors.ts',
  ],
  ignorePatterns: ['.local', 'cdk.out', 'coverage', '.bench', 'reports', 'bench'],
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/adapters.html' },
  jsonReporter: { fileName: 'reports/mutation/adapters.json' },
  timeoutMS: 10000,
  timeoutFactor: 2,
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
