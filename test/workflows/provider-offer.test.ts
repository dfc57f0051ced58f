import test from 'ava';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import {
  decideApprovalUpdate, providerOffer, providerOfferStatusQuery, submitOfferUpdate, withdrawOfferUpdate,
} from '../../workflows/provider-offer';
import { journeyStateQuery } from '../../workflows/learner-journey';
import { applyUpdate, enrolmentDecisionUpdate, outcomeUpdate, withdrawUpdate } from '../../workflows/learner-journey-application';
import { FailureType } from '../../domain/failures';
import { StudyFailureType } from '../../domain/applications';
import type { Actor } from '../../domain/journey';
import type { OfferProblem } from '../../domain/offers';
import { insertCall, type CallPhases } from '../../dev/seed-calls';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually, startLearnerJourney } from '../helpers/journeys';
import { createCallClosingIn } from '../helpers/calls';
import { approvedProvider, insertDraftOffer } from '../helpers/providers';

// An offer's workflow against the real Temporal dev server and Postgres: submission with automated checks,
// withdrawal, the deadline, evaluation, publication, learners studying on it, and closing.
let stack: TestStack;
test.before(async () => { stack = await startTestStack(); });
test.after.always(async () => { await stack?.stop(); });

const providerActor: Actor = { role: 'provider', id: 'provider-user', name: 'Dace Vītola', channel: 'e-service' };
const staff: Actor = { role: 'staff', id: 'staff-1', name: 'Inese Kļaviņa', channel: 'staff' };
const DEMO_EMAIL = 'info@digitalas-prasmes.example';
const failureType = (err: unknown) => ((err as WorkflowUpdateFailedError).cause as ApplicationFailure).type;
type OfferHandle = WorkflowHandle<typeof providerOffer>;

async function startOffer(call: { callId: string; phases: CallPhases }, opts: { sample?: 'demo' | 'second'; overrides?: Record<string, unknown>; documents?: readonly string[] } = {}) {
  const sample = opts.sample ?? 'demo';
  const providerId = await approvedProvider(stack.db, sample);
  const { offerId, workflowId } = await insertDraftOffer(stack.db, { providerId, sample, ...call, overrides: opts.overrides, documents: opts.documents });
  const handle = await stack.temporal.workflow.start(providerOffer, {
    workflowId, taskQueue: stack.taskQueue, args: [{ offerId, providerId, callId: call.callId, timing: { closeCheckInterval: '1 second' } }],
  });
  return { offerId, providerId, handle };
}

const submit = (handle: OfferHandle) => handle.executeUpdate(submitOfferUpdate, { args: [{ actor: providerActor }] });
const withdraw = (handle: OfferHandle) => handle.executeUpdate(withdrawOfferUpdate, { args: [{ actor: providerActor }] });
const offerRow = (offerId: string) => stack.db('offers').where({ id: offerId }).first();
const untilOfferState = (offerId: string, state: string, timeoutMs = 30_000) =>
  eventually(async () => ((await offerRow(offerId))?.state === state ? offerRow(offerId) : null), `offer ${offerId} to be ${state}`, timeoutMs);
const evaluationTask = (offerId: string) => eventually(
  () => stack.db('tasks').where({ offerId, state: 'open' }).first<{ id: string; providerId: string; facts: Record<string, any>; dueAt: Date; type: string }>(),
  `the evaluation task of offer ${offerId}`,
);

