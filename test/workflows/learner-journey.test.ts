import test from 'ava';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { closeJourneySignal, decideApprovalUpdate, journeyStateQuery } from '../../workflows/learner-journey';
import { FailureType } from '../../domain/failures';
import { startTestStack, TEST_SOPA_OPERATOR, type TestStack } from '../helpers/stack';
import { openTaskOf, startLearnerJourney, untilStage } from '../helpers/journeys';

// Workflow tests against the real Temporal dev server and real Postgres (started by the test command).
let stack: TestStack;
test.before(async () => { stack = await startTestStack({ manualApproval: ['IMK'] }); });
test.after.always(async () => { await stack?.stop(); });

const staff = { role: 'staff' as const, id: 'staff-1', name: 'Inese Kļaviņa', channel: 'staff' as const };
const ANNA = '321178-40215';
const JANIS = '150690-11223';
const LIGA = '010309-21234';
const PETERIS = '120345-10001';
const MARTA = '220288-10458';

test.serial('an eligible adult gets an approval task; staff approve; the learner is told once by e-mail', async (t) => {
  const { caseId, handle } = await startLearnerJourney(stack.temporal, stack.taskQueue, ANNA);
  const task = await openTaskOf(stack.db, caseId);
  t.is((await handle.query(journeyStateQuery)).stage, 'awaiting_approval');

  const answer = await handle.executeUpdate(decideApprovalUpdate, { args: [{ taskId: task.id, decision: 'approve', comment: '', decidedBy: staff }] });
  t.is(answer.stage, 'imk_approved');
  const result = await untilStage(stack.db, handle, caseId, 'imk_approved');
  t.regex(result.serviceCaseId ?? '', /^IMK-\d{4}-\d{6}$/);

  const row = await stack.db('cases').where({ id: caseId }).first();
  t.is(row.stage, 'imk_approved');
  t.is(row.balanceCents, 50_000);
  const decided = await stack.db('tasks').where({ id: task.id }).first();
  t.like(decided, { state: 'decided', decision: 'approve', decidedByName: 'Inese Kļaviņa' });
  const events = await stack.db('caseEvents').where({ caseId }).orderBy('id').pluck('kind');
  t.deepEqual(events, ['registered', 'eligible', 'imk_approved']);

  const mail = await stack.mail.waitFor((m) => m.to.includes(`${ANNA}@example.lv`));
  t.true(mail.subject.includes(result.serviceCaseId!));
  t.true(mail.text.includes('500,00 EUR'));
  // The registry query is audited with whose data and why.
  const audit = await stack.db('auditLog').where({ caseId, action: 'population-register.get-person' }).first();
  t.like(audit, { subjectPersonCode: ANNA, purpose: 'IMK eligibility check', action: 'population-register.get-person' });
});

test.serial('a person under 18 is not eligible, with the reason, and gets an e-mail saying so', async (t) => {
  const { caseId, handle } = await startLearnerJourney(stack.temporal, stack.taskQueue, LIGA);
  const result = await handle.result();
  t.is(result.stage, 'not_eligible');
  const row = await stack.db('cases').where({ id: caseId }).first();
  t.like(row, { stage: 'not_eligible', outcomeReason: 'under_min_age' });
  t.truthy(row.closedAt);
  t.is(await stack.db('tasks').where({ caseId }).first(), undefined, 'no staff task for an ineligible person');
  const mail = await stack.mail.waitFor((m) => m.to.includes(`${LIGA}@example.lv`));
  t.regex(mail.text, /no 18 gadu vecuma/);
});

test.serial('a deceased person is not eligible', async (t) => {
  const { caseId, handle } = await startLearnerJourney(stack.temporal, stack.taskQueue, PETERIS);
  t.is((await handle.result()).stage, 'not_eligible');
  t.like(await stack.db('cases').where({ id: caseId }).first(), { outcomeReason: 'deceased' });
  const mail = await stack.mail.waitFor((m) => m.to.includes(`${PETERIS}@example.lv`));
  t.regex(mail.text, /mirusi/);
});

