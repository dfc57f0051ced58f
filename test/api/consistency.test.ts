import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import type { Actor } from '../../domain/journey';
import { demoOffers } from '../../dev/seed-offers';
import { recordStopRequest } from '../../lib/workflow-stops';
import { checkConsistency, type ConsistencyReport, type Violation } from '../../api/services/consistency';
import { learnerJourneyId, providerRegistrationId } from '../../workflows/ids';
import { decideApprovalUpdate } from '../../workflows/learner-journey';
import { providerRegistration } from '../../workflows/provider-registration';
import { createCallClosingIn } from '../helpers/calls';
import { assertError, httpClient } from '../helpers/http';
import { adultMaker, eventually, openTaskOf, registerThroughApi, untilStage, type TestPerson } from '../helpers/journeys';
import { approvedProvider, insertDraftOffer, insertRegisteredProvider } from '../helpers/providers';
import { startTestStack, type TestStack } from '../helpers/stack';
import { startTcpProxy } from '../helpers/tcp-proxy';
import { connectTemporalClient } from '../../lib/temporal';
import { testDataConverter } from '../helpers/payload-keys';

// The consistency check (issue 12): each rule is broken here the way it can really break (a workflow terminated
// behind the console's back, a row changed by hand, a console stop whose clean-up never ran, an e-mail row of an
// older key), and the check must report it with its link; the safe repairs fix it once, audited, and a second
// repair changes nothing. A healthy stack reports none. The panel and the JSON API are for administrators only, and
// the command answers 0 / 1 / 2 with its one summary line. Tests run one after another: each leaves no violation.

let stack: TestStack;
let admin: string;
const call = httpClient(() => stack.appUrl);
const ADMIN_NAME = 'Andris Priede';
const OFFER = demoOffers[0]!;
const GROUP = OFFER.groups[0]!;
const staffActor: Actor = { role: 'staff', id: 'staff-1', name: 'Inese Kļaviņa', channel: 'staff' };
const TEN_MINUTES_AGO = () => new Date(Date.now() - 10 * 60_000);

test.before(async () => {
  // IMK accounts wait for staff here, so a journey can hold an open task.
  stack = await startTestStack({ manualApproval: ['IMK'] });
  admin = await stack.tokenFor('admin', randomUUID(), ADMIN_NAME, { secondFactor: true });
});
test.after.always(async () => { await stack?.stop(); });

/** A new adult the Population Register knows. */
const newPerson = adultMaker(() => stack.registry, { prefix: '35', lastName: 'Saskaņa', birthDate: '1984-04-04', note: 'consistency test' });
type Person = TestPerson;

const tokenOf = (person: Person) => stack.tokenFor('learner', person.code, person.name);

/** A journey registered through the API whose approval task is open. */
async function awaitingApproval(person: Person) {
  const { caseId, handle } = await registerThroughApi(call, stack.temporal, await tokenOf(person), person);
  const task = await openTaskOf(stack.db, caseId);
  await untilStage(stack.db, handle, caseId, 'awaiting_approval');
  return { caseId, handle, taskId: task.id, workflowId: learnerJourneyId(caseId) };
}

/** An approved journey (waiting for an application), its approval e-mail sent. */
async function approved(person: Person) {
  const journey = await awaitingApproval(person);
  await journey.handle.executeUpdate(decideApprovalUpdate, { args: [{ taskId: journey.taskId, decision: 'approve', comment: '', decidedBy: staffActor }] });
  await untilStage(stack.db, journey.handle, journey.caseId, 'imk_approved');
  await eventually(async () => (await stack.db('emailOutbox').where({ caseId: journey.caseId, status: 'sent' })).length === 1 || null, 'the approval e-mail');
  return journey;
}

/** An approved journey with an application that holds an earmark. */
async function withApplication(person: Person) {
  const journey = await approved(person);
  const applied = await call('POST', `/api/learner/journeys/${journey.caseId}/applications`, {
    token: await tokenOf(person), json: { requestId: randomUUID(), offerId: OFFER.id, groupId: GROUP.id },
  });
  if (applied.status !== 201) throw new Error(`apply: HTTP ${applied.status} ${applied.text}`);
  await eventually(async () => (await stack.db('emailOutbox').where({ caseId: journey.caseId, status: 'sent' })).length === 2 || null, 'the application e-mail');
  return { ...journey, applicationId: (applied.json as { applicationId: string }).applicationId };
}

