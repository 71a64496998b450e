// Lint configuration: typescript-eslint's type-aware recommended rules for the TypeScript in src/,
// test/ and bench/, ESLint's recommended rules for the few plain .js/.mjs files, and Prettier owning
// the layout (eslint-config-prettier turns off every rule that would fight it).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'node_modules/**', '**/node_modules/**', '**/dist/**'] },
  { ignores: ['src/labview/web/**'], languageOptions: { globals: { ...globals.node } } },
  // the live page's front end runs in the browser (its own tsconfig adds the DOM types)
  { files: ['src/labview/web/**/*.ts'], languageOptions: { globals: { ...globals.browser } } },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        {
          allowNumber: true,
          allowBoolean: true,
          allowNullish: true,
          allowRegExp: true,
          // value types whose toString() is their text form (a CIDR, an address)
          allow: [{ from: 'file', name: ['Cidr', 'Cidr6'] }],
        },
      ],
    },
  },
  prettier,
);
