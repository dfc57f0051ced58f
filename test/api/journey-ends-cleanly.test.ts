import { randomUUID } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import type { WorkflowHandle } from '@temporalio/client';
import { demoUsers } from '../../dev/seed';
import { CURRENT_TERMS_VERSION } from '../../domain/terms';
import type { Actor } from '../../domain/journey';
import { learnerJourneyId } from '../../workflows/ids';
import { decideApprovalUpdate, type learnerJourney } from '../../workflows/learner-journey';
import { enrolmentDecisionUpdate } from '../../workflows/learner-journey-application';
import { eventually, untilStage } from '../helpers/journeys';
import { startTestStack, type TestStack } from '../helpers/stack';
import { assertError, httpClient, type Answer } from '../helpers/http';
import { decodeHistory } from '../../lib/payload-decoding';

// Journeys that used to end badly (issue 11), over HTTP against the real app, Postgres and Temporal: a second
// survey answer hung the journey, a registry's permanent answer failed it, and a provider could report completion
// of a group that had not started. Each ends cleanly now, and the people involved are told.

let stack: TestStack;
const call = httpClient(() => stack.appUrl);
test.before(async () => { stack = await startTestStack(); });
test.after.always(async () => { await stack?.stop(); });

type Journey = WorkflowHandle<typeof learnerJourney>;
interface Person { code: string; name: string }
const staff: Actor = { role: 'staff', id: 'staff-1', name: 'Inese Kļaviņa', channel: 'staff' };
const COST = 20_000;
const BALANCE = 50_000;

let people = 0;
/** A new person code; the Population Register knows it only when `known`. */
function newPerson(firstName: string, known = true): Person {
  people += 1;
  const code = `34${String(people).padStart(4, '0')}-${String(Math.floor(Math.random() * 100_000)).padStart(5, '0')}`;
  if (known) stack.registry.setPerson({ personCode: code, firstName, lastName: 'Beigas', birthDate: '1980-02-02', deceased: false, address: 'Rīga', note: 'test adult' });
  return { code, name: `${firstName} Beigas` };
}
const tokenOf = (person: Person) => stack.tokenFor('learner', person.code, person.name);

async function register(person: Person, programme = 'IMK'): Promise<Answer> {
  return call('POST', '/api/learner/journeys', {
    token: await tokenOf(person),
    json: { requestId: randomUUID(), programme, email: `${person.code}@example.lv`, language: 'lv', acceptTerms: true, termsVersion: CURRENT_TERMS_VERSION },
  });
}
async function registered(person: Person, programme = 'IMK') {
  const answer = await register(person, programme);
  if (answer.status !== 201 && answer.status !== 202) throw new Error(`registration: HTTP ${answer.status} ${answer.text}`);
  const { caseId } = answer.json as { caseId: string };
  const handle: Journey = stack.temporal.workflow.getHandle(learnerJourneyId(caseId));
  return { caseId, handle };
}

/** A published offer of the demo provider with one group running on the given days. */
async function createOffer(startsOn: string, endsOn: string) {
  const providerRow = await stack.db('providers').first<{ id: string }>('id');
  const now = Date.now();
  const [offer] = await stack.db('offers').insert({
    providerId: providerRow.id, programme: 'IMK', titleLv: 'Grāmatvedība (paraugs)', titleEn: 'Bookkeeping (sample)', costCents: COST, published: true,
    applicationsOpenAt: new Date(now - 3_600_000), applicationsCloseAt: new Date(now + 86_400_000), groupFormationDeadline: new Date(now + 86_400_000),
  }).returning<{ id: string }[]>('id');
  const [group] = await stack.db('offerGroups').insert({ offerId: offer!.id, place: 'Rīga, Tērbatas iela 2', startsOn, endsOn, capacity: 10 })
    .returning<{ id: string }[]>('id');
  return { offerId: offer!.id, groupId: group!.id };
}

/** An approved learner, applied over HTTP and enrolled by the provider: studying in the given group. */
async function studying(person: Person, offer: { offerId: string; groupId: string }) {
  const { caseId, handle } = await registered(person);
  await untilStage(stack.db, handle, caseId, 'imk_approved');
  const applied = await call('POST', `/api/learner/journeys/${caseId}/applications`, {
    token: await tokenOf(person), json: { requestId: randomUUID(), offerId: offer.offerId, groupId: offer.groupId },
  });
  if (applied.status !== 201) throw new Error(`apply: HTTP ${applied.status} ${applied.text}`);
  const { applicationId } = applied.json as { applicationId: string };
  const provider: Actor = { role: 'provider', id: 'provider-1', name: 'Dace Vītola', channel: 'e-service' };
  await handle.executeUpdate(enrolmentDecisionUpdate, { args: [{ applicationId, decision: 'enrol', reason: null, actor: provider }] });
  await untilStage(stack.db, handle, caseId, 'studying');
  return { caseId, handle, applicationId };
}

