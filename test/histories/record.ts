import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { Actor } from '../../domain/journey';
import { closeJourneySignal, decideApprovalUpdate } from '../../workflows/learner-journey';
import { applyUpdate, enrolmentDecisionUpdate, outcomeUpdate, surveyAnswerUpdate } from '../../workflows/learner-journey-application';
import { populationRecheck } from '../../workflows/population-recheck';
import { populationRecheckId } from '../../workflows/ids';
import { confirmProviderEmailUpdate, providerRegistration } from '../../workflows/provider-registration';
import { providerOffer, submitOfferUpdate } from '../../workflows/provider-offer';
import { consoleBatchId, providerRegistrationId } from '../../workflows/ids';
import { consoleBatch } from '../../workflows/console-batch';
import { passwordReset } from '../../workflows/password-reset';
import { auditPurgeId, passwordResetId } from '../../workflows/ids';
import { auditPurge } from '../../workflows/audit-purge';
import { retention } from '../../workflows/retention';
import { dataSubjectRequestId, retentionRunId } from '../../workflows/ids';
import { httpClient } from '../helpers/http';
import { insertCall } from '../../dev/seed-calls';
import { startTestStack, type TestStack } from '../helpers/stack';
import { insertOffer, insertProvider } from '../helpers/catalogue';
import { providerNotices } from '../../workflows/provider-notices';
import { waitlistSweep } from '../../workflows/waitlist-sweep';
import { outcomesOverdueId, roleRequestId } from '../../workflows/ids';
import { adultMaker, eventually, openTaskOf, registerThroughApi, startLearnerJourney, untilStage } from '../helpers/journeys';
import { approvedProvider, insertDraftOffer, insertRegisteredProvider } from '../helpers/providers';

/**
 * Records the histories the replay test checks new workflow code against. Run it (with the test command's
 * Postgres and Temporal) when a workflow changes, under a new version name, and keep the old files: they stand
 * for journeys that are already running in production. Usage: npm run record-histories -- v2
 * [learner|provider|console|account|audit|privacy|administration] (the optional second word records only the
 * learner's, the providers', the administrators' console, the account (password reset), the audit purge, the
 * personal-data or the agency's administration and notices workflow types).
 */
async function main(): Promise<void> {
  const version = process.argv[2] ?? 'v1';
  const only = process.argv[3] as 'learner' | 'provider' | 'console' | 'account' | 'audit' | 'privacy' | 'administration' | undefined;
  const stack = await startTestStack();
  try {
    if (only === undefined || only === 'learner') await recordLearner(stack, version);
    if (only === undefined || only === 'provider') await recordProvider(stack, version);
    if (only === undefined || only === 'console') await recordConsole(stack, version);
    if (only === undefined || only === 'account') await recordAccount(stack, version);
    if (only === undefined || only === 'audit') await recordAudit(stack, version);
    if (only === undefined || only === 'privacy') await recordPrivacy(stack, version);
    if (only === undefined || only === 'administration') await recordAdministration(stack, version);
  } finally {
    await stack.stop();
  }
}

/** A password-reset e-mail sent for one request of the seeded staff member. */
async function recordAccount(stack: TestStack, version: string): Promise<void> {
  const user = await stack.db('users').where({ username: 'staff' }).first<{ id: string }>('id');
  const handle = await stack.temporal.workflow.start(passwordReset, {
    workflowId: passwordResetId(randomUUID()), taskQueue: stack.taskQueue, args: [{ userId: user.id, language: 'lv', validHours: 1 }],
  });
  await handle.result();
  save('password-reset.sent', version, await handle.fetchHistory());
}

/** One audit purge run over two expired audit rows, deleted one per statement. */
async function recordAudit(stack: TestStack, version: string): Promise<void> {
  await stack.db('auditLog').insert([
    { actorRole: 'system', action: 'record.expired', purpose: 'recording', keepUntil: '2020-01-01' },
    { actorRole: 'system', action: 'record.expired', purpose: 'recording', keepUntil: '2020-01-02' },
  ]);
  const handle = await stack.temporal.workflow.start(auditPurge, {
    workflowId: auditPurgeId(`record-${version}`), taskQueue: stack.taskQueue, args: [{ batchSize: 1 }],
  });
  await handle.result();
  save('audit-purge.run', version, await handle.fetchHistory());
}

