import { randomUUID } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import type { WorkflowHandle } from '@temporalio/client';
import type { Actor } from '../../domain/journey';
import { demoOffers } from '../../dev/seed-offers';
import type { learnerJourney } from '../../workflows/learner-journey';
import { enrolmentDecisionUpdate, outcomeUpdate } from '../../workflows/learner-journey-application';
import { adultMaker, registerThroughApi, untilStage, type TestPerson } from '../helpers/journeys';
import { startTestStack, type TestStack } from '../helpers/stack';
import { assertError, httpClient, type Answer } from '../helpers/http';

// The learner's side of applying and studying over HTTP: the catalogue, applying, withdrawing and the survey,
// against the real app, Postgres and Temporal worker. IMK accounts are approved automatically in this stack.
// The provider's side (enrolment, outcome) is driven with the workflow's Updates directly.

let stack: TestStack;
const call = httpClient(() => stack.appUrl);

test.before(async () => { stack = await startTestStack(); });
test.after.always(async () => { await stack?.stop(); });

const OFFER = demoOffers[0]!;
const GROUP = OFFER.groups[0]!;
const PYTHON = demoOffers[1]!;
const COST = OFFER.costCents;
const BALANCE = 50_000;
const provider: Actor = { role: 'provider', id: 'provider-1', name: 'Dace Vītola', channel: 'e-service' };

interface OfferView {
  offerId: string; programme: string; costCents: number; title: { lv: string; en: string };
  groups: { groupId: string; capacity: number; enrolled: number; freePlaces: number; startsOn: string; place: string }[];
}
interface StudyView {
  stage: string; balanceCents: number; earmarkedCents: number; canApply: boolean; canWithdraw: boolean; waitingFor: string;
  application: { applicationId: string; state: string; offerId: string; groupId: string; earmarkedCents: number; groupFormationDeadline: string } | null;
  survey: { kind: string; open: boolean; answered: boolean } | null;
}



/** Asserts a 400 naming exactly these fields, each also in the message. */
function assertFields(t: ExecutionContext, answer: Answer, fields: string[]) {
  const error = assertError(t, answer, 400, 'invalid_request');
  t.deepEqual(error.details.map((d) => d.field).sort(), [...fields].sort(), answer.text);
  for (const field of fields) t.true(error.message.includes(`${field}:`), `the message names ${field}: ${error.message}`);
  return error;
}

/** A new adult the Population Register knows. */
const newPerson = adultMaker(() => stack.registry, { prefix: '33', lastName: 'Mācību', birthDate: '1986-06-06', note: 'test adult' });
type Person = TestPerson;

const tokenOf = (person: Person) => stack.tokenFor('learner', person.code, person.name);

/** Registers through the API and waits until the account is approved, in the read model and in the workflow. */
async function approvedCase(person: Person) {
  const { caseId, handle } = await registerThroughApi(call, stack.temporal, await tokenOf(person), person);
  await untilStage(stack.db, handle, caseId, 'imk_approved');
  return { caseId, handle };
}

async function applyFor(person: Person, caseId: string, body: Record<string, unknown>) {
  return call('POST', `/api/learner/journeys/${caseId}/applications`, { token: await tokenOf(person), json: body });
}

async function study(person: Person, caseId: string): Promise<StudyView> {
  const answer = await call('GET', `/api/learner/journeys/${caseId}/study`, { token: await tokenOf(person) });
  if (answer.status !== 200) throw new Error(`study view: HTTP ${answer.status} ${answer.text}`);
  return answer.json as StudyView;
}

async function offers(query = ''): Promise<{ offers: OfferView[]; total: number; page: number; pageSize: number }> {
  const answer = await call('GET', `/api/offers${query}`);
  if (answer.status !== 200) throw new Error(`offers: HTTP ${answer.status} ${answer.text}`);
  return answer.json as { offers: OfferView[]; total: number; page: number; pageSize: number };
}

