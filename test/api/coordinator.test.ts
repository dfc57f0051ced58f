import { randomUUID } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import type { WorkflowHandle } from '@temporalio/client';
import { demoRoleGrant } from '../../dev/seed';
import { demoOffers } from '../../dev/seed-offers';
import { signInHeadless } from '../../dev/stubs/sso';
import { rigaDate } from '../../domain/dates';
import { CURRENT_TERMS_VERSION } from '../../domain/terms';
import { learnerJourneyId } from '../../workflows/ids';
import type { learnerJourney } from '../../workflows/learner-journey';
import { eventually, untilStage } from '../helpers/journeys';
import { startTestStack, type TestStack } from '../helpers/stack';
import { assertError, httpClient, type Answer } from '../helpers/http';

// Municipal coordinators over HTTP: choosing the role after the sign-on, registering and applying on a learner's
// behalf (assisted channel), and the object-level check (only journeys the coordinator registered).

let stack: TestStack;
const call = httpClient(() => stack.appUrl);

test.before(async () => { stack = await startTestStack(); });
test.after.always(async () => { await stack?.stop(); });

/** Marta Zariņa (sample person), the seeded coordinator of Daugavpils. */
const MARTA = { code: demoRoleGrant.personCode, name: 'Marta Zariņa' };
const JANIS = { code: '150690-11223', name: 'Jānis Kalniņš' };
const ANNA = { code: '321178-40215', name: 'Anna Bērziņa' };
const OFFER = demoOffers[0]!;
const GROUP = OFFER.groups[0]!;

interface Person { code: string; name: string }



/** Asserts a 400 naming exactly these fields, each also in the message. */
function assertFields(t: ExecutionContext, answer: Answer, fields: string[]) {
  const error = assertError(t, answer, 400, 'invalid_request');
  t.deepEqual(error.details.map((d) => d.field).sort(), [...fields].sort(), answer.text);
  for (const field of fields) t.true(error.message.includes(`${field}:`), `the message names ${field}: ${error.message}`);
}

function sessionCookie(headers: Headers): string | undefined {
  for (const header of headers.getSetCookie()) {
    const [pair] = header.split(';');
    if (pair.startsWith('ila_session=')) return pair.slice('ila_session='.length);
  }
  return undefined;
}

/** Signs in through the SSO stub like a browser would; returns the callback's redirect and the session cookie. */
async function signIn(personCode: string): Promise<{ location: string; cookie: string }> {
  const start = await fetch(`${stack.appUrl}/auth/sso/login`, { redirect: 'manual' });
  const authorize = new URL(start.headers.get('location') ?? '');
  const ssoCookie = start.headers.getSetCookie().map((c) => c.split(';')[0]).find((c) => c.startsWith('ila_sso='))!;
  const callbackUrl = await signInHeadless(stack.ssoUrl, {
    clientId: stack.sso.clientId, redirectUri: stack.sso.redirectUri, personCode,
    state: authorize.searchParams.get('state')!, nonce: authorize.searchParams.get('nonce')!,
    codeChallenge: authorize.searchParams.get('code_challenge')!,
  });
  const callback = await fetch(callbackUrl, { redirect: 'manual', headers: { cookie: ssoCookie, accept: 'text/html' } });
  if (callback.status !== 302) throw new Error(`SSO callback: HTTP ${callback.status}`);
  return { location: callback.headers.get('location') ?? '', cookie: sessionCookie(callback.headers)! };
}

const coordinatorToken = (person: Person, municipality = 'Daugavpils') =>
  stack.signIn({ role: 'coordinator', subject: person.code, name: person.name, municipality });
const learnerToken = (person: Person) => stack.tokenFor('learner', person.code, person.name);

let people = 0;
/** A new adult the Population Register knows (a new-format person code, which encodes no birth date). */
function newPerson(firstName: string): Person {
  people += 1;
  const code = `32${String(people).padStart(4, '0')}-${String(Math.floor(Math.random() * 100_000)).padStart(5, '0')}`;
  stack.registry.setPerson({ personCode: code, firstName, lastName: 'Palīdzēta', birthDate: '1984-04-04', deceased: false, address: 'Saules iela 1, Daugavpils, LV-5401', municipality: 'Daugavpils', note: 'test adult' });
  return { code, name: `${firstName} Palīdzēta` };
}

