// Lint is the fence around workflow code: workflows are replayed, so they must be deterministic and
// must not reach I/O. Everything else gets the type-aware floating-promise check.
import tseslint from 'typescript-eslint';

const ioModules = ['knex', 'objection', 'pg', 'jose', 'handlebars', 'mjml', 'nodemailer', 'koa', '@koa/router',
  '@temporalio/client', '@temporalio/worker', '@temporalio/activity', 'prom-client'];
const nodeBuiltins = ['fs', 'http', 'https', 'net', 'crypto', 'child_process', 'os', 'path', 'process', 'timers',
  'worker_threads', 'dns', 'stream', 'events', 'util'];

export default tseslint.config(
  { ignores: ['node_modules/**', '.data/**', 'dist/**', 'test/histories/**', 'web/public/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser, parserOptions: { projectService: true } },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },
  {
    files: ['workflows/**/*.ts', 'domain/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [...ioModules, ...nodeBuiltins, ...nodeBuiltins.map((m) => `node:${m}`)].map((name) => ({
          name, message: 'Workflow and domain code must stay deterministic and free of I/O.',
        })),
        patterns: [
          { group: ['../activities', '../activities/*', '../../activities', '../../activities/*'], allowTypeImports: true,
            message: 'Workflows may import activity types only (import type ...).' },
          { group: ['../lib', '../lib/*', '../../lib', '../../lib/*', '../api/*', '../web/*'],
            message: 'lib/, api/ and web/ are Node plumbing; workflows and domain may not import them.' },
        ],
      }],
      'no-restricted-globals': ['error',
        { name: 'setTimeout', message: 'Use sleep() or condition() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use a loop with sleep() from @temporalio/workflow.' }],
      'no-restricted-properties': ['error',
        { object: 'Math', property: 'random', message: 'Use uuid4() or deterministic input.' }],
    },
  },
);
