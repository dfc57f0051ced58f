import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { journeyStateQuery, learnerJourney, type LearnerJourneyInput } from '../../workflows/learner-journey';
import { learnerJourneyId, searchAttributes } from '../../workflows/ids';
import { CURRENT_TERMS_VERSION } from '../../domain/terms';
import type { SeedPerson } from '../../dev/seed-people';
import type { httpClient } from './http';

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

/** A person of a test: the person code and the full name. */
export interface TestPerson { code: string; name: string }

/**
 * Makes new adults the Population Register stub knows: each call registers one with a fresh person code of the
 * new format, starting with this test file's own two digits (`prefix`), so no two files share a person. The
 * registry is asked for at each call: the test's stack is started after the module is loaded.
 */
export function adultMaker(registry: () => { setPerson(person: SeedPerson): void }, opts: { prefix: string; lastName: string; birthDate: string; note: string }) {
  let people = 0;
  return (firstName: string): TestPerson => {
    people += 1;
    const code = `${opts.prefix}${String(people).padStart(4, '0')}-${String(Math.floor(Math.random() * 100_000)).padStart(5, '0')}`;
    registry().setPerson({ personCode: code, firstName, lastName: opts.lastName, birthDate: opts.birthDate, deceased: false, address: 'Rīga', note: opts.note });
    return { code, name: `${firstName} ${opts.lastName}` };
  };
}

/** Registers the person for an account through the API, as the learner's form does; returns the journey. */
export async function registerThroughApi(call: ReturnType<typeof httpClient>, temporal: Client, token: string, person: TestPerson) {
  const answer = await call('POST', '/api/learner/journeys', {
    token, json: { requestId: randomUUID(), email: `${person.code}@example.lv`, language: 'lv', acceptTerms: true, termsVersion: CURRENT_TERMS_VERSION },
  });
  if (answer.status !== 201 && answer.status !== 202) throw new Error(`registration: HTTP ${answer.status} ${answer.text}`);
  const { caseId } = answer.json as { caseId: string };
  const handle: WorkflowHandle<typeof learnerJourney> = temporal.workflow.getHandle(learnerJourneyId(caseId));
  return { caseId, handle };
}
