import { randomUUID } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../domain/failures';
import type { Actor } from '../../domain/journey';
import { CURRENT_TERMS_VERSION } from '../../domain/terms';
import { demoOffers } from '../../dev/seed-offers';
import { SAMPLE_COMPANIES, SAMPLE_INSTITUTIONS } from '../../dev/seed-institutions';
import { learnerJourneyId, providerRegistrationId } from '../../workflows/ids';
import { decideApprovalUpdate, type learnerJourney } from '../../workflows/learner-journey';
import { enrolmentDecisionUpdate } from '../../workflows/learner-journey-application';
import { providerOffer, submitOfferUpdate } from '../../workflows/provider-offer';
import { createCallClosingIn } from '../helpers/calls';
import { assertError, httpClient } from '../helpers/http';
import { adultMaker, eventually, openTaskOf, untilStage, type TestPerson } from '../helpers/journeys';
import { multipartClient, SAMPLE_EDOC } from '../helpers/multipart';
import { approvedProvider, insertDraftOffer } from '../helpers/providers';
import { startTestStack, type TestStack } from '../helpers/stack';
import { checkConsistency } from '../../api/services/consistency';
import { recordStopRequest } from '../../lib/workflow-stops';

// Console cancel and terminate, one workflow and in a batch, close what the workflow holds (issue 11): the case
// (reason closed_by_agency, the administrator and the reason recorded), its open task, the earmark and places of
// an application, a provider's registration (the numbers free again), an offer (out of the catalogue, its task
// gone); no e-mail is sent. Against the real dev server, Postgres, worker and API.

let stack: TestStack;
let admin: string;
const call = httpClient(() => stack.appUrl);
const upload = multipartClient(() => stack.appUrl);
const ADMIN_NAME = 'Andris Priede';

test.before(async () => {
  // IMK accounts wait for staff here, so a journey can be stopped while its approval task is open.
  stack = await startTestStack({ manualApproval: ['IMK'] });
  admin = await stack.adminToken();
});
test.after.always(async () => { await stack?.stop(); });

const OFFER = demoOffers[0]!;
const GROUP = OFFER.groups[0]!;
const staffActor: Actor = { role: 'staff', id: 'staff-1', name: 'Inese Kļaviņa', channel: 'staff' };
const providerActor: Actor = { role: 'provider', id: 'provider-1', name: 'Dace Vītola', channel: 'e-service' };

/** A new adult the Population Register knows. */
const newPerson = adultMaker(() => stack.registry, { prefix: '34', lastName: 'Apturēta', birthDate: '1985-03-03', note: 'console cleanup test' });
type Person = TestPerson;

const tokenOf = (person: Person) => stack.tokenFor('learner', person.code, person.name);

/** Registers through the API, as the learner would. */
function register(person: Person) {
  return tokenOf(person).then((token) => call('POST', '/api/learner/journeys', {
    token, json: { requestId: randomUUID(), email: `${person.code}@example.lv`, language: 'lv', acceptTerms: true, termsVersion: CURRENT_TERMS_VERSION },
  }));
}

/** A journey whose approval task is open in the staff inbox. */
async function awaitingApproval(person: Person) {
  const answer = await register(person);
  if (answer.status !== 201 && answer.status !== 202) throw new Error(`registration: HTTP ${answer.status} ${answer.text}`);
  const { caseId } = answer.json as { caseId: string };
  const handle: WorkflowHandle<typeof learnerJourney> = stack.temporal.workflow.getHandle(learnerJourneyId(caseId));
  const task = await openTaskOf(stack.db, caseId);
  await untilStage(stack.db, handle, caseId, 'awaiting_approval');
  return { caseId, handle, taskId: task.id };
}

/** A journey with an application that holds an earmark and the programme's capped place (optionally enrolled). */
async function withApplication(person: Person, opts: { enrol?: boolean } = {}) {
  const journey = await awaitingApproval(person);
  await journey.handle.executeUpdate(decideApprovalUpdate, { args: [{ taskId: journey.taskId, decision: 'approve', comment: '', decidedBy: staffActor }] });
  await untilStage(stack.db, journey.handle, journey.caseId, 'imk_approved');
  const before = await holdings(journey.caseId);
  const applied = await call('POST', `/api/learner/journeys/${journey.caseId}/applications`, {
    token: await tokenOf(person), json: { requestId: randomUUID(), offerId: OFFER.id, groupId: GROUP.id },
  });
  if (applied.status !== 201) throw new Error(`apply: HTTP ${applied.status} ${applied.text}`);
  const { applicationId } = applied.json as { applicationId: string };
  if (opts.enrol) {
    await journey.handle.executeUpdate(enrolmentDecisionUpdate, { args: [{ applicationId, decision: 'enrol', reason: null, actor: providerActor }] });
  }
  // The e-mails so far (approved, application received, enrolled) are sent before anything is stopped.
  const expected = opts.enrol ? 3 : 2;
  await eventually(async () => (await stack.db('emailOutbox').where({ caseId: journey.caseId, status: 'sent' })).length === expected || null, 'the e-mails so far');
  const during = await holdings(journey.caseId);
  return { ...journey, applicationId, before, during };
}