/** The check as the console runs it: this stack's database and task queue, through the API's own Temporal client. */
function check(): Promise<ConsistencyReport> {
  return checkConsistency({ db: stack.db, temporal: stack.apiDeps.temporal, taskQueue: stack.taskQueue });
}

/** The violations of a rule about a subject. */
function find(report: ConsistencyReport, rule: Violation['rule'], subject: string): Violation | undefined {
  return report.violations.find((v) => v.rule === rule && v.subject.id === subject);
}

/** No violation left at all: each test cleans up after itself. */
async function assertClean(t: ExecutionContext) {
  const report = await check();
  t.deepEqual(report.violations.map((v) => `${v.rule} ${v.subject.id}`), []);
}

function repair(rule: string, subject: string, reason = 'found by the consistency check', token = admin) {
  return call('POST', '/api/admin/consistency/repairs', { token, json: { rule, subject, reason } });
}

async function auditRows(action: string) {
  return stack.db('auditLog').where({ action }).orderBy('id')
    .select<{ actorName: string; purpose: string; caseId: string | null; result: Record<string, unknown> }[]>('actorName', 'purpose', 'caseId', 'result');
}

/** Runs the command against this stack's database and task queue. */
function command(args: string[] = [], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'dev/consistency-check.ts', ...args], {
      cwd: path.join(__dirname, '..', '..'), timeout: 60_000,
      env: {
        PATH: process.env.PATH ?? '', DATABASE_URL: stack.databaseUrl, TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS!,
        TEMPORAL_NAMESPACE: process.env.TEMPORAL_NAMESPACE ?? 'default', TEMPORAL_TASK_QUEUE: stack.taskQueue, ...env,
      },
    }, (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }));
  });
}

const lastLine = (text: string) => text.trim().split('\n').at(-1) ?? '';

