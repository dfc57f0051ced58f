import { createHash, randomUUID } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { FUZZ_ROLES, grantFuzzConsultant, sessionFor, type FuzzRole } from '../../dev/fuzz/logins';
import { assertError, formTokenOf, httpClient, type Answer } from '../helpers/http';
import { multipartClient, SAMPLE_PDF } from '../helpers/multipart';
import { startTestStack, type TestStack } from '../helpers/stack';

// Cross-site request forgery (issue 13): every state-changing operation of the registry refuses a request another
// site makes with a role's cookie, before anything happens; page forms carry a token bound to the session (or to a
// pre-session cookie before login); the JSON API takes no form a plain cross-site page could send.

let stack: TestStack;
const call = httpClient(() => stack.appUrl);
/** Each role's session cookie value, got through the product's own doors (login form, sign-on, role choice). */
const cookies = new Map<FuzzRole, string>();
/** An open, unclaimed inbox task the forged requests aim at. */
let taskId: string;

const EVIL = 'https://evil.example';
const CROSS_SITE: { name: string; headers: Record<string, string> }[] = [
  { name: 'Origin: https://evil.example', headers: { origin: EVIL } },
  { name: 'Sec-Fetch-Site: cross-site', headers: { 'sec-fetch-site': 'cross-site' } },
];

test.before(async () => {
  stack = await startTestStack();
  const target = { appUrl: stack.appUrl, ssoUrl: stack.ssoUrl, ssoClientId: stack.sso.clientId };
  await grantFuzzConsultant(stack.db);
  for (const role of FUZZ_ROLES) {
    const session = await sessionFor(role, target);
    if (session) cookies.set(role, session);
  }
  taskId = await openTask();
});
test.after.always(async () => { await stack?.stop(); });

/** An open learner task as the journey's activity writes it, on a case of its own. */
async function openTask(): Promise<string> {
  const [learner] = await stack.db('learners').insert({
    personCode: `CSRF-${randomUUID().slice(0, 8)}`, firstName: 'Ilga', lastName: 'Viltus', email: 'csrf@example.lv',
    language: 'lv', termsVersion: 'test', termsAcceptedAt: new Date(),
  }).returning('id');
  const caseId = randomUUID();
  await stack.db('cases').insert({
    id: caseId, serviceCaseId: `CSRF-${caseId.slice(0, 8)}`, workflowId: `test-csrf:${caseId}`, learnerId: (learner as { id: string }).id,
    programme: 'IMK', stage: 'awaiting_approval', channel: 'e-service',
  });
  const id = randomUUID();
  await stack.db('tasks').insert({
    id, caseId, workflowId: `test-csrf:${caseId}`, step: 'approval', type: 'approve-imk', state: 'open', facts: '{}', dueAt: new Date(Date.now() + 86_400_000),
  });
  return id;
}

/** The task's state, assignee and decision: what a forged claim or decision would change. */
async function taskState() {
  return stack.db('tasks').where({ id: taskId }).first('state', 'assigneeId', 'claimedAt', 'decision');
}

/** The number of rows of every table (what any operation that did something would have changed). */
async function rowCounts(): Promise<Record<string, number>> {
  const tables = (await stack.db('pg_tables').where({ schemaname: 'public' }).whereNot('tablename', 'like', 'knex_%')
    .whereNot('tablename', 'registry_call_stats').pluck('tablename')) as string[];
  const counts: Record<string, number> = {};
  for (const table of tables.sort()) counts[table] = Number((await stack.db(table).count({ n: '*' }).first())!.n);
  return counts;
}

interface Operation { method: string; path: string; roles: string[] | null; page: boolean }

/** Every state-changing operation of the registry, read from the OpenAPI document the registry builds. */
async function stateChangingOperations(t: ExecutionContext): Promise<Operation[]> {
  const doc = (await call('GET', '/api/openapi.json')).json as { paths: Record<string, Record<string, { 'x-roles'?: string[]; responses: Record<string, unknown> }>> };
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (!['post', 'put', 'patch', 'delete'].includes(method)) continue;
      t.truthy(op.responses['403'], `${method.toUpperCase()} ${path} documents its 403`);
      operations.push({ method: method.toUpperCase(), path, roles: op['x-roles'] ?? null, page: !path.startsWith('/api/') });
    }
  }
  return operations;
}