/** Applies, then the provider enrols the learner (directly through the workflow's Update). */
async function enrolled(person: Person, caseId: string, handle: WorkflowHandle<typeof learnerJourney>) {
  const applied = await applyFor(person, caseId, { requestId: randomUUID(), offerId: OFFER.id, groupId: GROUP.id });
  if (applied.status !== 201) throw new Error(`apply: HTTP ${applied.status} ${applied.text}`);
  const { applicationId } = applied.json as { applicationId: string };
  await handle.executeUpdate(enrolmentDecisionUpdate, { args: [{ applicationId, decision: 'enrol', reason: null, actor: provider }] });
  return applicationId;
}

// ---------------------------------------------------------------------------------------------------------------

test.serial('the new routes are in the OpenAPI document with their schemas', async (t) => {
  const doc = (await call('GET', '/api/openapi.json')).json as {
    paths: Record<string, Record<string, { parameters?: { name: string; in: string }[]; requestBody?: { content: { 'application/json': { schema: { required?: string[]; properties?: Record<string, unknown> } } } } }>>;
  };
  t.truthy(doc.paths['/api/offers']?.get);
  t.deepEqual(doc.paths['/api/offers']!.get!.parameters?.map((p) => p.name).sort(), ['page', 'programme', 'q']);
  const apply = doc.paths['/api/learner/journeys/{caseId}/applications']?.post;
  t.truthy(apply);
  t.deepEqual(apply!.requestBody!.content['application/json'].schema.required?.sort(), ['groupId', 'offerId']);
  t.truthy(doc.paths['/api/learner/journeys/{caseId}/withdrawal']?.post);
  const survey = doc.paths['/api/learner/journeys/{caseId}/survey']?.post;
  t.truthy(survey);
  t.deepEqual(Object.keys(survey!.requestBody!.content['application/json'].schema.properties ?? {}).sort(), ['otherText', 'ratings', 'reasons', 'requestId']);
  t.truthy(doc.paths['/api/learner/journeys/{caseId}/study']?.get);
});

test.serial('the catalogue lists the seeded offers with cost in cents, groups and free places; filters and paging', async (t) => {
  const all = await offers();
  t.is(all.page, 1);
  const seeded = all.offers.find((o) => o.offerId === OFFER.id);
  t.truthy(seeded, 'the seeded offer is listed');
  t.like(seeded, { programme: 'IMK', costCents: COST, title: { lv: OFFER.titleLv, en: OFFER.titleEn } });
  const group = seeded!.groups.find((g) => g.groupId === GROUP.id)!;
  t.like(group, { capacity: GROUP.capacity, startsOn: GROUP.startsOn, place: GROUP.place });
  t.is(group.freePlaces, group.capacity - group.enrolled);
  t.true(group.freePlaces > 0);

  const python = await offers('?q=python');
  t.deepEqual(python.offers.map((o) => o.offerId), [PYTHON.id]);
  t.deepEqual((await offers('?q=Valmiera')).offers.map((o) => o.offerId), [OFFER.id], 'a group\'s place is searched too');
  t.is((await offers('?q=%25')).total, 0, 'a % in the words is a character, not a wildcard');
  t.is((await offers('?programme=IMK')).total, all.total);
  t.is((await offers('?programme=MN')).total, 0);
  const page2 = await offers('?page=2');
  t.deepEqual(page2.offers, []);
  t.is(page2.total, all.total);

  // The public page lists them too, in Latvian by default (the one list, /catalogue; /offers redirects there).
  t.is((await call('GET', '/offers', { html: true })).headers.get('location'), '/catalogue');
  const page = await call('GET', '/catalogue', { html: true });
  t.is(page.status, 200);
  t.true(page.text.includes(OFFER.titleLv));
  t.true(page.text.includes('320,00 EUR'));
  t.false(page.text.includes('name="offerId"'), 'no Apply form without an approved account');
});