/** A retention run with every rule in dry run, and a learner's correction request filed and decided over HTTP. */
async function recordPrivacy(stack: TestStack, version: string): Promise<void> {
  const run = await stack.temporal.workflow.start(retention, {
    workflowId: retentionRunId(`record-${version}`), taskQueue: stack.taskQueue, args: [{}],
  });
  await run.result();
  save('retention.dry-run', version, await run.fetchHistory());

  const call = httpClient(() => stack.appUrl);
  const person = adultMaker(() => stack.registry, { prefix: '37', lastName: 'Ieraksta', birthDate: '1983-03-03', note: 'recorded history' })('Rita');
  const token = await stack.tokenFor('learner', person.code, person.name);
  const { caseId, handle } = await registerThroughApi(call, stack.temporal, token, person);
  await untilStage(stack.db, handle, caseId, 'imk_approved');
  const filed = await call('POST', '/api/learner/data-requests', {
    token, json: { requestId: randomUUID(), kind: 'correction', text: 'Mans tālrunis ir mainījies.', field: 'phone', correctValue: '+37129999999' },
  });
  if (filed.status !== 201) throw new Error(`filing the request: HTTP ${filed.status} ${filed.text}`);
  const workflowId = dataSubjectRequestId((filed.json as { id: string }).id);
  await eventually(() => stack.db('tasks').where({ workflowId }).first('id'), 'the request\'s task');
  const decided = await call('POST', `/api/staff/data-requests/${(filed.json as { id: string }).id}/decision`, { token: await stack.staffToken(), json: { outcome: 'done' } });
  if (decided.status !== 200) throw new Error(`deciding the request: HTTP ${decided.status} ${decided.text}`);
  const request = stack.temporal.workflow.getHandle(workflowId);
  await request.result();
  save('data-subject-request.decided', version, await request.fetchHistory());
}

/**
 * The agency's administration and notices (issue 15): a role request approved over HTTP; an announcement e-mailed to
 * staff; a provider-notices scan that reminds of missing outcomes and opens the agency's follow-up, decided over
 * HTTP; a wait-list sweep that expires one place offer and e-mails the place to the next learner.
 */
