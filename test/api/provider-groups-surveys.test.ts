import { randomUUID } from 'node:crypto';
import test from 'ava';
import { SAMPLE_COMPANIES, SAMPLE_INSTITUTIONS } from '../../dev/seed-institutions';
import { OFFER_DOCUMENT_KINDS } from '../../dev/seed-calls';
import { demoOffers } from '../../dev/seed-offers';
import { DROPOUT_REASONS, type DropoutReason, type SurveyAspect } from '../../domain/applications';
import { createCallClosingIn } from '../helpers/calls';
import { insertCompleters, insertOffer } from '../helpers/catalogue';
import { assertError, fieldsOf, httpClient } from '../helpers/http';
import { eventually } from '../helpers/journeys';
import { multipartClient, SAMPLE_EDOC, SAMPLE_PDF } from '../helpers/multipart';
import { startTestStack, type TestStack } from '../helpers/stack';

// Over HTTP, after the evaluation: an offer taken through the real workflow (draft, documents, submission, the
// deadline, the staff decision) gets groups with their rules, the provider downloads its own documents, and once
// published the groups are in the public catalogue. Then the provider's survey results from answers in the database,
// and the OpenAPI document's description of the multipart routes.

let stack: TestStack;
const call = httpClient(() => stack.appUrl);
const upload = multipartClient(() => stack.appUrl);

interface ProviderUser { userId: string; name: string; providerId: string; providerRole: 'admin' | 'staff' }
let demoAdmin: ProviderUser;
let otherAdmin: ProviderUser;

const tokenOf = (u: ProviderUser) => stack.signIn({ role: 'provider', subject: u.userId, name: u.name, providerId: u.providerId, providerRole: u.providerRole });
const as = async (u: ProviderUser, method: string, path: string, json?: unknown) => call(method, path, { token: await tokenOf(u), ...(json === undefined ? {} : { json }) });

test.before(async () => {
  stack = await startTestStack();
  const demo = await stack.db('users').where({ username: 'provider' }).first<{ id: string; displayName: string; providerId: string }>();
  demoAdmin = { userId: demo.id, name: demo.displayName, providerId: demo.providerId, providerRole: 'admin' };
  const [second] = await stack.db('providers').insert({
    name: 'Kurzemes digitālo prasmju skola (paraugs)', registrationNumber: SAMPLE_COMPANIES.second,
    educationRegistrationNumber: SAMPLE_INSTITUTIONS.second, status: 'approved',
  }).returning<{ id: string }[]>('id');
  const [user] = await stack.db('users').insert({
    username: `u-${randomUUID().slice(0, 8)}`, passwordHash: 'not-a-login', displayName: 'Olga Citrona', role: 'provider', providerId: second!.id, providerRole: 'admin',
  }).returning<{ id: string }[]>('id');
  otherAdmin = { userId: user!.id, name: 'Olga Citrona', providerId: second!.id, providerRole: 'admin' };
});
test.after.always(async () => { await stack?.stop(); });

// ---------------------------------------------------------------------------------------------------------------
// Groups on an approved offer

const PLACES = [{ address: 'Rīga, Brīvības iela 1 (paraugs)' }, { address: 'Valmiera, Rīgas iela 10 (paraugs)' }];
const FIELDS = {
  competence: 'Kiberdrošības tehniķis', descriptionLv: 'Tīklu un sistēmu aizsardzības pamati.', descriptionEn: 'Basics of protecting networks and systems.',
  prerequisitesLv: 'Datorprasmes; Windows vai Linux.', prerequisitesEn: 'Computer skills; Windows or Linux.', language: 'lv',
  digcompLevel: 5, digitalSharePercent: 80, hoursTheory: 80, hoursPractice: 80, licenceNumber: 'P-00001 (paraugs)',
  coefficientCode: 'ICT-DB-NET', statedCostCents: 32_000, places: PLACES,
};
// Each kind gets different bytes, so a download of the wrong document cannot pass for the right one.
const DOCUMENTS: Record<string, { filename: string; content: Buffer; contentType: string }> = {
  application_form: { filename: 'pieteikums.pdf', content: Buffer.concat([SAMPLE_PDF, Buffer.from('% application form\n')]), contentType: 'application/pdf' },
  experience_declaration: { filename: 'pieredzes apliecinājums.edoc', content: SAMPLE_EDOC, contentType: 'application/vnd.etsi.asic-e+zip' },
  curriculum: { filename: 'programma.pdf', content: Buffer.concat([SAMPLE_PDF, Buffer.from('% curriculum\n')]), contentType: 'application/pdf' },
};

