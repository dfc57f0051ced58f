import fs from 'node:fs';
import path from 'node:path';
import type { WorkflowSource } from './create-worker';

/** The prebuilt workflow bundle's file name in dist/ (dev/build.ts writes it). */
export const COMPILED_WORKFLOW_BUNDLE = 'workflow-bundle.js';

/**
 * The workflow code this worker process loads: the bundle named by WORKFLOW_BUNDLE_PATH (`make run` bundles once
 * per run); else, when the worker runs compiled (`node dist/worker/main.js`), the bundle `make build` wrote beside
 * it; else nothing, and the worker bundles the TypeScript source at start (tests, `tsx worker/main.ts`).
 */
export function prebuiltWorkflows(env: NodeJS.ProcessEnv = process.env): WorkflowSource | undefined {
  if (env.WORKFLOW_BUNDLE_PATH) return { workflowBundle: { codePath: env.WORKFLOW_BUNDLE_PATH } };
  if (!__filename.endsWith('.js')) return undefined;
  const codePath = path.join(__dirname, '..', COMPILED_WORKFLOW_BUNDLE);
  // A compiled worker without its bundle was built wrongly: say so rather than bundle source that is not there.
  if (!fs.existsSync(codePath)) throw new Error(`${codePath} is missing: build with \`make build\``);
  return { workflowBundle: { codePath } };
}