async function recordAdministration(stack: TestStack, version: string): Promise<void> {
  const call = httpClient(() => stack.appUrl);
  const staff = await stack.staffToken();
  const expectStatus = (answer: { status: number; text: string }, status: number, what: string) => {
    if (answer.status !== status) throw new Error(`${what}: HTTP ${answer.status} ${answer.text}`);
  };

  const asker = await stack.tokenFor('learner', '321178-40215', 'Anna Bērziņa');
  const filed = await call('POST', '/api/role-requests', { token: asker, json: { requestId: randomUUID(), role: 'coordinator', municipality: 'Valka', reason: 'Ieraksts.' } });
  expectStatus(filed, 201, 'filing the role request');
  const roleRequestRow = (filed.json as { id: string }).id;
  await eventually(() => stack.db('tasks').where({ workflowId: roleRequestId(roleRequestRow) }).first('id'), 'the role request\'s task');
  const validUntil = new Date(Date.now() + 90 * 86_400_000).toISOString().slice(0, 10);
  expectStatus(await call('POST', `/api/staff/role-requests/${roleRequestRow}/decision`, { token: staff, json: { decision: 'approve', validUntil, reason: 'Ieraksts.' } }), 200, 'deciding the role request');
  const role = stack.temporal.workflow.getHandle(roleRequestId(roleRequestRow));
  await role.result();
  save('role-request.approved', version, await role.fetchHistory());

  const published = await call('POST', '/api/admin/announcements', {
    token: await stack.adminToken(), json: {
      titleLv: 'Ieraksts', titleEn: 'Recording', bodyLv: 'Ieraksta paziņojums.', bodyEn: 'A recorded notice.', audience: 'staff',
      showsFrom: new Date(Date.now() - 60_000).toISOString(), showsUntil: new Date(Date.now() + 3_600_000).toISOString(), email: true, reason: 'Ieraksts',
    },
  });
  expectStatus(published, 201, 'publishing the announcement');
  const mailingId = await eventually(async () => (await stack.db('announcements').where({ id: (published.json as { id: string }).id })
    .first<{ mailingWorkflowId: string | null }>('mailingWorkflowId'))?.mailingWorkflowId ?? null, 'the mailing');
  const mailing = stack.temporal.workflow.getHandle(mailingId);
  await mailing.result();
  save('announcement-mailing.finished', version, await mailing.fetchHistory());

  // An offer whose teaching ended 3 days ago with one learner's outcome unreported.
  const day = (offsetDays: number) => new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
  const providerId = await insertProvider(stack.db, { email: `record-${randomUUID().slice(0, 8)}@example.lv` });
  const { offerId, groupIds } = await insertOffer(stack.db, {
    providerId, groups: [{ place: 'Rīga, Brīvības iela 1 (paraugs)', startsOn: day(-60), endsOn: day(-3), capacity: 10, enrolled: 1 }],
  });
  const seeded = async (stage: string, withApplication: Record<string, unknown> | null) => {
    const [learner] = await stack.db('learners').insert({
      personCode: `32${String(Math.floor(Math.random() * 10_000)).padStart(4, '0')}-${String(Math.floor(Math.random() * 100_000)).padStart(5, '0')}`,
      firstName: 'Ilze', lastName: 'Ieraksta', email: `record-${randomUUID().slice(0, 6)}@example.lv`, language: 'lv', termsVersion: 'test', termsAcceptedAt: new Date(),
    }).returning<{ id: string }[]>('id');
    const caseId = randomUUID();
    await stack.db('cases').insert({
      id: caseId, serviceCaseId: `REC-${caseId.slice(0, 13)}`, workflowId: `record:${caseId}`, learnerId: learner!.id, programme: 'IMK', stage, channel: 'e-service',
    });
    const applicationId = randomUUID();
    if (withApplication) {
      await stack.db('applications').insert({
        id: applicationId, caseId, attempt: 1, offerId, groupId: groupIds[0], costCents: 32_000, actorRole: 'learner', channel: 'e-service', ...withApplication,
      });
    }
    return { caseId, applicationId };
  };
  await seeded('studying', { state: 'enrolled', earmarkedCents: 32_000, enrolledAt: new Date() });
  const notices = await stack.temporal.workflow.start(providerNotices, {
    workflowId: `provider-notices:record-${version}`, taskQueue: stack.taskQueue, args: [{ overdueAfterMs: 0 }],
  });
  await notices.result();
  save('provider-notices.scan', version, await notices.fetchHistory());
  const followUp = await eventually(() => stack.db('tasks').where({ offerId, type: 'outcomes-overdue', state: 'open' }).first<{ id: string } | undefined>('id'), 'the follow-up task');
  expectStatus(await call('POST', `/api/staff/tasks/${followUp.id}/decision`, { token: staff, json: { decision: 'approve', comment: 'Sazinājāmies.' } }), 200, 'deciding the follow-up');
  const overdue = stack.temporal.workflow.getHandle(outcomesOverdueId(offerId));
  await overdue.result();
  save('outcomes-overdue.decided', version, await overdue.fetchHistory());

  // Two wait-listed learners; the first one's place offer has run out, so the sweep passes the place to the second.
  const waitlisted = { state: 'waitlisted', earmarkedCents: 0, holdsPlace: false, reason: 'cap_reached' };
  const late = await seeded('waitlisted', { ...waitlisted, createdAt: new Date(Date.now() - 120_000) });
  await seeded('waitlisted', { ...waitlisted, createdAt: new Date(Date.now() - 60_000) });
  await stack.db('programmes').where({ code: 'IMK' }).update({ applicationCap: 1, applicationsReceived: 1 });
  await stack.db('placeOffers').insert({
    programme: 'IMK', caseId: late.caseId, applicationId: late.applicationId, state: 'offered', offeredAt: new Date(Date.now() - 4 * 86_400_000), dueAt: new Date(Date.now() - 1_000),
  });
  const sweep = await stack.temporal.workflow.start(waitlistSweep, { workflowId: `waitlist-sweep:record-${version}`, taskQueue: stack.taskQueue });
  const swept = await sweep.result();
  if (swept.expired !== 1 || swept.mailed !== 1) throw new Error(`the sweep: ${JSON.stringify(swept)}`);
  save('waitlist-sweep.mailed', version, await sweep.fetchHistory());
}

