// Lint rules, including the one-way dependency rule of the architecture:
//   ui → store → workers → rlhf → model → engine
// world (TinyWorld) depends on nothing and is used by rlhf, data, workers, cli and store, never by
// model or engine; data (IndexedDB, checkpoint fetching) uses model and world and is used by
// workers, cli and store; cli is a Node front end beside the worker. An import that points up the
// chain fails lint. ui imports the store at run time and any other layer for types only, and no
// import cycle is allowed anywhere (import-x/no-cycle).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import globals from 'globals';

/** Layers above each folder: files in the folder may not import from these. */
const FORBIDDEN_IMPORTS = {
  'src/engine': ['model', 'rlhf', 'world', 'data', 'store', 'ui', 'cli', 'workers'],
  'src/model': ['rlhf', 'world', 'data', 'store', 'ui', 'cli', 'workers'],
  'src/world': ['engine', 'model', 'rlhf', 'data', 'store', 'ui', 'cli', 'workers'],
  'src/rlhf': ['data', 'store', 'ui', 'cli', 'workers'],
  'src/data': ['engine', 'rlhf', 'store', 'ui', 'cli', 'workers'],
  workers: ['store', 'ui', 'cli'],
  'src/store': ['ui', 'cli'],
  'src/cli': ['store', 'ui', 'workers'],
};

function layerRule(folder, forbidden) {
  return {
    files: [`${folder}/**/*.{ts,tsx}`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: forbidden.map((layer) => ({
            group: [`**/${layer}/**`, `**/${layer}`],
            message: `${folder} may not import from ${layer}: dependencies flow ui → store → workers → rlhf → model → engine.`,
          })),
        },
      ],
    },
  };
}

/** What src/ui may import only as types (`import type`): every layer but the store. */
const UI_TYPE_ONLY = ['engine', 'model', 'rlhf', 'world', 'data', 'cli', 'workers'];

const uiRule = {
  files: ['src/ui/**/*.{ts,tsx}'],
  rules: {
    '@typescript-eslint/no-restricted-imports': [
      'error',
      {
        patterns: UI_TYPE_ONLY.map((layer) => ({
          group: [`**/${layer}/**`, `**/${layer}`],
          allowTypeImports: true,
          message: `src/ui may import ${layer} only as types: run-time code reaches the panels through the store.`,
        })),
      },
    ],
  },
};

const noCycles = {
  files: ['**/*.{ts,tsx}'],
  plugins: { 'import-x': importX },
  settings: {
    // the TypeScript files are parsed for their imports; the imports name their files with the
    // extension (`./a.ts`), so Node's resolution finds them
    'import-x/extensions': ['.ts', '.tsx', '.js', '.mjs'],
    'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx'] },
    'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.tsx', '.js', '.mjs'] })],
  },
  rules: { 'import-x/no-cycle': 'error' },
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'public/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.browser, ...globals.worker, ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['src/ui/**/*.tsx'],
    plugins: { 'react-hooks': reactHooks },
    rules: reactHooks.configs.recommended.rules,
  },
  ...Object.entries(FORBIDDEN_IMPORTS).map(([folder, forbidden]) => layerRule(folder, forbidden)),
  uiRule,
  noCycles,
);
