import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { workflowsPath } from '../../worker/create-worker';
import { workflowBundleOptions } from '../../lib/data-converter';
import { testDataConverter } from '../helpers/payload-keys';

// Journeys live for months: every recorded history must still replay on the current workflow code, or a
// deploy would break cases that are already running. Recorded by test/histories/record.ts. Histories from v8 on
// hold encrypted payloads (the tests' key, test/helpers/payload-keys.ts); earlier ones are plain and replay as such.
const dir = path.join(__dirname, '..', 'histories');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));

Runtime.install({ logger: new DefaultLogger('ERROR') });
// The test command's prebuilt bundle where it passes one (TEST_WORKFLOW_BUNDLE), else built here.
const prebuilt = process.env.TEST_WORKFLOW_BUNDLE;
const bundle = prebuilt ? Promise.resolve({ codePath: prebuilt })
  : bundleWorkflowCode({ workflowsPath, ...workflowBundleOptions, logger: new DefaultLogger('ERROR') });

test('there are recorded histories for the learner journey', (t) => {
  t.true(files.some((f) => f.startsWith('learner-journey.')), 'record them with npm run record-histories');
});

for (const file of files) {
  test(`replays ${file} without non-determinism`, async (t) => {
    const history = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    await t.notThrowsAsync(Worker.runReplayHistory({ workflowBundle: await bundle, dataConverter: testDataConverter }, history, file.replace(/\.json$/, '')));
  });
}