const assisted = (person: Person, extra: Record<string, unknown> = {}) => ({
  requestId: randomUUID(), personCode: person.code, email: `${person.code}@example.lv`, language: 'lv', programme: 'IMK',
  termsAcceptedInPerson: true, ...extra,
});

/** A coordinator registers the person; returns the case id. */
async function registerOnBehalf(coordinator: Person, person: Person): Promise<string> {
  const answer = await call('POST', '/api/coordinator/journeys', { token: await coordinatorToken(coordinator), json: assisted(person) });
  if (answer.status !== 201 && answer.status !== 202) throw new Error(`assisted registration: HTTP ${answer.status} ${answer.text}`);
  const { caseId } = answer.json as { caseId: string };
  return caseId;
}

const dayOffset = (days: number) => rigaDate(new Date(Date.now() + days * 86_400_000));

// ---------------------------------------------------------------------------------------------------------------

test.serial('a person with an active coordinator grant chooses the role after the SSO sign-in', async (t) => {
  const signedIn = await signIn(MARTA.code);
  t.is(signedIn.location, '/auth/role?next=%2Flearner', 'the choice is offered before anything else');

  const page = await call('GET', '/auth/role?next=%2Flearner&lang=en', { cookie: signedIn.cookie, html: true });
  t.is(page.status, 200, page.text);
  t.true(page.text.includes('Choose the role to act in'));
  t.true(page.text.includes('Myself, as a learner'));
  t.true(page.text.includes('Adult-education coordinator of Daugavpils'));
  const grant = await stack.db('roleGrants').where({ personCode: MARTA.code }).first<{ id: string }>('id');

  const chosen = await call('POST', '/auth/role', { cookie: signedIn.cookie, form: { role: grant.id, next: '/learner' } });
  t.is(chosen.status, 302, chosen.text);
  t.is(chosen.headers.get('location'), '/coordinator');
  const coordinatorCookie = sessionCookie(chosen.headers)!;
  t.truthy(coordinatorCookie);
  t.is((await call('GET', '/api/coordinator/journeys', { cookie: coordinatorCookie })).status, 200);
  const home = await call('GET', '/coordinator?lang=en', { cookie: coordinatorCookie, html: true });
  t.is(home.status, 200, home.text);
  t.true(home.text.includes('Coordinator of Daugavpils'));

  // Back to acting as herself: the coordinator routes are closed to that session.
  const asLearner = await call('POST', '/auth/role', { cookie: coordinatorCookie, form: { role: 'learner', next: '/learner' } });
  t.is(asLearner.headers.get('location'), '/learner');
  const learnerCookie = sessionCookie(asLearner.headers)!;
  assertError(t, await call('GET', '/api/coordinator/journeys', { cookie: learnerCookie }), 403, 'forbidden');
  t.is((await call('GET', '/api/learner/journeys', { cookie: learnerCookie })).status, 200);

  // Choosing a role starts a new session and ends the one it was chosen in.
  assertError(t, await call('GET', '/api/learner/journeys', { cookie: signedIn.cookie }), 401, 'session_ended');
  // Nonsense in the choice is a 400 naming the field.
  assertFields(t, await call('POST', '/auth/role', { cookie: learnerCookie, json: { role: 'mayor' } }), ['role']);
});

test.serial('an expired grant gives no role choice: the person signs in as a learner only', async (t) => {
  const [expired] = await stack.db('roleGrants').insert({
    personCode: JANIS.code, role: 'coordinator', municipality: 'Valmiera', municipalityCode: '90000012345',
    validFrom: '2024-01-01', validUntil: dayOffset(-1), grantedBy: 'test',
  }).returning<{ id: string }[]>('id');

  const signedIn = await signIn(JANIS.code);
  t.is(signedIn.location, '/learner');
  const page = await call('GET', '/auth/role', { cookie: signedIn.cookie, html: true });
  t.is(page.status, 302, 'nothing to choose: back to the learner page');
  t.is(page.headers.get('location'), '/learner');
  assertError(t, await call('POST', '/auth/role', { cookie: signedIn.cookie, form: { role: expired.id } }), 403, 'role_not_active');

  // A coordinator session of someone whose grant has ended is ended on its next request.
  const ended = assertError(t, await call('GET', '/api/coordinator/journeys', { token: await coordinatorToken(JANIS, 'Valmiera') }), 401, 'session_ended');
  t.deepEqual(ended.details, [{ reason: 'role_ended' }]);

  // A person without any grant goes straight to their page.
  t.is((await signIn(ANNA.code)).location, '/learner');
});

