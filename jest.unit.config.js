/** The unit tests alone (mutation runs of lambdas/core: stryker.core.config.mjs). */
const mutationRuns = require('./jest.mutate.config');

module.exports = { ...mutationRuns, roots: ['<rootDir>/test/unit'] };
