import { randomBytes, randomUUID } from 'node:crypto';
import test from 'ava';
import { MAX_BODY_BYTES } from '../../api/middleware/body';
import { demoUsers } from '../../dev/seed';
import { signInHeadless } from '../../dev/stubs/sso';
import { CURRENT_TERMS_VERSION } from '../../domain/terms';
import { hashPassword } from '../../lib/passwords';
import { eventually } from '../helpers/journeys';
import { startTestStack, type TestStack } from '../helpers/stack';
import { assertError, fieldsOf, httpClient, type ErrorBody } from '../helpers/http';

// The API over HTTP, as a client sees it: real Koa app, real Postgres, real Temporal worker, stub registries.

let stack: TestStack;
const call = httpClient(() => stack.appUrl);

test.before(async () => { stack = await startTestStack({ manualApproval: ['IMK'] }); });
test.after.always(async () => { await stack?.stop(); });

const ANNA = { code: '321178-40215', name: 'Anna Bērziņa' };
const JANIS = { code: '150690-11223', name: 'Jānis Kalniņš' };
const LIGA = { code: '010309-21234', name: 'Līga Ozola' };
const MARTA = { code: '220288-10458', name: 'Marta Zariņa' };
const STAFF = demoUsers.find((u) => u.username === 'staff')!;

interface Journey { caseId: string; serviceCaseId: string; stage: string; balanceCents: number; closedAt: string | null; events: { kind: string; stage: string; actorName: string | null }[] }
interface TaskView { id: string; caseId: string; state: string; type: string; learnerName: string; decision: string | null; decidedByName: string | null }




const registration = (overrides: Record<string, unknown> = {}) => ({
  requestId: randomUUID(), email: 'learner@example.lv', language: 'lv', acceptTerms: true, termsVersion: CURRENT_TERMS_VERSION, ...overrides,
});

const learnerToken = (person: { code: string; name: string }) => stack.tokenFor('learner', person.code, person.name);

function register(person: { code: string; name: string }, body: Record<string, unknown>) {
  return learnerToken(person).then((token) => call('POST', '/api/learner/journeys', { token, json: body }));
}

async function journeyOf(person: { code: string; name: string }, caseId: string): Promise<Journey> {
  const answer = await call('GET', `/api/learner/journeys/${caseId}`, { token: await learnerToken(person) });
  if (answer.status !== 200) throw new Error(`journey ${caseId}: HTTP ${answer.status} ${answer.text}`);
  return answer.json as Journey;
}

/** Polls the staff inbox until the case's open approval task shows up. */
async function openTaskInInbox(staffToken: string, caseId: string): Promise<TaskView> {
  return eventually(async () => {
    const answer = await call('GET', '/api/staff/tasks', { token: staffToken });
    return (answer.json as { tasks: TaskView[] }).tasks.find((task) => task.caseId === caseId);
  }, `a task for case ${caseId} in the inbox`);
}

function decide(token: string, taskId: string, body: Record<string, unknown>) {
  return call('POST', `/api/staff/tasks/${taskId}/decision`, { token, json: body });
}

/** name=value of each Set-Cookie header. */
function setCookies(headers: Headers): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const header of headers.getSetCookie()) {
    const pair = header.split(';')[0];
    const eq = pair.indexOf('=');
    cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
  return cookies;
}

// ---------------------------------------------------------------------------------------------------------------
// The OpenAPI document

interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, {
    security?: unknown[]; 'x-roles'?: string[];
    requestBody?: { content: { 'application/json': { schema: { required?: string[]; properties?: Record<string, unknown>; additionalProperties?: unknown } } } };
  }>>;
}

async function openApi(): Promise<OpenApiDoc> {
  const answer = await call('GET', '/api/openapi.json');
  if (answer.status !== 200) throw new Error(`openapi.json: HTTP ${answer.status}`);
  return answer.json as OpenApiDoc;
}