test.serial('a coordinator registers a person on their behalf; the case records who acted, for whom and where', async (t) => {
  const person = newPerson('Ruta');
  const caseId = await registerOnBehalf(MARTA, person);

  const event = await eventually(() => stack.db('caseEvents').where({ caseId, step: 'registered' }).first<{
    actorRole: string; actorId: string; actorName: string; channel: string; details: Record<string, unknown>;
  }>(), 'the registration event');
  t.is(event.actorRole, 'coordinator');
  t.is(event.channel, 'assisted');
  t.is(event.actorId, MARTA.code);
  t.is(event.actorName, MARTA.name);
  t.is(event.details.municipality, 'Daugavpils');
  t.is(event.details.termsVersion, CURRENT_TERMS_VERSION);
  const theCase = await stack.db('cases').join('learners', 'learners.id', 'cases.learnerId').where('cases.id', caseId)
    .first<{ channel: string; personCode: string }>('cases.channel', 'learners.personCode');
  t.is(theCase.channel, 'assisted');
  t.is(theCase.personCode, person.code, 'the journey is the learner\'s, not the coordinator\'s');

  // The learner sees the journey, and who registered it for them.
  const mine = await call('GET', '/api/learner/journeys', { token: await learnerToken(person) });
  const journey = (mine.json as { journeys: { caseId: string; events: { kind: string; channel: string; actorRole: string }[] }[] }).journeys
    .find((j) => j.caseId === caseId);
  t.truthy(journey, mine.text);
  t.like(journey!.events[0], { kind: 'registered', channel: 'assisted', actorRole: 'coordinator' });
  const en = await call('GET', `/learner/journeys/${caseId}?lang=en`, { token: await learnerToken(person), html: true });
  t.true(en.text.includes('by coordinator Marta Zariņa (Daugavpils)'), en.text);
  const lv = await call('GET', `/learner/journeys/${caseId}?lang=lv`, { token: await learnerToken(person), html: true });
  t.true(lv.text.includes('jūsu vārdā rīkojās koordinators Marta Zariņa (Daugavpils)'));
  // The coordinator's own journeys are untouched: Marta has none as a learner.
  const martas = await call('GET', '/api/learner/journeys', { token: await learnerToken(MARTA) });
  t.false((martas.json as { journeys: { caseId: string }[] }).journeys.some((j) => j.caseId === caseId));

  // The coordinator's list shows it with its stage.
  const list = await call('GET', '/api/coordinator/journeys', { token: await coordinatorToken(MARTA) });
  t.is(list.status, 200, list.text);
  const listed = (list.json as { journeys: { caseId: string; stage: string; personCode: string; municipality: string }[] }).journeys;
  t.like(listed.find((j) => j.caseId === caseId), { personCode: person.code, municipality: 'Daugavpils' });

  // Once the account is approved, the coordinator applies on the learner's behalf.
  const handle: WorkflowHandle<typeof learnerJourney> = stack.temporal.workflow.getHandle(learnerJourneyId(caseId));
  await untilStage(stack.db, handle, caseId, 'imk_approved');
  const applied = await call('POST', `/api/coordinator/journeys/${caseId}/applications`, {
    token: await coordinatorToken(MARTA), json: { requestId: randomUUID(), offerId: OFFER.id, groupId: GROUP.id },
  });
  t.is(applied.status, 201, applied.text);
  t.like(applied.json, { outcome: 'applied' });
  const applyEvent = await stack.db('caseEvents').where({ caseId, kind: 'applied' })
    .first<{ actorRole: string; actorId: string; channel: string; details: Record<string, unknown> }>();
  t.like(applyEvent, { actorRole: 'coordinator', actorId: MARTA.code, channel: 'assisted' });
  t.is(applyEvent.details.municipality, 'Daugavpils');

  // A second registration in the same programme while this one is open is refused.
  assertError(t, await call('POST', '/api/coordinator/journeys', { token: await coordinatorToken(MARTA), json: assisted(person) }), 409, 'journey_already_open');
});

