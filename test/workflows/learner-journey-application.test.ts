import { randomUUID } from 'node:crypto';
import test from 'ava';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { closeJourneySignal, decideApprovalUpdate, journeyStateQuery, type learnerJourney, type LearnerJourneyInput } from '../../workflows/learner-journey';
import {
  applyUpdate, enrolmentDecisionUpdate, outcomeUpdate, studyStateQuery, surveyAnswerUpdate, withdrawUpdate,
} from '../../workflows/learner-journey-application';
import { StudyFailureType } from '../../domain/applications';
import { FailureType } from '../../domain/failures';
import type { Actor } from '../../domain/journey';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually, startLearnerJourney } from '../helpers/journeys';

// The journey after approval (application → enrolment → study → survey → closed), against the real Temporal dev
// server and Postgres. Each test uses people of its own (added to the register stub) and offers of its own.
let stack: TestStack;
test.before(async () => { stack = await startTestStack(); });
test.after.always(async () => { await stack?.stop(); });

const staff: Actor = { role: 'staff', id: 'staff-1', name: 'Inese Kļaviņa', channel: 'staff' };
const provider: Actor = { role: 'provider', id: 'provider-1', name: 'Dace Vītola', channel: 'e-service' };
const learnerActor = (personCode: string): Actor => ({ role: 'learner', id: personCode, name: 'Test Learner', channel: 'e-service' });
const COST = 32_000;
const BALANCE = 50_000;

type Journey = WorkflowHandle<typeof learnerJourney>;
let people = 0;

/** A new adult the Population Register knows, with a new-format person code of its own. */
function newPerson(firstName = 'Jānis'): string {
  people += 1;
  const personCode = `32${String(people).padStart(4, '0')}-${String(Math.floor(Math.random() * 100_000)).padStart(5, '0')}`;
  stack.registry.setPerson({
    personCode, firstName, lastName: 'Paraugs', birthDate: '1985-05-05', deceased: false, address: 'Rīga', note: 'test adult',
  });
  return personCode;
}

/**
 * Starts a journey and brings it to an approved account, whichever way the programme approves: an open staff task
 * is approved; an automatic approval is waited for.
 */
async function approvedJourney(s: TestStack, personCode: string, timing: Partial<LearnerJourneyInput['timing']> = {}) {
  const { caseId, handle } = await startLearnerJourney(s.temporal, s.taskQueue, personCode, {
    timing: { approvalDue: '1 day', ...timing },
  });
  let approved = false;
  await eventually(async () => {
    // The workflow's own state, not the read model: the case row says approved a moment before the workflow does.
    const row = await s.db('cases').where({ id: caseId }).first<{ stage: string } | undefined>();
    if (row?.stage === 'imk_approved' && (await handle.query(journeyStateQuery)).stage === 'imk_approved') return true;
    const task = await s.db('tasks').where({ caseId, state: 'open' }).first<{ id: string } | undefined>();
    if (task && !approved) {
      approved = true;
      await handle.executeUpdate(decideApprovalUpdate, { args: [{ taskId: task.id, decision: 'approve', comment: '', decidedBy: staff }] });
    }
    return false;
  }, `approval of case ${caseId}`, 60_000);
  return { caseId, handle };
}

/** A published offer of the demo provider with one group, its application window open now. */
async function createOffer(opts: { capacity?: number; costCents?: number; deadlineInMs?: number; groups?: number } = {}) {
  const providerRow = await stack.db('providers').first<{ id: string }>('id');
  const now = Date.now();
  const [offer] = await stack.db('offers').insert({
    providerId: providerRow.id, programme: 'IMK', titleLv: 'Kiberdrošības pamati (paraugs)', titleEn: 'Cybersecurity basics (sample)',
    costCents: opts.costCents ?? COST, published: true,
    applicationsOpenAt: new Date(now - 3_600_000), applicationsCloseAt: new Date(now + 86_400_000),
    groupFormationDeadline: new Date(now + (opts.deadlineInMs ?? 3_600_000)),
  }).returning<{ id: string }[]>('id');
  const groupIds: string[] = [];
  for (let i = 0; i < (opts.groups ?? 1); i += 1) {
    // A group that has ended, so its completion may be reported (not before the end date: issue 11).
    const [group] = await stack.db('offerGroups').insert({
      offerId: offer!.id, place: `Rīga, Brīvības iela ${i + 1}`, startsOn: '2026-09-07', endsOn: '2026-11-27', capacity: opts.capacity ?? 20,
    }).returning<{ id: string }[]>('id');
    groupIds.push(group!.id);
  }
  return { offerId: offer!.id, groupId: groupIds[0]!, groupIds };
}