/** The login roles whose session may use an operation (every role and none for a public one). */
function rolesFor(op: Operation): FuzzRole[] {
  const sessionRole: Record<FuzzRole, string> = {
    anonymous: '', learner: 'learner', coordinator: 'coordinator', consultant: 'consultant', provider: 'provider', staff: 'staff', lead: 'staff', admin: 'admin',
  };
  return op.roles ? FUZZ_ROLES.filter((role) => op.roles!.includes(sessionRole[role])) : [...FUZZ_ROLES];
}

/** The path with its parameters filled in: the open task for the inbox, a fresh id elsewhere. */
function concrete(path: string): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => (path.startsWith('/api/staff/tasks/') || path.startsWith('/staff/tasks/') ? taskId
    : name === 'kind' ? 'curriculum' : name === 'name' ? 'site.css' : randomUUID()));
}

test.serial('every state-changing operation refuses a cross-site request (Origin, Sec-Fetch-Site) as every role, and nothing changes', async (t) => {
  const before = { task: await taskState(), rows: await rowCounts() };
  const operations = await stateChangingOperations(t);
  t.true(operations.length > 40, `the registry lists the operations (${operations.length})`);
  let sent = 0;
  for (const op of operations) {
    for (const role of rolesFor(op)) {
      const cookie = cookies.get(role);
      // A page form even carries its valid token: the other site's origin alone is enough to refuse it.
      const form = op.page ? { _csrf: (await formTokenOf(stack.appUrl, cookie)).token, decision: 'approve', reason: 'forged', action: 'cancel' } : undefined;
      for (const cross of CROSS_SITE) {
        const answer = await call(op.method, concrete(op.path), {
          cookie, headers: cross.headers, ...(op.page ? { form, formToken: false } : { json: { decision: 'approve', comment: 'forged' } }),
        });
        const what = `${op.method} ${op.path} as ${role} with ${cross.name}`;
        t.is(answer.status, 403, `${what}: ${answer.text.slice(0, 200)}`);
        t.is((answer.json as { error?: { code?: string } })?.error?.code, 'cross_origin_request', what);
        sent += 1;
      }
    }
  }
  t.true(sent > 150, `${sent} forged requests sent`);
  t.deepEqual(await taskState(), before.task, 'the task is not claimed, assigned or decided');
  t.deepEqual(await rowCounts(), before.rows, 'no row was added or removed anywhere');
});

test.serial('the refusal is the uniform body for the API and a page in the reader\'s language for pages, naming the header', async (t) => {
  const staff = cookies.get('staff')!;
  const api = await call('POST', `/api/staff/tasks/${taskId}/claim`, { cookie: staff, json: {}, headers: { origin: EVIL } });
  const error = assertError(t, api, 403, 'cross_origin_request');
  t.like(error.details[0], { field: 'Origin', rule: 'same_origin' });
  t.like(assertError(t, await call('POST', `/api/staff/tasks/${taskId}/claim`, { cookie: staff, json: {}, headers: { 'sec-fetch-site': 'cross-site' } }), 403, 'cross_origin_request').details[0],
    { field: 'Sec-Fetch-Site' });
  const lv = await call('POST', `/staff/tasks/${taskId}/claim`, { cookie: staff, html: true, form: {}, headers: { origin: EVIL } });
  t.is(lv.status, 403);
  t.regex(lv.text, /nāca no citas tīmekļa vietnes/);
  const en = await call('POST', `/staff/tasks/${taskId}/claim?lang=en`, { cookie: staff, html: true, form: {}, headers: { origin: EVIL } });
  t.is(en.status, 403);
  t.regex(en.text, /came from another website/);
  // A sibling host (same-site), a typed address (none) and an opaque origin (null) are not this site either.
  const others: Record<string, string>[] = [{ 'sec-fetch-site': 'same-site' }, { 'sec-fetch-site': 'none' }, { origin: 'null' }, { origin: `${stack.appUrl}.evil.example` }];
  for (const headers of others) {
    assertError(t, await call('POST', `/api/staff/tasks/${taskId}/claim`, { cookie: staff, json: {}, headers }), 403, 'cross_origin_request');
  }
  t.like(await taskState(), { state: 'open', assigneeId: null });
});

