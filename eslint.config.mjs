// Lint rules for the whole package. Besides the usual TypeScript checks, this file enforces the
// layer rules of the design (../shared/DESIGN.md, "Who may import what"):
//   - src/core imports nothing of the project outside itself (the manifest JSON Schema aside) and never 'vscode';
//   - src/protocol holds message types only: it imports nothing of the project but core types;
//   - webview-ui imports only types, and only from src/protocol;
//   - src/extension reads tensor data only through the worker, so it never imports the core modules that do.
import js from '@eslint/js';
import stylistic from '@stylistic/eslint-plugin';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Core modules that read tensor data, run llama.cpp or load models: the worker's business, never the host's. */
const HEAVY_CORE = ['convert', 'mlx', 'quality', 'pipeline', 'runtime', 'llamacpp', 'python', 'fs/hash'];

const restrict = (patterns, paths = []) => ['error', { paths, patterns }];
const VSCODE = { name: 'vscode', message: 'Only src/extension (and the in-host tests) may import vscode.' };

export default tseslint.config(
  {
    ignores: ['.vsix-stage/**', 'dist/**', 'node_modules/**', 'test-output/**', 'demo-output/**', '.pajamas-cache/**', '**/*.vsix'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { '@stylistic': stylistic },
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: globals.node,
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-imports': 'off',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'prefer-const': 'error',
      'no-console': 'off',
      // Prettier wraps code at 140 columns but never breaks a string; this catches the lines it leaves long.
      '@stylistic/max-len': ['error', { code: 140, ignoreUrls: true }],
    },
  },
  {
    // The CLI shim is CommonJS, like the bundle it loads.
    files: ['bin/*.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Tests build deliberately malformed values; `any` is how they say so.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Browser code: the webviews, and the functions the UI tests evaluate inside the page.
    files: ['webview-ui/**/*.ts', 'test/vscode/harness/*.mjs'],
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(
        [
          {
            group: ['**/extension/**', '**/server/**', '**/cli/**', '**/protocol/**', '**/webview-ui/**'],
            message: 'core imports nothing of the project outside src/core.',
          },
          {
            group: ['../../../*', '!../../../schemas', '!../../../schemas/*.json'],
            message: 'core imports nothing of the project outside src/core.',
          },
        ],
        [VSCODE],
      ),
    },
  },
  {
    files: ['src/protocol/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(
        [
          {
            group: ['**/extension/**', '**/server/**', '**/cli/**', '**/webview-ui/**'],
            message: 'src/protocol declares messages; it depends on nothing but core types.',
          },
          { group: ['**/core/**'], allowTypeImports: true, message: 'src/protocol may import only types from core.' },
        ],
        [VSCODE],
      ),
    },
  },
  {
    files: ['src/server/**/*.ts', 'src/cli/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(
        [{ group: ['**/extension/**', '**/webview-ui/**'], message: 'server and cli import only core and protocol.' }],
        [VSCODE],
      ),
    },
  },
  {
    files: ['src/extension/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict([
        {
          group: HEAVY_CORE.flatMap((m) => [`**/core/${m}`, `**/core/${m}/**`]),
          allowTypeImports: true,
          message:
            'The extension host reads headers only: send work that reads tensor data, runs llama.cpp or loads a model to the worker.',
        },
        {
          group: ['**/server/**', '**/cli/**', '**/webview-ui/**'],
          message: 'The extension talks to the worker through src/protocol only.',
        },
      ]),
    },
  },
  {
    files: ['webview-ui/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(
        [
          { group: ['**/src/protocol/**'], allowTypeImports: true, message: 'webview-ui imports only types from src/protocol.' },
          {
            group: ['**/src/*', '!**/src/protocol', '**/src/core/**', '**/src/extension/**', '**/src/server/**', '**/src/cli/**'],
            message: 'webview-ui imports only types from src/protocol.',
          },
        ],
        [VSCODE],
      ),
    },
  },
);