test.serial('bad catalogue queries are answered 400 naming the field', async (t) => {
  assertFields(t, await call('GET', '/api/offers?page=0'), ['page']);
  assertFields(t, await call('GET', '/api/offers?page=two'), ['page']);
  assertFields(t, await call('GET', '/api/offers?programme=imk%3B%20drop'), ['programme']);
  assertFields(t, await call('GET', `/api/offers?q=${'x'.repeat(101)}`), ['q']);
  assertFields(t, await call('GET', '/api/offers?sort=cost'), ['sort']);
});

let annaCase = '';
const ANNA = { code: '', name: '' };

test.serial('a learner applies: applied (201), the cost is earmarked, a repeated submit is the same application', async (t) => {
  Object.assign(ANNA, newPerson('Anna'));
  const { caseId } = await approvedCase(ANNA);
  annaCase = caseId;
  t.like(await study(ANNA, caseId), { stage: 'imk_approved', balanceCents: BALANCE, earmarkedCents: 0, canApply: true, waitingFor: 'learner', application: null });

  const body = { requestId: randomUUID(), offerId: OFFER.id, groupId: GROUP.id };
  const applied = await applyFor(ANNA, caseId, body);
  t.is(applied.status, 201, applied.text);
  t.like(applied.json, { outcome: 'applied', reason: null, earmarkedCents: COST, balanceCents: BALANCE - COST, stage: 'applied' });
  t.regex((applied.json as { message: string }).message, /submitted/);

  const view = await study(ANNA, caseId);
  t.like(view, { stage: 'applied', balanceCents: BALANCE - COST, earmarkedCents: COST, canApply: false, canWithdraw: true, waitingFor: 'provider' });
  t.like(view.application, { state: 'applied', offerId: OFFER.id, groupId: GROUP.id, earmarkedCents: COST });
  t.is(view.application!.groupFormationDeadline, new Date('2027-03-16T00:00:00+02:00').toISOString(), 'the whole of 15 March counts');

  // The same submit again (a double click) is answered the same, and applies once.
  const again = await applyFor(ANNA, caseId, body);
  t.is(again.status, 201, again.text);
  t.deepEqual(again.json, applied.json);
  t.is((await stack.db('applications').where({ caseId })).length, 1);
  t.is((await stack.db('cases').where({ id: caseId }).first()).balanceCents, BALANCE - COST);

  // A new application while one is open: 409 with a clear message.
  const second = assertError(t, await applyFor(ANNA, caseId, { requestId: randomUUID(), offerId: PYTHON.id, groupId: PYTHON.groups[0]!.id }), 409, 'wrong_stage');
  t.regex(second.message, /Not waiting for an application/);

  // The journey page shows the application, the money and the deadline.
  const page = await call('GET', `/learner/journeys/${caseId}?lang=en`, { token: await tokenOf(ANNA), html: true });
  t.is(page.status, 200);
  t.true(page.text.includes(OFFER.titleEn));
  t.true(page.text.includes('EUR 180.00'), 'balance');
  t.true(page.text.includes('EUR 320.00'), 'earmarked');
  t.true(page.text.includes('<strong>Who acts next:</strong> the education provider'), 'who acts next');
  t.is(page.headers.get('cache-control'), 'no-store');
  t.true(page.text.includes('Group-formation deadline'));
  t.true(page.text.includes('/withdrawal'), 'the withdrawal form');
});

test.serial('a refused application is a 409 saying why in words', async (t) => {
  const person = newPerson('Rūta');
  const { caseId } = await approvedCase(person);
  // The Python group with the Cybersecurity offer: the group does not belong to it.
  const error = assertError(t, await applyFor(person, caseId, { offerId: OFFER.id, groupId: PYTHON.groups[0]!.id }), 409, 'application_refused');
  t.regex(error.message, /not accepted: this group does not belong to the offer/);
  t.like(error.details[0], { outcome: 'refused', reason: 'group_not_in_offer' });
  const unknown = assertError(t, await applyFor(person, caseId, { offerId: randomUUID(), groupId: GROUP.id }), 409, 'application_refused');
  t.like(unknown.details[0], { reason: 'offer_not_found' });
  t.like(await study(person, caseId), { stage: 'imk_approved', balanceCents: BALANCE, earmarkedCents: 0, canApply: true });
});