async function providerToken() {
  const demo = demoUsers.find((u) => u.role === 'provider')!;
  const row = await stack.db('users').where({ username: demo.username }).first<{ id: string; displayName: string; providerId: string }>();
  return stack.signIn({ role: 'provider', subject: row.id, name: row.displayName, providerId: row.providerId });
}
const reportOutcome = async (applicationId: string, outcome: string) =>
  call('POST', `/api/provider/applications/${applicationId}/outcome`, { token: await providerToken(), json: { outcome } });

/**
 * Every failure message in a workflow's history (activity and workflow failures, with their causes), decoded as the
 * console and an administrator's Web UI read them (Temporal itself holds them encrypted: test/api/payload-encryption).
 */
async function failureMessages(handle: Journey): Promise<string[]> {
  const messages: string[] = [];
  const collect = (failure: { message?: string | null; cause?: unknown } | null | undefined) => {
    for (let f = failure; f; f = f.cause as typeof f) if (f.message) messages.push(f.message);
  };
  const history = await decodeHistory(stack.temporal.options.loadedDataConverter, await handle.fetchHistory());
  for (const event of history.events ?? []) {
    collect(event.activityTaskFailedEventAttributes?.failure);
    collect(event.workflowExecutionFailedEventAttributes?.failure);
    collect(event.workflowTaskFailedEventAttributes?.failure);
  }
  return messages;
}