test('submit (frozen, cost 1.28 × 160 h = EUR 320.00), withdraw, submit again; at the deadline it goes to evaluation and cannot be changed', async (t) => {
  const call = await createCallClosingIn(stack.db, 6_000);
  const { offerId, providerId, handle } = await startOffer(call);

  t.deepEqual(await submit(handle), { state: 'submitted', problems: [] });
  t.like(await offerRow(offerId), { state: 'submitted', costCents: 32_000 });
  t.truthy((await offerRow(offerId)).submittedAt);
  const frozen = await t.throwsAsync(submit(handle), { instanceOf: WorkflowUpdateFailedError });
  t.is(failureType(frozen), FailureType.OfferNotEditable);

  t.deepEqual(await withdraw(handle), { state: 'withdrawn' });
  t.like(await offerRow(offerId), { state: 'withdrawn', submittedAt: null });
  t.is(failureType(await t.throwsAsync(withdraw(handle))), FailureType.OfferNotSubmitted);
  t.deepEqual(await submit(handle), { state: 'submitted', problems: [] });

  await untilOfferState(offerId, 'in_evaluation');
  t.is(failureType(await t.throwsAsync(withdraw(handle))), FailureType.SubmissionClosed);
  t.is(failureType(await t.throwsAsync(submit(handle))), FailureType.SubmissionClosed);

  const task = await evaluationTask(offerId);
  t.like(task, { type: 'evaluate-offer', providerId });
  t.is(new Date(task.dueAt).toISOString(), call.phases.evaluationEndsAt.toISOString());
  t.like(task.facts, { costCents: 32_000, statedCostCents: 32_000, automatedChecks: { passed: true } });
  t.deepEqual(task.facts.checklist, ['provider_requirements', 'programme_requirements', 'documents_complete', 'cost_correct']);
  t.like(await handle.query(providerOfferStatusQuery), { state: 'in_evaluation', openTaskId: task.id });
  t.deepEqual(await stack.db('providerEvents').where({ offerId }).orderBy('id').pluck('kind'), ['submitted', 'withdrawn', 'submitted', 'in_evaluation']);
});

test('an offer still a draft (or withdrawn) at the deadline is not submitted, and the workflow ends', async (t) => {
  const call = await createCallClosingIn(stack.db, 2_000);
  const { offerId, handle } = await startOffer(call, { sample: 'second' });
  t.deepEqual(await handle.result(), { state: 'not_submitted' });
  t.like(await offerRow(offerId), { state: 'not_submitted' });
  t.is(await stack.db('tasks').where({ offerId }).first(), undefined);
});

test('at most 3 offers per provider per call: the 4th is refused naming the field, also when two are submitted at once', async (t) => {
  const call = await createCallClosingIn(stack.db, 120_000);
  for (let i = 0; i < 2; i += 1) {
    const { handle } = await startOffer(call, { sample: 'second' });
    t.is((await submit(handle)).state, 'submitted');
  }
  // The 3rd and 4th at the same moment: the lock on the provider lets exactly one through.
  const [a, b] = await Promise.all([startOffer(call, { sample: 'second' }), startOffer(call, { sample: 'second' })]);
  const results = await Promise.all([submit(a.handle), submit(b.handle)]);
  t.deepEqual(results.map((r) => r.state).sort(), ['draft', 'submitted']);
  const refused = results.find((r) => r.state === 'draft')!;
  t.deepEqual(refused.problems.map((p) => [p.field, p.code]), [['callId', 'too_many_offers']]);
  t.regex(refused.problems[0]!.message.en, /at most 3 programmes per call/);
  t.regex(refused.problems[0]!.message.lv, /ne vairāk kā 3/);
  const refusedOffer = results[0]!.state === 'draft' ? a : b;
  t.like(await refusedOffer.handle.query(providerOfferStatusQuery), { state: 'draft', problems: refused.problems });
  t.like(await stack.db('providerEvents').where({ offerId: refusedOffer.offerId, kind: 'submission_refused' }).first(), { step: 'submit-1', state: 'draft' });
});