const caseRow = (caseId: string) => stack.db('cases').where({ id: caseId }).first();
const applicationsOf = (caseId: string) => stack.db('applications').where({ caseId }).orderBy('attempt');
const eventKinds = async (caseId: string) => (await stack.db('caseEvents').where({ caseId }).orderBy('id')).map((e: { kind: string }) => e.kind);
const outbox = async (caseId: string) => (await stack.db('emailOutbox').where({ caseId }).orderBy('id')).map((e: { template: string; status: string }) => `${e.template}:${e.status}`);
const received = async () => (await stack.db('programmes').where({ code: 'IMK' }).first<{ applicationsReceived: number }>()).applicationsReceived;
const stageOf = async (caseId: string) => (await caseRow(caseId)).stage as string;
const failureType = (err: unknown) => ((err as WorkflowUpdateFailedError).cause as ApplicationFailure).type;
const causeMessage = (err: unknown) => ((err as { cause?: Error }).cause?.message ?? '');
const mailsTo = (personCode: string) => stack.mail.messages().filter((m) => m.to.includes(`${personCode}@example.lv`));

async function apply(handle: Journey, personCode: string, offer: { offerId: string; groupId: string }) {
  return handle.executeUpdate(applyUpdate, { args: [{ offerId: offer.offerId, groupId: offer.groupId, actor: learnerActor(personCode) }] });
}

test.serial('happy path: apply (cost earmarked) → enrolled → completed → survey answered → closed; one e-mail per milestone', async (t) => {
  const person = newPerson('Jānis');
  const offer = await createOffer();
  const { caseId, handle } = await approvedJourney(stack, person);
  const before = await received();

  const applied = await apply(handle, person, offer);
  t.like(applied, { outcome: 'applied', reason: null, earmarkedCents: COST, balanceCents: BALANCE - COST, stage: 'applied' });
  t.like(await caseRow(caseId), { stage: 'applied', balanceCents: BALANCE - COST });
  t.like((await applicationsOf(caseId))[0], { id: applied.applicationId, state: 'applied', earmarkedCents: COST, holdsPlace: true });
  t.is(await received(), before + 1);
  // A second application while one is open is refused before it enters history.
  const twice = await t.throwsAsync(apply(handle, person, offer), { instanceOf: WorkflowUpdateFailedError });
  t.is(failureType(twice), StudyFailureType.WrongStage);

  const enrolled = await handle.executeUpdate(enrolmentDecisionUpdate, {
    args: [{ applicationId: applied.applicationId!, decision: 'enrol', reason: null, actor: provider }],
  });
  t.like(enrolled, { stage: 'studying', applicationState: 'enrolled' });
  t.is((await stack.db('offerGroups').where({ id: offer.groupId }).first()).enrolled, 1);
  const repeated = await t.throwsAsync(handle.executeUpdate(enrolmentDecisionUpdate, {
    args: [{ applicationId: applied.applicationId!, decision: 'decline', reason: 'changed our mind', actor: provider }],
  }), { instanceOf: WorkflowUpdateFailedError });
  t.is(failureType(repeated), FailureType.AlreadyDecided);
  // A learner cannot report their own completion.
  const notAllowed = await t.throwsAsync(handle.executeUpdate(outcomeUpdate, { args: [{ outcome: 'completed', actor: learnerActor(person) }] }));
  t.is(failureType(notAllowed), StudyFailureType.NotAllowed);

  t.like(await handle.executeUpdate(outcomeUpdate, { args: [{ outcome: 'completed', actor: provider }] }), { stage: 'completed' });
  t.like(await handle.query(studyStateQuery), { studyOutcome: 'completed', survey: { kind: 'completion', answered: false } });

  // A bad survey answer is refused, naming the field; nothing is recorded.
  const bad = await t.throwsAsync(handle.executeUpdate(surveyAnswerUpdate, {
    args: [{ ratings: { knowledge_and_skills: 5, organisation_of_learning: 4, teachers: 7 }, actor: learnerActor(person) }],
  }), { instanceOf: WorkflowUpdateFailedError });
  t.is(failureType(bad), StudyFailureType.InvalidSurveyAnswer);
  t.regex(causeMessage(bad), /ratings\.teachers/);

  const answered = await handle.executeUpdate(surveyAnswerUpdate, {
    args: [{ ratings: { knowledge_and_skills: 5, organisation_of_learning: 4, teachers: 5 }, actor: learnerActor(person) }],
  });
  t.is(answered.stage, 'closed');
  t.is((await handle.result()).stage, 'closed');

  const row = await caseRow(caseId);
  t.like(row, { stage: 'closed', balanceCents: BALANCE - COST, outcomeReason: 'completed' });
  t.truthy(row.closedAt);
  t.like((await applicationsOf(caseId))[0], { state: 'completed', earmarkedCents: 0, spentCents: COST });
  t.like(await stack.db('surveyAnswers').where({ caseId }).first(), {
    kind: 'completion', ratings: { knowledge_and_skills: 5, organisation_of_learning: 4, teachers: 5 }, reasons: [],
  });
  t.deepEqual(await eventKinds(caseId), [
    'registered', 'eligible', 'imk_approved', 'applied', 'enrolled', 'completed', 'survey_sent', 'survey_answered',
  ]);
  const byWhom = (await stack.db('caseEvents').where({ caseId }).whereIn('kind', ['applied', 'enrolled', 'completed']).orderBy('id')).map((e: { actorRole: string }) => e.actorRole);
  t.deepEqual(byWhom, ['learner', 'provider', 'provider']);
  t.deepEqual(await outbox(caseId), ['imk-approved:sent', 'application-received:sent', 'enrolled:sent', 'study-completed:sent']);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const mails = mailsTo(person);
  t.is(mails.length, 4, 'one e-mail per milestone');
  t.true(mails.some((m) => m.subject.includes('pieteikums mācībām ir saņemts') && m.text.includes('320,00 EUR') && m.text.includes('180,00 EUR')));
  t.true(mails.some((m) => m.subject.includes('novērtējiet')));
});