test.serial('a coordinator cannot apply on a journey they did not register', async (t) => {
  // Another coordinator of the same municipality, with a grant of their own.
  const other = { code: '120345-10001', name: 'Pēteris Liepa' };
  await stack.db('roleGrants').insert({
    personCode: other.code, role: 'coordinator', municipality: 'Daugavpils', municipalityCode: demoRoleGrant.municipalityCode,
    validFrom: dayOffset(-30), validUntil: dayOffset(30), grantedBy: 'test',
  });
  const martasCase = await registerOnBehalf(MARTA, newPerson('Inga'));
  const apply = { requestId: randomUUID(), offerId: OFFER.id, groupId: GROUP.id };
  assertError(t, await call('POST', `/api/coordinator/journeys/${martasCase}/applications`, { token: await coordinatorToken(other), json: apply }), 404, 'journey_not_found');
  const others = (await call('GET', '/api/coordinator/journeys', { token: await coordinatorToken(other) })).json as { journeys: { caseId: string }[] };
  t.false(others.journeys.some((j) => j.caseId === martasCase), 'nor see it in their list');

  // A learner's own registration is not the coordinator's either.
  const self = newPerson('Pats');
  const own = await call('POST', '/api/learner/journeys', {
    token: await learnerToken(self), json: { requestId: randomUUID(), email: 'pats@example.lv', language: 'lv', acceptTerms: true, termsVersion: CURRENT_TERMS_VERSION },
  });
  const { caseId } = own.json as { caseId: string };
  assertError(t, await call('POST', `/api/coordinator/journeys/${caseId}/applications`, { token: await coordinatorToken(MARTA), json: apply }), 404, 'journey_not_found');
  assertError(t, await call('POST', `/api/coordinator/journeys/${randomUUID()}/applications`, { token: await coordinatorToken(MARTA), json: apply }), 404, 'journey_not_found');
});

test.serial('a coordinator in a session for another municipality neither lists nor applies on the journeys she registered in hers', async (t) => {
  // Marta also coordinates in Rēzekne for a while: in that session Daugavpils people are not hers to act for.
  await stack.db('roleGrants').insert({
    personCode: MARTA.code, role: 'coordinator', municipality: 'Rēzekne', municipalityCode: '90000099999',
    validFrom: dayOffset(-30), validUntil: dayOffset(30), grantedBy: 'test',
  });
  const caseId = await registerOnBehalf(MARTA, newPerson('Austra'));
  // Once the account is approved the journey takes an application: only the municipality can refuse it now.
  await eventually(() => stack.db('cases').where({ id: caseId, stage: 'imk_approved' }).first('id'), 'the account approved');
  const elsewhere = await coordinatorToken(MARTA, 'Rēzekne');
  const apply = { requestId: randomUUID(), offerId: OFFER.id, groupId: GROUP.id };
  assertError(t, await call('POST', `/api/coordinator/journeys/${caseId}/applications`, { token: elsewhere, json: apply }), 404, 'journey_not_found');
  t.is(await stack.db('applications').where({ caseId }).first(), undefined, 'no application was made');
  const listed = (await call('GET', '/api/coordinator/journeys', { token: elsewhere })).json as { journeys: { caseId: string }[] };
  t.false(listed.journeys.some((j) => j.caseId === caseId), 'nor is it in that session\'s list');
  // In her Daugavpils session it is hers as before.
  const home = (await call('GET', '/api/coordinator/journeys', { token: await coordinatorToken(MARTA) })).json as { journeys: { caseId: string }[] };
  t.true(home.journeys.some((j) => j.caseId === caseId));
});

test('coordinator routes are for coordinators only', async (t) => {
  const body = assisted(newPerson('Nav'));
  for (const token of [await learnerToken(ANNA), await stack.tokenFor('staff', randomUUID(), 'Inese Kļaviņa')]) {
    assertError(t, await call('POST', '/api/coordinator/journeys', { token, json: body }), 403, 'forbidden');
    assertError(t, await call('GET', '/api/coordinator/journeys', { token }), 403, 'forbidden');
    assertError(t, await call('POST', `/api/coordinator/journeys/${randomUUID()}/applications`, { token, json: { offerId: OFFER.id, groupId: GROUP.id } }), 403, 'forbidden');
  }
  assertError(t, await call('GET', '/api/coordinator/journeys'), 401, 'not_logged_in');
  const page = await call('GET', '/coordinator', { html: true });
  t.is(page.status, 302);
  t.regex(page.headers.get('location') ?? '', /^\/auth\/sso\/login/);
  // And a coordinator is not a learner: the learner's routes stay closed to that session.
  assertError(t, await call('GET', '/api/learner/journeys', { token: await coordinatorToken(MARTA) }), 403, 'forbidden');
});