test.serial("a learner cannot act on someone else's journey: 404 and nothing happens", async (t) => {
  t.truthy(annaCase, 'needs the apply test');
  const other = newPerson('Ivars');
  const token = await tokenOf(other);
  const before = await stack.db('caseEvents').where({ caseId: annaCase }).count<{ count: string }[]>('* as count');
  for (const [path, json] of [
    ['applications', { offerId: OFFER.id, groupId: GROUP.id }], ['withdrawal', {}],
    ['survey', { ratings: { knowledge_and_skills: 5, organisation_of_learning: 5, teachers: 5 } }],
  ] as const) {
    const answer = await call('POST', `/api/learner/journeys/${annaCase}/${path}`, { token, json });
    assertError(t, answer, 404, 'journey_not_found');
    t.false(answer.text.includes('IMK-'), 'no service case id leaks');
  }
  assertError(t, await call('GET', `/api/learner/journeys/${annaCase}/study`, { token }), 404, 'journey_not_found');
  t.deepEqual(await stack.db('caseEvents').where({ caseId: annaCase }).count<{ count: string }[]>('* as count'), before, 'no event was written');
  t.is((await study(ANNA, annaCase)).stage, 'applied');
  // Staff and providers use their own routes.
  assertError(t, await call('POST', `/api/learner/journeys/${annaCase}/withdrawal`, { token: await stack.staffToken(), json: {} }), 403, 'forbidden');
  assertError(t, await call('POST', `/api/learner/journeys/${annaCase}/applications`, { json: {} }), 401, 'not_logged_in');
});

test.serial('bad input to the new routes is answered 400 naming the field, never a stack trace', async (t) => {
  t.truthy(annaCase, 'needs the apply test');
  const token = await tokenOf(ANNA);
  const post = (path: string, json: unknown) => call('POST', path, { token, json });
  const base = `/api/learner/journeys/${annaCase}`;

  assertFields(t, await post('/api/learner/journeys/not-a-uuid/applications', { offerId: OFFER.id, groupId: GROUP.id }), ['caseId']);
  assertFields(t, await post('/api/learner/journeys/123/withdrawal', {}), ['caseId']);
  assertFields(t, await post('/api/learner/journeys/abc/survey', {}), ['caseId']);
  assertFields(t, await call('GET', '/api/learner/journeys/abc/study', { token }), ['caseId']);

  const missing = assertFields(t, await post(`${base}/applications`, { groupId: GROUP.id }), ['offerId']);
  t.regex(missing.message, /offerId: is required/);
  assertFields(t, await post(`${base}/applications`, {}), ['groupId', 'offerId']);
  const notUuid = assertFields(t, await post(`${base}/applications`, { offerId: 'cyber', groupId: 42 }), ['groupId', 'offerId']);
  t.regex(notUuid.message, /offerId: must be an offer id \(UUID\)/);
  assertFields(t, await post(`${base}/applications`, { offerId: OFFER.id, groupId: GROUP.id, requestId: 'again' }), ['requestId']);
  assertFields(t, await post(`${base}/applications`, { offerId: OFFER.id, groupId: GROUP.id, price: 0 }), ['price']);
  assertFields(t, await post(`${base}/applications`, [OFFER.id]), ['(body)']);

  assertFields(t, await post(`${base}/withdrawal`, { reason: 42 }), ['reason']);
  assertFields(t, await post(`${base}/withdrawal`, { reason: 'x'.repeat(501) }), ['reason']);

  const seven = assertFields(t, await post(`${base}/survey`, { ratings: { knowledge_and_skills: 5, organisation_of_learning: 4, teachers: 7 } }), ['ratings.teachers']);
  t.regex(seven.message, /from 1 to 5/);
  assertFields(t, await post(`${base}/survey`, { ratings: { teachers: 4.5 } }), ['ratings.teachers']);
  assertFields(t, await post(`${base}/survey`, { ratings: { teachers: '5' } }), ['ratings.teachers']);
  assertFields(t, await post(`${base}/survey`, { ratings: { catering: 5 } }), ['ratings']);
  assertFields(t, await post(`${base}/survey`, { ratings: 'great' }), ['ratings']);
  const unknownReason = assertFields(t, await post(`${base}/survey`, { reasons: ['no_time', 'bad_weather'] }), ['reasons.1']);
  t.regex(unknownReason.message, /must be one of/);
  assertFields(t, await post(`${base}/survey`, { reasons: 'no_time' }), ['reasons']);
  assertFields(t, await post(`${base}/survey`, { reasons: [] }), ['reasons']);
  assertFields(t, await post(`${base}/survey`, { reasons: ['other'], otherText: 5 }), ['otherText']);

  // Well-formed, but no survey is open yet: 409 with a message.
  const notYet = assertError(t, await post(`${base}/survey`, { ratings: { knowledge_and_skills: 5, organisation_of_learning: 4, teachers: 5 } }), 409, 'wrong_stage');
  t.regex(notYet.message, /No survey is open/);
  t.is((await study(ANNA, annaCase)).stage, 'applied', 'nothing changed');
});