test.serial('the provider declines: the earmark and the place are released and the learner may apply again', async (t) => {
  const person = newPerson('Anna');
  const offer = await createOffer();
  const { caseId, handle } = await approvedJourney(stack, person);
  const before = await received();
  const first = await apply(handle, person, offer);
  t.is(first.outcome, 'applied');

  const missingReason = await t.throwsAsync(handle.executeUpdate(enrolmentDecisionUpdate, {
    args: [{ applicationId: first.applicationId!, decision: 'decline', reason: ' ', actor: provider }],
  }));
  t.regex(causeMessage(missingReason), /reason/);
  const declined = await handle.executeUpdate(enrolmentDecisionUpdate, {
    args: [{ applicationId: first.applicationId!, decision: 'decline', reason: 'Grupa netiks atvērta: par maz dalībnieku.', actor: provider }],
  });
  t.like(declined, { stage: 'awaiting_application', applicationState: 'declined' });
  t.like(await caseRow(caseId), { stage: 'awaiting_application', balanceCents: BALANCE });
  t.like((await applicationsOf(caseId))[0], { state: 'declined', earmarkedCents: 0, holdsPlace: false });
  t.is(await received(), before, 'the place went back to the programme');
  const mail = await stack.mail.waitFor((m) => m.to.includes(`${person}@example.lv`) && m.text.includes('par maz dalībnieku'));
  t.regex(mail.subject, /netika apstiprināta/);

  const second = await apply(handle, person, offer);
  t.like(second, { outcome: 'applied', balanceCents: BALANCE - COST });
  t.not(second.applicationId, first.applicationId);
  t.deepEqual((await eventKinds(caseId)).slice(3), ['applied', 'enrolment_declined', 'applied']);
  await handle.terminate('test finished');
});

test.serial('the provider does not answer by the group-formation deadline: treated as declined, visible, may apply again', async (t) => {
  const person = newPerson('Pēteris');
  const offer = await createOffer();
  const { caseId, handle } = await approvedJourney(stack, person, { enrolmentDue: '2 seconds' });
  const applied = await apply(handle, person, offer);
  t.is(applied.outcome, 'applied');
  t.truthy((await handle.query(studyStateQuery))?.application?.enrolmentDueAt);

  await eventually(async () => (await stageOf(caseId)) === 'awaiting_application', 'the enrolment timeout');
  const event = await stack.db('caseEvents').where({ caseId, kind: 'enrolment_timed_out' }).first();
  t.like(event, { actorRole: 'system', stage: 'awaiting_application' });
  t.like(await caseRow(caseId), { balanceCents: BALANCE });
  t.like((await applicationsOf(caseId))[0], { state: 'timed_out', earmarkedCents: 0 });
  await stack.mail.waitFor((m) => m.to.includes(`${person}@example.lv`) && m.text.includes('grupu veidošanas termiņam'));
  // The provider's late decision is refused.
  const late = await t.throwsAsync(handle.executeUpdate(enrolmentDecisionUpdate, {
    args: [{ applicationId: applied.applicationId!, decision: 'enrol', reason: null, actor: provider }],
  }));
  t.is(failureType(late), FailureType.StaleDecision);
  t.is((await apply(handle, person, offer)).outcome, 'applied');
  await handle.terminate('test finished');
});