test('bad input to the coordinator routes is a 400 naming the field', async (t) => {
  const token = await coordinatorToken(MARTA);
  const person = newPerson('Kļūda');
  const post = (json: unknown) => call('POST', '/api/coordinator/journeys', { token, json });
  assertFields(t, await post(assisted(person, { personCode: '123' })), ['personCode']);
  assertFields(t, await post(assisted(person, { personCode: '310299-12345' })), ['personCode']);
  assertFields(t, await post(assisted(person, { personCode: 12345678901 })), ['personCode']);
  const { termsAcceptedInPerson: _omitted, ...withoutTerms } = assisted(person);
  assertFields(t, await post(withoutTerms), ['termsAcceptedInPerson']);
  assertFields(t, await post(assisted(person, { termsAcceptedInPerson: false })), ['termsAcceptedInPerson']);
  assertFields(t, await post(assisted(person, { email: 42, language: 'de' })), ['email', 'language']);
  assertFields(t, await post(assisted(person, { phone: 12345678 })), ['phone']);
  assertFields(t, await post(assisted(person, { acceptTerms: true })), ['acceptTerms']);
  assertFields(t, await post(assisted(person, { programme: 'NOPE' })), ['programme']);
  assertFields(t, await post(assisted(MARTA)), ['personCode']);
  assertFields(t, await call('POST', '/api/coordinator/journeys/not-a-uuid/applications', { token, json: { offerId: OFFER.id, groupId: GROUP.id } }), ['caseId']);
  assertFields(t, await call('POST', `/api/coordinator/journeys/${randomUUID()}/applications`, { token, json: { offerId: 'x' } }), ['offerId', 'groupId']);
  t.is(await stack.db('learners').where({ personCode: person.code }).first(), undefined, 'nothing was registered');
});

test('the coordinator routes are in the OpenAPI document', async (t) => {
  const doc = (await call('GET', '/api/openapi.json')).json as { paths: Record<string, Record<string, { 'x-roles'?: string[]; requestBody?: { content: { 'application/json': { schema: { required?: string[] } } } } }>> };
  const register = doc.paths['/api/coordinator/journeys']?.post;
  t.deepEqual(register?.['x-roles'], ['coordinator']);
  t.true(register?.requestBody?.content['application/json'].schema.required?.includes('personCode'));
  t.true(register?.requestBody?.content['application/json'].schema.required?.includes('termsAcceptedInPerson'));
  t.truthy(doc.paths['/api/coordinator/journeys']?.get);
  t.truthy(doc.paths['/api/coordinator/journeys/{caseId}/applications']?.post);
});

test('the coordinator registers a person through the page form', async (t) => {
  const token = await coordinatorToken(MARTA);
  const person = newPerson('Forma');
  const form = { requestId: randomUUID(), personCode: person.code, email: 'forma@example.lv', phone: '', language: 'lv', programme: 'IMK' };
  const refused = await call('POST', '/coordinator/journeys?lang=en', { token, form: { ...form, personCode: '12' }, html: true });
  t.is(refused.status, 400);
  t.true(refused.text.includes('must be 11 digits in the form DDMMYY-NNNNN'));
  t.true(refused.text.includes('id="termsAcceptedInPerson-error"'), 'the unticked terms box is named too');
  const done = await call('POST', '/coordinator/journeys', { token, form: { ...form, termsAcceptedInPerson: 'on' }, html: true });
  t.is(done.status, 302, done.text);
  t.is(done.headers.get('location'), '/coordinator?notice=registered');
  const event = await eventually(() => stack.db('caseEvents').where({ caseId: form.requestId, step: 'registered' })
    .first<{ actorRole: string; channel: string }>('actorRole', 'channel'), 'the registration event');
  t.like(event, { actorRole: 'coordinator', channel: 'assisted' });
  const home = await call('GET', '/coordinator?lang=en', { token, html: true });
  t.true(home.text.includes(person.code), 'the list shows the person registered');
});