test.serial('GET /api/openapi.json is an OpenAPI 3.1 document describing the registration and decision routes', async (t) => {
  const doc = await openApi();
  t.regex(doc.openapi, /^3\.1\.\d+$/);

  const registerOp = doc.paths['/api/learner/journeys']?.post;
  t.truthy(registerOp, 'POST /api/learner/journeys is listed');
  const schema = registerOp!.requestBody!.content['application/json'].schema;
  for (const field of ['email', 'language', 'acceptTerms', 'termsVersion']) {
    t.true(schema.required?.includes(field), `${field} is required in the request body schema`);
  }
  t.false(schema.required?.includes('requestId'), 'requestId is optional');
  t.is(schema.additionalProperties, false, 'unknown fields are refused, as the route does');

  t.truthy(doc.paths['/api/staff/tasks/{taskId}/decision']?.post, 'POST /api/staff/tasks/{taskId}/decision is listed');
  t.truthy(doc.paths['/api/learner/journeys']?.get);
  t.truthy(doc.paths['/api/staff/tasks']?.get);
});

/**
 * Whether nothing answered the request: the error middleware's "No route for ..." (a page's own 404 for an id that
 * names nothing also has the code not_found, with the page's words, and is a route).
 */
function noRoute(answer: { status: number; json?: unknown }): boolean {
  const error = (answer.json as ErrorBody | undefined)?.error;
  return [404, 405, 501].includes(answer.status) && error?.code === 'not_found' && error.message.startsWith('No route for');
}

test.serial('every path and method in the OpenAPI document is a route the app answers (the document cannot drift)', async (t) => {
  const doc = await openApi();
  const operations = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));
  t.true(operations.length >= 6, `found ${operations.length} operations`);

  for (const { path, method, op } of operations) {
    const url = path.replace(/\{\w+\}/g, () => randomUUID());
    const label = `${method.toUpperCase()} ${path}`;
    const body = method === 'post' ? {} : undefined;

    // Without credentials: a protected route says 401 (so it exists and is guarded); a public one answers.
    const anonymous = await call(method.toUpperCase(), url, { json: body });
    if (op.security) assertError(t, anonymous, 401, 'not_logged_in');
    // A public route may answer 404 for an id that does not exist (e.g. an offer), but never "no such route".
    else t.false(noRoute(anonymous), `${label} is not a route: ${anonymous.text}`);

    // With a token of a role the document names: whatever the answer, it is not "no such route".
    const role = op['x-roles']?.[0] as 'learner' | 'staff' | 'admin' | 'provider' | undefined;
    const token = role ? await stack.tokenFor(role, role === 'learner' ? JANIS.code : randomUUID(), 'Route Probe') : undefined;
    const answer = await call(method.toUpperCase(), url, { token, json: body });
    t.false(noRoute(answer), `${label} is not a route: ${answer.text}`);
    t.not(answer.status, 405, `${label} does not accept its documented method`);
    t.true(answer.status < 500, `${label} failed: ${answer.text}`);
  }

  // The check has teeth: a path that is not a route is a 404 with code not_found.
  assertError(t, await call('GET', '/api/learner/no-such-route'), 404, 'not_found');
});

// ---------------------------------------------------------------------------------------------------------------
// Bad input: 4xx with a message naming the field, always the uniform error body

test.serial('malformed JSON is answered 400 malformed_json', async (t) => {
  const answer = await call('POST', '/api/learner/journeys', {
    token: await learnerToken(LIGA), raw: '{"email": "liga@example.lv", ', headers: { 'content-type': 'application/json' },
  });
  const error = assertError(t, answer, 400, 'malformed_json');
  t.regex(error.message, /not valid JSON/);
});

test.serial('a registration without fields is answered 400 listing every missing field', async (t) => {
  const error = assertError(t, await register(LIGA, {}), 400, 'invalid_request');
  t.deepEqual(fieldsOf(error).sort(), ['acceptTerms', 'email', 'language', 'termsVersion']);
  for (const field of ['email', 'language', 'acceptTerms', 'termsVersion']) t.true(error.message.includes(`${field}:`), `message names ${field}: ${error.message}`);
});

test.serial('a registration with wrong types is answered 400 naming each field', async (t) => {
  const error = assertError(t, await register(LIGA, registration({ email: 42, language: 'de', acceptTerms: 'yes' })), 400, 'invalid_request');
  t.deepEqual(fieldsOf(error).sort(), ['acceptTerms', 'email', 'language']);
  t.true(error.message.includes('language: must be "lv" or "en"'), error.message);
  t.true(error.message.includes('acceptTerms: you must accept the terms of use'), error.message);
  t.true(error.message.includes('email:'), error.message);

  const badEmail = assertError(t, await register(LIGA, registration({ email: 'not-an-address' })), 400, 'invalid_request');
  t.deepEqual(fieldsOf(badEmail), ['email']);
  t.regex(badEmail.message, /e-mail address/);

  const oldTerms = assertError(t, await register(LIGA, registration({ termsVersion: '2020-01' })), 400, 'invalid_request');
  t.deepEqual(fieldsOf(oldTerms), ['termsVersion']);
});