/** A batch retry from the console over a journey stuck on the Population Register, verified and finished. */
async function recordConsole(stack: TestStack, version: string): Promise<void> {
  stack.registry.setDown(true);
  const stuck = await startLearnerJourney(stack.temporal, stack.taskQueue, '321178-40215');
  await eventually(async () => {
    const described = await stack.temporal.workflowService.describeWorkflowExecution({
      namespace: stack.temporal.options.namespace, execution: { workflowId: stuck.handle.workflowId },
    });
    return (described.pendingActivities?.[0]?.attempt ?? 0) >= 3 ? true : null;
  }, 'the lookup to fail three times');
  stack.registry.setDown(false);
  const batchId = randomUUID();
  await stack.db('consoleBatches').insert({
    id: batchId, action: 'retry', reason: 'recording', filter: { cause: 'Population Register: connection dropped' }, total: 1,
    startedById: 'record', startedByName: 'Recorder',
  });
  await stack.db('consoleBatchItems').insert({ batchId, workflowId: stuck.handle.workflowId });
  const batch = await stack.temporal.workflow.start(consoleBatch, {
    workflowId: consoleBatchId(batchId), taskQueue: stack.taskQueue,
    args: [{ batchId, action: 'retry', reason: 'recording', workflowIds: [stuck.handle.workflowId], admin: { id: 'record', name: 'Recorder' }, verifyAfterMs: 1_000 }],
  });
  await batch.result();
  save('console-batch.finished', version, await batch.fetchHistory());
}

function save(name: string, version: string, history: Awaited<ReturnType<WorkflowHandleLike['fetchHistory']>>): void {
  const file = path.join(__dirname, `${name}.${version}.json`);
  fs.writeFileSync(file, historyToJSON(history));
  process.stdout.write(`recorded ${file}\n`);
}

interface WorkflowHandleLike { fetchHistory(): Promise<Parameters<typeof historyToJSON>[0]> }

/** A provider registered, confirmed and approved; an offer submitted, approved and published. */
async function recordProvider(stack: TestStack, version: string): Promise<void> {
  const staff: Actor = { role: 'staff', id: 's', name: 'Staff', channel: 'staff' };
  const providerActor: Actor = { role: 'provider', id: 'p', name: 'Provider', channel: 'e-service' };

  const registered = await insertRegisteredProvider(stack.db, 'second');
  const registration = await stack.temporal.workflow.start(providerRegistration, {
    workflowId: providerRegistrationId(registered.providerId), taskQueue: stack.taskQueue,
    args: [{ ...registered, language: 'lv', timing: { emailConfirmationValid: '1 hour', approvalWorkingDays: 1 } }],
  });
  await registration.executeUpdate(confirmProviderEmailUpdate, { args: [{ confirmedAt: new Date().toISOString() }] });
  const approvalTask = await eventually(() => stack.db('tasks').where({ providerId: registered.providerId, state: 'open' }).first<{ id: string }>(), 'the approval task');
  await registration.executeUpdate(decideApprovalUpdate, { args: [{ taskId: approvalTask.id, decision: 'approve', comment: '', decidedBy: staff }] });
  await registration.result();
  save('provider-registration.approved', version, await registration.fetchHistory());

  const now = Date.now();
  const phases = {
    submissionOpensAt: new Date(now - 86_400_000), submissionClosesAt: new Date(now + 3_000), evaluationEndsAt: new Date(now + 60_000),
    publicationAt: new Date(now + 6_000), applicationsOpenAt: new Date(now + 6_000), applicationsCloseAt: new Date(now + 3_600_000),
    groupFormationAt: new Date(now + 3_600_000), teachingEndsAt: new Date(now + 86_400_000),
  };
  const callId = await insertCall(stack.db, `RECORD-${version}-${now}`, phases);
  const providerId = await approvedProvider(stack.db, 'demo');
  const { offerId, workflowId } = await insertDraftOffer(stack.db, { providerId, sample: 'demo', callId, phases });
  const offer = await stack.temporal.workflow.start(providerOffer, { workflowId, taskQueue: stack.taskQueue, args: [{ offerId, providerId, callId }] });
  await offer.executeUpdate(submitOfferUpdate, { args: [{ actor: providerActor }] });
  const evaluationTask = await eventually(() => stack.db('tasks').where({ offerId, state: 'open' }).first<{ id: string }>(), 'the evaluation task');
  await offer.executeUpdate(decideApprovalUpdate, {
    args: [{ taskId: evaluationTask.id, decision: 'approve', comment: '', decidedBy: staff, checklist: { provider_requirements: true } }],
  });
  await eventually(async () => (await stack.db('offers').where({ id: offerId }).first()).state === 'published', 'the offer to be published');
  // Still running (waiting for teaching to end): the history up to publication is what running offers look like.
  save('provider-offer.published', version, await offer.fetchHistory());
}

