import fs from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { Actor } from '../../domain/journey';
import { closeJourneySignal, decideApprovalUpdate } from '../../workflows/learner-journey';
import { applyUpdate, enrolmentDecisionUpdate, outcomeUpdate, surveyAnswerUpdate } from '../../workflows/learner-journey-application';
import { populationRecheck } from '../../workflows/population-recheck';
import { populationRecheckId } from '../../workflows/ids';
import { startTestStack } from '../helpers/stack';
import { openTaskOf, startLearnerJourney, untilStage } from '../helpers/journeys';

/**
 * Records the histories the replay test checks new workflow code against. Run it (with the test command's
 * Postgres and Temporal) when a workflow changes, under a new version name, and keep the old files: they stand
 * for journeys that are already running in production. Usage: npm run record-histories -- v2
 */
async function main(): Promise<void> {
  const version = process.argv[2] ?? 'v1';
  const stack = await startTestStack();
  const staff: Actor = { role: 'staff', id: 's', name: 'Staff', channel: 'staff' };
  const provider: Actor = { role: 'provider', id: 'p', name: 'Provider', channel: 'e-service' };
  const learner: Actor = { role: 'learner', id: 'l', name: 'Learner', channel: 'e-service' };
  try {
    // IMK approves automatically; the journey then goes all the way to the survey.
    const { id: providerId } = await stack.db('providers').first<{ id: string }>('id');
    const now = Date.now();
    const [offer] = await stack.db('offers').insert({
      providerId, programme: 'IMK', titleLv: 'Paraugs', titleEn: 'Sample', costCents: 32_000, published: true,
      applicationsOpenAt: new Date(now - 3_600_000), applicationsCloseAt: new Date(now + 86_400_000),
      groupFormationDeadline: new Date(now + 3_600_000),
    }).returning<{ id: string }[]>('id');
    const [group] = await stack.db('offerGroups').insert({
      offerId: offer.id, place: 'Rīga', startsOn: '2027-01-11', endsOn: '2027-04-30', capacity: 10,
    }).returning<{ id: string }[]>('id');
    const completed = await startLearnerJourney(stack.temporal, stack.taskQueue, '321178-40215');
    await untilStage(stack.db, completed.handle, completed.caseId, 'imk_approved');
    const applied = await completed.handle.executeUpdate(applyUpdate, { args: [{ offerId: offer.id, groupId: group.id, actor: learner }] });
    await completed.handle.executeUpdate(enrolmentDecisionUpdate, { args: [{ applicationId: applied.applicationId!, decision: 'enrol', reason: null, actor: provider }] });
    await completed.handle.executeUpdate(outcomeUpdate, { args: [{ outcome: 'completed', actor: provider }] });
    await completed.handle.executeUpdate(surveyAnswerUpdate, { args: [{ ratings: { knowledge_and_skills: 5, organisation_of_learning: 4, teachers: 5 }, actor: learner }] });
    await completed.handle.result();

    // Staff decide where the programme asks them to (MN): a refusal.
    const refused = await startLearnerJourney(stack.temporal, stack.taskQueue, '150690-11223', { programme: 'MN' });
    const task = await openTaskOf(stack.db, refused.caseId);
    await refused.handle.executeUpdate(decideApprovalUpdate, { args: [{ taskId: task.id, decision: 'reject', comment: 'Nav nodarbināts', decidedBy: staff }] });
    await refused.handle.result();

    // Closed from outside while waiting for staff (the periodic register check found the person deceased).
    const closed = await startLearnerJourney(stack.temporal, stack.taskQueue, '220288-10458', { programme: 'MN' });
    await openTaskOf(stack.db, closed.caseId);
    await closed.handle.signal(closeJourneySignal, { reason: 'deceased', detail: 'sample', actor: { role: 'system', id: null, name: null, channel: 'system' } });
    await closed.handle.result();

    const ineligible = await startLearnerJourney(stack.temporal, stack.taskQueue, '010309-21234');
    await ineligible.handle.result();

    // One pass of the periodic register check over everyone registered above (all checked: checkedBefore is now).
    const recheck = await stack.temporal.workflow.start(populationRecheck, {
      workflowId: populationRecheckId(`record-${version}`), taskQueue: stack.taskQueue,
      args: [{ checkedBefore: new Date().toISOString(), intervalMs: 180 * 86_400_000, batchSize: 2 }],
    });
    await recheck.result();

    const recorded = {
      'learner-journey.completed': completed.handle, 'learner-journey.refused': refused.handle, 'learner-journey.closed': closed.handle,
      'learner-journey.not-eligible': ineligible.handle, 'population-recheck': recheck,
    };
    for (const [name, handle] of Object.entries(recorded)) {
      const file = path.join(__dirname, `${name}.${version}.json`);
      fs.writeFileSync(file, historyToJSON(await handle.fetchHistory()));
      process.stdout.write(`recorded ${file}\n`);
    }
  } finally {
    await stack.stop();
  }
}

main().catch((err) => { process.stderr.write(`${err}\n`); process.exit(1); });