test.serial('a stale or repeated decision is refused and changes nothing', async (t) => {
  const { caseId, handle } = await startLearnerJourney(stack.temporal, stack.taskQueue, JANIS);
  const task = await openTaskOf(stack.db, caseId);

  const wrongTask = await t.throwsAsync(handle.executeUpdate(decideApprovalUpdate, {
    args: [{ taskId: '00000000-0000-4000-8000-000000000000', decision: 'approve', comment: '', decidedBy: staff }],
  }), { instanceOf: WorkflowUpdateFailedError });
  t.is((wrongTask!.cause as ApplicationFailure).type, FailureType.StaleDecision);

  await handle.executeUpdate(decideApprovalUpdate, { args: [{ taskId: task.id, decision: 'reject', comment: 'Dokumenti nav pilnīgi', decidedBy: staff }] });
  const again = await t.throwsAsync(handle.executeUpdate(decideApprovalUpdate, {
    args: [{ taskId: task.id, decision: 'approve', comment: '', decidedBy: { ...staff, name: 'Someone Else' } }],
  }));
  t.truthy(again, 'a second decision is refused');
  t.is((await handle.result()).stage, 'imk_rejected');
  const row = await stack.db('tasks').where({ id: task.id }).first();
  t.like(row, { decision: 'reject', decidedByName: 'Inese Kļaviņa' });
  const mail = await stack.mail.waitFor((m) => m.to.includes(`${JANIS}@example.lv`));
  t.true(mail.text.includes('Dokumenti nav pilnīgi'));
});

test.serial('the Population Register failing three times delays but does not break the journey; one e-mail', async (t) => {
  stack.registry.failNext(3, 500);
  const before = stack.registry.requests;
  const { caseId, handle } = await startLearnerJourney(stack.temporal, stack.taskQueue, MARTA);
  const task = await openTaskOf(stack.db, caseId);
  t.is(stack.registry.requests - before, 4, 'three failed requests, then one that succeeded');
  await handle.executeUpdate(decideApprovalUpdate, { args: [{ taskId: task.id, decision: 'approve', comment: '', decidedBy: staff }] });
  t.is((await untilStage(stack.db, handle, caseId, 'imk_approved')).stage, 'imk_approved');
  await stack.mail.waitFor((m) => m.to.includes(`${MARTA}@example.lv`));
  // Give a stray duplicate time to arrive before counting.
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.is(stack.mail.messages().filter((m) => m.to.includes(`${MARTA}@example.lv`)).length, 1);
  t.is((await stack.db('auditLog').where({ caseId, action: 'population-register.get-person' })).length, 1, 'one audited registry query');
});

test.serial('a journey waiting for approval is closed from outside: task withdrawn, no e-mail, later decisions refused', async (t) => {
  const personCode = '150690-11223';
  const { caseId, handle } = await startLearnerJourney(stack.temporal, stack.taskQueue, personCode, {
    registration: { email: 'closing@example.lv', phone: null, language: 'en', termsVersion: '2025-09', termsAcceptedAt: new Date().toISOString() },
  });
  const task = await openTaskOf(stack.db, caseId);
  await handle.signal(closeJourneySignal, { reason: 'deceased', detail: 'Population Register: deceased 2026-11-01', actor: { role: 'system', id: null, name: null, channel: 'system' } });
  t.is((await handle.result()).stage, 'closed');
  t.like(await stack.db('cases').where({ id: caseId }).first(), { stage: 'closed', outcomeReason: 'deceased' });
  t.is((await stack.db('tasks').where({ id: task.id }).first()).state, 'cancelled');
  t.false(stack.mail.messages().some((m) => m.to.includes('closing@example.lv')), 'no e-mail about closing');
  await t.throwsAsync(handle.executeUpdate(decideApprovalUpdate, { args: [{ taskId: task.id, decision: 'approve', comment: '', decidedBy: staff }] }));
});

test.serial('programmes are data: at 17 a person is refused IMK (18+) but eligible for digital basic skills (16-74)', async (t) => {
  const { caseId, handle } = await startLearnerJourney(stack.temporal, stack.taskQueue, LIGA, { programme: 'DPP' });
  t.is((await untilStage(stack.db, handle, caseId, 'imk_approved')).stage, 'imk_approved');
  const eligibility = await stack.db('caseEvents').where({ caseId, step: 'eligibility' }).first();
  t.like(eligibility.details, { eligible: true, facts: { programme: 'DPP', age: 17, minAge: 16, maxAge: 74 } });
});

test.serial('a journey for a programme that does not exist fails clearly instead of retrying', async (t) => {
  const { handle } = await startLearnerJourney(stack.temporal, stack.taskQueue, ANNA, { programme: 'NO-SUCH' });
  const err = await t.throwsAsync(handle.result());
  t.regex(String((err as { cause?: { cause?: Error } }).cause?.cause?.message), /No programme NO-SUCH/);
});

