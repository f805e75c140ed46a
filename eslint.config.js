// @ts-check
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', 'console/dist/**', 'bench/results/**', 'test/artifacts/**', 'dist/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Workflow code is deterministic: no Node builtins, no database, no activity implementations.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...builtinModules, ...builtinModules.map((m) => `node:${m}`)].map((name) => ({ name, message: 'Workflow code must not do I/O.' })),
          patterns: [
            { group: ['**/db/**', '../db', '../db/*'], message: 'Workflows reach the database only through activities.' },
            { group: ['**/activities/*', '!**/activities/*-types'], message: 'Import activity types only (import type … from *-types).' },
          ],
        },
      ],
    },
  },
);
