// Lint rules, including the one-way dependency rule of the architecture:
//   ui → store → workers → rlhf → model → engine   (world and data are leaves any layer may use;
//   cli is a Node front end beside the worker). An import that points up the chain fails lint.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

/** Layers above each folder: files in the folder may not import from these. */
const FORBIDDEN_IMPORTS = {
  'src/engine': ['model', 'rlhf', 'world', 'data', 'store', 'ui', 'cli', 'workers'],
  'src/model': ['rlhf', 'world', 'data', 'store', 'ui', 'cli', 'workers'],
  'src/world': ['engine', 'model', 'rlhf', 'data', 'store', 'ui', 'cli', 'workers'],
  'src/rlhf': ['data', 'store', 'ui', 'cli', 'workers'],
  'src/data': ['engine', 'rlhf', 'store', 'ui', 'cli', 'workers'],
  'workers': ['store', 'ui', 'cli'],
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
);
