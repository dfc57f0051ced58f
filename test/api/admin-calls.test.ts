import test from 'ava';
import { createCalendarActivities } from '../../activities/calendar';
import { lastRigaDayOf, rigaDate } from '../../domain/dates';
import { shift } from '../../domain/holidays';
import { isWorkingDay } from '../../domain/working-days';
import { providerOffer, providerOfferStatusQuery, submitOfferUpdate } from '../../workflows/provider-offer';
import { holidaysBetween } from '../../lib/holidays';
import { createCallClosingIn } from '../helpers/calls';
import { assertError, httpClient, type ErrorBody } from '../helpers/http';
import { eventually } from '../helpers/journeys';
import { approvedProvider, insertDraftOffer } from '../helpers/providers';
import { startTestStack, type TestStack } from '../helpers/stack';

// The agency's own calls for offers, public holidays and cost coefficients (issue 15, item 3), on the real stack:
// an extension reaches a running offer workflow, a call is frozen but for extensions once submission opened, a new
// holiday moves a working-day deadline, and only administrators get in.
let stack: TestStack;
let admin: string;
const call = httpClient(() => stack.appUrl);
test.before(async () => {
  stack = await startTestStack();
  admin = await stack.adminToken();
});
test.after.always(async () => { await stack?.stop(); });

const REASON = 'The agency decided it (test)';
const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();
const problemsOf = (body: unknown) => (body as ErrorBody).error.details as { field: string; rule: string; words?: { lv: string; en: string } }[];

test('an extension of the submission deadline reaches a running offer workflow: its timer moves and the offer is submitted after the old deadline', async (t) => {
  // Margins of several seconds: the whole test command runs many files at once on two cores.
  const theCall = await createCallClosingIn(stack.db, 12_000, 3_000);
  const providerId = await approvedProvider(stack.db, 'demo');
  const { offerId, workflowId } = await insertDraftOffer(stack.db, { providerId, sample: 'demo', ...theCall });
  const handle = await stack.temporal.workflow.start(providerOffer, { workflowId, taskQueue: stack.taskQueue, args: [{ offerId, providerId, callId: theCall.callId }] });
  // The workflow waits on its timer for the old deadline before the administrator extends it.
  await eventually(async () => (await handle.fetchHistory()).events?.some((e) => e.timerStartedEventAttributes) || null, 'the offer workflow\'s deadline timer');

  const extended = await call('POST', `/api/admin/calls/${theCall.callId}`, {
    token: admin,
    json: { submissionClosesAt: inMs(60_000), evaluationEndsAt: inMs(61_000), publicationAt: inMs(62_000), applicationsOpenAt: inMs(62_000), reason: 'The VIIS registry was down on the last day' },
  });
  t.is(extended.status, 200, extended.text);
  t.like(extended.json, { offersNotified: 1, offersNotReached: 0 });

  // Past the old deadline the offer is still a draft, the provider submits it, and the learners' window followed.
  const oldDeadline = theCall.phases.submissionClosesAt.getTime();
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, oldDeadline - Date.now()) + 1_500));
  t.like(await handle.query(providerOfferStatusQuery), { state: 'draft' });
  t.deepEqual(await handle.executeUpdate(submitOfferUpdate, { args: [{ actor: { role: 'provider', id: 'provider-user', name: 'Dace Vītola', channel: 'e-service' } }] }), { state: 'submitted', problems: [] });
  t.like(await stack.db('offers').where({ id: offerId }).first(), { state: 'submitted' });
  const events = (await handle.fetchHistory()).events ?? [];
  t.true(events.some((e) => e.timerCanceledEventAttributes), 'the timer for the old deadline was cancelled');
  t.true(events.some((e) => e.markerRecordedEventAttributes), 'the change is behind its patched() marker');
  const row = await stack.db('offers').where({ id: offerId }).first<{ applicationsOpenAt: Date }>();
  t.is(row.applicationsOpenAt.toISOString(), (extended.json as { call: { applicationsOpenAt: string } }).call.applicationsOpenAt);

  const audit = await stack.db('auditLog').where({ action: 'call.changed' }).whereRaw("result->>'callId' = ?", [theCall.callId]).first<{ result: Record<string, any>; actorRole: string }>();
  t.is(audit.actorRole, 'admin');
  t.is(audit.result.reason, 'The VIIS registry was down on the last day');
  t.is(audit.result.before.submissionClosesAt, theCall.phases.submissionClosesAt.toISOString());
  t.truthy(audit.result.after.submissionClosesAt);
});

