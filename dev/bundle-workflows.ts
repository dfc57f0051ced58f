/**
 * Bundles the workflow code once for `make run` (`node --import tsx dev/bundle-workflows.ts <file>`), so that a
 * worker the launcher restarts loads the bundle instead of spending 5 to 20 s bundling again: it is back within
 * seconds. The launcher bundles at every start, so the bundle is always the code of this run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { workflowBundleOptions } from '../lib/data-converter';

// The same entry as the worker's own (worker/create-worker.ts), without loading the activities.
const workflowsPath = require.resolve('../workflows');

async function main(): Promise<void> {
  const out = process.argv[2];
  if (!out) throw new Error('usage: dev/bundle-workflows.ts <output file>');
  const started = Date.now();
  const { code } = await bundleWorkflowCode({ workflowsPath, ...workflowBundleOptions, logger: new DefaultLogger('WARN') });
  fs.mkdirSync(path.dirname(out), { recursive: true });
  // Written whole, then renamed: a worker never reads half a file.
  fs.writeFileSync(`${out}.tmp`, code);
  fs.renameSync(`${out}.tmp`, out);
  process.stdout.write(`workflow bundle written to ${out} (${Math.round(code.length / 1024)} KiB) in ${Date.now() - started} ms\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bundling the workflows failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
