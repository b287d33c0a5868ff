/** The unit tests alone (mutation runs of lambdas/core: stryker.core.config.mjs). */
const mutationRuns = require('./jest.mutate.config');

module.exports = {
  ...mutationRuns,
  // Only test/unit's tests run; the sources and test/support are roots so that Jest's related-test search
  // follows imports through them (see jest.mutate.config.js).
  roots: ['<rootDir>/test/unit', '<rootDir>/test/support', '<rootDir>/lambdas'],
};
