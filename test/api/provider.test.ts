import { randomUUID } from 'node:crypto';
import test from 'ava';
import { demoUsers } from '../../dev/seed';
import { applyUpdate } from '../../workflows/learner-journey-application';
import { startLearnerJourney, untilStage } from '../helpers/journeys';
import { startTestStack, type TestStack } from '../helpers/stack';
import { assertError, fieldsOf, httpClient } from '../helpers/http';

// The provider's workspace over HTTP: its own applications, enrolment decisions, study outcomes, authorization
// and bad input. Learners reach 'applied' through the journey's apply Update directly (the learner's apply
// routes are built elsewhere); IMK accounts are approved automatically.

let stack: TestStack;
const call = httpClient(() => stack.appUrl);

interface ProviderUser { userId: string; name: string; providerId: string }
let demo: ProviderUser;
let demoColleague: ProviderUser;
let other: ProviderUser;

test.before(async () => {
  stack = await startTestStack();
  const demoUser = demoUsers.find((u) => u.role === 'provider')!;
  const row = await stack.db('users').where({ username: demoUser.username }).first<{ id: string; displayName: string; providerId: string }>();
  demo = { userId: row.id, name: row.displayName, providerId: row.providerId };
  demoColleague = await addProviderUser(demo.providerId, 'Kārlis Bērziņš');
  const [otherProvider] = await stack.db('providers').insert({ name: 'SIA Cits Mācību Centrs (paraugs)', registrationNumber: '40000000099' })
    .returning<{ id: string }[]>('id');
  other = await addProviderUser(otherProvider!.id, 'Olga Citrona');
});
test.after.always(async () => { await stack?.stop(); });

async function addProviderUser(providerId: string, displayName: string): Promise<ProviderUser> {
  const [user] = await stack.db('users').insert({
    username: `provider-${randomUUID().slice(0, 8)}`, passwordHash: 'not-a-login', displayName, role: 'provider', providerId,
  }).returning<{ id: string }[]>('id');
  return { userId: user!.id, name: displayName, providerId };
}

const tokenOf = (user: ProviderUser) => stack.signIn({ role: 'provider', subject: user.userId, name: user.name, providerId: user.providerId });

interface ApplicationView { id: string; caseId: string; state: string; learnerName: string; offerId: string; groupId: string; freePlaces: number; capacity: number }
interface ListBody { applications: ApplicationView[]; total: number; page: number; pageSize: number }




let people = 0;
/** A new adult the Population Register knows. */
function newPerson(firstName: string, lastName: string): string {
  people += 1;
  const personCode = `33${String(people).padStart(4, '0')}-${String(Math.floor(Math.random() * 100_000)).padStart(5, '0')}`;
  stack.registry.setPerson({ personCode, firstName, lastName, birthDate: '1984-04-04', deceased: false, address: 'Rīga', note: 'test adult' });
  return personCode;
}

/** A published offer of a provider with its groups, its application window open now. */
async function createOffer(providerId: string, opts: { capacity?: number; groups?: number; title?: string } = {}) {
  const now = Date.now();
  const [offer] = await stack.db('offers').insert({
    providerId, programme: 'IMK', titleLv: `${opts.title ?? 'Datu analīze'} (paraugs)`, titleEn: `${opts.title ?? 'Data analysis'} (sample)`,
    costCents: 20_000, published: true,
    applicationsOpenAt: new Date(now - 3_600_000), applicationsCloseAt: new Date(now + 86_400_000),
    groupFormationDeadline: new Date(now + 86_400_000),
  }).returning<{ id: string }[]>('id');
  const groupIds: string[] = [];
  for (let i = 0; i < (opts.groups ?? 1); i += 1) {
    // A group that has ended, so its completion may be reported (not before the end date: issue 11).
    const [group] = await stack.db('offerGroups').insert({
      offerId: offer!.id, place: `Rīga, Elizabetes iela ${i + 1}`, startsOn: '2026-09-07', endsOn: '2026-11-27', capacity: opts.capacity ?? 20,
    }).returning<{ id: string }[]>('id');
    groupIds.push(group!.id);
  }
  return { offerId: offer!.id, groupId: groupIds[0]!, groupIds };
}