/** What a case holds: its balance, the programme's counted applications, the group's enrolled learners. */
async function holdings(caseId: string) {
  const theCase = await stack.db('cases').where({ id: caseId }).first<{ balanceCents: number }>('balanceCents');
  const programme = await stack.db('programmes').where({ code: 'IMK' }).first<{ applicationsReceived: number }>('applicationsReceived');
  const group = await stack.db('offerGroups').where({ id: GROUP.id }).first<{ enrolled: number }>('enrolled');
  return { balanceCents: theCase.balanceCents, applicationsReceived: programme.applicationsReceived, enrolled: group.enrolled };
}

function act(workflowId: string, action: 'cancel' | 'terminate', reason: string) {
  return call('POST', `/api/admin/workflows/${encodeURIComponent(workflowId)}/actions`, { token: admin, json: { action, reason } });
}

/** Runs a batch cancel or terminate over one workflow (selected by its id) through the API, until it finishes. */
async function batch(workflowId: string, action: 'cancel' | 'terminate', reason: string) {
  const filter = { workflowId };
  await eventually(async () => {
    const preview = await call('POST', '/api/admin/batches/preview', { token: admin, json: { action, filter } });
    if (preview.status !== 200) throw new Error(`preview: HTTP ${preview.status} ${preview.text}`);
    return (preview.json as { count: number }).count === 1 || null;
  }, 'the workflow in the batch preview');
  const started = await call('POST', '/api/admin/batches', { token: admin, json: { action, filter, reason, expectedCount: 1 } });
  if (started.status !== 202 && started.status !== 201 && started.status !== 200) throw new Error(`batch: HTTP ${started.status} ${started.text}`);
  const { batchId } = started.json as { batchId: string };
  return eventually(async () => {
    const answer = await call('GET', `/api/admin/batches/${batchId}`, { token: admin });
    const body = answer.json as { batch: { state: string; counts: { cleared: number; stillFailing: number; sent: number } }; items: { workflowId: string; status: string; verified: string | null }[] };
    return body.batch.state === 'finished' ? body : null;
  }, `batch ${batchId} to finish`, 90_000);
}

async function statusOf(workflowId: string, status: 'CANCELLED' | 'TERMINATED') {
  return eventually(async () => ((await stack.temporal.workflow.getHandle(workflowId).describe()).status.name === status ? status : null), `${workflowId} to be ${status}`);
}

/** The case is closed by the agency with the administrator and the reason, its task withdrawn and undecidable. */
async function assertCaseClosed(t: ExecutionContext, caseId: string, taskId: string | null, reason: string) {
  const theCase = await eventually(() => stack.db('cases').where({ id: caseId }).whereNotNull('closedAt').first(), `case ${caseId} closed`);
  t.like(theCase, { stage: 'closed', outcomeReason: 'closed_by_agency' });
  const event = await stack.db('caseEvents').where({ caseId, kind: 'closed' }).first();
  t.like(event, { actorName: ADMIN_NAME, actorRole: 'staff', details: { reason } });
  t.is((await stack.db('tasks').where({ caseId, state: 'open' })).length, 0, 'no open task');
  if (taskId === null) return;
  t.like(await stack.db('tasks').where({ id: taskId }).first(), { state: 'cancelled' });
  const listed = await call('GET', '/api/staff/tasks', { token: await stack.staffToken('staff') });
  t.false(JSON.stringify(listed.json).includes(taskId), 'the task is gone from the inbox');
  const decided = await call('POST', `/api/staff/tasks/${taskId}/decision`, { token: await stack.staffToken('staff'), json: { decision: 'approve', comment: '' } });
  t.true(decided.status === 409 || decided.status === 404, decided.text);
}

