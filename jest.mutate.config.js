/**
 * The Jest configuration of mutation runs (`npm run mutate`): the unit and integration tests only.
 * The end-to-end tests drive the whole local service (a few seconds each, run again for every mutant
 * they cover) and the infra tests synthesize the CDK app, which imports nothing that is mutated.
 */
const path = require('node:path');
const base = require('./jest.config');

module.exports = {
  ...base,
  // Stryker wraps the environment in its own and does not resolve <rootDir> in its path.
  testEnvironment: path.join(__dirname, 'test', 'support', 'node-environment.js'),
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/', '<rootDir>/test/infra/'],
};