// A present e-mail of the wrong type is reported as such, not as missing.
test('an e-mail of the wrong type is not reported as missing', async (t) => {
  const error = assertError(t, await register(LIGA, registration({ email: 42 })), 400, 'invalid_request');
  const email = error.details.find((d) => d.field === 'email');
  t.truthy(email);
  t.not(email!.message, 'is required', 'the field was sent; the message should say it must be text / an e-mail address');
});

// An unsupported method gets the uniform error body too.
test('a method a route does not support is answered 405 with the uniform error body', async (t) => {
  const answer = await call('PUT', '/api/learner/journeys', { token: await learnerToken(LIGA), json: registration() });
  t.is(answer.status, 405);
  t.is(answer.headers.get('allow'), 'HEAD, GET, POST');
  t.regex(answer.headers.get('content-type') ?? '', /^application\/json/, `got: ${answer.text}`);
  const body = answer.json as ErrorBody | undefined;
  t.is(typeof body?.error?.code, 'string');
  t.is(typeof body?.error?.message, 'string');
  t.true(Array.isArray(body?.error?.details));
});

test.serial('an unknown extra field is answered 400 naming it', async (t) => {
  const error = assertError(t, await register(LIGA, registration({ isAdmin: true })), 400, 'invalid_request');
  t.deepEqual(fieldsOf(error), ['isAdmin']);
  t.is(error.details[0].rule, 'unrecognized_keys');
  t.true(error.message.includes('isAdmin'));
});

test.serial('a body larger than 64 KiB is answered 413', async (t) => {
  const json = registration({ email: `${'x'.repeat(MAX_BODY_BYTES)}@example.lv` });
  t.true(JSON.stringify(json).length > 64 * 1024);
  const error = assertError(t, await register(LIGA, json), 413, 'body_too_large');
  t.regex(error.message, /64 KiB/);
});

test.serial('a body that is neither JSON nor a form is answered 415', async (t) => {
  const answer = await call('POST', '/api/learner/journeys', {
    token: await learnerToken(LIGA), raw: JSON.stringify(registration()), headers: { 'content-type': 'text/plain' },
  });
  const error = assertError(t, answer, 415, 'unsupported_media_type');
  t.regex(error.message, /application\/json/);
});

test.serial('non-UUID path parameters are answered 400 naming caseId or taskId', async (t) => {
  const learner = await learnerToken(LIGA);
  const staff = await stack.staffToken();
  const caseError = assertError(t, await call('GET', '/api/learner/journeys/not-a-uuid', { token: learner }), 400, 'invalid_request');
  t.deepEqual(fieldsOf(caseError), ['caseId']);
  t.regex(caseError.message, /caseId/);

  const taskError = assertError(t, await call('GET', '/api/staff/tasks/123', { token: staff }), 400, 'invalid_request');
  t.deepEqual(fieldsOf(taskError), ['taskId']);

  const decisionError = assertError(t, await decide(staff, 'abc', { decision: 'approve' }), 400, 'invalid_request');
  t.deepEqual(fieldsOf(decisionError), ['taskId']);
});

test.serial('a refusal without a comment is answered 400 naming comment', async (t) => {
  const staff = await stack.staffToken();
  const taskId = randomUUID();
  const missing = assertError(t, await decide(staff, taskId, { decision: 'reject' }), 400, 'invalid_request');
  t.deepEqual(fieldsOf(missing), ['comment']);
  t.regex(missing.message, /comment: is required when rejecting/);

  const blank = assertError(t, await decide(staff, taskId, { decision: 'reject', comment: '   ' }), 400, 'invalid_request');
  t.deepEqual(fieldsOf(blank), ['comment']);

  const unknown = assertError(t, await decide(staff, taskId, { decision: 'maybe' }), 400, 'invalid_request');
  t.deepEqual(fieldsOf(unknown), ['decision']);
});