/** The application ended and gave back its earmark, the programme's place and (if enrolled) the group's place. */
async function assertReleased(t: ExecutionContext, journey: Awaited<ReturnType<typeof withApplication>>) {
  t.like(await stack.db('applications').where({ id: journey.applicationId }).first(), { state: 'withdrawn', earmarkedCents: 0, holdsPlace: false, reason: 'closed_by_agency' });
  t.true(journey.during.balanceCents < journey.before.balanceCents, 'the application had earmarked money');
  t.deepEqual(await holdings(journey.caseId), journey.before, 'balance, the programme\'s count and the group\'s places are as before the application');
}

/** The learner may register again at once (the old case no longer counts as open). */
async function assertCanRegisterAgain(t: ExecutionContext, person: Person, oldCaseId: string) {
  const again = await register(person);
  t.true(again.status === 201 || again.status === 202, again.text);
  t.not((again.json as { caseId: string }).caseId, oldCaseId);
}

/** No e-mail reached the learner after the stop. */
async function assertNoMailSince(t: ExecutionContext, person: Person, before: number) {
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  t.is(stack.mail.messages().filter((m) => m.to.includes(`${person.code}@example.lv`)).length, before);
}
const mailsTo = (person: Person) => stack.mail.messages().filter((m) => m.to.includes(`${person.code}@example.lv`)).length;

/** The number of e-mails the learner got, once every e-mail the journey queued so far has been sent. */
async function settledMailsTo(person: Person, caseId: string): Promise<number> {
  const counted = await eventually(async () => {
    const queued = await stack.db('emailOutbox').where({ caseId }).select('status') as { status: string }[];
    return queued.every((q) => q.status === 'sent') && mailsTo(person) === queued.length ? queued.length + 1 : null;
  }, 'the journey\'s e-mails to be sent');
  return counted - 1;
}

test.serial('console cancel of a journey awaiting approval closes its case, withdraws its task, sends no e-mail; the learner registers again', async (t) => {
  const person = newPerson('Atcelta');
  const journey = await awaitingApproval(person);
  const mails = await settledMailsTo(person, journey.caseId);
  const answer = await act(journey.handle.workflowId, 'cancel', 'Registered twice by mistake');
  t.is(answer.status, 200, answer.text);
  await statusOf(journey.handle.workflowId, 'CANCELLED');
  await assertCaseClosed(t, journey.caseId, journey.taskId, 'Registered twice by mistake');
  t.like(await stack.db('workflowStopRequests').where({ workflowId: journey.handle.workflowId }).first(), { action: 'cancel', actorName: ADMIN_NAME });
  await assertNoMailSince(t, person, mails);
  await assertCanRegisterAgain(t, person, journey.caseId);
});

test.serial('console terminate of a journey with an application releases earmark and place, closes the case; the page says the console cleans up', async (t) => {
  const person = newPerson('Pārtraukta');
  const journey = await withApplication(person);
  const page = await call('GET', `/admin/workflows/${encodeURIComponent(journey.handle.workflowId)}?lang=en`, { token: admin, html: true });
  t.true(page.text.includes('terminate runs no workflow code, so the console runs the same clean-up right after it'), 'the page says what terminate does');
  const lv = await call('GET', `/admin/workflows/${encodeURIComponent(journey.handle.workflowId)}`, { token: admin, html: true });
  t.true(lv.text.includes('pārtraukšana darbplūsmas kodu neizpilda'), 'in Latvian too');

  const mails = await settledMailsTo(person, journey.caseId);
  const answer = await act(journey.handle.workflowId, 'terminate', 'Offer withdrawn by the agency');
  t.is(answer.status, 200, answer.text);
  t.regex((answer.json as { outcome: string }).outcome, /^terminated; read model closed \(case\)/);
  await statusOf(journey.handle.workflowId, 'TERMINATED');
  await assertCaseClosed(t, journey.caseId, null, 'Offer withdrawn by the agency');
  await assertReleased(t, journey);
  // The learner reads a closed case, and applying is refused as such.
  const applied = await call('POST', `/api/learner/journeys/${journey.caseId}/applications`, {
    token: await tokenOf(person), json: { requestId: randomUUID(), offerId: OFFER.id, groupId: GROUP.id },
  });
  assertError(t, applied, 409, 'journey_closed');
  await assertNoMailSince(t, person, mails);
  await assertCanRegisterAgain(t, person, journey.caseId);
});

