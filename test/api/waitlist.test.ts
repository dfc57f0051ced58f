import { randomUUID } from 'node:crypto';
import test from 'ava';
import { createApplicationActivities } from '../../activities/applications';
import { sweepPlaceOffers } from '../../lib/waitlist';
import type { Actor } from '../../domain/journey';
import { CURRENT_TERMS_VERSION } from '../../domain/terms';
import { insertOffer } from '../helpers/catalogue';
import { adultMaker, openTaskOf } from '../helpers/journeys';
import { assertError, httpClient } from '../helpers/http';
import { startTestStack, type TestStack } from '../helpers/stack';
import { learnerJourneyId } from '../../workflows/ids';
import { waitlistSweep } from '../../workflows/waitlist-sweep';
import { formatTime } from '../../activities/providers';

// Wait-list promotion (issue 15, item 11) against the real PostgreSQL (and the app over HTTP): a capped place that
// frees up goes to the first wait-listed learner, never to a newcomer ahead of the wait-list, never twice; a
// declined or expired offer moves to the next. Cases are seeded in SQL: the journey itself is not the point here.

let stack: TestStack;
const call = httpClient(() => stack.appUrl);
let offerId: string;
let groupId: string;

test.before(async () => {
  stack = await startTestStack();
  ({ offerId, groupIds: [groupId] } = await insertOffer(stack.db, { programme: 'IMK', costCents: 32_000, groups: [{ place: 'Rīga', startsOn: '2027-02-01', endsOn: '2027-04-30', capacity: 200 }] }));
  // IMK, open for applications, capped at 10 places, all 10 taken (seeded below).
  await stack.db('programmes').where({ code: 'IMK' })
    .update({ applicationCap: 10, applicationsReceived: 10, applicationsOpenAt: new Date(Date.now() - 86_400_000), applicationsCloseAt: null, overCap: 'waitlist' });
});
test.after.always(async () => { await stack?.stop(); });

let serial = 0;
interface Seeded { caseId: string; personCode: string; applicationId: string | null }

/** A learner with an open IMK case at `stage`, and (unless 'none') one application in `state`. */
async function seedLearner(stage: string, state: 'applied' | 'waitlisted' | 'none', opts: { createdAt?: Date; priority?: number } = {}): Promise<Seeded> {
  serial += 1;
  const personCode = `32${String(serial).padStart(4, '0')}-${String(70_000 + serial).padStart(5, '0')}`;
  const [learner] = await stack.db('learners').insert({
    personCode, firstName: 'Gaidītājs', lastName: `Nr${serial}`, email: `waitlist${serial}@example.lv`, language: 'en', termsVersion: 'test', termsAcceptedAt: new Date(),
  }).returning('id');
  const caseId = randomUUID();
  const applied = state === 'applied';
  await stack.db('cases').insert({
    id: caseId, serviceCaseId: `WL-${caseId.slice(0, 13)}`, workflowId: `test-waitlist:${caseId}`, learnerId: (learner as { id: string }).id,
    programme: 'IMK', stage, channel: 'e-service', balanceCents: applied ? 18_000 : 50_000,
  });
  if (state === 'none') return { caseId, personCode, applicationId: null };
  const applicationId = randomUUID();
  await stack.db('applications').insert({
    id: applicationId, caseId, attempt: 1, offerId, groupId, state, costCents: 32_000, earmarkedCents: applied ? 32_000 : 0,
    holdsPlace: applied, reason: applied ? null : 'cap_reached', actorRole: 'learner', channel: 'e-service',
    waitlistPriority: opts.priority ?? 0, createdAt: opts.createdAt ?? new Date(),
  });
  return { caseId, personCode, applicationId };
}

const learnerActor = (personCode: string): Actor => ({ role: 'learner', id: personCode, name: null, channel: 'e-service' });
const openOffers = async () => (await stack.db('placeOffers').where({ state: 'offered' }).orderBy('offeredAt').select<{ caseId: string }[]>('caseId')).map((o) => o.caseId);
const received = async () => (await stack.db('programmes').where({ code: 'IMK' }).first<{ applicationsReceived: number }>()).applicationsReceived;

const holders: Seeded[] = [];
const waiting: Seeded[] = [];
const newcomers: Seeded[] = [];