test.serial('an inbox page below 1 or not a number is answered 400 naming page', async (t) => {
  const staff = await stack.staffToken();
  const zero = assertError(t, await call('GET', '/api/staff/tasks?page=0', { token: staff }), 400, 'invalid_request');
  t.deepEqual(fieldsOf(zero), ['page']);
  t.regex(zero.message, /page: must be 1 or more/);
  t.deepEqual(fieldsOf(assertError(t, await call('GET', '/api/staff/tasks?page=abc', { token: staff }), 400, 'invalid_request')), ['page']);
  t.deepEqual(fieldsOf(assertError(t, await call('GET', '/api/staff/tasks?state=closed', { token: staff }), 400, 'invalid_request')), ['state']);
});

test.serial('refused registrations stored nothing', async (t) => {
  // Every bad registration above was sent as Līga; none may have reached the database or Temporal.
  t.is(await stack.db('learners').where({ personCode: LIGA.code }).first(), undefined);
  const cases = await stack.db('cases').join('learners', 'learners.id', 'cases.learnerId').where('learners.personCode', LIGA.code);
  t.is(cases.length, 0);
  const answer = await call('GET', '/api/learner/journeys', { token: await learnerToken(LIGA) });
  t.is(answer.status, 200);
  t.deepEqual(answer.json, { journeys: [] });
});

// ---------------------------------------------------------------------------------------------------------------
// Authorization

test.serial('without a token learner and staff routes answer 401', async (t) => {
  for (const [method, path] of [
    ['GET', '/api/learner/journeys'], ['POST', '/api/learner/journeys'], ['GET', `/api/learner/journeys/${randomUUID()}`],
    ['GET', '/api/staff/tasks'], ['GET', `/api/staff/tasks/${randomUUID()}`], ['POST', `/api/staff/tasks/${randomUUID()}/decision`],
  ]) {
    const error = assertError(t, await call(method, path, { json: method === 'POST' ? {} : undefined }), 401, 'not_logged_in');
    t.is(error.message, 'Log in first');
  }
  // A token no session was started with is no token at all.
  const forged = randomBytes(32).toString('base64url');
  assertError(t, await call('GET', '/api/staff/tasks', { token: forged }), 401, 'not_logged_in');
});

test.serial('a learner token on staff routes and a staff token on learner routes answer 403', async (t) => {
  const learner = await learnerToken(LIGA);
  assertError(t, await call('GET', '/api/staff/tasks', { token: learner }), 403, 'forbidden');
  assertError(t, await decide(learner, randomUUID(), { decision: 'approve' }), 403, 'forbidden');
  const staff = await stack.staffToken();
  assertError(t, await call('GET', '/api/learner/journeys', { token: staff }), 403, 'forbidden');
  assertError(t, await call('POST', '/api/learner/journeys', { token: staff, json: registration() }), 403, 'forbidden');
  const provider = await stack.tokenFor('provider', randomUUID(), 'Dace Vītola');
  assertError(t, await call('GET', '/api/staff/tasks', { token: provider }), 403, 'forbidden');
});

// ---------------------------------------------------------------------------------------------------------------
// The slice over HTTP: register, approve, see the result

let annaCaseId = '';
let annaTaskId = '';