test.serial('a form post without the token or with a wrong one is refused; with the right token from this site it works', async (t) => {
  const staff = cookies.get('staff')!;
  const claim = (form: Record<string, string>, headers: Record<string, string> = {}) =>
    call('POST', `/staff/tasks/${taskId}/claim`, { cookie: staff, html: true, form: { back: '', ...form }, formToken: false, headers });
  const missing = await claim({});
  t.is(missing.status, 403);
  t.regex(missing.text, /Pārlādējiet lapu/);
  const wrong = await claim({ _csrf: 'x'.repeat(43) });
  t.is(wrong.status, 403);
  // The token of another session (the admin's page) does not fit the staff member's cookie, nor a visitor's token.
  t.is((await claim({ _csrf: (await formTokenOf(stack.appUrl, cookies.get('admin'))).token })).status, 403);
  t.is((await claim({ _csrf: (await formTokenOf(stack.appUrl)).token })).status, 403);
  const apiAsks = assertError(t, await call('POST', `/staff/tasks/${taskId}/claim`, { cookie: staff, form: { back: '' }, formToken: false }), 403, 'form_token_invalid');
  t.like(apiAsks.details[0], { field: '_csrf', rule: 'form_token_missing' });
  t.like(await taskState(), { state: 'open', assigneeId: null }, 'nothing claimed');

  // The token as the inbox page renders it, sent back from this site as a browser does.
  const inbox = await call('GET', '/staff/tasks', { cookie: staff, html: true });
  const token = /name="_csrf" value="([^"]+)"/.exec(inbox.text)?.[1];
  t.truthy(token, 'the inbox\'s forms carry the token');
  const claimed = await claim({ _csrf: token! }, { origin: stack.appUrl, 'sec-fetch-site': 'same-origin' });
  t.is(claimed.status, 303, claimed.text);
  const staffId = (await stack.db('users').where({ username: 'staff' }).first('id')).id as string;
  t.like(await taskState(), { assigneeId: staffId });
  // A script may send it as a header instead.
  const released = await call('POST', `/staff/tasks/${taskId}/unclaim`, { cookie: staff, html: true, form: {}, formToken: false, headers: { 'x-csrf-token': token! } });
  t.is(released.status, 303, released.text);
  t.like(await taskState(), { assigneeId: null });
});

test.serial('login CSRF is refused: a login form needs the token of the visitor\'s own pre-session cookie, which the login replaces', async (t) => {
  const credentials = { username: 'staff', password: 'Agentura#2026' };
  const sessionSet = (answer: Answer) => answer.headers.getSetCookie().some((c) => c.startsWith('ila_session=') && !c.startsWith('ila_session=;'));
  // Another site posting its own credentials into the visitor's browser: no token, a token of its own, its origin.
  const bare = await call('POST', '/staff/login', { html: true, form: credentials, formToken: false });
  t.is(bare.status, 403);
  t.false(sessionSet(bare), 'no session started');
  const attackers = await formTokenOf(stack.appUrl);
  const visitor = await formTokenOf(stack.appUrl);
  t.not(attackers.token, visitor.token, 'each visitor has a token of their own');
  const foreign = await call('POST', '/staff/login', { html: true, form: { ...credentials, _csrf: attackers.token }, headers: { cookie: visitor.cookie } });
  t.is(foreign.status, 403);
  t.false(sessionSet(foreign));
  const crossSite = await call('POST', '/staff/login', { html: true, form: { ...credentials, _csrf: visitor.token }, headers: { cookie: visitor.cookie, origin: EVIL } });
  t.is(crossSite.status, 403);
  t.false(sessionSet(crossSite));

  // The visitor's own form logs in; the pre-session cookie is dropped and the forms after login carry a new token.
  const login = await call('POST', '/staff/login', { html: true, form: { ...credentials, _csrf: visitor.token }, headers: { cookie: visitor.cookie, origin: stack.appUrl } });
  t.is(login.status, 302, login.text);
  t.true(sessionSet(login));
  t.true(login.headers.getSetCookie().some((c) => c.startsWith('ila_presession=;')), 'the pre-session cookie is cleared');
  const session = login.headers.getSetCookie().find((c) => c.startsWith('ila_session='))!.split(';')[0]!.slice('ila_session='.length);
  const after = await formTokenOf(stack.appUrl, session);
  t.not(after.token, visitor.token, 'the token changed at login');
  t.is((await call('POST', `/staff/tasks/${taskId}/claim`, { cookie: session, html: true, form: { _csrf: visitor.token }, formToken: false })).status, 403, 'the old token is dead');

  // Logging out clears the session; the next page gives a new pre-session token, and the session's token is dead.
  const logout = await call('POST', '/logout', { cookie: session, html: true, form: { _csrf: after.token }, formToken: false });
  t.is(logout.status, 302);
  t.true(logout.headers.getSetCookie().some((c) => c.startsWith('ila_session=;')));
  const fresh = await formTokenOf(stack.appUrl);
  t.not(fresh.token, after.token);
  t.is((await call('POST', '/staff/login', { html: true, form: { ...credentials, _csrf: after.token }, headers: { cookie: fresh.cookie } })).status, 403);
});