/** A learner whose journey has applied for the group: approved automatically, then the apply Update. */
async function appliedLearner(firstName: string, lastName: string, offer: { offerId: string; groupId: string }) {
  const personCode = newPerson(firstName, lastName);
  const { caseId, handle } = await startLearnerJourney(stack.temporal, stack.taskQueue, personCode);
  await untilStage(stack.db, handle, caseId, 'imk_approved');
  const result = await handle.executeUpdate(applyUpdate, {
    args: [{ offerId: offer.offerId, groupId: offer.groupId, actor: { role: 'learner', id: personCode, name: `${firstName} ${lastName}`, channel: 'e-service' } }],
  });
  if (result.outcome !== 'applied') throw new Error(`apply refused: ${JSON.stringify(result)}`);
  return { caseId, handle, personCode, applicationId: result.applicationId!, name: `${firstName} ${lastName}` };
}

const decide = async (user: ProviderUser, applicationId: string, body: unknown) =>
  call('POST', `/api/provider/applications/${applicationId}/decision`, { token: await tokenOf(user), json: body });
const outcome = async (user: ProviderUser, applicationId: string, body: unknown) =>
  call('POST', `/api/provider/applications/${applicationId}/outcome`, { token: await tokenOf(user), json: body });
const list = async (user: ProviderUser, query = '') => {
  const answer = await call('GET', `/api/provider/applications${query}`, { token: await tokenOf(user) });
  if (answer.status !== 200) throw new Error(`list: HTTP ${answer.status} ${answer.text}`);
  return answer.json as ListBody;
};
const applicationRow = (id: string) => stack.db('applications').where({ id }).first<{ state: string; groupId: string; earmarkedCents: number }>();
const caseStage = async (caseId: string) => (await stack.db('cases').where({ id: caseId }).first<{ stage: string }>()).stage;

// Shared across the serial tests below: one learner of each provider.
let demoOffer: Awaited<ReturnType<typeof createOffer>>;
let otherOffer: Awaited<ReturnType<typeof createOffer>>;
let ilze: Awaited<ReturnType<typeof appliedLearner>>;
let pauls: Awaited<ReturnType<typeof appliedLearner>>;

test.serial('the list shows only the provider\'s own applications, filtered by state, offer and group', async (t) => {
  demoOffer = await createOffer(demo.providerId, { groups: 2 });
  otherOffer = await createOffer(other.providerId, { title: 'Grafiskais dizains' });
  [ilze, pauls] = await Promise.all([
    appliedLearner('Ilze', 'Kalna', demoOffer),
    appliedLearner('Pauls', 'Citrons', otherOffer),
  ]);

  const mine = await list(demo);
  t.deepEqual(mine.applications.map((a) => a.id), [ilze.applicationId]);
  t.like(mine, { total: 1, page: 1 });
  t.like(mine.applications[0], { state: 'applied', learnerName: 'Ilze Kalna', offerId: demoOffer.offerId, groupId: demoOffer.groupId, capacity: 20, freePlaces: 20 });

  const theirs = await list(other);
  t.deepEqual(theirs.applications.map((a) => a.id), [pauls.applicationId]);

  t.is((await list(demo, '?state=applied')).total, 1);
  t.is((await list(demo, '?state=enrolled')).total, 0);
  t.is((await list(demo, `?offerId=${demoOffer.offerId}&groupId=${demoOffer.groupId}`)).total, 1);
  t.is((await list(demo, `?groupId=${demoOffer.groupIds[1]}`)).total, 0);
  // Filtering by another provider's offer finds nothing rather than their applications.
  t.is((await list(demo, `?offerId=${otherOffer.offerId}`)).total, 0);
  t.is((await list(demo, '?page=2')).applications.length, 0);

  // The page lists the waiting application with a labelled decision form, and nothing of the other provider.
  const page = await call('GET', '/provider', { token: await tokenOf(demo), headers: { accept: 'text/html' } });
  t.is(page.status, 200);
  t.true(page.text.includes('Ilze Kalna'));
  t.false(page.text.includes('Pauls Citrons'));
  t.true(page.text.includes('Pieteikumi, kas gaida Jūsu lēmumu'));
  t.true(page.text.includes(`action="/provider/applications/${ilze.applicationId}/decision"`));
  t.regex(page.text, new RegExp(`<label for="reason-${ilze.applicationId}">`));
});