test.serial('the learner withdraws before enrolment (earmark released); a dropout gives reasons, the validator names a bad one', async (t) => {
  const person = newPerson('Marta');
  const offer = await createOffer();
  const { caseId, handle } = await approvedJourney(stack, person);
  await apply(handle, person, offer);
  t.like(await handle.executeUpdate(withdrawUpdate, { args: [{ reason: 'Atradu citu kursu', actor: learnerActor(person) }] }), { stage: 'awaiting_application' });
  t.like(await caseRow(caseId), { balanceCents: BALANCE });

  const again = await apply(handle, person, offer);
  await handle.executeUpdate(enrolmentDecisionUpdate, { args: [{ applicationId: again.applicationId!, decision: 'enrol', reason: null, actor: provider }] });
  t.like(await handle.executeUpdate(outcomeUpdate, { args: [{ outcome: 'dropped_out', reason: 'stopped attending', actor: provider }] }), { stage: 'dropped_out' });

  const unknown = await t.throwsAsync(handle.executeUpdate(surveyAnswerUpdate, { args: [{ reasons: ['no_time', 'bored'], actor: learnerActor(person) }] }));
  t.is(failureType(unknown), StudyFailureType.InvalidSurveyAnswer);
  t.regex(causeMessage(unknown), /reasons\[1\]/);
  const noText = await t.throwsAsync(handle.executeUpdate(surveyAnswerUpdate, { args: [{ reasons: ['other'], actor: learnerActor(person) }] }));
  t.regex(causeMessage(noText), /otherText/);

  await handle.executeUpdate(surveyAnswerUpdate, {
    args: [{ reasons: ['no_time', 'job_or_career_change', 'other'], otherText: 'Pārcēlos uz citu pilsētu', actor: learnerActor(person) }],
  });
  t.is((await handle.result()).stage, 'closed');
  t.like(await stack.db('surveyAnswers').where({ caseId }).first(), {
    kind: 'dropout', reasons: ['no_time', 'job_or_career_change', 'other'], otherText: 'Pārcēlos uz citu pilsētu',
  });
  const apps = await applicationsOf(caseId);
  t.deepEqual(apps.map((a: { state: string }) => a.state), ['withdrawn', 'dropped_out']);
  t.like(apps[1], { spentCents: COST, earmarkedCents: 0 });
  t.like(await caseRow(caseId), { stage: 'closed', outcomeReason: 'dropped_out', balanceCents: BALANCE - COST });
  t.true((await outbox(caseId)).includes('study-dropped-out:sent'));
});

test.serial('learner withdrawing during study counts as a dropout by the learner', async (t) => {
  const person = newPerson('Līga');
  const offer = await createOffer();
  const { caseId, handle } = await approvedJourney(stack, person);
  const applied = await apply(handle, person, offer);
  await handle.executeUpdate(enrolmentDecisionUpdate, { args: [{ applicationId: applied.applicationId!, decision: 'enrol', reason: null, actor: provider }] });
  t.like(await handle.executeUpdate(withdrawUpdate, { args: [{ actor: learnerActor(person) }] }), { stage: 'dropped_out' });
  const event = await stack.db('caseEvents').where({ caseId, kind: 'dropped_out' }).first();
  t.like(event, { actorRole: 'learner', details: { reportedBy: 'learner', reason: 'withdrawn_by_learner' } });
  await handle.terminate('test finished');
});