test.serial('a programme requiring social status: a SOPA status valid on the day qualifies, no status at all does not', async (t) => {
  await stack.db('programmes').insert({
    code: 'SOPA-TEST', nameLv: 'Pārbaudes programma', nameEn: 'Test programme (sample)', minAge: 18, funding: 'free',
    socialStatusRule: 'required', digcompLevels: '1-3',
  }).onConflict('code').ignore();

  const withStatus = await startLearnerJourney(stack.temporal, stack.taskQueue, JANIS, { programme: 'SOPA-TEST' });
  const task = await openTaskOf(stack.db, withStatus.caseId);
  const facts = (await stack.db('tasks').where({ id: task.id }).first()).facts;
  t.like(facts.eligibility, { eligible: true, facts: { socialStatus: 'low_income' } });
  // The query carried the agency's designated operator, and was audited in that person's name.
  t.like(stack.sopa.lastRequests.at(-1), { PersonCode: JANIS, userName: TEST_SOPA_OPERATOR.firstName, userPersonCode: TEST_SOPA_OPERATOR.personCode });
  t.like(await stack.db('auditLog').where({ caseId: withStatus.caseId, action: 'sopa.get-statuses' }).first(), {
    actorRole: 'system', actorId: TEST_SOPA_OPERATOR.personCode, subjectPersonCode: JANIS,
  });
  await withStatus.handle.terminate('test finished');

  const none = await startLearnerJourney(stack.temporal, stack.taskQueue, ANNA, { programme: 'SOPA-TEST' });
  t.is((await none.handle.result()).stage, 'not_eligible');
  t.like(await stack.db('cases').where({ id: none.caseId }).first(), { outcomeReason: 'no_social_status' });
});

test.serial('SOPA is not asked for a programme that does not use social status', async (t) => {
  const before = stack.sopa.requests;
  const { caseId, handle } = await startLearnerJourney(stack.temporal, stack.taskQueue, ANNA, { programme: 'DPP' });
  t.is((await untilStage(stack.db, handle, caseId, 'imk_approved')).stage, 'imk_approved');
  t.is(stack.sopa.requests, before);
});

test.serial('where the programme allows it, an account is approved automatically when every check passes', async (t) => {
  // DPP approves automatically; Marta is an adult the registers know, alive.
  const { caseId, handle } = await startLearnerJourney(stack.temporal, stack.taskQueue, MARTA, {
    programme: 'DPP', registration: { email: 'auto@example.lv', phone: null, language: 'en', termsVersion: '2025-09', termsAcceptedAt: new Date().toISOString() },
  });
  t.is((await untilStage(stack.db, handle, caseId, 'imk_approved')).stage, 'imk_approved');
  t.is(await stack.db('tasks').where({ caseId }).first(), undefined, 'no staff task');
  const approval = await stack.db('caseEvents').where({ caseId, step: 'approval' }).first();
  t.like(approval, { kind: 'imk_approved', actorRole: 'system' });
  const mail = await stack.mail.waitFor((m) => m.to.includes('auto@example.lv'));
  t.regex(mail.subject, /approved/i);
});

test.serial('an expired social status does not refuse the person but asks staff to look, with the facts', async (t) => {
  await stack.db('programmes').insert({
    code: 'SOPA-AUTO', nameLv: 'Pārbaudes programma', nameEn: 'Test programme (sample)', minAge: 18, funding: 'free',
    socialStatusRule: 'required', digcompLevels: '1-3', approval: 'automatic',
  }).onConflict('code').ignore();
  // Marta was poor until a month ago.
  const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
  stack.sopa.setStatuses(MARTA, [{ status: 1, validFrom: day(200), validTo: day(30), municipality: '90000012345' }]);
  const { caseId, handle } = await startLearnerJourney(stack.temporal, stack.taskQueue, MARTA, { programme: 'SOPA-AUTO' });
  const task = await openTaskOf(stack.db, caseId);
  const facts = (await stack.db('tasks').where({ id: task.id }).first()).facts;
  t.like(facts.eligibility, { eligible: true, review: ['social_status_expired'], facts: { socialStatus: null } });
  await handle.executeUpdate(decideApprovalUpdate, { args: [{ taskId: task.id, decision: 'reject', comment: 'Statuss beidzies', decidedBy: staff }] });
  t.is((await handle.result()).stage, 'imk_rejected');
});