interface OfferView {
  id: string; state: string; teachingPeriod: { from: string; until: string } | null;
  groups: { id: string; place: string; startsOn: string; endsOn: string; schedule: string | null; capacity: number; enrolled: number; freePlaces: number }[];
}

let offerId: string;
let callPhases: Awaited<ReturnType<typeof createCallClosingIn>>['phases'];
let period: { from: string; until: string };
let groupId: string;

const addDays = (day: string, n: number) => new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
const offerState = async () => ((await stack.db('offers').where({ id: offerId }).first<{ state: string }>('state'))?.state);

test.serial('an offer is drafted, filled, documented and submitted over HTTP; at the deadline the agency approves it', async (t) => {
  // Submission closes in 12 s; each later phase 5 s after the one before, so publication follows 10 s after the
  // deadline and teaching ends (the offer closes) only minutes later.
  const { callId, phases } = await createCallClosingIn(stack.db, 12_000, 5_000);
  callPhases = phases;
  const created = await as(demoAdmin, 'POST', '/api/provider/offers', { callId, titleLv: 'Tīklu drošības pamati (paraugs)', titleEn: 'Network security basics (sample)' });
  t.is(created.status, 201, created.text);
  offerId = (created.json as { id: string }).id;
  t.is((await as(demoAdmin, 'POST', `/api/provider/offers/${offerId}`, FIELDS)).status, 200);
  const token = await tokenOf(demoAdmin);
  for (const kind of OFFER_DOCUMENT_KINDS) {
    const d = DOCUMENTS[kind]!;
    const answer = await upload(`/api/provider/offers/${offerId}/documents/${kind}`, {}, [{ field: 'file', ...d }], { token });
    t.is(answer.status, 201, answer.text);
  }
  const submitted = await as(demoAdmin, 'POST', `/api/provider/offers/${offerId}/submit`, { requestId: randomUUID() });
  t.is(submitted.status, 200, submitted.text);

  // Groups wait for the approval; the page says so in its language.
  const early = { place: PLACES[0]!.address, startsOn: '2027-01-11', endsOn: '2027-01-12', schedule: 'P 18:00', capacity: '5' };
  assertError(t, await as(demoAdmin, 'POST', `/api/provider/offers/${offerId}/groups`, early), 409, 'offer_not_approved');
  const earlyPage = await call('POST', `/provider/offers/${offerId}/groups`, { token, html: true, form: early });
  t.is(earlyPage.status, 409);
  t.regex(earlyPage.text, /Grupas var pievienot, kad piedāvājums ir apstiprināts/);

  const task = await eventually(
    () => stack.db('tasks').where({ offerId, state: 'open', type: 'evaluate-offer' }).first<{ id: string; facts: { checklist: string[] } }>(),
    'the evaluation task', 30_000,
  );
  const decided = await call('POST', `/api/staff/tasks/${task.id}/decision`, {
    token: await stack.staffToken(),
    json: { decision: 'approve', checklist: Object.fromEntries(task.facts.checklist.map((code) => [code, true])) },
  });
  t.is(decided.status, 200, decided.text);
  t.like(decided.json, { stage: 'approved' });
  t.is(await offerState(), 'approved');
});