test('an extension of the end of evaluation moves the open evaluation task: due later in the inbox, not escalated at the old time', async (t) => {
  const theCall = await createCallClosingIn(stack.db, 6_000, 8_000);
  const providerId = await approvedProvider(stack.db, 'second');
  const { offerId, workflowId } = await insertDraftOffer(stack.db, { providerId, sample: 'second', ...theCall });
  const handle = await stack.temporal.workflow.start(providerOffer, { workflowId, taskQueue: stack.taskQueue, args: [{ offerId, providerId, callId: theCall.callId }] });
  t.like(await handle.executeUpdate(submitOfferUpdate, { args: [{ actor: { role: 'provider', id: 'provider-user', name: 'Dace Vītola', channel: 'e-service' } }] }), { state: 'submitted' });
  const task = await eventually(() => stack.db('tasks').where({ offerId, state: 'open' }).first<{ id: string; dueAt: Date }>(), 'the evaluation task');
  t.is(task.dueAt.toISOString(), theCall.phases.evaluationEndsAt.toISOString());

  const newEnd = inMs(90_000);
  const extended = await call('POST', `/api/admin/calls/${theCall.callId}`, { token: admin, json: { evaluationEndsAt: newEnd, publicationAt: newEnd, applicationsOpenAt: newEnd, reason: REASON } });
  t.is(extended.status, 200, extended.text);
  t.is((await stack.db('tasks').where({ id: task.id }).first<{ dueAt: Date }>()).dueAt.toISOString(), newEnd);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, theCall.phases.evaluationEndsAt.getTime() - Date.now()) + 2_000));
  t.like(await stack.db('tasks').where({ id: task.id }).first(), { state: 'open', escalatedAt: null }, 'not overdue at the old end of evaluation');
});