test.serial('batch terminate of a journey awaiting approval closes its case and task; verified closed', async (t) => {
  const person = newPerson('Paketē');
  const journey = await awaitingApproval(person);
  const done = await batch(journey.handle.workflowId, 'terminate', 'Batch clean-up of test cases');
  t.like(done.batch.counts, { sent: 1, cleared: 1, stillFailing: 0 });
  await statusOf(journey.handle.workflowId, 'TERMINATED');
  await assertCaseClosed(t, journey.caseId, journey.taskId, 'Batch clean-up of test cases');
  await assertCanRegisterAgain(t, person, journey.caseId);
});

test.serial('batch cancel of a journey with an enrolled learner frees the group place and the earmark; verified closed', async (t) => {
  const person = newPerson('Uzņemta');
  const journey = await withApplication(person, { enrol: true });
  t.is(journey.during.enrolled, journey.before.enrolled + 1);
  const mails = await settledMailsTo(person, journey.caseId);
  const done = await batch(journey.handle.workflowId, 'cancel', 'Group cancelled by the agency');
  t.like(done.batch.counts, { sent: 1, cleared: 1, stillFailing: 0 });
  await statusOf(journey.handle.workflowId, 'CANCELLED');
  await assertCaseClosed(t, journey.caseId, null, 'Group cancelled by the agency');
  await assertReleased(t, journey);
  await assertNoMailSince(t, person, mails);
  await assertCanRegisterAgain(t, person, journey.caseId);
});

// Provider registrations: through the API, confirmed by the e-mailed link, so the agency's task is open.
const registration = (sample: 'second' | 'young') => ({
  institutionName: `Apturēta iestāde ${sample} (paraugs)`, companyRegistrationNumber: SAMPLE_COMPANIES[sample],
  educationRegistrationNumber: SAMPLE_INSTITUTIONS[sample], firstName: 'Jānis', lastName: 'Ozols', email: `stop-${sample}@provider.example`,
  password: 'Mācības#2026x', passwordRepeat: 'Mācības#2026x', language: 'lv',
});
const registerProvider = (sample: 'second' | 'young') =>
  upload('/api/providers/registrations', registration(sample), [{ field: 'declaration', filename: 'apliecinajums.edoc', content: SAMPLE_EDOC }]);

async function registrationAwaitingApproval(sample: 'second' | 'young') {
  const answer = await registerProvider(sample);
  if (answer.status !== 201) throw new Error(`provider registration: HTTP ${answer.status} ${answer.text}`);
  const { providerId } = answer.json as { providerId: string };
  const workflowId = providerRegistrationId(providerId);
  const token = await stack.links.sign('confirm-provider-email', providerId, 72);
  const confirmed = await call('POST', '/api/providers/confirmations', { json: { token } });
  if (confirmed.status !== 200) throw new Error(`confirmation: HTTP ${confirmed.status} ${confirmed.text}`);
  const task = await eventually(() => stack.db('tasks').where({ providerId, state: 'open' }).first<{ id: string }>('id'), 'the approval task');
  return { providerId, workflowId, taskId: task.id, token };
}

async function assertRegistrationClosed(t: ExecutionContext, reg: Awaited<ReturnType<typeof registrationAwaitingApproval>>, sample: 'second' | 'young', reason: string) {
  t.like(await eventually(() => stack.db('providers').where({ id: reg.providerId, status: 'cancelled' }).first(), 'the registration cancelled'), { status: 'cancelled' });
  t.like(await stack.db('tasks').where({ id: reg.taskId }).first(), { state: 'cancelled' });
  t.like(await stack.db('providerEvents').where({ providerId: reg.providerId, kind: 'cancelled' }).first(), { actorName: ADMIN_NAME, details: { reason } });
  // The e-mailed link now says the registration is over; the same company, institution and e-mail register again.
  assertError(t, await call('POST', '/api/providers/confirmations', { json: { token: reg.token } }), 410, 'link_expired');
  const again = await registerProvider(sample);
  t.is(again.status, 201, again.text);
}

test.serial('console cancel of a provider registration awaiting approval cancels it and its task; the provider registers again', async (t) => {
  const reg = await registrationAwaitingApproval('second');
  const answer = await act(reg.workflowId, 'cancel', 'Registered by a stranger');
  t.is(answer.status, 200, answer.text);
  await statusOf(reg.workflowId, 'CANCELLED');
  await assertRegistrationClosed(t, reg, 'second', 'Registered by a stranger');
});

test.serial('batch terminate of a provider registration cancels it and its task; the provider registers again', async (t) => {
  const reg = await registrationAwaitingApproval('young');
  const done = await batch(reg.workflowId, 'terminate', 'Stale provider registrations');
  t.like(done.batch.counts, { sent: 1, cleared: 1 });
  await statusOf(reg.workflowId, 'TERMINATED');
  await assertRegistrationClosed(t, reg, 'young', 'Stale provider registrations');
});

