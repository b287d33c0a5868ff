/** Tests run TypeScript through SWC (no type checking here: `npm run typecheck` does that in `npm test`). */
module.exports = {
  testEnvironment: '<rootDir>/test/support/node-environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(ts|js)$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  // hyparquet-writer (and hyparquet, which tests read Parquet with) ship ES modules only: compiled like our sources.
  transformIgnorePatterns: ['/node_modules/(?!(hyparquet|hyparquet-writer)/)'],
  setupFiles: ['<rootDir>/test/support/env.ts'],
  setupFilesAfterEnv: ['<rootDir>/test/support/equality.ts'],
  testTimeout: 60000,
};