test.serial('a learner registers, staff approve, the learner sees the approved journey and gets an e-mail', async (t) => {
  const requestId = randomUUID();
  const email = 'anna.berzina@example.lv';
  const created = await register(ANNA, registration({ requestId, email }));
  t.is(created.status, 201, created.text);
  const { caseId, location } = created.json as { caseId: string; location: string };
  t.is(caseId, requestId, 'the case id is the form request id');
  t.is(location, `/api/learner/journeys/${caseId}`);
  t.is(created.headers.get('location'), location);
  annaCaseId = caseId;

  const awaiting = await eventually(async () => {
    const answer = await call('GET', '/api/learner/journeys', { token: await learnerToken(ANNA) });
    const journey = (answer.json as { journeys: Journey[] }).journeys.find((j) => j.caseId === caseId);
    return journey?.stage === 'awaiting_approval' ? journey : undefined;
  }, 'the journey to await approval');
  t.regex(awaiting.serviceCaseId, /^IMK-\d{4}-\d{6}$/);
  t.is(awaiting.closedAt, null);

  const staff = await stack.staffToken();
  const task = await openTaskInInbox(staff, caseId);
  t.like(task, { state: 'open', type: 'approve-imk', learnerName: ANNA.name, decision: null });
  annaTaskId = task.id;

  const decided = await decide(staff, task.id, { decision: 'approve' });
  t.is(decided.status, 200, decided.text);
  t.deepEqual(decided.json, { stage: 'imk_approved' });

  // Once staff have their answer, the learner already sees the outcome.
  const journey = await journeyOf(ANNA, caseId);
  t.is(journey.stage, 'imk_approved');
  t.is(journey.balanceCents, 50_000);
  t.deepEqual(journey.events.map((e) => e.kind), ['registered', 'eligible', 'imk_approved']);
  t.is(journey.events[2].actorName, STAFF.displayName);

  const inbox = await call('GET', '/api/staff/tasks?state=decided', { token: staff });
  t.like((inbox.json as { tasks: TaskView[] }).tasks.find((x) => x.id === task.id), { state: 'decided', decision: 'approve', decidedByName: STAFF.displayName });

  const mail = await stack.mail.waitFor((m) => m.to.includes(email));
  t.true(mail.subject.includes(journey.serviceCaseId), mail.subject);
  t.true(mail.text.includes('500,00 EUR'), 'the Latvian e-mail names the balance');
});

test.serial('a second decision on a decided task is answered 409 already_decided naming who decided', async (t) => {
  t.truthy(annaTaskId, 'needs the slice test');
  const colleague = await stack.tokenFor('staff', randomUUID(), 'Other Person');
  const error = assertError(t, await decide(colleague, annaTaskId, { decision: 'reject', comment: 'Too late' }), 409, 'already_decided');
  t.true(error.message.includes(STAFF.displayName), error.message);
  t.true(error.message.includes('approve'), error.message);
  t.deepEqual(error.details, [{ decidedBy: STAFF.displayName, decision: 'approve' }]);

  // The same member of staff clicking again gets the same answer, and nothing changed.
  assertError(t, await decide(await stack.staffToken(), annaTaskId, { decision: 'approve' }), 409, 'already_decided');
  t.like(await stack.db('tasks').where({ id: annaTaskId }).first(), { decision: 'approve', decidedByName: STAFF.displayName, comment: '' });
  t.is((await journeyOf(ANNA, annaCaseId)).stage, 'imk_approved');
});

test.serial("a learner cannot read another learner's journey: 404, not the data", async (t) => {
  t.truthy(annaCaseId, 'needs the slice test');
  const janis = await learnerToken(JANIS);
  const answer = await call('GET', `/api/learner/journeys/${annaCaseId}`, { token: janis });
  const error = assertError(t, answer, 404, 'journey_not_found');
  t.is(error.message, 'You have no journey with this id');
  t.false(answer.text.includes('IMK-'), 'no service case id leaks');
  t.false(answer.text.includes('Anna'), 'no name leaks');
  const list = await call('GET', '/api/learner/journeys', { token: janis });
  t.false(list.text.includes(annaCaseId));
  // Anna herself still reads it.
  t.is((await journeyOf(ANNA, annaCaseId)).caseId, annaCaseId);
});

test.serial('a double submit with the same requestId opens one case; another requestId while it is open is 409', async (t) => {
  const body = registration({ email: 'janis.kalnins@example.lv' });
  const [first, second] = await Promise.all([register(JANIS, body), register(JANIS, body)]);
  t.is(first.status, 201, first.text);
  t.is(second.status, 201, second.text);
  const caseId = (first.json as { caseId: string }).caseId;
  t.is((second.json as { caseId: string }).caseId, caseId);
  t.is(caseId, body.requestId);

  // A later repeat (the browser's back button and submit again) is still the same case.
  const third = await register(JANIS, body);
  t.is(third.status, 201, third.text);
  t.is((third.json as { caseId: string }).caseId, caseId);

  const rows = await stack.db('cases').join('learners', 'learners.id', 'cases.learnerId').where('learners.personCode', JANIS.code).select('cases.id');
  t.deepEqual(rows.map((r: { id: string }) => r.id), [caseId], 'exactly one case row');

  const other = assertError(t, await register(JANIS, registration({ email: 'janis.kalnins@example.lv' })), 409, 'journey_already_open');
  t.deepEqual(other.details, [{ caseId }]);
  const withoutId = { ...registration({ email: 'janis.kalnins@example.lv' }) } as Record<string, unknown>;
  delete withoutId.requestId;
  assertError(t, await register(JANIS, withoutId), 409, 'journey_already_open');
  t.is((await stack.db('cases').join('learners', 'learners.id', 'cases.learnerId').where('learners.personCode', JANIS.code)).length, 1);
});