test.serial('withdrawing an open application releases the earmark; a repeated submit is answered the same', async (t) => {
  t.truthy(annaCase, 'needs the apply test');
  const token = await tokenOf(ANNA);
  const body = { requestId: randomUUID(), reason: 'Atradu citu kursu' };
  const withdrawn = await call('POST', `/api/learner/journeys/${annaCase}/withdrawal`, { token, json: body });
  t.is(withdrawn.status, 200, withdrawn.text);
  t.deepEqual(withdrawn.json, { stage: 'awaiting_application' });
  t.like(await study(ANNA, annaCase), { stage: 'awaiting_application', balanceCents: BALANCE, earmarkedCents: 0, canApply: true, canWithdraw: false, application: { state: 'withdrawn' } });

  const again = await call('POST', `/api/learner/journeys/${annaCase}/withdrawal`, { token, json: body });
  t.is(again.status, 200, again.text);
  t.deepEqual(again.json, withdrawn.json);
  const nothing = assertError(t, await call('POST', `/api/learner/journeys/${annaCase}/withdrawal`, { token, json: {} }), 409, 'wrong_stage');
  t.regex(nothing.message, /Nothing to withdraw/);
  t.is((await stack.db('caseEvents').where({ caseId: annaCase, kind: 'application_withdrawn' })).length, 1);
});