test.serial('another provider\'s application is a 404 for decisions and outcomes, and nothing changes', async (t) => {
  const error = assertError(t, await decide(demo, pauls.applicationId, { decision: 'enrol' }), 404, 'application_not_found');
  t.false(error.message.includes(pauls.applicationId));
  assertError(t, await decide(demo, pauls.applicationId, { decision: 'decline', reason: 'no' }), 404, 'application_not_found');
  assertError(t, await outcome(demo, pauls.applicationId, { outcome: 'completed' }), 404, 'application_not_found');
  // An id that exists nowhere answers exactly the same.
  assertError(t, await decide(demo, randomUUID(), { decision: 'enrol' }), 404, 'application_not_found');
  t.like(await applicationRow(pauls.applicationId), { state: 'applied' });
  t.is(await caseStage(pauls.caseId), 'applied');
  // The page form refuses it too.
  const form = await call('POST', `/provider/applications/${pauls.applicationId}/decision`, {
    token: await tokenOf(demo), raw: 'decision=enrol', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
  });
  t.is(form.status, 404);
  t.like(await applicationRow(pauls.applicationId), { state: 'applied' });
});

test.serial('enrol moves the journey to studying; a double click is one decision; a colleague is told who decided', async (t) => {
  t.is((await decide(demo, ilze.applicationId, { decision: 'enrol', groupId: 42 })).status, 400);
  const [first, second] = await Promise.all([
    decide(demo, ilze.applicationId, { decision: 'enrol' }),
    decide(demo, ilze.applicationId, { decision: 'enrol' }),
  ]);
  t.is(first.status, 200, first.text);
  t.is(second.status, 200, second.text);
  t.deepEqual(first.json, { applicationId: ilze.applicationId, applicationState: 'enrolled', stage: 'studying' });
  t.deepEqual(second.json, first.json);
  // The same click once more, after the answer: the same answer.
  const again = await decide(demo, ilze.applicationId, { decision: 'enrol' });
  t.is(again.status, 200, again.text);
  t.like(again.json, { applicationState: 'enrolled', stage: 'studying' });

  await untilStage(stack.db, ilze.handle, ilze.caseId, 'studying');
  t.like(await applicationRow(ilze.applicationId), { state: 'enrolled', groupId: demoOffer.groupId });
  t.is((await stack.db('offerGroups').where({ id: demoOffer.groupId }).first<{ enrolled: number }>()).enrolled, 1, 'enrolled once');
  const events = await stack.db('caseEvents').where({ caseId: ilze.caseId, kind: 'enrolled' });
  t.is(events.length, 1);
  t.like(events[0], { actorRole: 'provider', actorName: demo.name, actorId: demo.userId });

  const late = assertError(t, await decide(demoColleague, ilze.applicationId, { decision: 'decline', reason: 'Grupa jau nokomplektēta' }), 409, 'already_decided');
  t.true(late.message.includes(demo.name), late.message);
  t.true(late.message.includes('enrolled'), late.message);
  t.like(await applicationRow(ilze.applicationId), { state: 'enrolled' });

  const list1 = await list(demo, '?state=enrolled');
  t.deepEqual(list1.applications.map((a) => a.id), [ilze.applicationId]);
  t.is(list1.applications[0]!.freePlaces, 19);
});