// Each automated check, broken on its own in an otherwise valid offer: the field and the message the provider reads.
const CHECKS: Array<{ title: string; overrides?: Record<string, unknown>; documents?: string[]; field: string; code: string; en: RegExp; lv: RegExp }> = [
  { title: 'an empty required field', overrides: { titleEn: ' ' }, field: 'titleEn', code: 'required', en: /title in English/, lv: /nosaukums angliski/ },
  { title: 'prerequisites not stated', overrides: { prerequisitesLv: null }, field: 'prerequisitesLv', code: 'required', en: /prerequisites/, lv: /priekšzināšanas/ },
  { title: 'no coefficient chosen', overrides: { coefficientCode: null }, field: 'coefficientCode', code: 'required', en: /cost coefficient/, lv: /koeficients/ },
  { title: 'a competence the call does not fund', overrides: { competence: 'Pavārs' }, field: 'competence', code: 'competence_not_in_call', en: /"Pavārs" is not one the call funds/, lv: /Pavārs/ },
  {
    title: 'a place not registered in VIIS', field: 'places[1]', code: 'place_not_in_viis', en: /"Ogre, Brīvības iela 9" is not registered in VIIS/, lv: /nav reģistrēta VIIS/,
    overrides: { places: [{ address: 'Rīga, Brīvības iela 1 (paraugs)' }, { address: 'Ogre, Brīvības iela 9' }] },
  },
  { title: 'a licence VIIS does not know', overrides: { licenceNumber: 'P-99999' }, field: 'licenceNumber', code: 'licence_not_found', en: /"P-99999" is not found in VIIS/, lv: /nav atrasta VIIS/ },
  { title: 'hours not matching the licensed curriculum', overrides: { hoursPractice: 90, statedCostCents: null }, field: 'hoursPractice', code: 'hours_mismatch', en: /60 \+ 90 = 150\) do not match the licensed curriculum's 160 hours/, lv: /150.*160/ },
  { title: 'DigComp below the call\'s 4-6', overrides: { digcompLevel: 3 }, field: 'digcompLevel', code: 'digcomp_out_of_range', en: /must be 4 to 6 \(given 3\)/, lv: /no 4 līdz 6/ },
  { title: 'digital share under 70 %', overrides: { digitalSharePercent: 60 }, field: 'digitalSharePercent', code: 'digital_share_too_low', en: /at least 70% \(given 60%\)/, lv: /vismaz 70%/ },
  { title: 'a mandatory document missing', documents: ['application_form', 'experience_declaration'], field: 'documents.curriculum', code: 'document_missing', en: /"curriculum" is not attached/, lv: /curriculum/ },
  { title: 'a stated cost that differs from the formula', overrides: { statedCostCents: 30_000 }, field: 'statedCostCents', code: 'cost_mismatch', en: /EUR 300\.00.*EUR 320\.00/, lv: /300,00 EUR.*320,00 EUR/ },
];

test('each automated check refuses the submission with a message naming the field; nothing is frozen', async (t) => {
  const call = await createCallClosingIn(stack.db, 120_000);
  for (const check of CHECKS) {
    const { offerId, handle } = await startOffer(call, { overrides: check.overrides, documents: check.documents });
    const result = await submit(handle);
    t.is(result.state, 'draft', check.title);
    t.deepEqual(result.problems.map((p: OfferProblem) => [p.field, p.code]), [[check.field, check.code]], check.title);
    t.regex(result.problems[0]!.message.en, check.en, check.title);
    t.regex(result.problems[0]!.message.lv, check.lv, check.title);
    t.like(await offerRow(offerId), { state: 'draft', costCents: 0, submittedAt: null });
    const event = await stack.db('providerEvents').where({ offerId, kind: 'submission_refused' }).first();
    t.deepEqual(event.details.problems, result.problems, check.title);
  }
});

test('the evaluator rejects with reasons (a rejection without one is refused); the provider is e-mailed the reasons', async (t) => {
  const call = await createCallClosingIn(stack.db, 3_000, 30_000);
  const { offerId, handle } = await startOffer(call);
  await submit(handle);
  const task = await evaluationTask(offerId);

  const noReason = await t.throwsAsync(handle.executeUpdate(decideApprovalUpdate, {
    args: [{ taskId: task.id, decision: 'reject', comment: '', decidedBy: staff, reasons: [' '] }],
  }), { instanceOf: WorkflowUpdateFailedError });
  t.is(failureType(noReason), FailureType.ReasonRequired);

  const reasons = ['Programmas apraksts neatbilst atlases kompetencei.', 'Prakses saturs nav aprakstīts.'];
  const answer = await handle.executeUpdate(decideApprovalUpdate, {
    args: [{ taskId: task.id, decision: 'reject', comment: 'skat. iemeslus', decidedBy: staff, reasons, checklist: { provider_requirements: true, programme_requirements: false } }],
  });
  t.is(answer.stage, 'rejected');
  t.deepEqual(await handle.result(), { state: 'rejected' });
  t.like(await offerRow(offerId), { state: 'rejected', rejectionReasons: reasons, published: false });
  t.like(await stack.db('tasks').where({ id: task.id }).first(), { state: 'decided', decision: 'reject' });
  const mail = await stack.mail.waitFor((m) => m.to.includes(DEMO_EMAIL) && /noraidīts/.test(m.subject));
  for (const reason of reasons) t.true(mail.text.includes(reason));
});