// Request ids are UUIDs in any letter case (iOS sends upper case); the double submit stays idempotent.
test('a double submit with an upper-case requestId is also idempotent', async (t) => {
  const person = { code: '120594-12347', name: 'Ilze Upīte' };
  stack.registry.setPerson({
    personCode: person.code, firstName: 'Ilze', lastName: 'Upīte', birthDate: '1994-05-12', deceased: false, address: 'Rīga', note: 'test',
  });
  const body = registration({ requestId: randomUUID().toUpperCase(), email: 'ilze@example.lv' });
  const first = await register(person, body);
  t.is(first.status, 201, first.text);
  const again = await register(person, body);
  t.is(again.status, 201, again.text);
});

test.serial('two staff deciding the same task at once: exactly one wins, the other is told who did', async (t) => {
  // A second real staff member, who logs in with a password.
  const password = 'Egle#Staff2026';
  await stack.db('users').insert({ username: 'laura', displayName: 'Laura Egle', role: 'staff', passwordHash: await hashPassword(password) });
  const login = await call('POST', '/api/auth/login', { json: { username: 'laura', password } });
  t.is(login.status, 200, login.text);
  const laura = (login.json as { token: string }).token;
  const inese = await stack.staffToken();

  const created = await register(MARTA, registration({ email: 'marta.zarina@example.lv' }));
  t.is(created.status, 201, created.text);
  const { caseId } = created.json as { caseId: string };
  const task = await openTaskInInbox(inese, caseId);

  const [byInese, byLaura] = await Promise.all([
    decide(inese, task.id, { decision: 'approve' }),
    decide(laura, task.id, { decision: 'reject', comment: 'Pieteikums jāpapildina' }),
  ]);
  t.deepEqual([byInese.status, byLaura.status].sort(), [200, 409], `${byInese.text} / ${byLaura.text}`);
  const inesWon = byInese.status === 200;
  const winner = inesWon ? { name: STAFF.displayName, decision: 'approve', comment: '', stage: 'imk_approved' } : { name: 'Laura Egle', decision: 'reject', comment: 'Pieteikums jāpapildina', stage: 'imk_rejected' };
  const loser = inesWon ? byLaura : byInese;
  const error = assertError(t, loser, 409, 'already_decided');
  t.true(error.message.includes(winner.name), error.message);
  t.deepEqual((inesWon ? byInese : byLaura).json, { stage: winner.stage });

  const row = await stack.db('tasks').where({ id: task.id }).first();
  t.like(row, { state: 'decided', decision: winner.decision, decidedByName: winner.name, comment: winner.comment });
  const journey = await journeyOf(MARTA, caseId);
  t.is(journey.stage, winner.stage);
  t.is(journey.events.filter((e) => e.kind === 'imk_approved' || e.kind === 'imk_rejected').length, 1, 'one decision in the history');
});

