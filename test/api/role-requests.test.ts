import { randomUUID } from 'node:crypto';
import test from 'ava';
import { rigaDate } from '../../domain/dates';
import { assertError, fieldsOf, httpClient, type Answer } from '../helpers/http';
import { eventually } from '../helpers/journeys';
import { startTestStack, type TestStack } from '../helpers/stack';

// Role requests on the real stack (issue 15 item 6): a person asks for a role, the request is an inbox task, staff
// approve it with an end date, the person chooses the role, an administrator revokes it and the role stops working
// at the next request. Career consultants see only the learners who asked them. Bad input names the field and rule.

let stack: TestStack;
const call = httpClient(() => stack.appUrl);

test.before(async () => {
  stack = await startTestStack();
});

test.after.always(async () => {
  await stack?.stop();
});

let people = 0;
/** A new person code (new format, no birth date) and name. */
function person(firstName: string) {
  people += 1;
  return { code: `32${String(Date.now() % 10_000).padStart(4, '0')}-${String(10_000 + people * 7 + Math.floor(Math.random() * 1000)).slice(-5)}`, name: `${firstName} Lomiņa` };
}

const inDays = (days: number) => {
  const d = new Date(`${rigaDate(new Date())}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
};

const sessionCookie = (answer: Answer) =>
  answer.headers.getSetCookie().map((c) => c.split(';')[0]!).find((c) => c.startsWith('ila_session='))?.slice('ila_session='.length);

async function fileRequest(token: string, body: Record<string, unknown>): Promise<Answer> {
  return call('POST', '/api/role-requests', { token, json: { requestId: randomUUID(), ...body } });
}

test('request → inbox task → approval with an end date → the person chooses the role; a revocation ends it at the next request', async (t) => {
  const ilze = person('Ilze');
  const learner = await stack.tokenFor('learner', ilze.code, ilze.name);
  const filed = await fileRequest(learner, { role: 'coordinator', municipality: 'Valka', reason: 'Esmu Valkas novada pieaugušo izglītības koordinatore.' });
  t.is(filed.status, 201, filed.text);
  const request = filed.json as { id: string; state: string };
  t.is(request.state, 'open');

  // Staff find it in the inbox, as a role request naming the person.
  const staff = await stack.staffToken('staff');
  const task = await eventually(async () => {
    const inbox = (await call('GET', '/api/staff/tasks?type=role-request', { token: staff })).json as { tasks: { id: string; subject: string; facts: { roleRequestId: string } }[] };
    return inbox.tasks.find((x) => x.facts.roleRequestId === request.id);
  }, 'the role request in the inbox');
  t.is(task.subject, ilze.name);
  // The generic decision refuses it: a role is granted on the request's page, with an end date.
  assertError(t, await call('POST', `/api/staff/tasks/${task.id}/decision`, { token: staff, json: { decision: 'approve' } }), 409, 'decide_on_request_page');

  const requestPage = await call('GET', `/staff/role-requests/${request.id}?lang=en`, { token: staff, html: true });
  t.is(requestPage.status, 200);
  t.true(requestPage.text.includes('Grant the role until the end date') && requestPage.text.includes('Esmu Valkas novada'));

  const validUntil = inDays(90);
  const decided = await call('POST', `/api/staff/role-requests/${request.id}/decision`, {
    token: staff, json: { decision: 'approve', validUntil, reason: 'Apstiprināts ar pašvaldības vēstuli.' },
  });
  t.is(decided.status, 200, decided.text);
  const approved = decided.json as { state: string; validUntil: string; grantId: string };
  t.like(approved, { state: 'approved', validUntil });
  t.like(await stack.db('tasks').where({ id: task.id }).first(), { state: 'decided', decision: 'approve' });
  assertError(t, await call('POST', `/api/staff/role-requests/${request.id}/decision`, {
    token: staff, json: { decision: 'reject', reason: 'Otrreiz' },
  }), 409, 'already_decided');

  // The person sees the role and can choose it.
  const mine = (await call('GET', '/api/role-requests', { token: learner })).json as { requests: { state: string }[] };
  t.is(mine.requests[0]!.state, 'approved');
  const choice = await call('GET', '/auth/role?lang=en', { token: learner, html: true });
  t.is(choice.status, 200);
  t.true(choice.text.includes('Adult-education coordinator of Valka'), choice.text);
  t.true(choice.text.includes(`valid until ${validUntil}`));
  const chosen = await call('POST', '/auth/role', { token: learner, json: { role: approved.grantId } });
  t.is(chosen.status, 302, chosen.text);
  t.is(chosen.headers.get('location'), '/coordinator');
  const coordinator = sessionCookie(chosen)!;
  t.is((await call('GET', '/api/coordinator/journeys', { cookie: coordinator })).status, 200);

  // An administrator revokes it with a reason: the coordinator's very next request is refused.
  const admin = await stack.adminToken();
  const grants = (await call('GET', '/api/admin/role-grants', { token: admin })).json as { grants: { id: string; live: boolean; name: string | null }[] };
  t.like(grants.grants.find((g) => g.id === approved.grantId), { live: true, name: ilze.name });
  const revoked = await call('POST', `/api/admin/role-grants/${approved.grantId}/revocation`, { token: admin, json: { reason: 'Darba attiecības beigušās.' } });
  t.is(revoked.status, 200, revoked.text);
  t.like(revoked.json, { live: false, revokeReason: 'Darba attiecības beigušās.' });
  assertError(t, await call('GET', '/api/coordinator/journeys', { cookie: coordinator }), 401, 'session_ended');
  assertError(t, await call('POST', `/api/admin/role-grants/${approved.grantId}/revocation`, { token: admin, json: { reason: 'Vēlreiz' } }), 409, 'already_revoked');
  const grantsPage = await call('GET', '/admin/role-grants', { token: admin, html: true });
  t.true(grantsPage.text.includes('Atsaukta:') && grantsPage.text.includes('Darba attiecības beigušās.'), 'the list shows the revocation and its reason');
  // The role choice no longer offers it (straight on to the learner's pages), and it cannot be chosen by its id.
  const learnerAgain = await stack.tokenFor('learner', ilze.code, ilze.name);
  const noChoice = await call('GET', '/auth/role', { token: learnerAgain, html: true });
  t.is(noChoice.status, 302);
  t.is(noChoice.headers.get('location'), '/learner');
  assertError(t, await call('POST', '/auth/role', { token: learnerAgain, json: { role: approved.grantId } }), 403, 'role_not_active');

  // Both changes are audited with who, before/after and why.
  const audit = await stack.db('auditLog').whereIn('action', ['role_request.decided', 'role_grant.revoke']).where({ subjectPersonCode: ilze.code }).orderBy('at');
  t.deepEqual(audit.map((a) => a.action), ['role_request.decided', 'role_grant.revoke']);
  t.is(audit[0].purpose, 'Apstiprināts ar pašvaldības vēstuli.');
  t.like(audit[1], { purpose: 'Darba attiecības beigušās.', actorRole: 'admin' });
  t.like(audit[1].result, { before: { live: true }, after: { live: false } });
});

test('a career consultant sees only the learners who asked them, their journeys read-only, and their own notes', async (t) => {
  const [anna, otto, lauma, juris] = [person('Anna'), person('Otto'), person('Lauma'), person('Juris')];
  const grantOf = async (who: { code: string }) => (await stack.db('roleGrants').insert({
    personCode: who.code, role: 'career_consultant', municipality: 'Cēsis', organisation: 'Cēsu karjeras centrs',
    validFrom: inDays(-1), validUntil: inDays(30), grantedBy: 'test',
  }).returning<{ id: string }[]>('id'))[0]!.id;
  const [annaGrant, ottoGrant] = [await grantOf(anna), await grantOf(otto)];
  const laumaToken = await stack.tokenFor('learner', lauma.code, lauma.name);
  const jurisToken = await stack.tokenFor('learner', juris.code, juris.name);

  const offered = (await call('GET', '/api/learner/consultations', { token: laumaToken })).json as { consultants: { id: string }[] };
  t.true(offered.consultants.some((c) => c.id === annaGrant) && offered.consultants.some((c) => c.id === ottoGrant));
  const asked = await call('POST', '/api/learner/consultations', { token: laumaToken, json: { consultantId: annaGrant, message: 'Gribu mainīt profesiju.' } });
  t.is(asked.status, 201, asked.text);
  const laumas = (asked.json as { id: string }).id;
  t.is((await call('POST', '/api/learner/consultations', { token: laumaToken, json: { consultantId: annaGrant, message: 'Vēlreiz' } })).status, 200, 'asking again is the same request');
  const jurisAsked = await call('POST', '/api/learner/consultations', { token: jurisToken, json: { consultantId: ottoGrant, message: 'Par IT kursiem.' } });
  const jurisa = (jurisAsked.json as { id: string }).id;

  const annaToken = await stack.signIn({ role: 'consultant', subject: anna.code, name: anna.name, municipality: 'Cēsis' });
  const list = (await call('GET', '/api/consultant/consultations', { token: annaToken })).json as { consultations: { id: string; learnerName: string }[] };
  t.deepEqual(list.consultations.map((c) => c.learnerName), [lauma.name]);
  const home = await call('GET', '/consultant?lang=en', { token: annaToken, html: true });
  t.true(home.text.includes(lauma.name) && !home.text.includes(juris.name), 'the workspace lists only who asked her');
  assertError(t, await call('GET', `/api/consultant/consultations/${jurisa}`, { token: annaToken }), 404, 'not_found');
  // An id that is no uuid: the API names the parameter; the page's note form finds no such consultation (the fuzz
  // stage found it a 500 there).
  assertError(t, await call('POST', '/api/consultant/consultations/%40x/notes', { token: annaToken, json: { text: 'Piezīme' } }), 400, 'invalid_request');
  t.is((await call('POST', '/consultant/consultations/%40x/notes', { token: annaToken, html: true, form: { text: 'Piezīme' } })).status, 404);
  assertError(t, await call('POST', `/api/consultant/consultations/${jurisa}/notes`, { token: annaToken, json: { text: 'Nav mans' } }), 404, 'not_found');

  const note = await call('POST', `/api/consultant/consultations/${laumas}/notes`, { token: annaToken, json: { text: 'Ieteicu IT pamatu kursu.' } });
  t.is(note.status, 201, note.text);
  const detail = (await call('GET', `/api/consultant/consultations/${laumas}`, { token: annaToken })).json as { journeys: unknown[]; notes: { text: string }[] };
  t.deepEqual(detail.journeys, []);
  t.deepEqual(detail.notes.map((n) => n.text), ['Ieteicu IT pamatu kursu.']);
  const page = await call('GET', `/consultant/consultations/${laumas}?lang=en`, { token: annaToken, html: true });
  t.is(page.status, 200);
  t.true(page.text.includes(`Consultation: ${lauma.name}`) && page.text.includes('Ieteicu IT pamatu kursu.'));
  t.truthy(await stack.db('auditLog').where({ action: 'consultation.view', subjectPersonCode: lauma.code, actorId: anna.code }).first());

  // A learner (or a coordinator) is no consultant; a revoked consultant loses the workspace at the next request.
  assertError(t, await call('GET', '/api/consultant/consultations', { token: laumaToken }), 403, 'forbidden');
  await stack.db('roleGrants').where({ id: annaGrant }).update({ revokedAt: new Date(), revokedByName: 'test', revokeReason: 'test' });
  assertError(t, await call('GET', '/api/consultant/consultations', { token: annaToken }), 401, 'session_ended');
});

test('bad input is refused naming the field and the rule, in Latvian and English', async (t) => {
  const maris = person('Māris');
  const token = await stack.tokenFor('learner', maris.code, maris.name);
  const bad = assertError(t, await call('POST', '/api/role-requests', { token, json: { requestId: 'x', role: 'mayor', municipality: ' ' } }), 400, 'invalid_request');
  t.deepEqual(fieldsOf(bad).sort(), ['municipality', 'reason', 'requestId', 'role']);
  t.like(bad.details.find((d) => d.field === 'role'), { rule: 'invalid_value', words: { lv: 'Izvēlieties lomu: koordinators vai karjeras konsultants.', en: 'Choose the role: coordinator or career consultant.' } });
  const noOrganisation = assertError(t, await fileRequest(token, { role: 'career_consultant', municipality: 'Cēsis', reason: 'Konsultēju.' }), 400, 'invalid_request');
  t.like(noOrganisation.details[0], { field: 'organisation', rule: 'required' });

  t.is((await fileRequest(token, { role: 'coordinator', municipality: 'Ogre', reason: 'Koordinēšu.' })).status, 201);
  const twice = assertError(t, await fileRequest(token, { role: 'coordinator', municipality: 'ogre', reason: 'Vēlreiz.' }), 409, 'role_request_open');
  t.like(twice.details[0], { field: 'role', rule: 'one_open_request' });
  const id = ((await call('GET', '/api/role-requests', { token })).json as { requests: { id: string }[] }).requests[0]!.id;

  const staff = await stack.staffToken('staff');
  const past = assertError(t, await call('POST', `/api/staff/role-requests/${id}/decision`, { token: staff, json: { decision: 'approve', validUntil: inDays(0), reason: 'Jā' } }), 400, 'invalid_request');
  t.like(past.details[0], { field: 'validUntil', rule: 'after_today' });
  const tooLong = assertError(t, await call('POST', `/api/staff/role-requests/${id}/decision`, { token: staff, json: { decision: 'approve', validUntil: inDays(2000), reason: 'Jā' } }), 400, 'invalid_request');
  t.like(tooLong.details[0], { field: 'validUntil', rule: 'at_most_three_years' });
  const noReason = assertError(t, await call('POST', `/api/staff/role-requests/${id}/decision`, { token: staff, json: { decision: 'reject' } }), 400, 'invalid_request');
  t.like(noReason.details[0], { field: 'reason', rule: 'required' });

  const admin = await stack.adminToken();
  const grant = (await stack.db('roleGrants').insert({ personCode: maris.code, role: 'coordinator', municipality: 'Ogre', validFrom: inDays(0), validUntil: inDays(5), grantedBy: 'test' }).returning<{ id: string }[]>('id'))[0]!.id;
  const noRevokeReason = assertError(t, await call('POST', `/api/admin/role-grants/${grant}/revocation`, { token: admin, json: {} }), 400, 'invalid_request');
  t.like(noRevokeReason.details[0], { field: 'reason', rule: 'required' });
  assertError(t, await call('POST', `/api/admin/role-grants/${randomUUID()}/revocation`, { token: admin, json: { reason: 'x' } }), 404, 'not_found');
  const noConsultant = assertError(t, await call('POST', '/api/learner/consultations', { token, json: { consultantId: randomUUID(), message: 'Sveiki' } }), 400, 'invalid_request');
  t.like(noConsultant.details[0], { field: 'consultantId', rule: 'live_consultant' });

  // The page's form shows each problem next to its field, in the page's language.
  for (const [lang, words] of [['lv', 'Norādiet, kāpēc lūdzat šo lomu.'], ['en', 'Say why you ask for this role.']] as const) {
    const page = await call('POST', `/account/roles?lang=${lang}`, { token, html: true, form: { requestId: randomUUID(), role: 'coordinator', municipality: 'Ogre', reason: '' } });
    t.is(page.status, 400);
    t.true(page.text.includes(words), page.text);
  }
});

test('a request whose workflow the agency stops ends as closed without a decision, and the person may ask again', async (t) => {
  const juris = person('Juris');
  const learner = await stack.tokenFor('learner', juris.code, juris.name);
  const body = { role: 'coordinator', municipality: 'Alūksne', reason: 'Alūksnes novada koordinators.' };
  const filed = await fileRequest(learner, body);
  t.is(filed.status, 201, filed.text);
  const { id } = filed.json as { id: string };
  assertError(t, await fileRequest(learner, body), 409, 'role_request_open');
  const task = await eventually(() => stack.db('tasks').where({ workflowId: `role-request:${id}` }).first<{ id: string } | undefined>('id'), 'the task');

  await stack.temporal.workflow.getHandle(`role-request:${id}`).cancel();
  await eventually(async () => (await stack.db('roleRequests').where({ id, state: 'cancelled' }).first('id')) ?? null, 'the request closed');
  t.like(await stack.db('tasks').where({ id: task.id }).first(), { state: 'cancelled' });
  const mine = (await call('GET', '/api/role-requests', { token: learner })).json as { requests: { id: string; state: string }[] };
  t.is(mine.requests.find((r) => r.id === id)?.state, 'cancelled');
  const page = await call('GET', '/account/roles?lang=en', { token: learner, html: true });
  t.true(page.text.includes('closed by the agency without a decision'), 'the person reads that it ended');
  const again = await fileRequest(learner, body);
  t.is(again.status, 201, again.text);
});