/** The learner's journey in its shapes, and one re-check run. */
async function recordLearner(stack: TestStack, version: string): Promise<void> {
  const staff: Actor = { role: 'staff', id: 's', name: 'Staff', channel: 'staff' };
  const provider: Actor = { role: 'provider', id: 'p', name: 'Provider', channel: 'e-service' };
  const learner: Actor = { role: 'learner', id: 'l', name: 'Learner', channel: 'e-service' };
  // IMK approves automatically; the journey then goes all the way to the survey.
  const { id: providerId } = await stack.db('providers').first<{ id: string }>('id');
  const now = Date.now();
  const [offer] = await stack.db('offers').insert({
    providerId, programme: 'IMK', titleLv: 'Paraugs', titleEn: 'Sample', costCents: 32_000, published: true,
    applicationsOpenAt: new Date(now - 3_600_000), applicationsCloseAt: new Date(now + 86_400_000),
    groupFormationDeadline: new Date(now + 3_600_000),
  }).returning<{ id: string }[]>('id');
  const [group] = await stack.db('offerGroups').insert({
    offerId: offer.id, place: 'Rīga', startsOn: '2026-09-07', endsOn: '2026-11-27', capacity: 10,
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

  // A person code the Population Register does not know: not eligible, the case closed (no failed workflow).
  const unknown = await startLearnerJourney(stack.temporal, stack.taskQueue, '340001-00001');
  await unknown.handle.result();

  // A second journey of a person whose case in the programme is open ends without a case of its own; the open one
  // is then cancelled from the console and closes its case in its cleanup scope.
  const open = await startLearnerJourney(stack.temporal, stack.taskQueue, '321178-40215', { programme: 'MN' });
  await openTaskOf(stack.db, open.caseId);
  const duplicate = await startLearnerJourney(stack.temporal, stack.taskQueue, '321178-40215', { programme: 'MN' });
  await duplicate.handle.result();
  await open.handle.cancel();
  await open.handle.result().catch(() => undefined);

  // One pass of the periodic register check over everyone registered above (all checked: checkedBefore is now).
  const recheck = await stack.temporal.workflow.start(populationRecheck, {
    workflowId: populationRecheckId(`record-${version}`), taskQueue: stack.taskQueue,
    args: [{ checkedBefore: new Date().toISOString(), intervalMs: 180 * 86_400_000, batchSize: 2 }],
  });
  await recheck.result();

  const recorded = {
    'learner-journey.completed': completed.handle, 'learner-journey.refused': refused.handle, 'learner-journey.closed': closed.handle,
    'learner-journey.not-eligible': ineligible.handle, 'population-recheck': recheck,
    'learner-journey.unknown-person': unknown.handle, 'learner-journey.duplicate': duplicate.handle,
    'learner-journey.cancelled': open.handle,
  };
  for (const [name, handle] of Object.entries(recorded)) save(name, version, await handle.fetchHistory());
}

main().catch((err) => { process.stderr.write(`${err}\n`); process.exit(1); });