test('the coordinator applies on the learner\'s behalf from the page', async (t) => {
  const token = await coordinatorToken(MARTA);
  const person = newPerson('Lapa');
  const caseId = await registerOnBehalf(MARTA, person);
  await untilStage(stack.db, stack.temporal.workflow.getHandle(learnerJourneyId(caseId)), caseId, 'imk_approved');
  const page = await call('GET', '/coordinator?lang=en', { token, html: true });
  t.true(page.text.includes(`action="/coordinator/journeys/${caseId}/applications"`), 'an Apply form for the approved journey');
  const choice = new RegExp(`<option value="(${OFFER.id}:${GROUP.id})"`).exec(page.text)?.[1];
  t.truthy(choice, 'the seeded offer\'s group is offered');
  const requestId = /name="requestId" value="([0-9a-f-]{36})"/g;
  const ids = [...page.text.matchAll(requestId)].map((m) => m[1]);
  // The Apply form leads to the confirmation, naming whose account it is; only its form applies (once).
  const first = await call('POST', `/coordinator/journeys/${caseId}/applications`, { token, form: { requestId: ids[0]!, choice: choice! }, html: true });
  t.is(first.status, 303, first.text);
  t.true(first.headers.get('location')!.startsWith(`/coordinator/journeys/${caseId}/applications/confirm?`));
  t.is(await stack.db('applications').where({ caseId }).first(), undefined, 'nothing applied before the confirmation');
  const check = await call('GET', `${first.headers.get('location')!}&lang=en`, { token, html: true });
  t.true(check.text.includes('<h1>Check the application on the learner&#x27;s behalf</h1>'), check.text.slice(0, 300));
  t.regex(check.text, new RegExp(`data-testid="confirm-learner">${person.name}`));
  const confirmed = { requestId: ids[0]!, offerId: OFFER.id, groupId: GROUP.id, confirmed: 'yes' };
  const applied = await call('POST', `/coordinator/journeys/${caseId}/applications`, { token, form: confirmed, html: true });
  t.is(applied.status, 303, applied.text);
  t.is(applied.headers.get('location'), '/coordinator?notice=applied');
  const again = await call('POST', `/coordinator/journeys/${caseId}/applications`, { token, form: confirmed, html: true });
  t.is(again.headers.get('location'), '/coordinator?notice=applied', 'a resubmitted confirmation gets the same answer');
  t.is((await stack.db('applications').where({ caseId })).length, 1, 'applied once');
  t.like(await stack.db('caseEvents').where({ caseId, kind: 'applied' }).first(), { actorRole: 'coordinator', channel: 'assisted' });
  const after = await call('GET', '/coordinator?notice=applied&lang=en', { token, html: true });
  t.true(after.text.includes('submitted on the person&#x27;s behalf'), after.text);
  const bad = await call('POST', `/coordinator/journeys/${caseId}/applications`, { token, form: { choice: 'nonsense' }, html: true });
  t.is(bad.status, 400);
});