let people = 0;
/** A new adult the Population Register knows, with a person code of its own. */
function newPerson(): string {
  people += 1;
  const personCode = `32${String(people).padStart(4, '0')}-${String(Math.floor(Math.random() * 100_000)).padStart(5, '0')}`;
  stack.registry.setPerson({ personCode, firstName: 'Anna', lastName: 'Paraugs', birthDate: '1988-03-03', deceased: false, address: 'Rīga', note: 'test adult' });
  return personCode;
}

async function approvedLearner() {
  const personCode = newPerson();
  const journey = await startLearnerJourney(stack.temporal, stack.taskQueue, personCode);
  await eventually(async () => (await journey.handle.query(journeyStateQuery)).stage === 'imk_approved', 'the learner account to be approved');
  return { personCode, ...journey, actor: { role: 'learner', id: personCode, name: 'Anna Paraugs', channel: 'e-service' } as Actor };
}

test('approved → published at the publication time; learners apply, the group fills, completion is reported, the offer closes', async (t) => {
  const now = Date.now();
  const phases: CallPhases = {
    submissionOpensAt: new Date(now - 86_400_000), submissionClosesAt: new Date(now + 4_000), evaluationEndsAt: new Date(now + 60_000),
    publicationAt: new Date(now + 9_000), applicationsOpenAt: new Date(now - 60_000), applicationsCloseAt: new Date(now + 3_600_000),
    groupFormationAt: new Date(now + 3_600_000), teachingEndsAt: new Date(now + 20_000),
  };
  const callId = await insertCall(stack.db, `TEST-E2E-${now}`, phases);
  const { offerId, handle } = await startOffer({ callId, phases });
  await submit(handle);
  const task = await evaluationTask(offerId);
  const answer = await handle.executeUpdate(decideApprovalUpdate, {
    args: [{
      taskId: task.id, decision: 'approve', comment: '', decidedBy: staff,
      checklist: { provider_requirements: true, programme_requirements: true, documents_complete: true, cost_correct: true },
    }],
  });
  t.is(answer.stage, 'approved');
  t.like(await offerRow(offerId), { state: 'approved', published: false });
  const approvedMail = await stack.mail.waitFor((m) => m.to.includes(DEMO_EMAIL) && /apstiprināts/.test(m.subject));
  t.true(approvedMail.text.includes('320,00 EUR'));

  const published = await untilOfferState(offerId, 'published');
  t.true(published.published);
  t.true(new Date(published.publishedAt).getTime() >= phases.publicationAt.getTime(), 'not before the publication time');

  // The provider sets up a group of one place; two learners apply.
  const [group] = await stack.db('offerGroups').insert({ offerId, place: 'Rīga, Brīvības iela 1 (paraugs)', startsOn: '2026-09-07', endsOn: '2026-11-27', capacity: 1 }).returning<{ id: string }[]>('id');
  const first = await approvedLearner();
  const second = await approvedLearner();
  const applied1 = await first.handle.executeUpdate(applyUpdate, { args: [{ offerId, groupId: group!.id, actor: first.actor }] });
  const applied2 = await second.handle.executeUpdate(applyUpdate, { args: [{ offerId, groupId: group!.id, actor: second.actor }] });
  t.is(applied1.outcome, 'applied');
  t.is(applied2.outcome, 'applied');

  const enrolled = await first.handle.executeUpdate(enrolmentDecisionUpdate, { args: [{ applicationId: applied1.applicationId!, decision: 'enrol', reason: null, actor: providerActor }] });
  t.is(enrolled.stage, 'studying');
  t.like(await stack.db('offerGroups').where({ id: group!.id }).first(), { enrolled: 1, capacity: 1 });
  const full = await t.throwsAsync(second.handle.executeUpdate(enrolmentDecisionUpdate, {
    args: [{ applicationId: applied2.applicationId!, decision: 'enrol', reason: null, actor: providerActor }],
  }), { instanceOf: WorkflowUpdateFailedError });
  t.is(failureType(full), StudyFailureType.GroupFull);
  await second.handle.executeUpdate(withdrawUpdate, { args: [{ reason: null, actor: second.actor }] });

  t.is((await first.handle.executeUpdate(outcomeUpdate, { args: [{ outcome: 'completed', actor: providerActor }] })).stage, 'completed');
  t.is((await first.handle.query(journeyStateQuery)).stage, 'completed');

  // Teaching has ended and no application is waiting or studying: the offer closes.
  t.deepEqual(await handle.result(), { state: 'closed' });
  t.like(await offerRow(offerId), { state: 'closed' });
  t.deepEqual(await stack.db('providerEvents').where({ offerId }).orderBy('id').pluck('kind'), ['submitted', 'in_evaluation', 'approved', 'published', 'closed']);
});