test.serial('outcome: only enrolled learners; completed moves the journey to completed; reported once', async (t) => {
  // Another provider cannot report it; an applied learner has nothing to report.
  assertError(t, await outcome(other, ilze.applicationId, { outcome: 'completed' }), 404, 'application_not_found');
  assertError(t, await outcome(other, pauls.applicationId, { outcome: 'completed' }), 409, 'not_enrolled');

  const answer = await outcome(demo, ilze.applicationId, { outcome: 'completed', reason: 'Visas nodarbības apmeklētas' });
  t.is(answer.status, 200, answer.text);
  t.like(answer.json, { applicationId: ilze.applicationId, applicationState: 'completed', stage: 'completed' });
  await untilStage(stack.db, ilze.handle, ilze.caseId, 'completed');
  t.like(await applicationRow(ilze.applicationId), { state: 'completed', earmarkedCents: 0 });

  // The same report again is the same answer; a different one is refused, naming who reported.
  t.is((await outcome(demo, ilze.applicationId, { outcome: 'completed' })).status, 200);
  const conflict = assertError(t, await outcome(demoColleague, ilze.applicationId, { outcome: 'dropped_out' }), 409, 'already_reported');
  t.true(conflict.message.includes(demo.name), conflict.message);

  const page = await call('GET', '/provider?lang=en', { token: await tokenOf(demo), headers: { accept: 'text/html' } });
  t.true(page.text.includes('<h2 id="results-heading">Results'));
  t.true(page.text.includes('Ilze Kalna'));
});