test.serial('after the provider reports completion the learner rates the training 1-5 through the API', async (t) => {
  const person = newPerson('Kārlis');
  const { caseId, handle } = await approvedCase(person);
  const freeBefore = (await offers()).offers.find((o) => o.offerId === OFFER.id)!.groups.find((g) => g.groupId === GROUP.id)!.freePlaces;
  // Completion may be reported only from the group's end date: the journey takes the dates at enrolment, so the seeded
  // group is moved into the past for this learner's application and enrolment, then back.
  await stack.db('offerGroups').where({ id: GROUP.id }).update({ startsOn: '2026-09-07', endsOn: '2026-11-27' });
  await enrolled(person, caseId, handle);
  await stack.db('offerGroups').where({ id: GROUP.id }).update({ startsOn: GROUP.startsOn, endsOn: GROUP.endsOn });
  t.like(await study(person, caseId), { stage: 'studying', canWithdraw: true, waitingFor: 'provider', application: { state: 'enrolled' } });
  const freeAfter = (await offers()).offers.find((o) => o.offerId === OFFER.id)!.groups.find((g) => g.groupId === GROUP.id)!.freePlaces;
  t.is(freeAfter, freeBefore - 1, 'the catalogue counts the enrolled learner');

  await handle.executeUpdate(outcomeUpdate, { args: [{ outcome: 'completed', actor: provider }] });
  await untilStage(stack.db, handle, caseId, 'completed');
  t.like(await study(person, caseId), { stage: 'completed', waitingFor: 'learner', survey: { kind: 'completion', open: true, answered: false } });
  const page = await call('GET', `/learner/journeys/${caseId}`, { token: await tokenOf(person), html: true });
  t.true(page.text.includes('name="rating_teachers"'), 'the survey form is on the journey page');
  t.true(page.text.includes('Pasniedzēju darbs'));

  const token = await tokenOf(person);
  const url = `/api/learner/journeys/${caseId}/survey`;
  // The journey knows a completer must rate every aspect, and that reasons are for dropouts.
  const missing = assertFields(t, await call('POST', url, { token, json: { ratings: { knowledge_and_skills: 5, organisation_of_learning: 4 } } }), ['ratings.teachers']);
  t.regex(missing.message, /ratings\.teachers: is required/);
  assertFields(t, await call('POST', url, { token, json: { ratings: { knowledge_and_skills: 5, organisation_of_learning: 4, teachers: 5 }, reasons: ['no_time'] } }), ['reasons']);

  const body = { requestId: randomUUID(), ratings: { knowledge_and_skills: 5, organisation_of_learning: 4, teachers: 5 }, otherText: 'Paldies!' };
  const answered = await call('POST', url, { token, json: body });
  t.is(answered.status, 200, answered.text);
  t.deepEqual(answered.json, { stage: 'closed' });
  t.like(await stack.db('surveyAnswers').where({ caseId }).first(), { kind: 'completion', ratings: body.ratings, otherText: 'Paldies!' });
  t.like(await study(person, caseId), { stage: 'closed', waitingFor: 'nobody', survey: { answered: true, open: false } });
  assertError(t, await call('POST', url, { token, json: body }), 409, 'already_answered');
});

test.serial('a learner who withdraws during study is asked for reasons; "other" needs words', async (t) => {
  const person = newPerson('Laura');
  const { caseId, handle } = await approvedCase(person);
  await enrolled(person, caseId, handle);
  const token = await tokenOf(person);

  const withdrawn = await call('POST', `/api/learner/journeys/${caseId}/withdrawal`, { token, json: { reason: 'Nav laika' } });
  t.is(withdrawn.status, 200, withdrawn.text);
  t.deepEqual(withdrawn.json, { stage: 'dropped_out' });
  await untilStage(stack.db, handle, caseId, 'dropped_out');
  t.like(await study(person, caseId), { stage: 'dropped_out', balanceCents: BALANCE - COST, survey: { kind: 'dropout', open: true } });

  const url = `/api/learner/journeys/${caseId}/survey`;
  assertFields(t, await call('POST', url, { token, json: { reasons: ['no_time', 'other'] } }), ['otherText']);
  assertFields(t, await call('POST', url, { token, json: { ratings: { knowledge_and_skills: 3, organisation_of_learning: 3, teachers: 3 } } }), ['reasons']);

  // Through the page form: a bad answer is shown again with the message; a good one redirects with thanks.
  const form = { requestId: randomUUID(), reason_no_time: 'on', reason_other: 'on', otherText: '' };
  const bad = await call('POST', `/learner/journeys/${caseId}/survey`, { token, form, html: true });
  t.is(bad.status, 400);
  t.true(bad.text.includes('otherText-error'), 'the message is next to the field');
  t.true(bad.text.includes('checked'), 'the chosen reasons stay chosen');
  t.regex(bad.text, /class="error-summary"[\s\S]*<a href="#otherText">/, 'the summary links to the field');
  const noReason = await call('POST', `/learner/journeys/${caseId}/survey`, { token, form: { requestId: randomUUID(), otherText: '' }, html: true });
  t.is(noReason.status, 400);
  t.regex(noReason.text, /class="error-summary"[\s\S]*<a href="#reasons">/, 'no reason chosen: the summary links to the reasons');
  t.true(noReason.text.includes('<input type="checkbox" id="reasons" '), 'and the link lands on the first of them');
  const good = await call('POST', `/learner/journeys/${caseId}/survey`, { token, form: { ...form, otherText: 'Mainījās darba grafiks' }, html: true });
  t.is(good.status, 302, good.text);
  t.is(good.headers.get('location'), `/learner/journeys/${caseId}?notice=survey_answered`);
  t.like(await stack.db('surveyAnswers').where({ caseId }).first(), { kind: 'dropout', reasons: ['no_time', 'other'], otherText: 'Mainījās darba grafiks' });
  const page = await call('GET', good.headers.get('location')!, { token, html: true });
  t.true(page.text.includes('Paldies par atbildēm aptaujā!'));
});