// Offers: submitted in a call whose submission closes at once, so the evaluation task is open.
async function offerInEvaluation() {
  const phases = await createCallClosingIn(stack.db, 4_000, 120_000);
  const providerId = await approvedProvider(stack.db, 'demo');
  const { offerId, workflowId } = await insertDraftOffer(stack.db, { providerId, sample: 'demo', ...phases });
  const handle = await stack.temporal.workflow.start(providerOffer, { workflowId, taskQueue: stack.taskQueue, args: [{ offerId, providerId, callId: phases.callId }] });
  await handle.executeUpdate(submitOfferUpdate, { args: [{ actor: providerActor }] });
  const task = await eventually(() => stack.db('tasks').where({ offerId, state: 'open' }).first<{ id: string }>('id'), 'the evaluation task', 30_000);
  return { offerId, workflowId, taskId: task.id };
}

async function assertOfferClosed(t: ExecutionContext, offer: Awaited<ReturnType<typeof offerInEvaluation>>, reason: string) {
  t.like(await eventually(() => stack.db('offers').where({ id: offer.offerId, state: 'closed' }).first(), 'the offer closed'), { published: false });
  t.like(await stack.db('tasks').where({ id: offer.taskId }).first(), { state: 'cancelled' });
  t.like(await stack.db('providerEvents').where({ offerId: offer.offerId, kind: 'cancelled' }).first(), { actorName: ADMIN_NAME, state: 'closed', details: { reason, from: 'in_evaluation' } });
  const decided = await call('POST', `/api/staff/tasks/${offer.taskId}/decision`, { token: await stack.staffToken('staff'), json: { decision: 'approve', comment: '', checklist: {} } });
  t.true(decided.status === 409 || decided.status === 404, decided.text);
}

test.serial('console terminate of an offer in evaluation closes it and withdraws its evaluation task', async (t) => {
  const offer = await offerInEvaluation();
  const answer = await act(offer.workflowId, 'terminate', 'The call was annulled');
  t.is(answer.status, 200, answer.text);
  await statusOf(offer.workflowId, 'TERMINATED');
  await assertOfferClosed(t, offer, 'The call was annulled');
});

test.serial('batch cancel of an offer in evaluation closes it and withdraws its evaluation task; verified closed', async (t) => {
  // The filter form offers cancel next to terminate, and says what both close.
  const form = await call('GET', '/admin/batches/new?lang=en', { token: admin, html: true });
  t.true(form.text.includes('value="cancel"'));
  t.true(form.text.includes('the batch then runs the same clean-up'));
  const offer = await offerInEvaluation();
  const done = await batch(offer.workflowId, 'cancel', 'The call was annulled');
  t.like(done.batch.counts, { sent: 1, cleared: 1 });
  await statusOf(offer.workflowId, 'CANCELLED');
  await assertOfferClosed(t, offer, 'The call was annulled');
});

test.serial('a request the workflow is still working on when the console cancels it gets a clear refusal', async (t) => {
  // The offer's submission waits on VIIS (down), so the provider's Update is in flight when the cancel arrives.
  const phases = await createCallClosingIn(stack.db, 120_000);
  const providerId = await approvedProvider(stack.db, 'demo');
  const { offerId, workflowId } = await insertDraftOffer(stack.db, { providerId, sample: 'demo', ...phases });
  const handle = await stack.temporal.workflow.start(providerOffer, { workflowId, taskQueue: stack.taskQueue, args: [{ offerId, providerId, callId: phases.callId }] });
  stack.viis.setDown(true);
  try {
    const submitting = handle.executeUpdate(submitOfferUpdate, { args: [{ actor: providerActor }] });
    submitting.catch(() => undefined);
    await eventually(async () => ((await handle.describe()).raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'submitOffer') || null, 'the submission waiting on VIIS');
    const answer = await act(workflowId, 'cancel', 'Offer entered for the wrong call');
    t.is(answer.status, 200, answer.text);
    const refused = await t.throwsAsync(submitting, { instanceOf: WorkflowUpdateFailedError });
    const cause = (refused as WorkflowUpdateFailedError).cause as ApplicationFailure;
    t.is(cause.type, FailureType.StaleDecision);
    t.regex(cause.message, /closed by the agency/);
    await statusOf(workflowId, 'CANCELLED');
    t.like(await stack.db('offers').where({ id: offerId }).first(), { state: 'closed', published: false });
  } finally {
    stack.viis.setDown(false);
  }
});

