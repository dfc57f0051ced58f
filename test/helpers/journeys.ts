import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { journeyStateQuery, learnerJourney, type LearnerJourneyInput } from '../../workflows/learner-journey';
import { learnerJourneyId, searchAttributes } from '../../workflows/ids';
import { CURRENT_TERMS_VERSION } from '../../domain/terms';

/** Starts a learner journey directly on the test's task queue, as the API would. */
export async function startLearnerJourney(temporal: Client, taskQueue: string, personCode: string, overrides: Partial<LearnerJourneyInput> = {}) {
  const caseId = randomUUID();
  const input: LearnerJourneyInput = {
    caseId, personCode, programme: 'IMK',
    registration: { email: `${personCode}@example.lv`, phone: null, language: 'lv', termsVersion: CURRENT_TERMS_VERSION, termsAcceptedAt: new Date().toISOString() },
    actor: { role: 'learner', id: personCode, name: 'Test Learner', channel: 'e-service' },
    timing: { approvalDue: '1 day' },
    ...overrides,
  };
  const handle = await temporal.workflow.start(learnerJourney, {
    workflowId: learnerJourneyId(caseId), taskQueue, args: [input],
    // The same search attributes the API sets (api/services/journeys.ts), so the console finds test journeys too.
    typedSearchAttributes: [
      { key: searchAttributes.caseId, value: caseId },
      { key: searchAttributes.programme, value: input.programme },
      { key: searchAttributes.journeyStage, value: 'registered' },
    ],
  });
  return { caseId, handle };
}

/** Polls until a query returns a row (the read model is written by activities, a moment after the fact). */
export async function eventually<T>(read: () => Promise<T | undefined | null>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The open approval task of a case, once the workflow has opened it. */
export function openTaskOf(db: Knex, caseId: string) {
  return eventually(() => db('tasks').where({ caseId, state: 'open' }).first<{ id: string; workflowId: string }>(), `an open task for case ${caseId}`);
}


/**
 * Waits until a journey has reached a stage, both in the read model and in the workflow itself (an approved
 * journey goes on to wait for an application, so its result is not there to await).
 */
export async function untilStage(db: Knex, handle: WorkflowHandle<typeof learnerJourney>, caseId: string, stage: string) {
  return eventually(async () => {
    const row = await db('cases').where({ id: caseId }).first<{ stage: string; serviceCaseId: string } | undefined>();
    if (row?.stage !== stage) return null;
    const state = await handle.query(journeyStateQuery);
    return state.stage === stage ? state : null;
  }, `case ${caseId} to reach ${stage}`);
}