test.serial('the login page opened with a session cookie that has ended gives a form that logs in', async (t) => {
  const ended = (await stack.db('sessions').insert({
    tokenHash: createHash('sha256').update('an-ended-token').digest('hex'), role: 'staff', subject: 'x', name: 'x',
    idleExpiresAt: new Date(Date.now() + 60_000), expiresAt: new Date(Date.now() + 60_000), endedAt: new Date(), endedReason: 'logout',
  }).returning('id'))[0];
  t.truthy(ended);
  // As a browser: the page with the dead cookie (which the answer clears), then the post with the cookies it holds.
  const page = await fetch(`${stack.appUrl}/staff/login`, { headers: { accept: 'text/html', cookie: 'ila_session=an-ended-token' } });
  const token = /name="_csrf" value="([^"]*)"/.exec(await page.text())![1]!;
  const setCookies = page.headers.getSetCookie();
  t.true(setCookies.some((c) => c.startsWith('ila_session=;')), 'the dead cookie is cleared');
  const presession = setCookies.map((c) => c.split(';')[0]!).find((c) => c.startsWith('ila_presession='));
  t.truthy(presession, 'the form is bound to a new pre-session cookie');
  const login = await call('POST', '/staff/login', {
    html: true, form: { username: 'staff', password: 'Agentura#2026', _csrf: token }, headers: { cookie: presession!, origin: stack.appUrl },
  });
  t.is(login.status, 302, login.text);
});

test.serial('a plain cross-site form cannot reach the JSON API: only application/json is taken (415), and an upload sent with the cookie needs the token', async (t) => {
  const staff = cookies.get('staff')!;
  // No Origin and no Sec-Fetch-Site: what an old browser's cross-site form would send, with fields or without any.
  const forms = ['application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=X'].flatMap((type) => [
    { type, body: type.startsWith('multipart') ? '--X\r\nContent-Disposition: form-data; name="decision"\r\n\r\napprove\r\n--X--\r\n' : 'decision=approve&comment=forged' },
    { type, body: type.startsWith('multipart') ? '--X--\r\n' : '' },
  ]);
  for (const { type, body } of forms) {
    const answer = await call('POST', `/api/staff/tasks/${taskId}/claim`, { cookie: staff, raw: body, headers: { 'content-type': type } });
    t.regex(assertError(t, answer, 415, 'unsupported_media_type').message, /application\/json/, type);
  }
  t.like(await taskState(), { state: 'open', assigneeId: null });

  // The API's upload routes take multipart: with the provider's cookie (a browser's), a form without the token is refused.
  const offers = await stack.db('offers').where({ providerId: (await stack.db('users').where({ username: 'provider' }).first('providerId')).providerId }).pluck('id');
  const upload = multipartClient(() => stack.appUrl);
  const path = `/api/provider/offers/${offers[0] ?? randomUUID()}/documents/curriculum`;
  const res = await fetch(`${stack.appUrl}${path}`, { method: 'POST', headers: { cookie: `ila_session=${cookies.get('provider')}`, accept: 'application/json' }, body: multipartForm() });
  t.is(res.status, 403);
  t.is(((await res.json()) as { error: { code: string } }).error.code, 'form_token_invalid');
  // A bearer token is not sent by browsers on their own: an API client with one needs no form token.
  const viaBearer = await upload(path, {}, [{ field: 'file', filename: 'c.pdf', content: SAMPLE_PDF }], { token: cookies.get('provider') });
  t.not(viaBearer.status, 403, viaBearer.text);
});

function multipartForm(): FormData {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(SAMPLE_PDF)], { type: 'application/pdf' }), 'c.pdf');
  return form;
}

test('forms post only to this site and the sign-on service (CSP form-action)', async (t) => {
  const csp = (await call('GET', '/staff/login', { html: true })).headers.get('content-security-policy') ?? '';
  const formAction = /form-action ([^;]*)/.exec(csp)?.[1];
  t.is(formAction, `'self' ${new URL(stack.ssoUrl).origin}`);
});
