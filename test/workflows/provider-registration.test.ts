import test from 'ava';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import {
  confirmProviderEmailUpdate, decideApprovalUpdate, providerRegistration, providerRegistrationStateQuery,
  type ProviderRegistrationInput,
} from '../../workflows/provider-registration';
import { providerRegistrationId } from '../../workflows/ids';
import { FailureType } from '../../domain/failures';
import { workingDaysDeadline } from '../../domain/working-days';
import { rigaTime } from '../../domain/dates';
import { holidaysBetween } from '../../activities/calendar';
import type { Actor } from '../../domain/journey';
import { startTestStack, TEST_AGENCY_INBOX_EMAIL, type TestStack } from '../helpers/stack';
import { eventually } from '../helpers/journeys';
import { insertRegisteredProvider, type SampleKey } from '../helpers/providers';

// A provider's registration against the real Temporal dev server and Postgres: e-mail confirmation by link,
// registry facts on the agency's task, approval or rejection, expiry and escalation of a late task.
let stack: TestStack;
test.before(async () => { stack = await startTestStack(); });
test.after.always(async () => { await stack?.stop(); });

const staff: Actor = { role: 'staff', id: 'staff-1', name: 'Inese Kļaviņa', channel: 'staff' };
const failureType = (err: unknown) => ((err as WorkflowUpdateFailedError).cause as ApplicationFailure).type;

async function startRegistration(sample: SampleKey, timing: Partial<ProviderRegistrationInput['timing']> = {}) {
  const registered = await insertRegisteredProvider(stack.db, sample);
  const input: ProviderRegistrationInput = {
    providerId: registered.providerId, userId: registered.userId, email: registered.email, language: 'lv',
    timing: { emailConfirmationValid: '1 hour', approvalWorkingDays: 1, ...timing },
  };
  const handle = await stack.temporal.workflow.start(providerRegistration, {
    workflowId: providerRegistrationId(registered.providerId), taskQueue: stack.taskQueue, args: [input],
  });
  return { ...registered, handle };
}