test.serial('a cancel whose cleanup the database refuses: the workflow keeps the case open and consistent, retries, and closes it once the database accepts', async (t) => {
  const person = newPerson('Aizturēta');
  const journey = await awaitingApproval(person);
  // The database refuses to close this one case (as a failing disk or a lock timeout would), and nothing else.
  const fn = `refuse_close_${journey.caseId.replace(/-/g, '')}`;
  await stack.db.raw(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    IF NEW.id = '${journey.caseId}' AND NEW.closed_at IS NOT NULL THEN RAISE EXCEPTION 'closing refused (test)'; END IF;
    RETURN NEW; END $$`);
  await stack.db.raw(`CREATE TRIGGER ${fn} BEFORE UPDATE ON cases FOR EACH ROW EXECUTE FUNCTION ${fn}()`);
  try {
    const answer = await act(journey.handle.workflowId, 'cancel', 'Registered twice by mistake');
    t.is(answer.status, 200, answer.text);
    const retrying = await eventually(async () => {
      const described = await stack.temporal.workflowService.describeWorkflowExecution({
        namespace: stack.temporal.options.namespace, execution: { workflowId: journey.handle.workflowId },
      });
      const pending = described.pendingActivities?.find((a) => a.activityType?.name === 'closeStoppedWorkflow');
      return (pending?.attempt ?? 0) >= 2 ? described : null;
    }, 'the cleanup to fail and be retried');
    t.is(retrying.workflowExecutionInfo?.status, 1, 'still running (not failed, not half-cancelled)');
    // The cleanup is one transaction: nothing of it is half done while it waits.
    t.like(await stack.db('cases').where({ id: journey.caseId }).first(), { closedAt: null, stage: 'awaiting_approval' });
    t.like(await stack.db('tasks').where({ id: journey.taskId }).first(), { state: 'open' });
    t.truthy(await stack.db('journeyReservations').where({ caseId: journey.caseId }).first(), 'the programme stays reserved for the open case');
  } finally {
    await stack.db.raw(`DROP TRIGGER ${fn} ON cases`);
    await stack.db.raw(`DROP FUNCTION ${fn}()`);
  }
  await statusOf(journey.handle.workflowId, 'CANCELLED');
  await assertCaseClosed(t, journey.caseId, journey.taskId, 'Registered twice by mistake');
  await assertCanRegisterAgain(t, person, journey.caseId);
});

test.serial('after every stop above, cancel or terminate, one at a time or in a batch, the consistency check finds nothing left open', async (t) => {
  // Rows younger than the check's settle window count too (settleMs 0): each clean-up above has finished, and the
  // journeys registered again have written their cases.
  await eventually(async () => (await stack.db('journeyReservations').leftJoin('cases', 'cases.id', 'journeyReservations.caseId')
    .whereNull('cases.id').first('journeyReservations.caseId')) ? null : true, 'every journey registered again to open its case');
  const report = await checkConsistency({ db: stack.db, temporal: stack.apiDeps.temporal, taskQueue: stack.taskQueue }, { settleMs: 0 });
  t.deepEqual(report.violations.map((v) => `${v.rule} ${v.subject.kind} ${v.subject.id}`), []);
  t.true(report.counts.cases >= 6);
});

test.serial('a cancel repeated while the first is carried out keeps the cleanup recorded; a terminate after it asks for the cleanup again', async (t) => {
  const workflowId = `learner-journey:${randomUUID()}`;
  const actor = { id: randomUUID(), name: 'Andris Priede' };
  const cleanedAt = async () => (await stack.db('workflowStopRequests').where({ workflowId }).first()).cleanedAt as Date | null;
  await recordStopRequest(stack.db, { workflowId, action: 'cancel', actor, reason: 'first' });
  // The workflow's own cleanup (activities/workflow-stop.ts) marks the request done; the workflow has not closed yet.
  await stack.db('workflowStopRequests').where({ workflowId }).update({ cleanedAt: new Date() });
  await recordStopRequest(stack.db, { workflowId, action: 'cancel', actor, reason: 'second' });
  t.not(await cleanedAt(), null, 'the workflow cleans up once; its mark stays');
  await recordStopRequest(stack.db, { workflowId, action: 'terminate', actor, reason: 'third' });
  t.is(await cleanedAt(), null, 'a terminate runs the cleanup again, which sets the mark');
});