const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> => Promise.race([
  promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} did not return within ${ms} ms`)), ms)),
]);
const mailsTo = (person: Person) => stack.mail.messages().filter((m) => m.to.includes(`${person.code}@example.lv`));
const statusOf = async (handle: Journey) => (await handle.describe()).status.name;

/** Asserts a new registration was accepted and waits until its journey has decided (so it asks no registry later). */
async function assertRegistersAgain(t: ExecutionContext, answer: Answer, decided: string) {
  t.true(answer.status === 201 || answer.status === 202, `the person may register again: HTTP ${answer.status} ${answer.text}`);
  const { caseId } = answer.json as { caseId: string };
  await untilStage(stack.db, stack.temporal.workflow.getHandle(learnerJourneyId(caseId)), caseId, decided);
}

// ---------------------------------------------------------------------------------------------------------------

test.serial('two survey answers close together: both requests return (200 and 409 already answered), the journey completes', async (t) => {
  const person = newPerson('Rūta');
  const { caseId, handle, applicationId } = await studying(person, await createOffer('2026-09-01', '2026-11-30'));
  const done = await reportOutcome(applicationId, 'completed');
  t.is(done.status, 200, done.text);
  await untilStage(stack.db, handle, caseId, 'completed');

  const token = await tokenOf(person);
  const survey = (teachers: number) => call('POST', `/api/learner/journeys/${caseId}/survey`, {
    token, json: { requestId: randomUUID(), ratings: { knowledge_and_skills: 5, organisation_of_learning: 4, teachers } },
  });
  // Hold the first answer in its save (the table is locked), so the second arrives while the first is being saved.
  const lock = await stack.db.transaction();
  let first: Promise<Answer>;
  try {
    await lock.raw('LOCK TABLE survey_answers IN EXCLUSIVE MODE');
    first = survey(5);
    await eventually(async () => ((await handle.describe()).raw.pendingActivities ?? [])
      .some((a) => a.activityType?.name === 'saveSurveyAnswer'), 'the first answer being saved');
    const second = await within(survey(1), 8_000, 'the second survey request');
    assertError(t, second, 409, 'already_answered');
  } finally {
    await lock.rollback();
  }
  const answered = await within(first, 15_000, 'the first survey request');
  t.is(answered.status, 200, answered.text);
  t.deepEqual(answered.json, { stage: 'closed' });

  t.is((await within(handle.result(), 15_000, 'the workflow')).stage, 'closed');
  t.is(await statusOf(handle), 'COMPLETED');
  const saved = await stack.db('surveyAnswers').where({ caseId });
  t.is(saved.length, 1);
  t.is(saved[0].ratings.teachers, 5, 'the first answer is the one kept');
});

test.serial('a person code the Population Register does not know: not eligible, told why, case closed, may register again', async (t) => {
  const person = newPerson('Nezināms', false);
  const { caseId, handle } = await registered(person);

  const result = await within(handle.result(), 20_000, 'the journey');
  t.is(result.stage, 'not_eligible');
  t.is(await statusOf(handle), 'COMPLETED', 'the workflow ends, it does not fail');
  const row = await stack.db('cases').where({ id: caseId }).first();
  t.like(row, { stage: 'not_eligible', outcomeReason: 'not_in_population_register' });
  t.truthy(row.closedAt);
  const mail = await stack.mail.waitFor((m) => m.to.includes(`${person.code}@example.lv`));
  t.regex(mail.text, /Iedzīvotāju reģistrā nav atrasta persona/);
  t.is(mailsTo(person).length, 1);
  // The learner's page says why, in their language.
  const page = await call('GET', `/learner/journeys/${caseId}?lang=en`, { token: await tokenOf(person), html: true });
  t.true(page.text.includes('The Population Register has no person with this person code'), page.text.slice(0, 400));

  const messages = await failureMessages(handle);
  t.true(messages.length > 0, 'the registry\'s answer is in the history');
  for (const message of messages) t.false(message.includes(person.code), `no person code in "${message}"`);

  stack.registry.setPerson({ personCode: person.code, firstName: 'Nezināms', lastName: 'Beigas', birthDate: '1980-02-02', deceased: false, address: 'Rīga', note: 'now known' });
  await assertRegistersAgain(t, await register(person), 'imk_approved');
});

test.serial('SOPA refuses the query (4xx): the workflow does not fail; staff decide by hand; the person is told and may register again', async (t) => {
  await stack.db('programmes').insert({
    code: 'SOPA-AUTO', nameLv: 'Pārbaudes programma', nameEn: 'Test programme (sample)', minAge: 18, funding: 'free',
    socialStatusRule: 'required', digcompLevels: '1-3', approval: 'automatic',
  }).onConflict('code').ignore();
  const person = newPerson('Sandra');
  stack.sopa.failNext(1, 400);
  const { caseId, handle } = await registered(person, 'SOPA-AUTO');

  const task = await eventually(() => stack.db('tasks').where({ caseId, state: 'open' }).first<{ id: string; facts: { eligibility: Record<string, unknown> } }>(), 'a staff task');
  t.like(task.facts.eligibility, { eligible: true, review: ['social_status_unchecked'], facts: { socialStatus: null } });
  t.regex(String(task.facts.eligibility.rule), /could not be checked/);
  await untilStage(stack.db, handle, caseId, 'awaiting_approval');
  t.is(await statusOf(handle), 'RUNNING');
  const messages = await failureMessages(handle);
  t.true(messages.some((m) => m.includes('SOPA refused')), messages.join(' | '));
  for (const message of messages) t.false(message.includes(person.code), `no person code in "${message}"`);

  await handle.executeUpdate(decideApprovalUpdate, { args: [{ taskId: task.id, decision: 'reject', comment: 'Statusu neizdevās pārbaudīt; iesniedziet izziņu.', decidedBy: staff }] });
  t.is((await within(handle.result(), 15_000, 'the journey')).stage, 'imk_rejected');
  t.truthy((await stack.db('cases').where({ id: caseId }).first()).closedAt);
  const mail = await stack.mail.waitFor((m) => m.to.includes(`${person.code}@example.lv`));
  t.regex(mail.text, /iesniedziet izziņu/);
  await assertRegistersAgain(t, await register(person, 'SOPA-AUTO'), 'not_eligible');
});

test.serial('completion before the group ends and dropout before it starts are 409s naming the rule; nothing is spent', async (t) => {
  const person = newPerson('Agris');
  const { caseId, handle, applicationId } = await studying(person, await createOffer('2099-03-01', '2099-05-31'));

  const completed = assertError(t, await reportOutcome(applicationId, 'completed'), 409, 'outcome_too_early');
  t.regex(completed.message, /outcome: completion can be reported from the group's end date \(2099-05-31\)/);
  t.like(completed.details[0], { field: 'outcome', rule: 'completion_from_end_date', from: '2099-05-31' });
  const dropped = assertError(t, await reportOutcome(applicationId, 'dropped_out'), 409, 'outcome_too_early');
  t.like(dropped.details[0], { rule: 'dropout_from_start_date', from: '2099-03-01' });

  // The provider's page says it in the page's language.
  const token = await providerToken();
  const lv = await call('POST', `/provider/applications/${applicationId}/outcome?lang=lv`, { token, html: true, form: { outcome: 'completed' } });
  t.is(lv.status, 409);
  t.true(lv.text.includes('Mācību pabeigšanu var norādīt, sākot ar grupas beigu datumu'), lv.text.slice(0, 400));
  const en = await call('POST', `/provider/applications/${applicationId}/outcome?lang=en`, { token, html: true, form: { outcome: 'completed' } });
  t.true(en.text.includes('Completion can be reported from the group&#x27;s end date') || en.text.includes("Completion can be reported from the group's end date"));

  t.like(await stack.db('applications').where({ id: applicationId }).first(), { state: 'enrolled', earmarkedCents: COST, spentCents: 0 });
  t.like(await stack.db('cases').where({ id: caseId }).first(), { stage: 'studying', balanceCents: BALANCE - COST, closedAt: null });
  t.is((await stack.db('caseEvents').where({ caseId }).whereIn('kind', ['completed', 'dropped_out', 'survey_sent'])).length, 0);
  const templates = (await stack.db('emailOutbox').where({ caseId }).pluck('template')) as string[];
  t.deepEqual(templates.filter((name) => name.startsWith('study-')), [], 'no survey invitation');
  t.is(await statusOf(handle), 'RUNNING');
});