test.serial('20 concurrent releases and applications: each freed place goes to exactly one wait-listed learner, in order', async (t) => {
  const started = Date.now();
  for (let i = 0; i < 10; i += 1) holders.push(await seedLearner('applied', 'applied'));
  // Fifteen on the wait-list, a minute apart; the 13th has priority (a poor household in a "priority" programme).
  const since = Date.now() - 3_600_000;
  for (let i = 0; i < 15; i += 1) {
    waiting.push(await seedLearner('waitlisted', 'waitlisted', { createdAt: new Date(since + i * 60_000), priority: i === 12 ? 2 : 0 }));
  }
  for (let i = 0; i < 10; i += 1) newcomers.push(await seedLearner('awaiting_application', 'none'));

  const activities = createApplicationActivities({ db: stack.db });
  const releases = holders.map((h) => () => activities.releaseApplication({ applicationId: h.applicationId!, state: 'withdrawn', reason: 'test' }));
  const applications = newcomers.map((n) => () => activities.submitApplication({ caseId: n.caseId, attempt: 1, offerId, groupId, actor: learnerActor(n.personCode) }));
  // Interleaved, all at once.
  const all = releases.flatMap((release, i) => [release, applications[i]!]);
  const results = await Promise.all(all.map((run) => run()));

  const outcomes = results.filter((r): r is Awaited<ReturnType<typeof activities.submitApplication>> => 'outcome' in r).map((r) => r.outcome);
  t.deepEqual(outcomes, Array<string>(10).fill('waitlisted'), 'no newcomer took a freed place ahead of the wait-list');
  const expected = [waiting[12]!, ...waiting.slice(0, 9)].map((w) => w.caseId);
  const offered = await openOffers();
  t.deepEqual([...offered].sort(), [...expected].sort(), 'the first ten of the wait-list (priority first) were each offered one place');
  t.is(new Set(offered).size, 10, 'nobody was offered two places');
  t.is(await received(), 10, 'the places stay counted while offered');
  t.log(`seeding and 20 concurrent calls took ${Date.now() - started} ms`);
});

test.serial('an offered learner who applies takes the offered place; one without an offer is wait-listed again', async (t) => {
  const activities = createApplicationActivities({ db: stack.db });
  const lucky = waiting[0]!;
  const accepted = await activities.submitApplication({ caseId: lucky.caseId, attempt: 2, offerId, groupId, actor: learnerActor(lucky.personCode) });
  t.is(accepted.outcome, 'applied');
  t.is(accepted.earmarkedCents, 32_000);
  t.is((await stack.db('placeOffers').where({ caseId: lucky.caseId }).first<{ state: string }>()).state, 'accepted');
  t.is(await received(), 10, 'the offered place became the application\'s: nothing counted twice');
  const unlucky = waiting[14]!;
  const again = await activities.submitApplication({ caseId: unlucky.caseId, attempt: 2, offerId, groupId, actor: learnerActor(unlucky.personCode) });
  t.is(again.outcome, 'waitlisted');
});

test.serial('a declined offer moves to the next learner at once; an expired one at the sweep; the learner reads it on the API and page', async (t) => {
  const decliner = waiting[1]!;
  const token = await stack.tokenFor('learner', decliner.personCode, 'Gaidītājs');
  const before = await call('GET', `/api/learner/journeys/${decliner.caseId}/study`, { token });
  t.is(before.status, 200, before.text);
  const offer = (before.json as { placeOffer: { state: string; offerId: string; dueAt: string } }).placeOffer;
  t.is(offer.state, 'offered');
  t.is(offer.offerId, offerId);
  t.true(Date.parse(offer.dueAt) > Date.now() + 2 * 86_400_000);
  const page = await call('GET', `/learner/journeys/${decliner.caseId}?lang=en`, { token, html: true });
  t.is(page.status, 200);
  t.regex(page.text, /A place has been freed for you/);
  // The page's Decline button first shows what declining does; nothing moves until that page's form is sent.
  const first = await call('POST', `/learner/journeys/${decliner.caseId}/place-offer/decline`, { token, html: true, form: {} });
  t.is(first.headers.get('location'), `/learner/journeys/${decliner.caseId}/place-offer/decline/confirm`);
  const check = await call('GET', `${first.headers.get('location')!}?lang=en`, { token, html: true });
  t.regex(check.text, /<h1>Check before you decline the place<\/h1>/);
  t.regex(check.text, /The place goes at once to the next person on the waiting list/);
  t.is((await stack.db('placeOffers').where({ caseId: decliner.caseId }).first<{ state: string }>()).state, 'offered', 'not declined yet');

  const declined = await call('POST', `/api/learner/journeys/${decliner.caseId}/place-offer/decline`, { token, json: {} });
  t.is(declined.status, 200, declined.text);
  t.true((await openOffers()).includes(waiting[9]!.caseId), 'the next on the wait-list was offered the place');
  const twice = await call('POST', `/api/learner/journeys/${decliner.caseId}/place-offer/decline`, { token, json: {} });
  const error = assertError(t, twice, 409, 'no_place_offer');
  t.is((error.details[0] as { field: string }).field, 'placeOffer');
  const after = await call('GET', `/api/learner/journeys/${decliner.caseId}/study`, { token });
  t.is((after.json as { placeOffer: { state: string } }).placeOffer.state, 'declined');

  // The deadline passes for one learner: the sweep hands the place to the next one, exactly once.
  const late = waiting[2]!;
  await stack.db('placeOffers').where({ caseId: late.caseId }).update({ dueAt: new Date(Date.now() - 1_000) });
  t.is(await sweepPlaceOffers(stack.db), 1);
  t.is(await sweepPlaceOffers(stack.db), 0);
  t.is((await stack.db('placeOffers').where({ caseId: late.caseId }).first<{ state: string }>()).state, 'expired');
  t.true((await openOffers()).includes(waiting[10]!.caseId));
  t.is(await received(), 10);
});