test.serial('the page forms: Apply from the catalogue redirects to the journey page showing the outcome', async (t) => {
  const person = newPerson('Pēteris');
  const { caseId } = await approvedCase(person);
  const token = await tokenOf(person);
  const catalogue = await call('GET', '/catalogue', { token, html: true });
  t.true(catalogue.text.includes(`action="/learner/journeys/${caseId}/applications"`), 'an Apply form per group for the approved account');
  const requestIds = [...catalogue.text.matchAll(/name="requestId" value="([0-9a-f-]{36})"/g)].map((m) => m[1]);
  t.true(requestIds.length >= 3, 'one form per group');
  t.is(new Set(requestIds).size, requestIds.length, 'each Apply form has its own request id');
  const requestId = requestIds[0];

  // The Apply form leads to the confirmation page (test/api/confirmations.test.ts); its form (confirmed=yes) applies.
  const form = { requestId: requestId!, offerId: PYTHON.id, groupId: PYTHON.groups[0]!.id, confirmed: 'yes' };
  const posted = await call('POST', `/learner/journeys/${caseId}/applications`, { token, form, html: true });
  t.is(posted.status, 303, posted.text);
  t.is(posted.headers.get('location'), `/learner/journeys/${caseId}?notice=applied`);
  // A second click on the same form is the same application.
  const twice = await call('POST', `/learner/journeys/${caseId}/applications`, { token, form, html: true });
  t.is(twice.headers.get('location'), `/learner/journeys/${caseId}?notice=applied`);
  t.is((await stack.db('applications').where({ caseId })).length, 1);

  const page = await call('GET', `/learner/journeys/${caseId}?notice=applied`, { token, html: true });
  t.true(page.text.includes('Jūsu pieteikums ir iesniegts'));
  t.true(page.text.includes(PYTHON.titleLv));
  t.true(page.text.includes('260,00 EUR'), 'the balance after the earmark');

  // A refusal comes back as words on the journey page.
  const other = newPerson('Olga');
  const otherCase = await approvedCase(other);
  const refused = await call('POST', `/learner/journeys/${otherCase.caseId}/applications`, {
    token: await tokenOf(other), form: { offerId: OFFER.id, groupId: PYTHON.groups[0]!.id, confirmed: 'yes' }, html: true,
  });
  t.is(refused.headers.get('location'), `/learner/journeys/${otherCase.caseId}?notice=refused&reason=group_not_in_offer`);
  const refusedPage = await call('GET', refused.headers.get('location')!, { token: await tokenOf(other), html: true });
  t.true(refusedPage.text.includes('šī grupa nepieder piedāvājumam'));
});