test('while an outcome is missing after teaching, the closing loop continues as new instead of growing one history', async (t) => {
  const now = Date.now();
  // Teaching is over; the offer is published and one learner's application is still open.
  const phases: CallPhases = {
    submissionOpensAt: new Date(now - 10 * 86_400_000), submissionClosesAt: new Date(now - 9 * 86_400_000), evaluationEndsAt: new Date(now - 8 * 86_400_000),
    publicationAt: new Date(now - 7 * 86_400_000), applicationsOpenAt: new Date(now - 7 * 86_400_000), applicationsCloseAt: new Date(now + 86_400_000),
    groupFormationAt: new Date(now + 86_400_000), teachingEndsAt: new Date(now - 60_000),
  };
  const callId = await insertCall(stack.db, `TEST-CAN-${now}`, phases);
  const providerId = await approvedProvider(stack.db, 'demo');
  const { offerId, workflowId } = await insertDraftOffer(stack.db, { providerId, sample: 'demo', callId, phases, overrides: { state: 'published', published: true, costCents: 32_000 } });
  const [group] = await stack.db('offerGroups').insert({ offerId, place: 'Rīga, Brīvības iela 1 (paraugs)', startsOn: '2026-09-07', endsOn: '2026-11-27', capacity: 5 }).returning<{ id: string }[]>('id');
  const learner = await approvedLearner();
  t.is((await learner.handle.executeUpdate(applyUpdate, { args: [{ offerId, groupId: group!.id, actor: learner.actor }] })).outcome, 'applied');

  const first = await stack.temporal.workflow.start(providerOffer, {
    workflowId, taskQueue: stack.taskQueue,
    args: [{ offerId, providerId, callId, resumeAt: 'closing', timing: { closeCheckInterval: '200 milliseconds', closeChecksPerRun: 3 } }],
  });
  // Several runs follow one another while the application stays open.
  await eventually(async () => {
    const runs = [];
    for await (const run of stack.temporal.workflow.list({ query: `WorkflowId = "${workflowId}"` })) runs.push(run);
    return runs.length >= 3;
  }, 'three runs of the offer workflow', 30_000);
  const firstHistory = (await stack.temporal.workflow.getHandle(workflowId, first.firstExecutionRunId).fetchHistory()).events ?? [];
  t.truthy(firstHistory.at(-1)?.workflowExecutionContinuedAsNewEventAttributes, 'the first run continued as new');
  t.true(firstHistory.length < 80, `the first run's history stays small (${firstHistory.length} events)`);
  t.like(await offerRow(offerId), { state: 'published' });

  // The learner withdraws: nothing is active any more and the offer closes.
  await learner.handle.executeUpdate(withdrawUpdate, { args: [{ reason: null, actor: learner.actor }] });
  t.deepEqual(await stack.temporal.workflow.getHandle(workflowId).result(), { state: 'closed' });
  t.like(await offerRow(offerId), { state: 'closed' });
});
