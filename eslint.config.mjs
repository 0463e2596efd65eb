// typescript-eslint with type information over the whole tree; Prettier owns formatting
// (`npm run lint` runs both, then scripts/lint.mjs for the repository's own checks).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeGlobals = Object.fromEntries(
  ['process', 'console', 'URL', 'setTimeout', 'clearTimeout', 'Buffer'].map((name) => [name, 'readonly']),
);

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'bench/results/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: ['*.mjs', 'bin/*.mjs', 'scripts/*.mjs', 'bench/upstream/*.mjs', 'src/projections/loader/*.mjs'],
          // The plain-JavaScript files outside any tsconfig (bin, scripts, loader hooks) outnumber the default 8.
          maximumDefaultProjectFileMatchCount_THIS_WILL_SLOW_DOWN_LINTING: 16,
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Row values from the drivers are typed unknown and are text (numbers, dates and JSON come
      // back raw by design); String() on them is the intended conversion, with or without a null check.
      '@typescript-eslint/no-base-to-string': 'off',
      // `async` is how a promise-returning interface is implemented here: a synchronous throw
      // inside becomes a rejection the caller handles, which is the point even without an await.
      '@typescript-eslint/require-await': 'off',
      // A leading underscore marks a binding kept on purpose (rest-omit, positional parameters).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // vitest's asymmetric matchers (expect.any, expect.objectContaining) are typed `any`, and
    // expect(obj.method) passes methods unbound on purpose.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: nodeGlobals },
  },
  {
    // The dashboard's script runs in the browser, as a classic script (no modules, no build step).
    files: ['src/admin/dashboard/*.js'],
    // No type information: it is not part of the TypeScript program (and takes no default-project slot).
    languageOptions: {
      parserOptions: { projectService: false, project: false },
      sourceType: 'script',
      globals: Object.fromEntries(['document', 'fetch', 'setTimeout', 'clearTimeout', 'console'].map((name) => [name, 'readonly'])),
    },
  },
);