test('a call changes freely until submission opens; then only extensions, other changes refused with 409 naming the field in Latvian and English', async (t) => {
  const body = {
    code: `IMK-T-${Date.now() % 100_000}`, titleLv: '6. atlase (tests)', titleEn: '6th call (test)', programme: 'IMK',
    competences: ['Programmēšanas tehniķis'], digcompMin: 4, digcompMax: 6, minDigitalSharePercent: 70, maxOffersPerProvider: 3,
    requiredDocuments: ['application_form', 'curriculum'],
    submissionOpensAt: '2099-09-22', submissionClosesAt: '2099-10-10', evaluationEndsAt: '2099-10-13', publicationAt: '2099-11-01 09:00',
    applicationsOpenAt: '2099-11-07', applicationsCloseAt: '2099-11-25', groupFormationAt: '2099-11-30', teachingEndsAt: '2100-04-30', reason: REASON,
  };
  const created = await call('POST', '/api/admin/calls', { token: admin, json: body });
  t.is(created.status, 201, created.text);
  const made = created.json as Record<string, string> & { id: string };
  // Days are Riga days: a closing day lasts to its end (24:00 = the next day's 00:00 Riga, 22:00 UTC in winter).
  t.is(made.submissionClosesAt, '2099-10-10T21:00:00.000Z');
  t.is(made.submissionOpensAt, '2099-09-21T21:00:00.000Z');
  t.is(made.publicationAt, '2099-11-01T07:00:00.000Z');
  t.is((await call('POST', `/api/admin/calls/${made.id}`, { token: admin, json: { titleEn: '6th call for offers (test)', submissionClosesAt: '2099-10-05', reason: REASON } })).status, 200, 'before opening anything changes, earlier too');
  const disorder = assertError(t, await call('POST', `/api/admin/calls/${made.id}`, { token: admin, json: { evaluationEndsAt: '2099-10-01', reason: REASON } }), 400, 'invalid_request');
  t.like(disorder.details[0], { field: 'evaluationEndsAt', rule: 'phase_order' });
  assertError(t, await call('POST', '/api/admin/calls', { token: admin, json: body }), 409, 'call_code_taken');
  assertError(t, await call('POST', `/api/admin/calls/${made.id}`, { token: admin, json: { titleEn: 'No reason' } }), 400, 'invalid_request');

  const open = await createCallClosingIn(stack.db, 3_600_000);
  const titleBefore = (await stack.db('calls').where({ id: open.callId }).first<{ titleEn: string }>()).titleEn;
  const refused = await call('POST', `/api/admin/calls/${open.callId}`, { token: admin, json: { titleEn: 'Renamed', maxOffersPerProvider: 5, reason: REASON } });
  assertError(t, refused, 409, 'call_change_refused');
  const [first, second] = problemsOf(refused.json);
  t.like(first, { field: 'titleEn', rule: 'call_submission_opened' });
  t.like(second, { field: 'maxOffersPerProvider', rule: 'call_submission_opened' });
  t.regex(first!.words!.lv, /Iesniegšana ir sākusies/);
  t.regex(first!.words!.en, /Submission has opened/);
  const earlier = await call('POST', `/api/admin/calls/${open.callId}`, { token: admin, json: { submissionClosesAt: inMs(1_800_000), reason: REASON } });
  assertError(t, earlier, 409, 'call_change_refused');
  t.like(problemsOf(earlier.json)[0], { field: 'submissionClosesAt', rule: 'extension_only' });
  const passed = await call('POST', `/api/admin/calls/${open.callId}`, { token: admin, json: { submissionOpensAt: inMs(-3_600_000), reason: REASON } });
  t.like(problemsOf(passed.json)[0], { field: 'submissionOpensAt', rule: 'phase_passed' });
  t.is((await stack.db('calls').where({ id: open.callId }).first<{ titleEn: string }>()).titleEn, titleBefore, 'nothing changed');
  // The page says it next to the field, in the reader's language.
  const page = await call('POST', `/admin/calls/${open.callId}?lang=en`, { token: admin, html: true, form: { titleEn: 'Renamed', reason: REASON } });
  t.is(page.status, 409);
  t.regex(page.text, /Submission has opened: this can no longer be changed/);
  const extension = await call('POST', `/api/admin/calls/${open.callId}`, { token: admin, json: { teachingEndsAt: shift(lastRigaDayOf(open.phases.teachingEndsAt), 30), reason: REASON } });
  t.is(extension.status, 200, extension.text);

  // The pages: the list and a call read in Latvian; a form with problems comes back naming them; a whole form creates.
  const list = await call('GET', '/admin/calls?lang=lv', { token: admin, html: true });
  t.is(list.status, 200);
  t.regex(list.text, /Jauna piedāvājumu atlase/);
  t.is((await call('GET', `/admin/calls/${made.id}?lang=lv`, { token: admin, html: true })).status, 200);
  const wrong = await call('POST', '/admin/calls?lang=lv', { token: admin, html: true, form: { code: 'x', reason: REASON, documentsShown: '1' } });
  t.is(wrong.status, 400);
  t.regex(wrong.text, /Lūdzu, izlabojiet zemāk atzīmētos laukus/);
  const form: Record<string, string> = {
    ...Object.fromEntries(Object.entries(body).map(([k, v]) => [k, Array.isArray(v) ? v.join('\n') : String(v)])),
    code: `${body.code}-P`, documentsShown: '1', document_curriculum: '1',
  };
  delete form.requiredDocuments;
  const fromPage = await call('POST', '/admin/calls', { token: admin, html: true, form });
  t.is(fromPage.status, 302, fromPage.text.slice(0, 500));
  t.deepEqual((await stack.db('calls').where({ code: form.code }).first<{ requiredDocuments: string[] }>()).requiredDocuments, ['curriculum']);

  // Administrators only.
  assertError(t, await call('POST', '/api/admin/calls', { token: await stack.staffToken('staff'), json: { ...body, code: 'IMK-T-STAFF' } }), 403, 'forbidden');
});