test.serial('declining needs a reason (400 naming reason); the page form declines and redirects with a status message', async (t) => {
  const laura = await appliedLearner('Laura', 'Egle', demoOffer);
  const missing = assertError(t, await decide(demo, laura.applicationId, { decision: 'decline' }), 400, 'invalid_request');
  t.deepEqual(fieldsOf(missing), ['reason']);
  t.true(missing.message.includes('reason:'), missing.message);
  assertError(t, await decide(demo, laura.applicationId, { decision: 'decline', reason: '   ' }), 400, 'invalid_request');
  t.like(await applicationRow(laura.applicationId), { state: 'applied' });

  const token = await tokenOf(demo);
  const formHeaders = { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' };
  const bad = await call('POST', `/provider/applications/${laura.applicationId}/decision`, { token, raw: 'decision=decline&reason=', headers: formHeaders });
  t.is(bad.status, 400);
  t.true(bad.text.includes('Iemesls: jāaizpilda, ja atsakāt'), 'the error is shown next to the field, in the page\'s language');
  t.true(bad.text.includes(`id="reason-${laura.applicationId}-error"`));

  const reason = 'Grupā vairs nav vietu piemērotā laikā';
  const good = await call('POST', `/provider/applications/${laura.applicationId}/decision`, {
    token, raw: new URLSearchParams({ decision: 'decline', reason, groupId: '', confirmed: 'yes' }).toString(), headers: formHeaders,
  });
  t.is(good.status, 303, good.text);
  t.is(good.headers.get('location'), '/provider?done=declined#status');
  await untilStage(stack.db, laura.handle, laura.caseId, 'awaiting_application');
  t.like(await applicationRow(laura.applicationId), { state: 'declined', earmarkedCents: 0 });
  const event = await stack.db('caseEvents').where({ caseId: laura.caseId, kind: 'enrolment_declined' }).first();
  t.like(event, { actorRole: 'provider', actorName: demo.name });
  t.is(event.details.reason, reason);

  const page = await call('GET', '/provider?done=declined', { token, headers: { accept: 'text/html' } });
  t.true(page.text.includes('role="status"'));
  t.true(page.text.includes('Pieteikums noraidīts'));
  // A repeat of the decision by someone else is told who declined.
  const late = assertError(t, await decide(demoColleague, laura.applicationId, { decision: 'enrol' }), 409, 'already_decided');
  t.true(late.message.includes(demo.name));
});

test.serial('a full group is a 409 "group full"; the learner can be enrolled into another group of the offer', async (t) => {
  const small = await createOffer(demo.providerId, { capacity: 1, groups: 2, title: 'Tīmekļa izstrāde' });
  const [emils, zane] = await Promise.all([appliedLearner('Emīls', 'Priede', small), appliedLearner('Zane', 'Liepa', small)]);
  t.is((await decide(demo, emils.applicationId, { decision: 'enrol' })).status, 200);

  const full = assertError(t, await decide(demo, zane.applicationId, { decision: 'enrol' }), 409, 'group_full');
  t.regex(full.message, /group is full/);
  t.regex(full.message, /another group/);
  t.like(await applicationRow(zane.applicationId), { state: 'applied' });
  t.is(await caseStage(zane.caseId), 'applied');
  t.is((await stack.db('offerGroups').where({ id: small.groupId }).first<{ enrolled: number }>()).enrolled, 1);

  // The page form gets the same answer, in the page's language, next to the application.
  const formHeaders = { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' };
  const token = await tokenOf(demo);
  const fullPage = await call('POST', `/provider/applications/${zane.applicationId}/decision`, {
    token, raw: `decision=enrol&reason=&groupId=${small.groupId}&confirmed=yes`, headers: formHeaders,
  });
  t.is(fullPage.status, 409);
  t.true(fullPage.text.includes('Grupa ir pilna.'), 'the refusal is in Latvian');
  t.true(fullPage.text.includes('role="alert"'));

  // A group of another offer is not a choice.
  const wrongGroup = assertError(t, await decide(demo, zane.applicationId, { decision: 'enrol', groupId: demoOffer.groupIds[1] }), 400, 'invalid_request');
  t.deepEqual(fieldsOf(wrongGroup), ['groupId']);

  const moved = await decide(demo, zane.applicationId, { decision: 'enrol', groupId: small.groupIds[1] });
  t.is(moved.status, 200, moved.text);
  t.like(moved.json, { applicationState: 'enrolled', stage: 'studying' });
  t.like(await applicationRow(zane.applicationId), { state: 'enrolled', groupId: small.groupIds[1] });

  // The dropout is reported through the page form, which redirects back with a status message.
  const dropped = await call('POST', `/provider/applications/${zane.applicationId}/outcome`, {
    token, raw: 'outcome=dropped_out&reason=P%C4%81rc%C4%93l%C4%81s%20uz%20citu%20pils%C4%93tu&confirmed=yes', headers: formHeaders,
  });
  t.is(dropped.status, 303, dropped.text);
  t.is(dropped.headers.get('location'), '/provider?done=dropped_out#status');
  await untilStage(stack.db, zane.handle, zane.caseId, 'dropped_out');
  t.like(await applicationRow(zane.applicationId), { state: 'dropped_out' });
  const page = await call('GET', '/provider?done=dropped_out&lang=en', { token, headers: { accept: 'text/html' } });
  t.true(page.text.includes('Dropout is recorded.'));
  t.true(page.text.includes('Pārcēlās uz citu pilsētu'));
  // Reporting again through the form tells who already did, in the page's language.
  const again = await call('POST', `/provider/applications/${zane.applicationId}/outcome?lang=lv`, {
    token: await tokenOf(demoColleague), raw: 'outcome=completed&confirmed=yes', headers: formHeaders,
  });
  t.is(again.status, 409);
  t.true(again.text.includes(`to norādīja ${demo.name}`), 'names who reported');
});

test.serial('no token is 401; staff, learner and unlinked provider tokens are 403', async (t) => {
  const id = randomUUID();
  const routes: [string, string, unknown][] = [
    ['GET', '/api/provider/applications', undefined],
    ['POST', `/api/provider/applications/${id}/decision`, { decision: 'enrol' }],
    ['POST', `/api/provider/applications/${id}/outcome`, { outcome: 'completed' }],
  ];
  const staff = await stack.staffToken();
  const learner = await stack.tokenFor('learner', ilze.personCode, ilze.name);
  const unlinked = await stack.tokenFor('provider', randomUUID(), 'Bez Iestādes');
  for (const [method, path, json] of routes) {
    assertError(t, await call(method, path, { json }), 401, 'not_logged_in');
    assertError(t, await call(method, path, { token: staff, json }), 403, 'forbidden');
    assertError(t, await call(method, path, { token: learner, json }), 403, 'forbidden');
    assertError(t, await call(method, path, { token: unlinked, json }), 403, 'no_provider');
  }
  assertError(t, await call('POST', `/api/provider/applications/${pauls.applicationId}/decision`, { token: staff, json: { decision: 'enrol' } }), 403, 'forbidden');
  t.like(await applicationRow(pauls.applicationId), { state: 'applied' });
  // Browsers without a session are sent to the staff/provider login page.
  const page = await call('GET', '/provider', { headers: { accept: 'text/html' } });
  t.is(page.status, 302);
  t.regex(page.headers.get('location') ?? '', /^\/staff\/login/);
});

test.serial('bad input to every provider route is a 4xx naming the field, never a stack trace', async (t) => {
  const token = await tokenOf(demo);
  const id = pauls.applicationId;
  const cases: [string, string, { json?: unknown; raw?: string }, string[]][] = [
    ['POST', '/api/provider/applications/not-a-uuid/decision', { json: { decision: 'enrol' } }, ['applicationId']],
    ['POST', '/api/provider/applications/not-a-uuid/outcome', { json: { outcome: 'completed' } }, ['applicationId']],
    ['POST', `/api/provider/applications/${id}/decision`, { json: {} }, ['decision']],
    ['POST', `/api/provider/applications/${id}/decision`, { json: { decision: 'accept' } }, ['decision']],
    ['POST', `/api/provider/applications/${id}/decision`, { json: { decision: 'decline', reason: 42 } }, ['reason']],
    ['POST', `/api/provider/applications/${id}/decision`, { json: { decision: 'enrol', groupId: 'group-1' } }, ['groupId']],
    ['POST', `/api/provider/applications/${id}/decision`, { json: { decision: 'enrol', extra: true } }, ['extra']],
    ['POST', `/api/provider/applications/${id}/decision`, { json: ['enrol'] }, ['(body)']],
    ['POST', `/api/provider/applications/${id}/outcome`, { json: { outcome: 'finished' } }, ['outcome']],
    ['POST', `/api/provider/applications/${id}/outcome`, { json: { outcome: 'dropped_out', reason: ['x'] } }, ['reason']],
    ['POST', `/api/provider/applications/${id}/outcome`, { json: { outcome: 'completed', reason: 'x'.repeat(2001) } }, ['reason']],
    ['GET', '/api/provider/applications?state=pending', {}, ['state']],
    ['GET', '/api/provider/applications?page=0', {}, ['page']],
    ['GET', '/api/provider/applications?page=abc', {}, ['page']],
    ['GET', '/api/provider/applications?offerId=1&groupId=2', {}, ['offerId', 'groupId']],
  ];
  for (const [method, path, body, fields] of cases) {
    const error = assertError(t, await call(method, path, { token, ...body }), 400, 'invalid_request');
    t.deepEqual(fieldsOf(error).sort(), [...fields].sort(), `${method} ${path} ${JSON.stringify(body.json)}: ${error.message}`);
    for (const field of fields) t.true(error.message.includes(`${field}:`), error.message);
  }
  for (const path of [`/api/provider/applications/${id}/decision`, `/api/provider/applications/${id}/outcome`]) {
    const malformed = assertError(t, await call('POST', path, { token, raw: '{"decision": "enr', headers: { 'content-type': 'application/json' } }), 400, 'malformed_json');
    t.regex(malformed.message, /not valid JSON/);
  }
  t.like(await applicationRow(id), { state: 'applied' });
});

test.serial('the OpenAPI document describes the provider routes with their schemas', async (t) => {
  const doc = (await call('GET', '/api/openapi.json')).json as { paths: Record<string, Record<string, { 'x-roles'?: string[]; requestBody?: { content: { 'application/json': { schema: { required?: string[]; properties?: Record<string, unknown> } } } } }>> };
  t.deepEqual(doc.paths['/api/provider/applications']?.get?.['x-roles'], ['provider']);
  const decision = doc.paths['/api/provider/applications/{applicationId}/decision']?.post;
  t.deepEqual(decision?.requestBody?.content['application/json'].schema.required, ['decision']);
  t.truthy(decision?.requestBody?.content['application/json'].schema.properties?.groupId);
  t.deepEqual(doc.paths['/api/provider/applications/{applicationId}/outcome']?.post?.requestBody?.content['application/json'].schema.required, ['outcome']);
});
