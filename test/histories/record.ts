import fs from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { decideApprovalUpdate } from '../../workflows/learner-journey';
import { startTestStack } from '../helpers/stack';
import { openTaskOf, startLearnerJourney } from '../helpers/journeys';

/**
 * Records the histories the replay test checks new workflow code against. Run it (with the test command's
 * Postgres and Temporal) when a workflow type is added, and keep the old files: they stand for journeys
 * that are already running in production.
 */
async function main(): Promise<void> {
  const stack = await startTestStack();
  const version = process.argv[2] ?? 'v1';
  try {
    const approved = await startLearnerJourney(stack.temporal, stack.taskQueue, '321178-40215');
    const task = await openTaskOf(stack.db, approved.caseId);
    await approved.handle.executeUpdate(decideApprovalUpdate, {
      args: [{ taskId: task.id, decision: 'approve', comment: '', decidedBy: { role: 'staff', id: 's', name: 'Staff', channel: 'staff' } }],
    });
    await approved.handle.result();
    const ineligible = await startLearnerJourney(stack.temporal, stack.taskQueue, '010309-21234');
    await ineligible.handle.result();
    for (const [name, handle] of [['approved', approved.handle], ['not-eligible', ineligible.handle]] as const) {
      const file = path.join(__dirname, `learner-journey.${name}.${version}.json`);
      fs.writeFileSync(file, historyToJSON(await handle.fetchHistory()));
      process.stdout.write(`recorded ${file}\n`);
    }
  } finally {
    await stack.stop();
  }
}

main().catch((err) => { process.stderr.write(`${err}\n`); process.exit(1); });
