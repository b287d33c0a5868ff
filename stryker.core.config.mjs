/**
 * Mutation testing of `lambdas/core` (`npm run mutate:core`): the domain is pure TypeScript, measured
 * against its unit tests alone, which run in milliseconds; the emulators' set-up would otherwise be paid
 * again for every mutant an integration test covers. Scores: docs/testing.md.
 */
import adapters from './stryker.config.mjs';

export default {
  ...adapters,
  jest: { ...adapters.jest, configFile: 'jest.unit.config.js' },
  incrementalFile: 'reports/stryker-core-incremental.json',
  // With the day log's packing: pure code, whose unit tests settle it in seconds (stryker.config.mjs).
  mutate: ['lambdas/core/**/*.ts', '!lambdas/core/log.ts', 'lambdas/adapters/dynamodb/day-log.ts'],
  htmlReporter: { fileName: 'reports/mutation/core.html' },
  jsonReporter: { fileName: 'reports/mutation/core.json' },
};