test.serial('an unanswered survey gets one reminder, then the journey closes without it', async (t) => {
  const person = newPerson('Ilze');
  const offer = await createOffer();
  const { caseId, handle } = await approvedJourney(stack, person, { surveyReminderAfter: '1 second', surveyCloseAfter: '1 second' });
  const applied = await apply(handle, person, offer);
  await handle.executeUpdate(enrolmentDecisionUpdate, { args: [{ applicationId: applied.applicationId!, decision: 'enrol', reason: null, actor: provider }] });
  await handle.executeUpdate(outcomeUpdate, { args: [{ outcome: 'completed', actor: staff }] });
  t.is((await handle.result()).stage, 'closed');
  t.deepEqual((await eventKinds(caseId)).slice(-4), ['completed', 'survey_sent', 'survey_reminder_sent', 'closed_without_survey']);
  t.deepEqual((await outbox(caseId)).slice(-2), ['study-completed:sent', 'survey-reminder:sent']);
  t.like(await caseRow(caseId), { stage: 'closed', outcomeReason: 'completed' });
  t.truthy((await caseRow(caseId)).closedAt);
  t.is(await stack.db('surveyAnswers').where({ caseId }).first(), undefined);
  const late = await t.throwsAsync(handle.executeUpdate(surveyAnswerUpdate, {
    args: [{ ratings: { knowledge_and_skills: 5, organisation_of_learning: 5, teachers: 5 }, actor: learnerActor(person) }],
  }));
  t.truthy(late, 'a survey answer after closing is refused');
});

test.serial('a full group refuses enrolment: the provider is told "group full" and may enrol into another group', async (t) => {
  const offer = await createOffer({ capacity: 1, groups: 2 });
  const a = newPerson('Kārlis');
  const b = newPerson('Rūta');
  const first = await approvedJourney(stack, a);
  const second = await approvedJourney(stack, b);
  const appA = await apply(first.handle, a, offer);
  const appB = await apply(second.handle, b, offer);
  await first.handle.executeUpdate(enrolmentDecisionUpdate, { args: [{ applicationId: appA.applicationId!, decision: 'enrol', reason: null, actor: provider }] });

  const full = await t.throwsAsync(second.handle.executeUpdate(enrolmentDecisionUpdate, {
    args: [{ applicationId: appB.applicationId!, decision: 'enrol', reason: null, actor: provider }],
  }), { instanceOf: WorkflowUpdateFailedError });
  t.is(failureType(full), StudyFailureType.GroupFull);
  t.regex(causeMessage(full), /group is full/i);
  t.is(await stageOf(second.caseId), 'applied', 'still waiting for the provider');
  t.is((await stack.db('offerGroups').where({ id: offer.groupId }).first()).enrolled, 1);

  // A new learner cannot apply for the full group either.
  const c = newPerson('Ieva');
  const third = await approvedJourney(stack, c);
  t.like(await apply(third.handle, c, offer), { outcome: 'refused', reason: 'group_full', earmarkedCents: 0 });

  t.like(await second.handle.executeUpdate(enrolmentDecisionUpdate, {
    args: [{ applicationId: appB.applicationId!, decision: 'enrol', reason: null, groupId: offer.groupIds[1], actor: provider }],
  }), { stage: 'studying' });
  for (const journey of [first, second, third]) await journey.handle.terminate('test finished');
});

test.serial('50 people apply at once for the last 10 places: exactly 10 applied, 40 wait-listed, the counter at the cap', async (t) => {
  const offer = await createOffer({ capacity: 60 });
  const persons = Array.from({ length: 50 }, (_, i) => newPerson(i % 2 ? 'Anna' : 'Jānis'));
  const journeys = await Promise.all(persons.map((p) => approvedJourney(stack, p)));
  t.teardown(async () => { await Promise.all(journeys.map((j) => j.handle.terminate('test finished').catch(() => undefined))); });
  const cap = (await received()) + 10;
  await stack.db('programmes').where({ code: 'IMK' }).update({ applicationCap: cap, overCap: 'waitlist' });

  const answers = await Promise.all(journeys.map((j, i) => apply(j.handle, persons[i]!, offer)));
  const count = (outcome: string) => answers.filter((a) => a.outcome === outcome).length;
  t.is(count('applied'), 10);
  t.is(count('waitlisted'), 40);
  t.true(answers.filter((a) => a.outcome === 'waitlisted').every((a) => a.reason === 'cap_reached' && a.earmarkedCents === 0));
  t.is(await received(), cap);
  const states = await stack.db('applications').where({ offerId: offer.offerId }).select('state').count<{ state: string; count: string }[]>('* as count').groupBy('state');
  t.deepEqual(Object.fromEntries(states.map((s) => [s.state, Number(s.count)])), { applied: 10, waitlisted: 40 });
  const stages = await Promise.all(journeys.map((j) => stageOf(j.caseId)));
  t.is(stages.filter((s) => s === 'waitlisted').length, 40);
  const waitlistedMail = await stack.mail.waitFor((m) => m.subject.includes('gaidīšanas sarakstā'));
  t.truthy(waitlistedMail);

  // Past the cap with the rule 'refuse', the learner is refused, and told so.
  await stack.db('programmes').where({ code: 'IMK' }).update({ overCap: 'refuse' });
  const refused = await apply(journeys[answers.findIndex((a) => a.outcome === 'waitlisted')]!.handle,
    persons[answers.findIndex((a) => a.outcome === 'waitlisted')]!, offer);
  t.like(refused, { outcome: 'refused', reason: 'cap_reached' });
  t.is(await received(), cap);
  await stack.db('programmes').where({ code: 'IMK' }).update({ applicationCap: 2000, overCap: 'waitlist' });
});

