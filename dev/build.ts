/**
 * `make build`: the production form of the code (issue 17 item 7). Compiles the TypeScript to JavaScript in dist/
 * (tsconfig.build.json), copies what the code reads from beside itself (e-mail templates, translations, views,
 * public assets, texts and data files) to the same places under dist/, and bundles the workflow code once into
 * dist/workflow-bundle.js. Production then runs `node dist/api/main.js` and `node dist/worker/main.js`: no tsx,
 * no compilation at start, and a worker that loads the bundle instead of bundling for seconds at every start.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { workflowBundleOptions } from '../lib/data-converter';
import { COMPILED_WORKFLOW_BUNDLE } from '../worker/workflow-bundle';

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
/** The folders compiled (tsconfig.build.json's include); their other files are copied as they are. */
const SOURCE_DIRS = ['domain', 'lib', 'workflows', 'activities', 'api', 'web', 'emails', 'worker', 'dev', 'migrations'];

/** Copies every file of `dir` that is not TypeScript source to the same place under dist/. */
function copyAssets(dir: string): number {
  let copied = 0;
  for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      copied += copyAssets(relative);
    } else if (!entry.name.endsWith('.ts')) {
      fs.mkdirSync(path.join(dist, dir), { recursive: true });
      fs.copyFileSync(path.join(root, relative), path.join(dist, relative));
      copied += 1;
    }
  }
  return copied;
}

async function main(): Promise<void> {
  const started = Date.now();
  // A clean dist/: a source file deleted since the last build must not live on as JavaScript.
  fs.rmSync(dist, { recursive: true, force: true });
  execFileSync(path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  const copied = SOURCE_DIRS.reduce((n, dir) => n + copyAssets(dir), 0);
  // From the TypeScript source, as the tests and `make run` bundle it (the bundler compiles it itself).
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'), ...workflowBundleOptions, logger: new DefaultLogger('WARN'),
  });
  fs.writeFileSync(path.join(dist, COMPILED_WORKFLOW_BUNDLE), code);
  process.stdout.write(`dist/ built in ${Math.round((Date.now() - started) / 1000)} s: compiled JavaScript, ${copied} files copied, `
    + `${COMPILED_WORKFLOW_BUNDLE} (${Math.round(code.length / 1024)} KiB)\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`the build failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