test.serial('a coordinator of another municipality is refused before anything about the person is stored or shown', async (t) => {
  // Anna's declared address is in Rīga; Marta coordinates for Daugavpils. Anna may already have an account.
  const annaBefore = await stack.db('learners').where({ personCode: ANNA.code }).first();
  const token = await coordinatorToken(MARTA);
  const request = assisted(ANNA, { email: 'taken-over@example.lv', phone: '+371 20000000', language: 'en' });
  const refused = await call('POST', '/api/coordinator/journeys', { token, json: request });
  const error = assertError(t, refused, 403, 'outside_municipality');
  t.like(error.details[0], { field: 'personCode', rule: 'in_municipality' });
  t.true(error.message.includes('not in Daugavpils') && error.message.includes('Nothing was stored'), error.message);
  t.true((error.details[0] as { words?: { lv: string } }).words!.lv.includes('nav jūsu pašvaldībā (Daugavpils)'));

  // Nothing stored: no case, no journey, no learner row changed (no name from the register, no contact data).
  t.is(await stack.db('cases').where({ id: request.requestId }).first(), undefined);
  await t.throwsAsync(stack.temporal.workflow.getHandle(learnerJourneyId(request.requestId)).describe(), { name: 'WorkflowNotFoundError' });
  t.deepEqual(await stack.db('learners').where({ personCode: ANNA.code }).first(), annaBefore);
  t.is(await stack.db('learners').where({ email: 'taken-over@example.lv' }).first(), undefined);
  // Nor shown: the coordinator's list and page know nothing of her.
  const list = (await call('GET', '/api/coordinator/journeys', { token })).json as { journeys: { personCode: string; learnerName: string | null }[] };
  t.false(list.journeys.some((j) => j.personCode === ANNA.code || j.learnerName?.includes('Bērziņa')));
  // The register query itself is audited, as every one is.
  t.truthy(await stack.db('auditLog').where({ subjectPersonCode: ANNA.code, actorId: MARTA.code, action: 'population-register.get-person' }).first());

  // A person the register places elsewhere and who has no account: still no learner row at all.
  const stranger = newPerson('Svešā');
  stack.registry.setPerson({ personCode: stranger.code, firstName: 'Svešā', lastName: 'Palīdzēta', birthDate: '1984-04-04', deceased: false, address: 'Brīvības iela 1, Rīga, LV-1010', municipality: 'Rīga', note: 'test adult' });
  assertError(t, await call('POST', '/api/coordinator/journeys', { token, json: assisted(stranger) }), 403, 'outside_municipality');
  t.is(await stack.db('learners').where({ personCode: stranger.code }).first(), undefined);
  // A code the register does not know gets the same refusal (the coordinator learns nothing more).
  assertError(t, await call('POST', '/api/coordinator/journeys', { token, json: assisted({ code: '329999-99991', name: 'Nobody' }) }), 403, 'outside_municipality');

  // The page says it next to the person code, in the page's language.
  const form = { requestId: randomUUID(), personCode: ANNA.code, email: 'taken-over@example.lv', phone: '', language: 'lv', programme: 'IMK', termsAcceptedInPerson: 'on' };
  const lv = await call('POST', '/coordinator/journeys?lang=lv', { token, form, html: true });
  t.is(lv.status, 403);
  t.regex(lv.text, /id="personCode-error"[^>]*>[^<]*Pēc Iedzīvotāju reģistra datiem šīs personas deklarētā dzīvesvieta nav jūsu pašvaldībā \(Daugavpils\)/);
  const en = await call('POST', '/coordinator/journeys?lang=en', { token, form, html: true });
  t.is(en.status, 403);
  t.true(en.text.includes('this person&#x27;s declared address is not in Daugavpils'), en.text);
  t.is(await stack.db('cases').where({ id: form.requestId }).first(), undefined);
});

test.serial('while the Population Register is down, an assisted registration is a 503 with Retry-After and stores nothing', async (t) => {
  const person = newPerson('Gaidītāja');
  const token = await coordinatorToken(MARTA);
  stack.registry.setDown(true);
  try {
    const request = assisted(person);
    const answer = await call('POST', '/api/coordinator/journeys', { token, json: request });
    assertError(t, answer, 503, 'registry_unavailable');
    t.regex(answer.headers.get('retry-after') ?? '', /^\d+$/);
    const page = await call('POST', '/coordinator/journeys?lang=lv', {
      token, html: true,
      form: { requestId: randomUUID(), personCode: person.code, email: 'x@example.lv', phone: '', language: 'lv', programme: 'IMK', termsAcceptedInPerson: 'on' },
    });
    t.is(page.status, 503);
    t.truthy(page.headers.get('retry-after'));
    t.true(page.text.includes('Iedzīvotāju reģistrs pašlaik neatbild'), page.text);
    t.is(await stack.db('cases').where({ id: request.requestId }).first(), undefined);
    t.is(await stack.db('learners').where({ personCode: person.code }).first(), undefined);
  } finally {
    stack.registry.setDown(false);
  }
});