test('a new public holiday moves a working-day deadline; yearly holidays recur; statutory ones stay', async (t) => {
  const { taskDueAt } = createCalendarActivities({ db: stack.db });
  const before = new Date((await taskDueAt({ workingDays: 1 })).dueAt);
  const lastDay = lastRigaDayOf(before);
  const added = await call('POST', '/api/admin/holidays', { token: admin, json: { day: lastDay, kind: 'one_off', nameLv: 'Papildu brīvdiena', nameEn: 'Extra day off', reason: REASON } });
  t.is(added.status, 201, added.text);
  const after = new Date((await taskDueAt({ workingDays: 1 })).dueAt);
  let next = shift(lastDay, 1);
  const holidays = await holidaysBetween(stack.db, next, shift(next, 30));
  while (!isWorkingDay(next, holidays)) next = shift(next, 1);
  t.is(lastRigaDayOf(after), next, 'due at the end of the next working day');
  const holiday = assertError(t, await call('POST', '/api/admin/holidays', { token: admin, json: { day: lastDay, kind: 'one_off', nameLv: 'Atkal', nameEn: 'Again', reason: REASON } }), 409, 'holiday_exists');
  t.like(holiday.details[0], { field: 'day', rule: 'holiday_exists' });

  const year = Number(rigaDate(new Date()).slice(0, 4));
  t.is((await call('POST', '/api/admin/holidays', { token: admin, json: { day: `${year}-02-27`, kind: 'yearly', nameLv: 'Ikgadēja', nameEn: 'Yearly', reason: REASON } })).status, 201);
  const later = (await call('GET', `/api/admin/holidays?year=${year + 3}`, { token: admin })).json as { holidays: { date: string; kind: string }[] };
  t.true(later.holidays.some((h) => h.date === `${year + 3}-02-27` && h.kind === 'yearly'));
  assertError(t, await call('POST', `/api/admin/holidays/${year + 1}-01-01/removal`, { token: admin, json: { reason: REASON } }), 409, 'holiday_statutory');
  t.is((await call('POST', `/api/admin/holidays/${lastDay}/removal`, { token: admin, json: { reason: REASON } })).status, 204);
  t.is((await taskDueAt({ workingDays: 1 })).dueAt, before.toISOString(), 'removed, the deadline is back');

  const coefficient = await call('POST', '/api/admin/cost-coefficients', { token: admin, json: { code: 'SAMPLE-X', nameLv: 'Parauga grupa', nameEn: 'Sample group', coefficient: '1,5', sample: true, reason: REASON } });
  t.like(coefficient.json, { code: 'SAMPLE-X', coefficient: '1.50', sample: true });
  t.deepEqual(await stack.db('auditLog').whereIn('action', ['holiday.added', 'holiday.removed', 'cost_coefficient.added']).orderBy('id').pluck('action'),
    ['holiday.added', 'holiday.added', 'holiday.removed', 'cost_coefficient.added']);
  const calendar = await call('GET', `/admin/calendar?year=${year + 3}&lang=en`, { token: admin, html: true });
  t.is(calendar.status, 200);
  t.regex(calendar.text, /Yearly \(every year from then on\)/);
});