test.serial('a group is added to the approved offer at one of its places, within the call\'s teaching period', async (t) => {
  const offer = (await as(demoAdmin, 'GET', `/api/provider/offers/${offerId}`)).json as OfferView;
  t.is(offer.state, 'approved', 'still before the publication time');
  t.truthy(offer.teachingPeriod);
  period = offer.teachingPeriod!;
  t.is(period.from, new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Riga' }).format(callPhases.groupFormationAt));

  // Sent twice at once with one request id (a double click): one group.
  const body = { place: PLACES[1]!.address, startsOn: period.from, endsOn: period.until, schedule: 'Otrdienās un ceturtdienās 18:00-21:00', capacity: '12', requestId: randomUUID() };
  const [added, again] = await Promise.all([0, 1].map(() => as(demoAdmin, 'POST', `/api/provider/offers/${offerId}/groups`, body)));
  t.is(added.status, 201, added.text);
  t.is(again.status, 201, again.text);
  t.is((again.json as { id: string }).id, (added.json as { id: string }).id);
  t.is((await stack.db('offerGroups').where({ offerId })).length, 1, 'one group stored');
  t.like(added.json, { place: PLACES[1]!.address, startsOn: period.from, endsOn: period.until, capacity: 12, enrolled: 0, freePlaces: 12 });
  groupId = (added.json as { id: string }).id;
  t.like(await stack.db('offerGroups').where({ id: groupId }).first(), { offerId, capacity: 12, enrolled: 0, schedule: 'Otrdienās un ceturtdienās 18:00-21:00' });
});

test.serial('each broken group rule is a 400 naming its field, and nothing is stored', async (t) => {
  const valid = { place: PLACES[0]!.address, startsOn: period.from, endsOn: period.until, schedule: 'Sestdienās 10:00', capacity: 10 };
  const cases: Array<[string, Record<string, unknown>, string[]]> = [
    ['a place that is not one of the offer\'s', { place: 'Ogre, Brīvības iela 9' }, ['place']],
    ['starting before groups are formed', { startsOn: addDays(period.from, -1) }, ['startsOn']],
    ['ending after teaching ends', { endsOn: addDays(period.until, 1) }, ['endsOn']],
    ['ending before it starts', { startsOn: period.until, endsOn: addDays(period.until, -1) }, ['endsOn']],
    ['no places', { capacity: 0 }, ['capacity']],
    ['more than 100 places', { capacity: 101 }, ['capacity']],
    ['a fraction of a place', { capacity: 2.5 }, ['capacity']],
    ['a day that does not exist', { startsOn: '2027-02-30' }, ['startsOn']],
    ['a day not written as YYYY-MM-DD', { endsOn: '30.06.2027' }, ['endsOn']],
    ['no schedule', { schedule: ' ' }, ['schedule']],
    ['an unknown field', { room: '101' }, ['room']],
  ];
  for (const [title, change, fields] of cases) {
    const answer = await as(demoAdmin, 'POST', `/api/provider/offers/${offerId}/groups`, { ...valid, ...change });
    t.deepEqual(fieldsOf(assertError(t, answer, 400, 'invalid_request')), fields, `${title}: ${answer.text}`);
  }
  const missing = await as(demoAdmin, 'POST', `/api/provider/offers/${offerId}/groups`, {});
  t.deepEqual(fieldsOf(assertError(t, missing, 400, 'invalid_request')).sort(), ['capacity', 'endsOn', 'place', 'schedule', 'startsOn']);
  t.is((await stack.db('offerGroups').where({ offerId })).length, 1);
});

test.serial('the page form shows a broken rule next to its field', async (t) => {
  const page = await call('POST', `/provider/offers/${offerId}/groups`, {
    token: await tokenOf(demoAdmin), html: true,
    form: { place: PLACES[0]!.address, startsOn: period.from, endsOn: period.until, schedule: 'Sestdienās', capacity: '0' },
  });
  t.is(page.status, 400);
  t.regex(page.text, /id="group-capacity-error"/);
  t.regex(page.text, /id="group-capacity"[^>]*aria-invalid="true"/);
  t.is((await stack.db('offerGroups').where({ offerId })).length, 1);
});

test.serial('another provider cannot add a group to the offer, nor see it', async (t) => {
  const answer = await as(otherAdmin, 'POST', `/api/provider/offers/${offerId}/groups`, { place: PLACES[0]!.address, startsOn: period.from, endsOn: period.until, schedule: 'Sestdienās', capacity: 5 });
  assertError(t, answer, 404, 'offer_not_found');
  const page = await call('POST', `/provider/offers/${offerId}/groups`, {
    token: await tokenOf(otherAdmin), html: true, form: { place: PLACES[0]!.address, startsOn: period.from, endsOn: period.until, schedule: 'Sestdienās', capacity: '5' },
  });
  t.is(page.status, 404);
  t.is((await stack.db('offerGroups').where({ offerId })).length, 1);
});

test.serial('the group is in the provider\'s offer (API and page) with its free places', async (t) => {
  const offer = (await as(demoAdmin, 'GET', `/api/provider/offers/${offerId}`)).json as OfferView;
  t.deepEqual(offer.groups.map((g) => [g.id, g.place, g.capacity, g.enrolled, g.freePlaces]), [[groupId, PLACES[1]!.address, 12, 0, 12]]);
  const page = await call('GET', `/provider/offers/${offerId}`, { token: await tokenOf(demoAdmin), html: true });
  t.is(page.status, 200);
  t.regex(page.text, /id="groups"/);
  t.regex(page.text, /Valmiera, Rīgas iela 10 \(paraugs\)<\/td>/);
  t.regex(page.text, /<td>12 no 12<\/td>/);
  t.regex(page.text, /Otrdienās un ceturtdienās 18:00-21:00/);
});

test.serial('the provider downloads each of its own documents as stored; another provider gets 404', async (t) => {
  const token = await tokenOf(demoAdmin);
  const page = await call('GET', `/provider/offers/${offerId}`, { token, html: true });
  for (const kind of OFFER_DOCUMENT_KINDS) {
    const d = DOCUMENTS[kind]!;
    t.true(page.text.includes(`href="/provider/offers/${offerId}/documents/${kind}" download`), `the page links the ${kind}`);
    const res = await fetch(`${stack.appUrl}/provider/offers/${offerId}/documents/${kind}`, { headers: { authorization: `Bearer ${token}` } });
    t.is(res.status, 200, kind);
    t.deepEqual(Buffer.from(await res.arrayBuffer()), d.content, `${kind}: the bytes uploaded`);
    t.is(res.headers.get('content-type'), d.contentType);
    t.regex(res.headers.get('content-disposition') ?? '', /^attachment; filename="/);
    t.true((res.headers.get('content-disposition') ?? '').includes(`filename*=UTF-8''${encodeURIComponent(d.filename)}`));
    t.is(res.headers.get('cache-control'), 'private, no-store');
  }
  const other = await tokenOf(otherAdmin);
  for (const path of [
    `/provider/offers/${offerId}/documents/curriculum`, // another provider's offer
    `/provider/offers/${randomUUID()}/documents/curriculum`, // no such offer
    `/provider/offers/not-an-id/documents/curriculum`,
  ]) {
    const res = await call('GET', path, { token: other });
    t.is(res.status, 404, path);
    t.false(res.text.includes('%PDF'), 'no bytes of the document');
  }
  assertError(t, await call('GET', `/provider/offers/${offerId}/documents/passport`, { token }), 404, 'document_not_found');
  t.is((await call('GET', `/provider/offers/${offerId}/documents/curriculum`)).status, 401);
});

test.serial('once published (at the call\'s publication time) the group is in the public catalogue', async (t) => {
  // Not in the catalogue while only approved.
  if ((await offerState()) === 'approved') t.is((await call('GET', `/api/catalogue/${offerId}`)).status, 404);
  await eventually(async () => ((await offerState()) === 'published' ? true : null), 'the offer to be published', 30_000);
  const row = await stack.db('offers').where({ id: offerId }).first<{ publishedAt: Date; published: boolean }>();
  t.true(row.published);
  t.true(row.publishedAt.getTime() >= callPhases.publicationAt.getTime(), 'not before the publication time');

  const answer = await call('GET', `/api/catalogue/${offerId}`);
  t.is(answer.status, 200, answer.text);
  const offer = answer.json as { groups: { groupId: string; place: string; startsOn: string; endsOn: string; schedule: string; capacity: number; freePlaces: number }[] };
  t.deepEqual(offer.groups, [{
    groupId, place: PLACES[1]!.address, startsOn: period.from, endsOn: period.until, schedule: 'Otrdienās un ceturtdienās 18:00-21:00',
    capacity: 12, enrolled: 0, freePlaces: 12,
  }] as unknown as typeof offer.groups);

  // Groups can still be added to a published offer, and show at once.
  const more = await as(demoAdmin, 'POST', `/api/provider/offers/${offerId}/groups`, { place: PLACES[0]!.address, startsOn: period.from, endsOn: period.until, schedule: 'Sestdienās 10:00-14:00', capacity: 8 });
  t.is(more.status, 201, more.text);
  const again = (await call('GET', `/api/catalogue/${offerId}`)).json as typeof offer;
  t.deepEqual(again.groups.map((g) => [g.place, g.freePlaces]).sort(), [[PLACES[0]!.address, 8], [PLACES[1]!.address, 12]].sort());
});

// ---------------------------------------------------------------------------------------------------------------
// Survey results

type Ratings = Partial<Record<SurveyAspect, number>>;
let surveyCounter = 0;

/** A learner, a closed case and an ended application in a group, and the survey answer of that application. */
async function insertAnswer(target: { offerId: string; groupId: string }, answer: { kind: 'completion'; ratings: Ratings } | { kind: 'dropout'; reasons: DropoutReason[]; otherText?: string }) {
  surveyCounter += 1;
  const n = surveyCounter;
  const [learner] = await stack.db('learners').insert({
    personCode: `31${String(n).padStart(4, '0')}-${String(Math.floor(Math.random() * 100_000)).padStart(5, '0')}`,
    firstName: 'Aptaujātais', lastName: `Nr${n}`, email: `survey${n}-${randomUUID().slice(0, 6)}@example.lv`,
    language: 'lv', termsVersion: 'test', termsAcceptedAt: new Date(),
  }).returning<{ id: string }[]>('id');
  const caseId = randomUUID();
  await stack.db('cases').insert({
    id: caseId, serviceCaseId: `TEST-S-${caseId.slice(0, 13)}`, workflowId: `test-survey:${caseId}`,
    learnerId: learner!.id, programme: 'IMK', stage: 'closed', channel: 'e-service', closedAt: new Date(),
  });
  const applicationId = randomUUID();
  await stack.db('applications').insert({
    id: applicationId, caseId, attempt: 1, offerId: target.offerId, groupId: target.groupId,
    state: answer.kind === 'completion' ? 'completed' : 'dropped_out', costCents: 32_000, spentCents: 32_000,
    actorRole: 'learner', channel: 'e-service', enrolledAt: new Date(), endedAt: new Date(),
  });
  await stack.db('surveyAnswers').insert({
    caseId, applicationId, kind: answer.kind,
    ratings: JSON.stringify(answer.kind === 'completion' ? answer.ratings : {}),
    reasons: JSON.stringify(answer.kind === 'dropout' ? answer.reasons : []),
    otherText: answer.kind === 'dropout' ? answer.otherText ?? null : null,
    actorRole: 'learner', channel: 'e-service',
  });
}

const rate = (k: number, o: number, t: number): Ratings => ({ knowledge_and_skills: k, organisation_of_learning: o, teachers: t });

interface Summary {
  completionAnswers: number; dropoutAnswers: number; minRespondents: number;
  ratingsSuppressed: boolean; averages?: Record<string, number | null>; ratingCounts?: Record<string, number>;
  reasonsSuppressed: boolean; reasons?: Record<string, number>;
}
interface SurveyResults {
  institution: Summary;
  offers: { offerId: string; title: { lv: string; en: string }; summary: Summary }[];
  groups: { groupId: string; offerId: string; place: string; startsOn: string; endsOn: string; summary: Summary }[];
}

const [OFFER_A, OFFER_B] = demoOffers;
const [GROUP_A1, GROUP_A2] = OFFER_A!.groups;
const GROUP_B1 = OFFER_B!.groups[0]!;
let otherOffer: { offerId: string; groupIds: string[] };

/** The reason counts that are not zero. */
const chosen = (s: Summary) => Object.fromEntries(Object.entries(s.reasons ?? {}).filter(([, n]) => n > 0));
/** A scope whose ratings and reasons are left out: only the counts and why. */
const suppressed = (completionAnswers: number, dropoutAnswers: number): Summary => ({
  completionAnswers, dropoutAnswers, minRespondents: 5, ratingsSuppressed: true, reasonsSuppressed: true,
});

// The demo provider's answers: group A1 has 5 of each kind (shown), group A2 4 of each (hidden), offer B one of
// each (hidden). Offer A (9) is hidden too: the institution (10) minus offer A would be offer B's single answer.
test.serial('survey results: ratings and reasons of 5 respondents are shown, of 4 left out with the reason; no scope is the difference of shown ones', async (t) => {
  const a1 = { offerId: OFFER_A!.id, groupId: GROUP_A1!.id };
  const a2 = { offerId: OFFER_A!.id, groupId: GROUP_A2!.id };
  const b1 = { offerId: OFFER_B!.id, groupId: GROUP_B1.id };
  for (const ratings of [rate(5, 4, 3), rate(4, 4, 5), rate(5, 5, 5), rate(4, 3, 4), rate(2, 4, 4)]) await insertAnswer(a1, { kind: 'completion', ratings });
  for (const reasons of [['no_time', 'hard_to_learn'], ['no_time'], ['personal_reasons'], ['no_time'], ['other']] as DropoutReason[][]) {
    await insertAnswer(a1, { kind: 'dropout', reasons, ...(reasons.includes('other') ? { otherText: 'Pārcēlos uz citu pilsētu' } : {}) });
  }
  for (let i = 0; i < 4; i += 1) {
    await insertAnswer(a2, { kind: 'completion', ratings: rate(3, 2, 4) });
    await insertAnswer(a2, { kind: 'dropout', reasons: ['teachers'] });
  }
  await insertAnswer(b1, { kind: 'completion', ratings: rate(1, 5, 5) });
  await insertAnswer(b1, { kind: 'dropout', reasons: ['lost_motivation'] });
  // Another provider's answers, with ratings and a reason the demo provider has none of: never in its results.
  otherOffer = await insertOffer(stack.db, {
    providerId: otherAdmin.providerId, titleLv: 'Citas skolas kurss (paraugs)', titleEn: 'Another school\'s course (sample)',
    groups: [{ place: 'Liepāja, Graudu iela 20 (paraugs)', startsOn: '2027-03-01', endsOn: '2027-04-01', capacity: 10 }],
  });
  const x1 = { offerId: otherOffer.offerId, groupId: otherOffer.groupIds[0]! };
  for (let i = 0; i < 4; i += 1) await insertAnswer(x1, { kind: 'completion', ratings: rate(1, 1, 1) });
  await insertAnswer(x1, { kind: 'completion', ratings: rate(2, 1, 1) });
  await insertAnswer(x1, { kind: 'dropout', reasons: ['employer_support', 'no_time'] });

  const answer = await as(demoAdmin, 'GET', '/api/provider/surveys');
  t.is(answer.status, 200, answer.text);
  const results = answer.json as SurveyResults;

  // The institution: 10 completers (20 + 12 + 1 = 33 stars for knowledge), 10 dropouts.
  t.deepEqual(results.institution, {
    completionAnswers: 10, dropoutAnswers: 10, minRespondents: 5, ratingsSuppressed: false, reasonsSuppressed: false,
    averages: { knowledge_and_skills: 3.3, organisation_of_learning: 3.3, teachers: 4.2 },
    ratingCounts: { knowledge_and_skills: 10, organisation_of_learning: 10, teachers: 10 },
    reasons: { ...Object.fromEntries(DROPOUT_REASONS.map((r) => [r, 0])), no_time: 3, hard_to_learn: 1, personal_reasons: 1, other: 1, teachers: 4, lost_motivation: 1 },
  });

  const offer = (id: string) => results.offers.find((o) => o.offerId === id)!.summary;
  t.deepEqual(results.offers.map((o) => o.offerId).sort(), [OFFER_A!.id, OFFER_B!.id].sort(), 'only offers with answers, only its own');
  t.deepEqual(offer(OFFER_A!.id), suppressed(9, 9), 'offer A is left out: the institution minus it is one person');
  t.deepEqual(offer(OFFER_B!.id), suppressed(1, 1));
  t.is(results.offers.find((o) => o.offerId === OFFER_A!.id)!.title.lv, OFFER_A!.titleLv);

  const group = (id: string) => results.groups.find((g) => g.groupId === id)!;
  t.deepEqual(results.groups.map((g) => g.groupId).sort(), [GROUP_A1!.id, GROUP_A2!.id, GROUP_B1.id].sort());
  t.like(group(GROUP_A1!.id), { offerId: OFFER_A!.id, place: GROUP_A1!.place, startsOn: GROUP_A1!.startsOn, endsOn: GROUP_A1!.endsOn });
  t.like(group(GROUP_A1!.id).summary, {
    completionAnswers: 5, dropoutAnswers: 5, ratingsSuppressed: false, reasonsSuppressed: false,
    averages: { knowledge_and_skills: 4, organisation_of_learning: 4, teachers: 4.2 }, ratingCounts: { knowledge_and_skills: 5 },
  });
  t.deepEqual(chosen(group(GROUP_A1!.id).summary), { no_time: 3, hard_to_learn: 1, personal_reasons: 1, other: 1 });
  t.deepEqual(group(GROUP_A2!.id).summary, suppressed(4, 4), 'four respondents: no ratings, no reasons');
  t.deepEqual(group(GROUP_B1.id).summary, suppressed(1, 1));

  // Nothing of the other provider's in any scope.
  t.false(answer.text.includes(otherOffer.offerId));
  t.false(answer.text.includes(otherOffer.groupIds[0]!));
  t.false(answer.text.includes('employer_support":1'));
});

test.serial('the other provider sees only its own answers: 5 ratings shown, its single dropout\'s reasons not', async (t) => {
  const results = (await as(otherAdmin, 'GET', '/api/provider/surveys')).json as SurveyResults;
  t.like(results.institution, {
    completionAnswers: 5, dropoutAnswers: 1, ratingsSuppressed: false, reasonsSuppressed: true,
    averages: { knowledge_and_skills: 1.2, organisation_of_learning: 1, teachers: 1 },
  });
  t.false('reasons' in results.institution, 'one dropout\'s reasons are not given out');
  t.deepEqual(results.offers.map((o) => o.offerId), [otherOffer.offerId]);
  t.deepEqual(results.groups.map((g) => g.groupId), [otherOffer.groupIds[0]]);
});

test.serial('the page /provider/surveys shows the numbers of enough respondents and says why others are left out', async (t) => {
  const page = await call('GET', '/provider/surveys?lang=en', { token: await tokenOf(demoAdmin), html: true });
  t.is(page.status, 200);
  const text = page.text;
  t.true(text.includes(OFFER_A!.titleEn));
  t.false(text.includes('Citas skolas kurss') || text.includes('Another school'), 'not the other provider\'s offer');
  // The institution's section: the answer counts, the averages, and "no time" chosen three times.
  const institution = text.slice(text.indexOf('id="institution-heading"'), text.indexOf('aria-labelledby="offer-'));
  t.true(institution.includes('Answers: 10 from completers, 10 from dropouts.'), institution);
  for (const average of ['3.30 / 5', '4.20 / 5']) t.true(institution.includes(average), average);
  t.regex(institution, /<td>[^<]*time[^<]*<\/td><td>3<\/td>/i);
  // Group A1 (5) shows its averages; the offers and groups A2 and B1 say why they show none.
  t.true(text.includes('4.00 / 5') && text.includes('4.20 / 5'));
  t.false(text.includes('3.00 / 5') || text.includes('1.00 / 5'), 'no average of group A2 or offer B');
  const why = 'Ratings are shown once at least 5 people who completed the training have answered, so that no one';
  t.is(text.split(why).length - 1, 4, 'offers A and B, groups A2 and B1');
  t.is(text.split('Reasons for dropping out are shown once at least 5 people who dropped out have answered').length - 1, 4);
  const latvian = await call('GET', '/provider/surveys', { token: await tokenOf(demoAdmin), html: true });
  t.true(latvian.text.includes('Vērtējumi būs redzami, kad atbildējuši vismaz 5 cilvēki, kas pabeiguši mācības'));
  t.true(latvian.text.includes('Pārtraukšanas iemesli būs redzami, kad atbildējuši vismaz 5 cilvēki'));
});

test.serial('an offer whose rating the public catalogue shows counts as shown: the provider\'s page hides another offer instead', async (t) => {
  // The other provider: its first offer now has 6 answers; a published offer with 10 completers, 5 of whom answered
  // (its rating is public); and an offer with one answer. Institution 12 = 6 + 5 + 1: hiding the smallest shown
  // offer (the public one) would leave the single answer as the institution minus the other two, so the 6 goes.
  await insertAnswer({ offerId: otherOffer.offerId, groupId: otherOffer.groupIds[0]! }, { kind: 'completion', ratings: rate(3, 3, 3) });
  const rated = await insertOffer(stack.db, {
    providerId: otherAdmin.providerId, titleLv: 'Publiski novērtēts kurss (paraugs)', titleEn: 'Publicly rated course (sample)',
    groups: [{ place: 'Liepāja, Graudu iela 20 (paraugs)', startsOn: '2027-03-01', endsOn: '2027-04-01', capacity: 20 }],
  });
  await insertCompleters(stack.db, rated.offerId, rated.groupIds[0]!, 10, [1, 2, 3, 4, 5].map((n) => rate(n, n, n)));
  const single = await insertOffer(stack.db, {
    providerId: otherAdmin.providerId, titleLv: 'Mazs kurss (paraugs)', titleEn: 'Small course (sample)',
    groups: [{ place: 'Liepāja, Graudu iela 20 (paraugs)', startsOn: '2027-03-01', endsOn: '2027-04-01', capacity: 5 }],
  });
  await insertAnswer({ offerId: single.offerId, groupId: single.groupIds[0]! }, { kind: 'completion', ratings: rate(5, 1, 5) });
  t.like((await call('GET', `/api/catalogue/${rated.offerId}`)).json, { rating: { shown: true, answers: 5 } }, 'the public rating is shown');

  const results = (await as(otherAdmin, 'GET', '/api/provider/surveys')).json as SurveyResults;
  const offer = (id: string) => results.offers.find((o) => o.offerId === id)!.summary;
  t.like(results.institution, { completionAnswers: 12, ratingsSuppressed: false });
  t.like(offer(rated.offerId), { completionAnswers: 5, ratingsSuppressed: false, averages: { knowledge_and_skills: 3 } });
  t.like(offer(otherOffer.offerId), { completionAnswers: 6, ratingsSuppressed: true });
  t.like(offer(single.offerId), { completionAnswers: 1, ratingsSuppressed: true });
});

// ---------------------------------------------------------------------------------------------------------------
// The OpenAPI document of the multipart routes

interface MultipartOp { requestBody?: { required?: boolean; content: Record<string, { schema: { type: string; required?: string[]; properties: Record<string, { type?: string; format?: string }> } }> } }

test.serial('the OpenAPI document describes the upload routes as multipart/form-data with their file fields', async (t) => {
  const doc = (await call('GET', '/api/openapi.json')).json as { paths: Record<string, Record<string, MultipartOp>> };
  const registration = doc.paths['/api/providers/registrations']?.post?.requestBody;
  t.truthy(registration, 'the registration has a request body');
  t.deepEqual(Object.keys(registration!.content), ['multipart/form-data']);
  const reg = registration!.content['multipart/form-data']!.schema;
  t.is(reg.type, 'object');
  t.like(reg.properties.declaration, { type: 'string', format: 'binary' });
  for (const field of ['institutionName', 'companyRegistrationNumber', 'educationRegistrationNumber', 'email', 'password', 'language', 'declaration']) {
    t.true(reg.required?.includes(field), `${field} is required`);
    t.truthy(reg.properties[field], `${field} is described`);
  }

  const document = doc.paths['/api/provider/offers/{offerId}/documents/{kind}']?.post?.requestBody;
  t.truthy(document, 'the document upload has a request body');
  t.deepEqual(Object.keys(document!.content), ['multipart/form-data']);
  const doc2 = document!.content['multipart/form-data']!.schema;
  t.like(doc2.properties.file, { type: 'string', format: 'binary' });
  t.deepEqual(doc2.required, ['file']);

  // JSON routes are described as before.
  t.deepEqual(Object.keys((doc.paths['/api/provider/offers/{offerId}/groups']?.post?.requestBody?.content) ?? {}), ['application/json']);
});
