/**
 * The Jest configuration of mutation runs (`npm run mutate`): the unit tests and the integration tests
 * of the mutated adapters. Left out, because every mutant they cover would pay their set-up again
 * (seconds each) while the mutated code has faster tests of its own: the end-to-end tests (the whole
 * local service), the infra tests (CDK synthesis; lib/ imports nothing that is mutated), the handler
 * tests (a synthesis and three emulators), the fuzz and the tenant isolation matrix (the whole service
 * again), the fault injection across export runs (one test of about 20 s that every mutant of the
 * DynamoDB stores and the S3 sink it passes through would run again; the stores' own tests cover the
 * same writes), and the tests of adapters outside the mutated scope (destination gateway, emulators).
 */
const path = require('node:path');
const base = require('./jest.config');

module.exports = {
  ...base,
  // Stryker wraps the environment in its own and does not resolve <rootDir> in its path.
  testEnvironment: path.join(__dirname, 'test', 'support', 'node-environment.js'),
  // The sources as roots too: Stryker runs only the tests Jest finds related to a mutated file, and Jest
  // follows imports only through files under its roots (a test reaching core/export/*.ts through
  // core/export-job-run.ts or test/support/ would otherwise not run for its mutants).
  roots: ['<rootDir>/test', '<rootDir>/lambdas'],
  // A mutant that leaves a promise unsettled (a retry that never ends, a page that never comes) fails its
  // test after 30 s instead of the suite's 60 s. The slowest tests here take about 2 s alone, and under
  // three times that with both cores busy.
  testTimeout: 30_000,
  testPathIgnorePatterns: [
    '/node_modules/',
    '<rootDir>/test/e2e/',
    '<rootDir>/test/infra/',
    '<rootDir>/test/integration/handlers.test.ts',
    '<rootDir>/test/integration/destination-gateway.test.ts',
    '<rootDir>/test/integration/emulators.test.ts',
    '<rootDir>/test/fuzz/',
    '<rootDir>/test/integration/tenant-isolation.test.ts',
    '<rootDir>/test/integration/export-faults.test.ts',
  ],
};