test.serial('the sweep e-mails each open place offer once, in the learner\'s language, with the deadline', async (t) => {
  const sweep = () => stack.temporal.workflow.execute(waitlistSweep, { taskQueue: stack.taskQueue, workflowId: `waitlist-sweep:test-${randomUUID()}` });
  const open = await openOffers();
  t.true(open.length > 0);
  const first = await sweep();
  t.is(first.mailed, open.length, 'one e-mail per open offer');
  t.like(await sweep(), { expired: 0, mailed: 0 }, 'a second run sends nothing again');
  for (const caseId of open) {
    const learner = await stack.db('cases').join('learners', 'learners.id', 'cases.learnerId').where('cases.id', caseId).first<{ email: string }>('learners.email');
    const offer = await stack.db('placeOffers').where({ caseId, state: 'offered' }).first<{ dueAt: Date }>('dueAt');
    const mails = stack.mail.messages().filter((m) => m.to.includes(learner.email));
    t.is(mails.length, 1, learner.email);
    t.regex(mails[0]!.subject, /a place is offered to you/);
    t.true(mails[0]!.text.includes(formatTime(offer.dueAt.toISOString(), 'en')), 'the e-mail names the deadline');
  }
  const declined = waiting[1]!;
  t.false(open.includes(declined.caseId), 'a declined offer is not e-mailed');
});