test.serial('a healthy stack after journeys (awaiting approval, applied, rejected, cancelled and terminated from the console) has no violations; the command says so and exits 0', async (t) => {
  await awaitingApproval(newPerson('Gaida'));
  await withApplication(newPerson('Andis'));
  const rejected = await awaitingApproval(newPerson('Rolands'));
  await rejected.handle.executeUpdate(decideApprovalUpdate, { args: [{ taskId: rejected.taskId, decision: 'reject', comment: 'nav darba līguma', decidedBy: staffActor }] });
  await eventually(async () => (await rejected.handle.describe()).status.name === 'COMPLETED' || null, 'the rejected journey to end');
  // Stopped from the console: a cancel (the workflow cleans up) and a terminate (the console's clean-up workflow).
  for (const [name, action] of [['Sarmīte', 'cancel'], ['Kārlis', 'terminate']] as const) {
    const stopped = await awaitingApproval(newPerson(name));
    const answer = await call('POST', `/api/admin/workflows/${encodeURIComponent(stopped.workflowId)}/actions`, { token: admin, json: { action, reason: 'pieteikums atsaukts' } });
    t.is(answer.status, 200, answer.text);
    await eventually(async () => (await stack.db('workflowStopRequests').where({ workflowId: stopped.workflowId }).whereNotNull('cleanedAt').first()) ?? null, `the ${action} clean-up`);
  }

  const report = await check();
  t.deepEqual(report.violations, []);
  t.is(report.counts.cases, 5);
  t.is(report.counts.openCases, 2);
  t.true(report.counts.workflows >= 2, 'the running journeys of this task queue were listed');
  t.true(report.counts.emails >= 3);

  const run = await command();
  t.is(run.code, 0, run.stderr);
  t.regex(lastLine(run.stdout), /^consistency: 0 violations \(5 cases, \d+ running workflows, 1 applications, \d+ e-mails, 1 open tasks, /);
  t.is(run.stdout.trim().split('\n').length, 1, 'nothing but the summary line');
});

test.serial('a journey terminated behind the console: its open case and task are reported with the workflow link; the repairs withdraw the task and close the case once, audited', async (t) => {
  const journey = await awaitingApproval(newPerson('Terēze'));
  await stack.db('cases').where({ id: journey.caseId }).update({ createdAt: TEN_MINUTES_AGO() });
  await stack.db('tasks').where({ id: journey.taskId }).update({ createdAt: TEN_MINUTES_AGO() });
  await journey.handle.terminate('behind the console');

  const report = await check();
  const caseViolation = find(report, 'case_without_running_workflow', journey.caseId);
  t.truthy(caseViolation);
  t.is(caseViolation!.link, `/admin/workflows/${encodeURIComponent(journey.workflowId)}`);
  t.is(caseViolation!.repair, 'close_read_model');
  t.is(caseViolation!.details.status, 'terminated');
  t.regex(caseViolation!.message.en, /its journey workflow is not running \(Temporal: terminated\)/);
  t.regex(caseViolation!.message.lv, /darbplūsma nedarbojas \(Temporal: /);
  const taskViolation = find(report, 'task_open_on_closed_workflow', journey.taskId);
  t.is(taskViolation?.repair, 'withdraw_task');
  t.is(taskViolation?.workflowId, journey.workflowId);

  // The command reports them too, one line each, with absolute links, and exits 1.
  const run = await command([], { PUBLIC_URL: 'https://imk.example.lv/' });
  t.is(run.code, 1, run.stderr);
  t.regex(run.stdout, new RegExp(`case_without_running_workflow\\tcase ${journey.caseId}\\thttps://imk\\.example\\.lv/admin/workflows/learner-journey%3A${journey.caseId}\\t`));
  t.regex(lastLine(run.stdout), /^consistency: 2 violations \(/);

  const withdrawn = await repair('task_open_on_closed_workflow', journey.taskId);
  t.is(withdrawn.status, 200, withdrawn.text);
  t.like(withdrawn.json, { repaired: true, repair: 'withdraw_task' });
  t.is((await stack.db('tasks').where({ id: journey.taskId }).first<{ state: string }>('state')).state, 'cancelled');
  const again = await repair('task_open_on_closed_workflow', journey.taskId);
  t.like(again.json, { repaired: false });
  const taskAudit = await auditRows('consistency.withdraw_task');
  t.is(taskAudit.length, 1, 'the second repair is not audited: it changed nothing');
  t.is(taskAudit[0]!.actorName, ADMIN_NAME);
  t.is(taskAudit[0]!.purpose, 'found by the consistency check');
  t.like(taskAudit[0]!.result, { rule: 'task_open_on_closed_workflow', before: { task: { state: 'open' } }, after: { task: { state: 'cancelled' } } });

  // A double click: two repairs at once close the case once.
  const [first, second] = await Promise.all([
    repair('case_without_running_workflow', journey.caseId, 'journey terminated outside the console'),
    repair('case_without_running_workflow', journey.caseId, 'journey terminated outside the console'),
  ]);
  t.is(first.status, 200, first.text);
  t.is(second.status, 200, second.text);
  t.is([first, second].filter((a) => (a.json as { repaired: boolean }).repaired).length, 1);
  const closed = await stack.db('cases').where({ id: journey.caseId }).first<{ stage: string; outcomeReason: string; closedAt: Date | null }>();
  t.is(closed.stage, 'closed');
  t.is(closed.outcomeReason, 'closed_by_agency');
  t.truthy(closed.closedAt);
  t.is(await stack.db('journeyReservations').where({ caseId: journey.caseId }).first(), undefined, 'the reservation is released');
  const event = await stack.db('caseEvents').where({ caseId: journey.caseId, step: 'closed' }).first<{ actorName: string; details: { reason: string; workflowStatus: string } }>();
  t.is(event.actorName, ADMIN_NAME);
  t.is(event.details.reason, 'journey terminated outside the console');
  t.is(event.details.workflowStatus, 'terminated');
  const caseAudit = await auditRows('consistency.close_read_model');
  t.is(caseAudit.length, 1);
  t.is(caseAudit[0]!.caseId, journey.caseId);
  t.like(caseAudit[0]!.result, { rule: 'case_without_running_workflow', before: { case: { stage: 'awaiting_approval', closedAt: null } }, after: { case: { stage: 'closed' } } });
  await assertClean(t);
});

test.serial('a running journey whose case was closed by hand is reported, with its open task and its reservation; no repair is offered for the journey or the task (409)', async (t) => {
  const journey = await awaitingApproval(newPerson('Valdis'));
  await stack.db('cases').where({ id: journey.caseId }).update({ closedAt: TEN_MINUTES_AGO(), stage: 'closed' });
  await stack.db('tasks').where({ id: journey.taskId }).update({ createdAt: TEN_MINUTES_AGO() });
  await stack.db('journeyReservations').where({ caseId: journey.caseId }).update({ createdAt: TEN_MINUTES_AGO() });

  const report = await check();
  const running = find(report, 'journey_without_open_case', journey.workflowId);
  t.truthy(running);
  t.is(running!.repair, null);
  t.is(running!.link, `/admin/workflows/${encodeURIComponent(journey.workflowId)}`);
  t.is(running!.details.caseState, 'closed');
  t.regex(running!.message.lv, /lieta .* ir slēgta/);
  t.is(find(report, 'reservation_unsettled', journey.caseId)?.repair, 'release_reservation');

  // The workflow still waits for the task: withdrawing it would hide a decision the journey needs.
  t.like(find(report, 'task_open_on_closed_case', journey.taskId), { repair: null, workflowId: journey.workflowId, details: { caseId: journey.caseId } });

  assertError(t, await repair('journey_without_open_case', journey.workflowId), 409, 'no_safe_repair');
  assertError(t, await repair('task_open_on_closed_case', journey.taskId), 409, 'no_safe_repair');
  // Put back as it was: the journey is healthy again.
  await stack.db('cases').where({ id: journey.caseId }).update({ closedAt: null, stage: 'awaiting_approval' });
  await assertClean(t);
});

test.serial('an earmark left on a declined application is reported and given back to the balance once; the money then adds up', async (t) => {
  const journey = await withApplication(newPerson('Elīna'));
  const grant = (await stack.db('programmes').where({ code: 'IMK' }).first<{ balanceCents: number; applicationsReceived: number }>());
  const app = await stack.db('applications').where({ id: journey.applicationId }).first<{ earmarkedCents: number }>('earmarkedCents');
  t.true(app.earmarkedCents > 0);
  // An older release that ended the application but left its money and place held.
  await stack.db('applications').where({ id: journey.applicationId }).update({ state: 'declined', reason: 'grupa pilna' });

  const violation = find(await check(), 'earmark_without_live_application', journey.applicationId);
  t.truthy(violation);
  t.is(violation!.repair, 'release_application');
  t.is(violation!.details.earmarkedCents, app.earmarkedCents);
  t.is(violation!.link, `/admin/workflows/${encodeURIComponent(journey.workflowId)}`);

  const repaired = await repair('earmark_without_live_application', journey.applicationId);
  t.like(repaired.json, { repaired: true, repair: 'release_application' });
  t.like(await stack.db('applications').where({ id: journey.applicationId }).first(), { state: 'declined', reason: 'grupa pilna', earmarkedCents: 0, holdsPlace: false });
  t.is((await stack.db('cases').where({ id: journey.caseId }).first<{ balanceCents: number }>()).balanceCents, grant.balanceCents);
  t.is((await stack.db('programmes').where({ code: 'IMK' }).first<{ applicationsReceived: number }>()).applicationsReceived, grant.applicationsReceived - 1);
  t.like((await repair('earmark_without_live_application', journey.applicationId)).json, { repaired: false });
  const audit = await auditRows('consistency.release_application');
  t.is(audit.length, 1);
  t.like(audit[0]!.result, { before: { caseBalanceCents: grant.balanceCents - app.earmarkedCents }, after: { caseBalanceCents: grant.balanceCents } });
  // The journey still waits for the provider; the check sees the case consistent again.
  await assertClean(t);
});

test.serial('money that does not add up and a miscounted programme and group are reported, never repaired', async (t) => {
  const journey = await approved(newPerson('Oskars'));
  await stack.db('cases').where({ id: journey.caseId }).increment('balanceCents', 100);
  await stack.db('programmes').where({ code: 'DPP' }).increment('applicationsReceived', 1);
  await stack.db('offerGroups').where({ id: GROUP.id }).increment('enrolled', 1);

  const report = await check();
  const money = find(report, 'case_balance_mismatch', journey.caseId);
  t.truthy(money);
  t.is(money!.repair, null);
  t.like(money!.details, { spentCents: 0, earmarkedCents: 0 });
  t.is(Number(money!.details.balanceCents) - Number(money!.details.grantedCents), 100);
  const places = find(report, 'programme_places_mismatch', 'DPP');
  t.like(places, { repair: null, link: '/admin/workflows?programme=DPP' });
  t.like(find(report, 'group_places_mismatch', GROUP.id), { repair: null, link: `/catalogue/${OFFER.id}`, details: { counted: 1, holding: 0 } });
  assertError(t, await repair('case_balance_mismatch', journey.caseId), 409, 'no_safe_repair');

  await stack.db('cases').where({ id: journey.caseId }).decrement('balanceCents', 100);
  await stack.db('programmes').where({ code: 'DPP' }).decrement('applicationsReceived', 1);
  await stack.db('offerGroups').where({ id: GROUP.id }).decrement('enrolled', 1);
  await assertClean(t);
});

test.serial('an e-mail sent twice for one step and one stuck pending past the window are reported; a young pending one is not', async (t) => {
  const journey = await approved(newPerson('Mārtiņš'));
  const sent = await stack.db('emailOutbox').where({ caseId: journey.caseId, status: 'sent' }).first<Record<string, unknown>>();
  // A second row for the same case and step under another key (as an older outbox key scheme could write).
  const [twice] = await stack.db('emailOutbox').insert({
    ...Object.fromEntries(Object.entries(sent).filter(([k]) => !['id', 'dedupeKey'].includes(k))), dedupeKey: `legacy:${journey.caseId}:${String(sent.step)}`,
  }).returning<{ id: string }[]>('id');
  const pending = (step: string, createdAt: Date) => stack.db('emailOutbox').insert({
    caseId: journey.caseId, step, template: 'imk-approved', language: 'lv', recipient: 'x@example.lv', subject: 'x',
    status: 'pending', dedupeKey: `case:${journey.caseId}:${step}`, createdAt, attempts: 7,
  }).returning<{ id: string }[]>('id');
  const [stuck] = await pending('test-stuck', new Date(Date.now() - 60 * 60_000));
  const [young] = await pending('test-young', new Date(Date.now() - 5 * 60_000));

  const report = await check();
  const dup = find(report, 'email_sent_twice', `${journey.caseId}:${String(sent.step)}`);
  t.like(dup, { repair: null, workflowId: journey.workflowId, details: { count: 2, step: String(sent.step) } });
  const late = find(report, 'email_stuck_pending', String(stuck!.id));
  t.like(late, { repair: null, workflowId: journey.workflowId, details: { attempts: 7, minutes: 30 } });
  t.is(find(report, 'email_stuck_pending', String(young!.id)), undefined, 'inside the at-least-once window');

  await stack.db('emailOutbox').whereIn('id', [twice!.id, stuck!.id, young!.id]).delete();
  await assertClean(t);
});

test.serial('a console terminate whose clean-up never ran: the repair finishes it in the name of the administrator who stopped it', async (t) => {
  const journey = await awaitingApproval(newPerson('Inga'));
  await recordStopRequest(stack.db, { workflowId: journey.workflowId, action: 'terminate', actor: { id: 'admin-2', name: 'Laila Ozola' }, reason: 'dublikāts' });
  await stack.db('workflowStopRequests').where({ workflowId: journey.workflowId }).update({ requestedAt: TEN_MINUTES_AGO() });
  await stack.db('cases').where({ id: journey.caseId }).update({ createdAt: TEN_MINUTES_AGO() });
  await journey.handle.terminate('dublikāts (by Laila Ozola)');

  const report = await check();
  t.like(find(report, 'stop_cleanup_unfinished', journey.workflowId), { repair: 'close_read_model', details: { action: 'terminate', status: 'terminated' } });
  t.truthy(find(report, 'case_without_running_workflow', journey.caseId));

  t.like((await repair('stop_cleanup_unfinished', journey.workflowId)).json, { repaired: true });
  const event = await stack.db('caseEvents').where({ caseId: journey.caseId, step: 'closed' }).first<{ actorName: string; details: { reason: string } }>();
  t.is(event.actorName, 'Laila Ozola');
  t.is(event.details.reason, 'dublikāts');
  t.truthy((await stack.db('workflowStopRequests').where({ workflowId: journey.workflowId }).first<{ cleanedAt: Date | null }>()).cleanedAt);
  t.is((await stack.db('tasks').where({ id: journey.taskId }).first<{ state: string }>()).state, 'cancelled');
  t.like((await repair('stop_cleanup_unfinished', journey.workflowId)).json, { repaired: false });
  await assertClean(t);
});

test.serial('a provider registration whose workflow was terminated, and an offer whose workflow never started, are reported; the registration can be closed', async (t) => {
  const provider = await insertRegisteredProvider(stack.db, 'second');
  const workflowId = providerRegistrationId(provider.providerId);
  const handle = await stack.temporal.workflow.start(providerRegistration, {
    taskQueue: stack.taskQueue, workflowId,
    args: [{ ...provider, language: 'lv', timing: { emailConfirmationValid: '72 hours', approvalWorkingDays: 1 } }],
  });
  await handle.terminate('behind the console');
  const { callId, phases } = await createCallClosingIn(stack.db, 3_600_000);
  const offer = await insertDraftOffer(stack.db, { providerId: await approvedProvider(stack.db, 'demo'), sample: 'demo', callId, phases });
  await stack.db('providers').where({ id: provider.providerId }).update({ createdAt: TEN_MINUTES_AGO() });
  await stack.db('offers').where({ id: offer.offerId }).update({ createdAt: TEN_MINUTES_AGO() });

  const report = await check();
  t.like(find(report, 'registration_without_running_workflow', provider.providerId), {
    repair: 'close_read_model', workflowId, link: `/admin/workflows/${encodeURIComponent(workflowId)}`, details: { status: 'terminated', state: 'awaiting_email' },
  });
  // Nobody can tell whether a workflow Temporal does not know ever ran: reported, for a person to decide.
  t.like(find(report, 'offer_without_running_workflow', offer.offerId), { repair: null, details: { status: 'not_found', state: 'draft' } });

  t.like((await repair('registration_without_running_workflow', provider.providerId)).json, { repaired: true });
  t.is((await stack.db('providers').where({ id: provider.providerId }).first<{ status: string }>()).status, 'cancelled');
  t.like((await repair('registration_without_running_workflow', provider.providerId)).json, { repaired: false });

  await stack.db('documents').where({ offerId: offer.offerId }).delete();
  await stack.db('offers').where({ id: offer.offerId }).delete();
  await assertClean(t);
});

test.serial('the panel lists a violation with its link and repair form; the form repairs it with a confirmation, a second click changes nothing, a missing reason is named', async (t) => {
  const caseId = randomUUID();
  await stack.db('journeyReservations').insert({ personCode: '010101-10101', programme: 'DPP', caseId, createdAt: TEN_MINUTES_AGO() });
  const cookie = admin;

  const page = await call('GET', '/admin/consistency?lang=en', { cookie, html: true });
  t.is(page.status, 200);
  t.regex(page.text, /<h1[^>]*>Consistency check<\/h1>/);
  t.true(page.text.includes('reservation_unsettled'));
  t.true(page.text.includes(`href="/admin/workflows/${encodeURIComponent(learnerJourneyId(caseId))}"`));
  t.true(page.text.includes('The DPP reservation is still held, but its case is missing'));
  t.regex(page.text, /<form method="post" action="\/admin\/consistency\/repairs"/);
  t.true(page.text.includes('href="/admin/consistency" aria-current="page"'), 'the console navigation leads here');

  const lv = await call('GET', '/admin/consistency?lang=lv', { cookie, html: true });
  t.true(lv.text.includes('Saskaņotības pārbaude'));
  t.true(lv.text.includes('Programmas DPP rezervācija joprojām ir aizņemta'));

  const noReason = await call('POST', '/admin/consistency/repairs', { cookie, html: true, form: { rule: 'reservation_unsettled', subject: caseId, reason: '' } });
  t.is(noReason.status, 400);
  t.regex(noReason.text, /class="field-error" id="reason-\d+-error"/);

  const done = await call('POST', '/admin/consistency/repairs', { cookie, html: true, form: { rule: 'reservation_unsettled', subject: caseId, reason: 'start never happened' } });
  t.is(done.status, 302);
  const confirmation = await call('GET', done.headers.get('location')!, { cookie, html: true });
  t.true(confirmation.text.includes(`Repaired: reservation_unsettled for ${caseId}`) || confirmation.text.includes(`Labots: reservation_unsettled objektam ${caseId}`));
  t.is(await stack.db('journeyReservations').where({ caseId }).first(), undefined);

  const twice = await call('POST', '/admin/consistency/repairs', { cookie, html: true, form: { rule: 'reservation_unsettled', subject: caseId, reason: 'start never happened' } });
  const nothing = await call('GET', `${twice.headers.get('location')!}&lang=en`, { cookie, html: true });
  t.true(nothing.text.includes(`Nothing to repair: reservation_unsettled for ${caseId} no longer holds`));
  t.is((await auditRows('consistency.release_reservation')).length, 1);
  await assertClean(t);
});

test.serial('only administrators reach the check, its repairs and its page', async (t) => {
  const staff = await stack.staffToken('staff');
  const learner = await stack.tokenFor('learner', '010101-10101');
  const provider = await stack.tokenFor('provider', randomUUID());
  assertError(t, await call('GET', '/api/admin/consistency'), 401, 'not_logged_in');
  for (const token of [staff, learner, provider]) {
    assertError(t, await call('GET', '/api/admin/consistency', { token }), 403, 'forbidden');
    assertError(t, await repair('reservation_unsettled', randomUUID(), 'not allowed here', token), 403, 'forbidden');
    t.is((await call('GET', '/admin/consistency', { cookie: token, html: true })).status, 403);
    t.is((await call('POST', '/admin/consistency/repairs', { cookie: token, html: true, form: { rule: 'reservation_unsettled', subject: 'x', reason: 'not allowed' } })).status, 403);
  }
  const anonymousPage = await call('GET', '/admin/consistency', { html: true });
  t.is(anonymousPage.status, 302);
  t.regex(anonymousPage.headers.get('location') ?? '', /^\/staff\/login\?next=/);
  assertError(t, await repair('reservation_unsettled', randomUUID(), 'x'), 400, 'invalid_request');

  const report = await call('GET', '/api/admin/consistency', { token: admin });
  t.is(report.status, 200);
  t.like(report.json, { scope: { taskQueue: stack.taskQueue }, violations: [] });
  const openapi = await call('GET', '/api/openapi.json');
  const paths = (openapi.json as { paths: Record<string, Record<string, { 'x-roles'?: string[] }>> }).paths;
  t.deepEqual(paths['/api/admin/consistency']?.get?.['x-roles'], ['admin']);
  t.deepEqual(paths['/api/admin/consistency/repairs']?.post?.['x-roles'], ['admin']);
});

test.serial('the command: --json prints the report; an unreachable database or Temporal is exit 2 naming it', async (t) => {
  const json = await command(['--json']);
  t.is(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout) as ConsistencyReport;
  t.deepEqual(report.violations, []);
  t.is(report.scope.taskQueue, stack.taskQueue);

  const noDb = await command([], { DATABASE_URL: 'postgres://ila:secret@127.0.0.1:1/ila' });
  t.is(noDb.code, 2);
  t.regex(noDb.stderr, /consistency: could not check: PostgreSQL at postgres:\/\/ila:\*\*\*@127\.0\.0\.1:1\/ila is unreachable/);
  t.false(noDb.stderr.includes('secret'));
  const noTemporal = await command([], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
  t.is(noTemporal.code, 2);
  t.regex(noTemporal.stderr, /consistency: could not check: Temporal at 127\.0\.0\.1:1 .*unreachable/);
});

test.serial('three thousand cases, five hundred of them open with journeys Temporal does not know: the check answers within seconds and reports each', async (t) => {
  await stack.db.raw(`INSERT INTO learners (person_code, email, language, terms_version, terms_accepted_at)
    SELECT 'scale-' || i, 'scale' || i || '@example.lv', 'lv', 'v1', now() FROM generate_series(1, 3000) AS i`);
  await stack.db.raw(`INSERT INTO cases (id, service_case_id, workflow_id, learner_id, programme, stage, channel, created_at, closed_at)
    SELECT s.id, 'SCALE-' || s.n, 'learner-journey:' || s.id, s.learner_id, 'IMK', CASE WHEN s.n <= 2500 THEN 'closed' ELSE 'imk_approved' END,
      'e-service', now() - interval '1 hour', CASE WHEN s.n <= 2500 THEN now() - interval '30 minutes' END
    FROM (SELECT gen_random_uuid() AS id, l.id AS learner_id, substring(l.person_code from 7)::int AS n FROM learners l WHERE l.person_code LIKE 'scale-%') s`);
  try {
    const started = Date.now();
    const report = await check();
    const seconds = (Date.now() - started) / 1000;
    t.log(`checked ${report.counts.cases} cases in ${seconds.toFixed(1)} s`);
    t.true(seconds < 15, `took ${seconds} s`);
    t.true(report.counts.cases >= 3000);
    const lost = report.violations.filter((v) => v.rule === 'case_without_running_workflow');
    t.is(lost.length, 500);
    t.true(lost.every((v) => v.details.status === 'not_found' && v.repair === null), 'a journey Temporal does not know is for a person to look at');
  } finally {
    await stack.db('cases').where('serviceCaseId', 'like', 'SCALE-%').delete();
    await stack.db('learners').where('personCode', 'like', 'scale-%').delete();
  }
  await assertClean(t);
});

test.serial('a Temporal that takes requests and never answers: the API answers 503 naming Temporal, and the command exits 2, each within seconds', async (t) => {
  const target = new URL(`tcp://${process.env.TEMPORAL_ADDRESS!}`);
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
  const temporal = await connectTemporalClient({ address: proxy.address, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default', dataConverter: testDataConverter });
  try {
    const api = await stack.serveApi({ temporal });
    // Reached once while it answers, so the connection is up when it goes mute.
    t.is((await httpClient(() => api.url)('GET', '/api/admin/consistency', { token: admin })).status, 200);
    proxy.mute();
    let began = Date.now();
    const answer = await httpClient(() => api.url)('GET', '/api/admin/consistency', { token: admin });
    const apiMs = Date.now() - began;
    const error = assertError(t, answer, 503, 'service_unavailable');
    t.like(error.details[0], { dependency: 'temporal' });
    t.true(apiMs < 25_000, `the API answered after ${apiMs} ms`);

    began = Date.now();
    const run = await command([], { TEMPORAL_ADDRESS: proxy.address });
    const commandMs = Date.now() - began;
    t.is(run.code, 2);
    t.regex(run.stderr, /consistency: could not check: Temporal at 127\.0\.0\.1:\d+ .*(did not answer within 5 s|unreachable)/);
    t.true(commandMs < 20_000, `the command ended after ${commandMs} ms`);
    t.log(`API ${apiMs} ms, command ${commandMs} ms`);
  } finally {
    await temporal.connection.close();
    await proxy.close();
  }
});
