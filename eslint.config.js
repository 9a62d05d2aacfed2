// Lint: typescript-eslint's recommended rules, tuned to the code as written,
// plus import rules that keep the layering true:
//   shared/  imports neither side (nor the harness or tests);
//   server/  never imports the client, the harness, the tests, or the key agreement and SFrame
//            (the blind server must not link what it is blind to);
//   client/  never imports the server, the harness or the tests;
//   bench/, scripts/ and harness/ never import the tests.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const forbid = (...groups) => ['error', { patterns: groups.map(([group, message]) => ({ group: [group], message })) }];

const HARNESS = ['**/harness/**', 'the harness is test tooling; product code never imports it'];
const TESTS = ['**/test/**', 'tests are not a library: move what is shared to harness/'];
const SERVER = ['**/server/**', 'the server is not shared code'];
const CLIENT = ['**/client/**', 'the client is not shared code'];

export default tseslint.config(
  {
    ignores: ['node_modules/**', 'dist/**', 'dist-test/**', 'test-results/**', 'bench/.out/**', 'scripts/mediasoup/subprojects/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
      // A callback may read a variable before its single assignment (an agent wired before it exists).
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // `let x = default; try { x = … } catch {}` and a last `out[at++]` are clear as written.
      'no-useless-assignment': 'off',
    },
  },
  { files: ['shared/**'], rules: { 'no-restricted-imports': forbid(SERVER, CLIENT, HARNESS, TESTS) } },
  {
    files: ['server/**'],
    rules: {
      'no-restricted-imports': forbid(
        CLIENT,
        HARNESS,
        TESTS,
        ['**/shared/e2ee/**', 'the blind server must not link the key agreement'],
        ['**/shared/sframe/**', 'the blind server must not link SFrame'],
      ),
    },
  },
  { files: ['client/**'], rules: { 'no-restricted-imports': forbid(SERVER, HARNESS, TESTS) } },
  { files: ['bench/**', 'scripts/**', 'harness/**'], rules: { 'no-restricted-imports': forbid(TESTS) } },
  {
    files: ['**/*.mjs', 'scripts/**/*.js'],
    // Plain Node scripts; dtls-check.mjs also runs functions inside the browser page it drives.
    languageOptions: {
      globals: Object.fromEntries(
        ['process', 'console', 'Buffer', 'setTimeout', 'clearTimeout', 'window', 'navigator', 'RTCPeerConnection'].map((g) => [
          g,
          'readonly',
        ]),
      ),
    },
  },
);