// Co-payment (issue 15, item 12): an approved MN account shows what the programme pays and what the learner pays
// for an offer, in cents on the API and in words on the pages, never a "0,00 EUR" balance to pay with.
test.serial('co-payment: the offers API and pages show the programme\'s and the learner\'s part; the account page shows no empty balance', async (t) => {
  await stack.db('programmes').where({ code: 'MN' }).update({ applicationsOpenAt: new Date(Date.now() - 86_400_000), applicationsCloseAt: null, approval: 'manual' });
  const mn = await insertOffer(stack.db, {
    programme: 'MN', costCents: 32_001, titleEn: 'Co-paid networks course', groups: [{ place: 'Cēsis', startsOn: '2027-03-01', endsOn: '2027-05-31', capacity: 12 }],
  });
  await stack.db('offers').where({ id: mn.offerId }).update({ copayPercent: 25 });
  serial += 1;
  const personCode = `32${String(serial).padStart(4, '0')}-${String(80_000 + serial).padStart(5, '0')}`;
  const [learner] = await stack.db('learners').insert({
    personCode, firstName: 'Strādājošā', lastName: 'Līdzmaksātāja', email: `copay${serial}@example.lv`, language: 'en', termsVersion: 'test', termsAcceptedAt: new Date(),
  }).returning('id');
  const caseId = randomUUID();
  await stack.db('cases').insert({
    id: caseId, serviceCaseId: `MN-${caseId.slice(0, 13)}`, workflowId: `test-copay:${caseId}`, learnerId: (learner as { id: string }).id,
    programme: 'MN', stage: 'imk_approved', channel: 'e-service', balanceCents: 0,
  });
  const token = await stack.tokenFor('learner', personCode, 'Strādājošā Līdzmaksātāja');

  // 25 % of EUR 320.01 is 80.0025: the learner pays EUR 80.00, the programme the other EUR 240.01.
  const offers = await call('GET', '/api/offers?programme=MN', { token });
  t.is(offers.status, 200, offers.text);
  const listed = (offers.json as { offers: { offerId: string; share: { programmePaysCents: number; learnerPaysCents: number } }[] }).offers.find((o) => o.offerId === mn.offerId)!;
  t.deepEqual(listed.share, { programmePaysCents: 24_001, learnerPaysCents: 8_000 });
  const offersPage = await call('GET', '/catalogue?programme=MN&lang=en', { token, html: true });
  t.regex(offersPage.text, /The programme pays<\/dt><dd data-testid="programme-pays">EUR 240\.01</);
  t.regex(offersPage.text, /co-payment\)<\/dt><dd data-testid="learner-pays">EUR 80\.00</);

  const study = await call('GET', `/api/learner/journeys/${caseId}/study`, { token });
  t.is((study.json as { funding: string }).funding, 'copay');
  const page = await call('GET', `/learner/journeys/${caseId}?lang=en`, { token, html: true });
  t.is(page.status, 200);
  t.notRegex(page.text, /data-testid="balance"/, 'no account balance of EUR 0.00 to pay with');
  t.regex(page.text, /you pay part of each course(&#x27;|')s cost yourself/);
  const lvPage = await call('GET', `/learner/journeys/${caseId}?lang=lv`, { token, html: true });
  t.notRegex(lvPage.text, /0,00 EUR/);
  t.regex(lvPage.text, /daļu no katru mācību izmaksām maksājat paši/);

  // Applied: the application shows both parts.
  const activities = createApplicationActivities({ db: stack.db });
  const applied = await activities.submitApplication({ caseId, attempt: 1, offerId: mn.offerId, groupId: mn.groupIds[0]!, actor: learnerActor(personCode) });
  t.is(applied.outcome, 'applied');
  t.is(applied.learnerPaysCents, 8_000);
  const after = await call('GET', `/learner/journeys/${caseId}?lang=en`, { token, html: true });
  t.regex(after.text, /data-testid="application-programme-pays">EUR 240\.01</);
  t.regex(after.text, /data-testid="application-learner-pays">EUR 80\.00</);

  // An offer that sets no share of its own takes its programme's (here 10 %), on the list and in the application.
  await stack.db('programmes').where({ code: 'MN' }).update({ copayPercent: 10 });
  const plain = await insertOffer(stack.db, {
    programme: 'MN', costCents: 20_005, titleEn: 'Programme-share course', groups: [{ place: 'Valmiera', startsOn: '2027-03-01', endsOn: '2027-05-31', capacity: 12 }],
  });
  const listedPlain = ((await call('GET', '/api/offers?programme=MN', { token })).json as { offers: { offerId: string; copayPercent: number; share: unknown }[] }).offers
    .find((o) => o.offerId === plain.offerId)!;
  t.like(listedPlain, { copayPercent: 10, share: { programmePaysCents: 18_004, learnerPaysCents: 2_001 } });
  await activities.releaseApplication({ applicationId: applied.applicationId!, state: 'withdrawn', reason: 'test' });
  const second = await activities.submitApplication({ caseId, attempt: 2, offerId: plain.offerId, groupId: plain.groupIds[0]!, actor: learnerActor(personCode) });
  t.like(second, { outcome: 'applied', learnerPaysCents: 2_001 });
});

test.serial('co-payment: the officer deciding an MN approval reads the learner\'s employment declaration on the task (API and page)', async (t) => {
  const person = adultMaker(() => stack.registry, { prefix: '39', lastName: 'Darbiniece', birthDate: '1985-05-05', note: 'test adult (co-payment)' })('Ilga');
  const token = await stack.tokenFor('learner', person.code, person.name);
  const bad = await call('POST', '/api/learner/journeys', {
    token, json: { email: 'ilga@example.lv', language: 'lv', programme: 'MN', acceptTerms: true, termsVersion: CURRENT_TERMS_VERSION, employerName: 'SIA Paraugs', employerRegistrationNumber: '123' },
  });
  const problem = assertError(t, bad, 400, 'invalid_request');
  t.deepEqual(problem.details.map((d) => (d as { field: string }).field), ['employerRegistrationNumber']);
  const answer = await call('POST', '/api/learner/journeys', {
    token, json: {
      requestId: randomUUID(), email: 'ilga@example.lv', language: 'lv', programme: 'MN', acceptTerms: true, termsVersion: CURRENT_TERMS_VERSION,
      employerName: 'SIA Kokrūpnieks (paraugs)', employerRegistrationNumber: '40003000001',
    },
  });
  t.true(answer.status === 201 || answer.status === 202, answer.text);
  const { caseId } = answer.json as { caseId: string };
  const task = await openTaskOf(stack.db, caseId);
  const staff = await stack.staffToken();
  const detail = await call('GET', `/api/staff/tasks/${task.id}`, { token: staff });
  t.is(detail.status, 200, detail.text);
  t.like((detail.json as { employment: unknown }).employment, { employerName: 'SIA Kokrūpnieks (paraugs)', employerRegistrationNumber: '40003000001' });
  const page = await call('GET', `/staff/tasks/${task.id}?lang=en`, { token: staff, html: true });
  t.regex(page.text, /Employment declaration/);
  t.regex(page.text, /data-testid="employer">SIA Kokrūpnieks \(paraugs\)</);
  await stack.temporal.workflow.getHandle(learnerJourneyId(caseId)).terminate('test finished');
});
