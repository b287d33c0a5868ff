/**
 * The Jest configuration of mutation runs (`npm run mutate`): the unit and integration tests only.
 * The end-to-end tests drive the whole local service (a few seconds each, run again for every mutant
 * they cover) and the infra tests synthesize the CDK app, which imports nothing that is mutated.
 */
const base = require('./jest.config');

module.exports = {
  ...base,
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/', '<rootDir>/test/infra/'],
};