/** Follows the link in the confirmation e-mail as the API would: verifies its token, then confirms. */
async function confirmByLink(registration: Awaited<ReturnType<typeof startRegistration>>) {
  const mail = await stack.mail.waitFor((m) => m.to.includes(registration.email) && m.text.includes('/providers/confirm?token='));
  const token = decodeURIComponent(/\/providers\/confirm\?token=([^\s"&]+)/.exec(mail.text)![1]!);
  const verified = await stack.links.verify('confirm-provider-email', token);
  if (!verified || verified === 'expired') throw new Error('the e-mailed token does not verify');
  return { mail, subject: verified.subject, answer: await registration.handle.executeUpdate(confirmProviderEmailUpdate, { args: [{ confirmedAt: new Date().toISOString() }] }) };
}

const openTask = (providerId: string) => eventually(
  () => stack.db('tasks').where({ providerId, state: 'open' }).first<{ id: string; facts: Record<string, any>; dueAt: Date; caseId: string | null; type: string }>(),
  `the approval task of provider ${providerId}`,
);

test.serial('confirmed by the e-mailed link, checked in the registries, approved: the registrant becomes the active administrator', async (t) => {
  const registration = await startRegistration('second');
  const { mail, subject, answer } = await confirmByLink(registration);
  t.is(subject, registration.providerId, 'the link names the provider, not a workflow id');
  t.false(mail.text.includes(providerRegistrationId(registration.providerId)));
  t.true(['checking_registries', 'awaiting_approval'].includes(answer.stage));
  // Following the link twice is answered with where the registration stands, not an error.
  const again = await registration.handle.executeUpdate(confirmProviderEmailUpdate, { args: [{ confirmedAt: new Date().toISOString() }] });
  t.true(['checking_registries', 'awaiting_approval'].includes(again.stage));

  const task = await openTask(registration.providerId);
  t.is(task.type, 'approve-provider');
  t.is(task.caseId, null);
  t.like(task.facts, {
    company: { registrationNumber: '40003000002', found: true, status: 'active' },
    institution: { registrationNumber: '3360800002', found: true, accredited: true, registeredSince: '2018-02-15', registeredAtLeastThreeYears: true, placesCount: 2 },
  });
  // Due at the end of a working day in Riga, within a few days (one working day, weekends and holidays skipped).
  const due = new Date(task.dueAt);
  t.true(due.getTime() > Date.now() && due.getTime() < Date.now() + 6 * 86_400_000);
  t.regex(due.toISOString(), /T2[12]:00:00\.000Z$/, 'the next Riga midnight (exclusive)');
  t.like(await stack.db('providers').where({ id: registration.providerId }).first(), { status: 'awaiting_approval' });
  t.like(await registration.handle.query(providerRegistrationStateQuery), { stage: 'awaiting_approval', openTaskId: task.id, escalated: false });

  const decided = await registration.handle.executeUpdate(decideApprovalUpdate, { args: [{ taskId: task.id, decision: 'approve', comment: '', decidedBy: staff }] });
  t.is(decided.stage, 'approved');
  const twice = await t.throwsAsync(registration.handle.executeUpdate(decideApprovalUpdate, {
    args: [{ taskId: task.id, decision: 'reject', comment: 'late', decidedBy: { ...staff, name: 'Cits' } }],
  }), { instanceOf: WorkflowUpdateFailedError });
  t.is(failureType(twice), FailureType.AlreadyDecided);
  t.deepEqual(((twice as WorkflowUpdateFailedError).cause as ApplicationFailure).details, [{ decidedBy: 'Inese Kļaviņa', decision: 'approve' }]);
  t.is((await registration.handle.result()).stage, 'approved');

  t.like(await stack.db('providers').where({ id: registration.providerId }).first(), { status: 'approved', rejectionReason: null });
  t.like(await stack.db('users').where({ id: registration.userId }).first(), { active: true, status: 'active', providerRole: 'admin' });
  t.like(await stack.db('tasks').where({ id: task.id }).first(), { state: 'decided', decision: 'approve', decidedByName: 'Inese Kļaviņa' });
  const approvedMail = await stack.mail.waitFor((m) => m.to.includes(registration.email) && /apstiprināta/.test(m.subject));
  t.true(approvedMail.text.includes('Test provider second'));
  t.deepEqual(await stack.db('providerEvents').where({ providerId: registration.providerId }).orderBy('id').pluck('kind'),
    ['registered', 'email_confirmed', 'registries_checked', 'approved']);
  // Both registry queries are audited with the purpose.
  t.deepEqual((await stack.db('auditLog').where({ purpose: 'provider registration' }).whereLike('idempotencyKey', `${providerRegistrationId(registration.providerId)}:%`)
    .orderBy('id').pluck('action')), ['enterprise-register.get-company', 'viis.get-institution']);
});

test.serial('a rejection needs a comment; the registrant is told the reason by e-mail', async (t) => {
  const registration = await startRegistration('young');
  await confirmByLink(registration);
  const task = await openTask(registration.providerId);
  t.like(task.facts, { institution: { found: true, accredited: true, registeredAtLeastThreeYears: false } });

  const noReason = await t.throwsAsync(registration.handle.executeUpdate(decideApprovalUpdate, {
    args: [{ taskId: task.id, decision: 'reject', comment: '  ', decidedBy: staff }],
  }), { instanceOf: WorkflowUpdateFailedError });
  t.is(failureType(noReason), FailureType.ReasonRequired);

  const reason = 'Iestāde Izglītības iestāžu reģistrā ir mazāk nekā 3 gadus.';
  t.is((await registration.handle.executeUpdate(decideApprovalUpdate, { args: [{ taskId: task.id, decision: 'reject', comment: reason, decidedBy: staff }] })).stage, 'rejected');
  t.is((await registration.handle.result()).stage, 'rejected');
  t.like(await stack.db('providers').where({ id: registration.providerId }).first(), { status: 'rejected', rejectionReason: reason });
  t.like(await stack.db('users').where({ id: registration.userId }).first(), { active: false, status: 'rejected' });
  const mail = await stack.mail.waitFor((m) => m.to.includes(registration.email) && /nav apstiprināta/.test(m.subject));
  t.true(mail.text.includes(reason));
});

test.serial('a link not followed in time: the registration expires', async (t) => {
  const registration = await startRegistration('unaccredited', { emailConfirmationValid: '2 seconds' });
  t.is((await registration.handle.result()).stage, 'expired');
  t.like(await stack.db('providers').where({ id: registration.providerId }).first(), { status: 'expired' });
  t.like(await stack.db('users').where({ id: registration.userId }).first(), { active: false, status: 'awaiting_email' });
  t.is(await stack.db('tasks').where({ providerId: registration.providerId }).first(), undefined, 'no task for the agency');
  t.deepEqual(await stack.db('providerEvents').where({ providerId: registration.providerId }).orderBy('id').pluck('kind'), ['registered', 'expired']);
});

test.serial('an overdue approval task is flagged and the agency gets exactly one e-mail; the decision still counts', async (t) => {
  const registration = await startRegistration('liquidated', { approvalDueOverride: '2 seconds' });
  await confirmByLink(registration);
  const task = await openTask(registration.providerId);
  t.like(task.facts, { company: { found: true, status: 'liquidated' } });

  const escalated = await eventually(() => stack.db('tasks').where({ id: task.id }).whereNotNull('escalatedAt').first(), 'the task to be escalated');
  t.is(escalated.state, 'open', 'a late agency is not an outcome: the task stays open');
  const mail = await stack.mail.waitFor((m) => m.to.includes(TEST_AGENCY_INBOX_EMAIL));
  t.true(mail.text.includes(`/staff/tasks/${task.id}`));
  t.true(mail.subject.includes('approve-provider'));
  await eventually(async () => (await registration.handle.query(providerRegistrationStateQuery)).escalated, 'the workflow to record the escalation');
  t.is(await registration.handle.query(providerRegistrationStateQuery).then((s) => s.stage), 'awaiting_approval');

  t.is((await registration.handle.executeUpdate(decideApprovalUpdate, {
    args: [{ taskId: task.id, decision: 'reject', comment: 'Uzņēmums ir likvidēts.', decidedBy: staff }],
  })).stage, 'rejected');
  await registration.handle.result();
  t.is(stack.mail.messages().filter((m) => m.to.includes(TEST_AGENCY_INBOX_EMAIL)).length, 1);
  t.is((await stack.db('emailOutbox').where({ template: 'task-overdue', recipient: TEST_AGENCY_INBOX_EMAIL })).length, 1);
});

test.serial('the working-day deadline skips weekends and public holidays from the table, including a one-off one', async (t) => {
  // Thursday before Easter 2027: Good Friday, the weekend and Easter Monday are skipped → end of Tuesday 30 March.
  const opened = rigaTime('2027-03-25', '10:00');
  const holidays = await holidaysBetween(stack.db, '2027-03-25', '2027-04-30');
  t.true(holidays.has('2027-03-26') && holidays.has('2027-03-29'));
  t.is(workingDaysDeadline(opened, 1, holidays).toISOString(), rigaTime('2027-03-31', '00:00').toISOString());
  // Riga is on summer time by then (UTC+3).
  t.is(workingDaysDeadline(opened, 1, holidays).toISOString(), '2027-03-30T21:00:00.000Z');

  // The government declares Tuesday 30 March a one-off holiday; an administrator adds the row.
  await stack.db('publicHolidays').insert({ day: '2027-03-30', nameLv: 'Papildu brīvdiena', nameEn: 'Additional day off', kind: 'one_off', addedBy: 'admin' });
  const withOneOff = await holidaysBetween(stack.db, '2027-03-25', '2027-04-30');
  t.is(workingDaysDeadline(opened, 1, withOneOff).toISOString(), rigaTime('2027-04-01', '00:00').toISOString());
});