// The inbox row and the workflow must agree: a task listed as open takes a decision at once. Each round has a
// fresh person and decides as soon as the task is listed (this raced before the task id was set first).
test('a task listed as open in the inbox accepts a decision straight away', async (t) => {
  const staff = await stack.staffToken();
  for (let round = 0; round < 8; round++) {
    const person = { code: `0105${80 + round}-1000${round}`, name: `Tests Apstiprinājums${round}` };
    stack.registry.setPerson({
      personCode: person.code, firstName: 'Tests', lastName: `Apstiprinājums${round}`, birthDate: `19${80 + round}-05-01`,
      deceased: false, address: 'Rīga', note: 'test',
    });
    const created = await register(person, registration({ email: `race${round}@example.lv` }));
    const { caseId } = created.json as { caseId: string };
    let task: TaskView | undefined;
    while (!task) {
      const inbox = await call('GET', '/api/staff/tasks', { token: staff });
      task = (inbox.json as { tasks: TaskView[] }).tasks.find((x) => x.caseId === caseId);
      if (!task) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const decided = await decide(staff, task.id, { decision: 'approve' });
    t.is(decided.status, 200, `round ${round}: ${decided.text}`);
    if (decided.status !== 200) return;
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Logging in

test.serial('staff log in with username and password and the token works on the inbox', async (t) => {
  const login = await call('POST', '/api/auth/login', { json: { username: STAFF.username, password: STAFF.password } });
  t.is(login.status, 200, login.text);
  const { token, role } = login.json as { token: string; role: string };
  t.is(role, 'staff');
  t.true(setCookies(login.headers).has('ila_session'), 'browsers get the session as a cookie too');
  const inbox = await call('GET', '/api/staff/tasks', { token });
  t.is(inbox.status, 200, inbox.text);
  t.like(inbox.json, { page: 1 });
});

test.serial('a wrong password is answered 401 exactly like an unknown user', async (t) => {
  const wrong = await call('POST', '/api/auth/login', { json: { username: STAFF.username, password: 'Wrong#Password1' } });
  const unknown = await call('POST', '/api/auth/login', { json: { username: 'nobody-here', password: 'Wrong#Password1' } });
  const wrongError = assertError(t, wrong, 401, 'bad_credentials');
  assertError(t, unknown, 401, 'bad_credentials');
  t.is(wrongError.message, 'Wrong username or password');
  t.deepEqual(wrong.json, unknown.json);
  t.false(setCookies(wrong.headers).has('ila_session'));
});

test.serial('a learner signs in through the national SSO without a browser and sees their page', async (t) => {
  const start = await fetch(`${stack.appUrl}/auth/sso/login`, { redirect: 'manual' });
  t.is(start.status, 302);
  const authorize = new URL(start.headers.get('location') ?? '');
  t.is(`${authorize.origin}${authorize.pathname}`, `${stack.ssoUrl}/authorize`);
  const state = authorize.searchParams.get('state') ?? '';
  const nonce = authorize.searchParams.get('nonce') ?? '';
  t.truthy(state);
  t.truthy(nonce);
  t.not(state, nonce);
  t.is(authorize.searchParams.get('client_id'), stack.sso.clientId);
  t.is(authorize.searchParams.get('redirect_uri'), stack.sso.redirectUri);
  t.is(authorize.searchParams.get('response_type'), 'code');
  const ssoCookie = setCookies(start.headers).get('ila_sso');
  t.truthy(ssoCookie, 'the state travels in the ila_sso cookie');

  const codeChallenge = authorize.searchParams.get('code_challenge')!;
  t.is(authorize.searchParams.get('code_challenge_method'), 'S256', 'the sign-in uses PKCE');
  const callbackUrl = await signInHeadless(stack.ssoUrl, { clientId: stack.sso.clientId, redirectUri: stack.sso.redirectUri, state, nonce, personCode: ANNA.code, codeChallenge });
  t.true(callbackUrl.startsWith(stack.sso.redirectUri));

  const callback = await fetch(callbackUrl, { redirect: 'manual', headers: { cookie: `ila_sso=${ssoCookie}`, accept: 'text/html' } });
  t.is(callback.status, 302);
  t.is(callback.headers.get('location'), '/learner');
  const cookies = setCookies(callback.headers);
  const session = cookies.get('ila_session');
  t.truthy(session, 'a session cookie is set');
  t.true(callback.headers.getSetCookie().some((c) => c.startsWith('ila_session=') && /httponly/i.test(c)), 'the session cookie is HttpOnly');
  t.is(cookies.get('ila_sso'), '', 'the one-time SSO cookie is cleared');

  const home = await fetch(`${stack.appUrl}/learner`, { redirect: 'manual', headers: { cookie: `ila_session=${session}`, accept: 'text/html' } });
  t.is(home.status, 200);
  t.regex(home.headers.get('content-type') ?? '', /^text\/html/);
  const html = await home.text();
  t.true(html.includes(ANNA.name), 'the page greets the person by name');
  t.true(html.includes('Labdien, Anna Bērziņa!'));
  // The same cookie works for the JSON API.
  const api = await call('GET', '/api/learner/journeys', { headers: { cookie: `ila_session=${session}` } });
  t.is(api.status, 200);
  t.true((api.json as { journeys: Journey[] }).journeys.some((j) => j.caseId === annaCaseId));
});

test.serial('an SSO callback with a wrong state is answered with a 400 page and no session', async (t) => {
  const start = await fetch(`${stack.appUrl}/auth/sso/login`, { redirect: 'manual' });
  const authorize = new URL(start.headers.get('location') ?? '');
  const ssoCookie = setCookies(start.headers).get('ila_sso');
  const callbackUrl = new URL(await signInHeadless(stack.ssoUrl, {
    clientId: stack.sso.clientId, redirectUri: stack.sso.redirectUri, state: authorize.searchParams.get('state')!,
    nonce: authorize.searchParams.get('nonce')!, personCode: ANNA.code, codeChallenge: authorize.searchParams.get('code_challenge')!,
  }));
  callbackUrl.searchParams.set('state', randomUUID());

  const callback = await fetch(callbackUrl, { redirect: 'manual', headers: { cookie: `ila_sso=${ssoCookie}`, accept: 'text/html' } });
  t.is(callback.status, 400);
  t.regex(callback.headers.get('content-type') ?? '', /^text\/html/);
  const html = await callback.text();
  t.true(html.includes('Pieteikšanos neizdevās pabeigt'), 'the page says what happened, in the page\'s language');
  t.false(html.includes('    at '));
  t.false(setCookies(callback.headers).has('ila_session'), 'no session cookie');

  // Without the cookie at all (a callback not started here) it is the same refusal.
  const stray = await fetch(callbackUrl, { redirect: 'manual', headers: { accept: 'text/html' } });
  t.is(stray.status, 400);
  t.false(setCookies(stray.headers).has('ila_session'));
  await stray.body?.cancel();
});

test('a registration for a programme the agency does not run is refused naming the programme, nothing stored', async (t) => {
  const person = { code: '051070-10002', name: 'Programmas Tests' };
  const answer = await register(person, registration({ programme: 'NOPE' }));
  t.is(answer.status, 400);
  const { error } = answer.json as ErrorBody;
  t.deepEqual(fieldsOf(error), ['programme']);
  t.regex(error.message, /no programme NOPE/);
  t.is((await stack.db('learners').where({ personCode: person.code })).length, 0);
  const badShape = await register(person, registration({ programme: 'imk; drop table' }));
  t.deepEqual(fieldsOf((badShape.json as ErrorBody).error), ['programme']);
});

test('the journey page names the approval after the programme: "IMK approved" for IMK, "account approved" for others', async (t) => {
  const person = { code: '061075-10003', name: 'Konta Tests' };
  stack.registry.setPerson({ personCode: person.code, firstName: 'Konta', lastName: 'Tests', birthDate: '1975-10-06', deceased: false, address: 'Rīga', note: 'test' });
  const created = await register(person, registration({ programme: 'DPP', email: 'konts@example.lv' }));
  const { caseId } = created.json as { caseId: string };
  await eventually(async () => (await journeyOf(person, caseId)).stage === 'imk_approved', 'automatic approval');
  const page = await call('GET', `/learner/journeys/${caseId}?lang=lv`, { token: await learnerToken(person), headers: { accept: 'text/html' } });
  t.is(page.status, 200);
  t.regex(page.text, /data-testid="stage">Konts apstiprināts</);
  t.notRegex(page.text, /IMK apstiprināts/);
});

test('a deactivated account cannot start a new journey', async (t) => {
  const person = { code: '071080-10004', name: 'Deaktivizēts Konts' };
  stack.registry.setPerson({ personCode: person.code, firstName: 'Deaktivizēts', lastName: 'Konts', birthDate: '1980-10-07', deceased: false, address: 'Rīga', note: 'test' });
  const first = await register(person, registration({ programme: 'DPP', email: 'deact@example.lv' }));
  t.is(first.status, 201);
  await stack.db('learners').where({ personCode: person.code }).update({ active: false, deactivatedReason: 'deceased' });
  const again = await register(person, registration({ programme: 'MN', email: 'deact@example.lv' }));
  t.is(again.status, 403);
  t.is((again.json as ErrorBody).error.code, 'account_deactivated');
});
