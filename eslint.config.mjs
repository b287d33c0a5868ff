// Type-aware lint: typescript-eslint's recommended rules with type information (no floating promises,
// no misused promises, ...). Formatting is Prettier's job (`npm run format:check`), so no stylistic rules.
import eslint from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'cdk.out/',
      '.local/',
      'coverage/',
      'reports/',
      '.stryker-tmp*/',
      'dashboard/dist/',
      '.bench/',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: globals.node,
    },
    rules: {
      // Port methods are async by contract; an in-memory or synchronous implementation has nothing to await.
      '@typescript-eslint/require-await': 'off',
      // The export formats' character rules match control characters on purpose.
      'no-control-regex': 'off',
      // The same convention as TypeScript's noUnusedParameters: a leading underscore marks an unused binding.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      // Tests, the benchmark and the screenshots script read the HTTP API's JSON answers, DuckDB rows and synthesized CloudFormation
      // templates as `any`
      // (declared so where they are received) and assert their shape; typing every answer would restate the
      // zod schemas under test.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['dashboard/src/**/*.ts'],
    languageOptions: { globals: globals.browser },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // Jest's configuration files and the lock script are CommonJS, as Jest and Node load them.
    files: ['**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
