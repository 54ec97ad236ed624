// eslint (flat config, `npm run lint:es`): typescript-eslint's type-checked recommended rules over everything
// we write. lib/ and test/ are TypeScript; bench/, scripts/, examples/ and tools/ are plain CommonJS scripts
// that tsconfig.eslint.json brings into the same program through allowJs (no checkJs), so the type-aware
// rules that matter in an async library (no-floating-promises, no-misused-promises, await-thenable) run on
// them too, on the types tsc infers (and on lib's own types, through dist/lib/index.d.ts once built).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/', 'build/', 'build-*/', 'prebuilds/', 'third_party/', 'native/', '.venv/', 'runs/', 'tmp/', 'docs/api/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        project: './tsconfig.eslint.json',
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // In recommendedTypeChecked already; named here because they are the point of linting this library.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // With consistent-type-imports: an import of types only is `import type { … }`, not `import { type … }`.
      '@typescript-eslint/no-import-type-side-effects': 'error',
      // Off: here `async` without `await` is how a function implements a Promise-returning interface (Replicas,
      // fastify handlers and hooks, model stubs, CLI commands) so that a throw becomes a rejection; the rule's fix
      // (drop `async`) would turn those rejections into synchronous throws.
      '@typescript-eslint/require-await': 'off',
      // `_`-prefixed names are the deliberate "unused" of destructuring and positional parameters.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The plain JavaScript: CommonJS modules run by node.
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { ...globals.node },
    },
    rules: {
      // CommonJS is what these scripts are.
      '@typescript-eslint/no-require-imports': 'off',
      // Off for untyped JavaScript: without checkJs and JSDoc types every require of dist/, JSON.parse and
      // child-process result is `any`, so these would flag nearly every line (2,700 findings) without finding bugs.
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { globals: { ...globals.node } },
  }
);