test.serial('outside the offer\'s application window the learner is refused at once, with the reason', async (t) => {
  const person = newPerson('Edgars');
  const offer = await createOffer();
  await stack.db('offers').where({ id: offer.offerId }).update({ applicationsOpenAt: new Date(Date.now() + 86_400_000), applicationsCloseAt: new Date(Date.now() + 2 * 86_400_000) });
  const { caseId, handle } = await approvedJourney(stack, person);
  t.like(await apply(handle, person, offer), { outcome: 'refused', reason: 'window_not_open', applicationId: null });
  t.like(await apply(handle, person, { offerId: randomUUID(), groupId: randomUUID() }), { outcome: 'refused', reason: 'offer_not_found' });
  t.like(await caseRow(caseId), { stage: 'imk_approved', balanceCents: BALANCE });
  t.like(await handle.query(journeyStateQuery), { stage: 'imk_approved' });
  await handle.terminate('test finished');
});

test.serial('a journey closed from outside while the provider decides: the earmark and place are released, no e-mail', async (t) => {
  const person = newPerson('Gunta');
  const offer = await createOffer();
  const { caseId, handle } = await approvedJourney(stack, person);
  const before = await received();
  const applied = await apply(handle, person, offer);
  await handle.signal(closeJourneySignal, { reason: 'deceased', detail: 'Population Register: deceased 2026-11-20', actor: { role: 'system', id: null, name: null, channel: 'system' } });
  t.is((await handle.result()).stage, 'closed');
  t.like(await caseRow(caseId), { stage: 'closed', outcomeReason: 'deceased', balanceCents: BALANCE });
  t.like((await applicationsOf(caseId))[0], { id: applied.applicationId, state: 'withdrawn', earmarkedCents: 0 });
  // The freed place goes back to the counter, or to the first learner still wait-listed (lib/waitlist.ts), whom it
  // keeps counted while it is offered.
  const [{ offered }] = await stack.db('placeOffers').where({ state: 'offered' }).count<{ offered: string }[]>('* as offered');
  t.is(await received() - Number(offered), before);
  t.deepEqual((await outbox(caseId)), ['imk-approved:sent', 'application-received:sent'], 'no e-mail about closing');
});

test.serial('a learner who keeps applying: the journey continues as new and goes on answering where it was', async (t) => {
  const person = newPerson('Laura');
  const { caseId, handle } = await approvedJourney(stack, person, { applicationsPerRun: 2 });
  const firstRun = (await handle.describe()).runId;
  const nowhere = { offerId: randomUUID(), groupId: randomUUID() };
  // Three refusals: the run that took two continues as new before the third, which the new run answers.
  for (let i = 1; i <= 3; i += 1) {
    t.like(await apply(handle, person, nowhere), { outcome: 'refused', reason: 'offer_not_found', stage: 'imk_approved' });
  }
  const described = await handle.describe();
  t.not(described.runId, firstRun, 'a new run');
  t.is(described.status.name, 'RUNNING');
  t.is(described.searchAttributes.CaseId?.[0], caseId, 'the console still finds the journey by its case');
  t.like(await handle.query(journeyStateQuery), { caseId, stage: 'imk_approved' });
  t.like(await handle.query(studyStateQuery), { attempts: 3, lastOutcome: { outcome: 'refused', reason: 'offer_not_found' } });

  // The new run carries on: a real application is taken, numbered after the earlier attempts.
  const offer = await createOffer();
  t.like(await apply(handle, person, offer), { outcome: 'applied', stage: 'applied' });
  t.deepEqual((await applicationsOf(caseId)).map((a: { attempt: number }) => a.attempt), [4]);
  t.is(await stageOf(caseId), 'applied');
  t.is(mailsTo(person).filter((m) => /konts ir apstiprināts/.test(m.subject)).length, 1, 'no second approval e-mail');
});