test.serial('a coordinator never replaces a person\'s own contact data: their e-mails keep going to their own address', async (t) => {
  const person = newPerson('Savējā');
  const own = { email: `own-${person.code}@example.lv`, phone: '+371 21111111', language: 'en' };
  // The person registers themselves first (IMK), with their own contact data.
  const mine = await call('POST', '/api/learner/journeys', {
    token: await learnerToken(person),
    json: { requestId: randomUUID(), ...own, programme: 'IMK', acceptTerms: true, termsVersion: CURRENT_TERMS_VERSION },
  });
  t.true([201, 202].includes(mine.status), mine.text);
  await eventually(() => stack.db('learners').where({ personCode: person.code }).first(), 'the learner row');

  // The coordinator registers them in another programme, typing other contact data.
  const typed = { email: `typed-${person.code}@example.lv`, phone: '+371 29999999', language: 'lv' };
  const request = assisted(person, { ...typed, programme: 'DPP' });
  const answer = await call('POST', '/api/coordinator/journeys', { token: await coordinatorToken(MARTA), json: request });
  t.true([201, 202].includes(answer.status), answer.text);
  t.like(answer.json, { contactKept: true });

  const learner = await stack.db('learners').where({ personCode: person.code }).first<{ email: string; phone: string; language: string }>();
  t.like(learner, own, 'the typed e-mail, phone and language were not stored');
  // The DPP journey's e-mail goes to the person's own address, none to the typed one.
  const handle: WorkflowHandle<typeof learnerJourney> = stack.temporal.workflow.getHandle(learnerJourneyId(request.requestId));
  await untilStage(stack.db, handle, request.requestId, 'imk_approved');
  const serviceCaseId = (await stack.db('cases').where({ id: request.requestId }).first<{ serviceCaseId: string }>()).serviceCaseId;
  const mail = await stack.mail.waitFor((m) => m.to.includes(own.email) && m.subject.includes(serviceCaseId));
  t.regex(mail.subject, /account/i, 'in the person\'s own language (English)');
  t.is(stack.mail.messages().filter((m) => m.to.includes(typed.email)).length, 0);
  t.is(await stack.db('emailOutbox').where({ recipient: typed.email }).first(), undefined);

  // A person without a phone may have one added by the coordinator; the e-mail still stays theirs.
  const noPhone = newPerson('Bezteļa');
  await call('POST', '/api/learner/journeys', {
    token: await learnerToken(noPhone),
    json: { requestId: randomUUID(), email: `own-${noPhone.code}@example.lv`, language: 'lv', programme: 'IMK', acceptTerms: true, termsVersion: CURRENT_TERMS_VERSION },
  });
  await eventually(() => stack.db('learners').where({ personCode: noPhone.code }).first(), 'the learner row');
  const added = await call('POST', '/api/coordinator/journeys', {
    token: await coordinatorToken(MARTA), json: assisted(noPhone, { programme: 'DPP', email: 'other@example.lv', phone: '+371 22222222' }),
  });
  t.true([201, 202].includes(added.status), added.text);
  t.like(await stack.db('learners').where({ personCode: noPhone.code }).first(), { email: `own-${noPhone.code}@example.lv`, phone: '+371 22222222' });

  // The page tells the coordinator the person's own contact details were kept.
  const page = await call('GET', '/coordinator?notice=registered_contact_kept&lang=en', { token: await coordinatorToken(MARTA), html: true });
  t.true(page.text.includes('contact details of their own; those were kept'), page.text);
});

// --- registries (issue 17) ---
test.serial('SOPA is asked on behalf of the coordinator who registered the person, and the audit shows her', async (t) => {
  const person = newPerson('Sopa');
  const caseId = await registerOnBehalf(MARTA, person);
  const query = await eventually(() => stack.db('auditLog').where({ caseId, action: 'sopa.get-statuses' }).first(), 'the SOPA query');
  // SOPA saw the coordinator, first name and surname apart, over mutual TLS (the test stack's stub requires it).
  t.like(stack.sopa.lastRequests.filter((r) => r.PersonCode === person.code).at(-1), {
    userName: 'Marta', userSecondName: 'Zariņa', userPersonCode: MARTA.code,
  });
  t.like(query, { actorRole: 'coordinator', actorId: MARTA.code, actorName: MARTA.name, subjectPersonCode: person.code });
  // The administrators' audit search shows the acting employee for that query.
  const found = await call('GET', `/api/admin/audit?personCode=${person.code}`, { token: await stack.adminToken() });
  t.is(found.status, 200, found.text);
  const entries = (found.json as { entries: { action: string; actorRole: string; actorId: string; actorName: string }[] }).entries;
  t.like(entries.find((e) => e.action === 'sopa.get-statuses'), { actorRole: 'coordinator', actorId: MARTA.code, actorName: 'Marta Zariņa' });
});
