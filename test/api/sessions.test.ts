import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { generateSync } from 'otplib';
import { grantFuzzConsultant, sessionFor, type FuzzRole } from '../../dev/fuzz/logins';
import { demoUsers } from '../../dev/seed';
import { hashPassword } from '../../lib/passwords';
import { SESSION_TIMEOUTS } from '../../lib/sessions';
import { startTestStack, type TestStack } from '../helpers/stack';
import { assertError, httpClient } from '../helpers/http';

// Server-side sessions and the second factor, over HTTP on the real stack: logout, deactivation, role changes and
// ending a session from another device take effect on the next request; administrators cannot use the console
// before setting up a TOTP second factor; codes work once; idle sessions end.

let stack: TestStack;
const call = httpClient(() => stack.appUrl);
const password = (username: string) => demoUsers.find((u) => u.username === username)!.password;

test.before(async () => {
  stack = await startTestStack();
});

test.after.always(async () => {
  await stack?.stop();
});

const sessionCookie = (headers: Headers): string | undefined =>
  headers.getSetCookie().map((c) => c.split(';')[0]!).find((c) => c.startsWith('ila_session='))?.slice('ila_session='.length);

async function apiLogin(username: string, pass = password(username), code?: string): Promise<string> {
  const login = await call('POST', '/api/auth/login', { json: { username, password: pass, ...(code ? { code } : {}) } });
  if (login.status !== 200) throw new Error(`login of ${username}: HTTP ${login.status} ${login.text}`);
  return (login.json as { token: string }).token;
}

/** A new password user (staff, admin or provider staff) who can log in with a password. */
async function newUser(role: 'staff' | 'admin' | 'provider', pass = 'Parole#2026-test'): Promise<{ id: string; username: string; password: string }> {
  const username = `${role}-${Math.random().toString(36).slice(2, 10)}`;
  const provider = role === 'provider' ? await stack.db('users').where({ username: 'provider' }).first('providerId') : null;
  const [row] = await stack.db('users').insert({
    username, passwordHash: await hashPassword(pass), displayName: `Test ${role}`, role, status: 'active',
    providerId: provider?.providerId ?? null, providerRole: role === 'provider' ? 'staff' : null,
  }).returning('id');
  return { id: row.id, username, password: pass };
}

test('the token is random and stored only as its SHA-256; the cookie is HttpOnly and SameSite=Lax', async (t) => {
  const res = await call('POST', '/staff/login', { html: true, form: { username: 'staff', password: password('staff') } });
  t.is(res.status, 302);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('ila_session='))!;
  t.regex(cookie, /httponly/i);
  t.regex(cookie, /samesite=lax/i);
  t.notRegex(cookie, /secure/i, 'no Secure flag on an http:// address');
  const token = sessionCookie(res.headers)!;
  t.regex(token, /^[A-Za-z0-9_-]{43}$/, '256 random bits, base64url');
  const row = await stack.db('sessions').where({ tokenHash: createHash('sha256').update(token).digest('hex') }).first();
  t.truthy(row);
  t.is(await stack.db('sessions').where({ tokenHash: token }).first(), undefined, 'the token itself is not stored');
  t.like(row, { role: 'staff', endedAt: null });
});

test('the session cookie is Secure when PUBLIC_URL is https', async (t) => {
  const https = await stack.serveApi({ publicUrl: 'https://imk.example.lv' });
  // As a browser behind the TLS proxy: the login form first (its token and pre-session cookie), then the post.
  const form = await fetch(`${https.url}/staff/login`, { headers: { accept: 'text/html', 'x-forwarded-proto': 'https' } });
  const csrf = /name="_csrf" value="([^"]*)"/.exec(await form.text())![1]!;
  const presession = form.headers.getSetCookie().map((c) => c.split(';')[0]!).find((c) => c.startsWith('ila_presession='))!;
  const res = await fetch(`${https.url}/staff/login`, {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', 'x-forwarded-proto': 'https', cookie: presession },
    body: new URLSearchParams({ _csrf: csrf, username: 'staff', password: password('staff') }),
  });
  t.is(res.status, 302);
  t.regex(res.headers.getSetCookie().find((c) => c.startsWith('ila_session='))!, /;\s*secure/i);
});

test('after logout the same token gets 401 on its next request, as bearer token and as cookie', async (t) => {
  const token = await apiLogin('staff');
  t.is((await call('GET', '/api/staff/tasks', { token })).status, 200);
  t.is((await call('POST', '/api/auth/logout', { token })).status, 204);
  const error = assertError(t, await call('GET', '/api/staff/tasks', { token }), 401, 'session_ended');
  t.deepEqual(error.details, [{ reason: 'logout' }]);

  // The browser: the page's logout button, then the old cookie again.
  const login = await call('POST', '/staff/login', { html: true, form: { username: 'staff', password: password('staff') } });
  const cookie = sessionCookie(login.headers)!;
  t.is((await call('GET', '/staff/tasks', { cookie, html: true })).status, 200);
  const logout = await call('POST', '/logout', { cookie, html: true, form: {} });
  t.is(logout.status, 302);
  t.regex(logout.headers.getSetCookie().join('\n'), /ila_session=;/, 'the cookie is cleared');
  const page = await call('GET', '/staff/tasks', { cookie, html: true });
  t.is(page.status, 302, 'a browser is sent to the login page');
  t.is(page.headers.get('location'), '/staff/login?next=%2Fstaff%2Ftasks');
  assertError(t, await call('GET', '/api/staff/tasks', { cookie }), 401, 'session_ended');
  // A form posted with the dead cookie is refused too, in the reader's language.
  const form = await call('POST', `/staff/tasks/${crypto.randomUUID()}/decision`, { cookie, html: true, form: { decision: 'approve' } });
  t.is(form.status, 401);
  t.regex(form.text, /Jūsu sesija ir beigusies/);
});

test('a deactivated provider user or administrator loses their live session on the next request', async (t) => {
  const provider = await newUser('provider');
  const providerToken = await apiLogin(provider.username, provider.password);
  t.is((await call('GET', '/api/provider/offers', { token: providerToken })).status, 200);
  await stack.db('users').where({ id: provider.id }).update({ active: false });
  assertError(t, await call('GET', '/api/provider/offers', { token: providerToken }), 401, 'session_ended');
  t.like(await stack.db('sessions').where({ userId: provider.id }).first(), { endedReason: 'deactivated' });

  const admin = await newUser('admin');
  const adminToken = await stack.signIn({ role: 'admin', subject: admin.id, name: 'Test admin' }, { secondFactor: true });
  t.is((await call('GET', '/api/admin/registries/health', { token: adminToken })).status, 200);
  await stack.db('users').where({ id: admin.id }).update({ active: false });
  assertError(t, await call('GET', '/api/admin/registries/health', { token: adminToken }), 401, 'session_ended');
});

test('a role change takes effect on the next request', async (t) => {
  const user = await newUser('admin');
  const token = await stack.signIn({ role: 'admin', subject: user.id, name: 'Test admin' }, { secondFactor: true });
  t.is((await call('GET', '/api/admin/registries/health', { token })).status, 200);
  await stack.db('users').where({ id: user.id }).update({ role: 'staff' });
  assertError(t, await call('GET', '/api/admin/registries/health', { token }), 403, 'forbidden');
  t.is((await call('GET', '/api/staff/tasks', { token })).status, 200, 'now a staff member');

  // Made administrator: the console needs a session confirmed by a second factor, which this one is not.
  const staff = await newUser('staff');
  const staffToken = await apiLogin(staff.username, staff.password);
  await stack.db('users').where({ id: staff.id }).update({ role: 'admin' });
  assertError(t, await call('GET', '/api/admin/registries/health', { token: staffToken }), 403, 'second_factor_required');
});

test('an administrator without a second factor is refused the console until they set it up; codes work once', async (t) => {
  const admin = await newUser('admin');
  const token = await apiLogin(admin.username, admin.password);
  const refused = assertError(t, await call('GET', '/api/admin/workflows', { token }), 403, 'second_factor_required');
  t.deepEqual(refused.details, [{ setup: '/account/second-factor' }]);
  assertError(t, await call('GET', '/api/staff/tasks', { token }), 403, 'second_factor_required');
  const page = await call('GET', '/admin/stuck', { token, html: true });
  t.is(page.status, 302);
  t.is(page.headers.get('location'), '/account/second-factor?next=%2Fadmin%2Fstuck');

  const setup = await call('POST', '/api/account/second-factor/setup', { token, json: {} });
  t.is(setup.status, 200, setup.text);
  const { secret, uri } = setup.json as { secret: string; uri: string };
  t.regex(uri, new RegExp(`^otpauth://totp/IMK:${admin.username}\\?secret=${secret}`));
  const stored = await stack.db('users').where({ id: admin.id }).first('totpPendingSecret', 'totpSecret');
  t.false(stored.totpPendingSecret.includes(secret), 'the secret is stored sealed, not as it is');

  const wrong = assertError(t, await call('POST', '/api/account/second-factor', { token, json: { code: '000000' === generateSync({ secret }) ? '111111' : '000000' } }), 400, 'invalid_request');
  t.deepEqual(wrong.details.map((d) => [d.field, d.rule]), [['code', 'second_factor_code']]);
  const step = Math.floor(Date.now() / 30_000);
  const enrolCode = generateSync({ secret, epoch: step * 30 });
  const enrolled = await call('POST', '/api/account/second-factor', { token, json: { code: enrolCode } });
  t.is(enrolled.status, 201, enrolled.text);
  const { recoveryCodes } = enrolled.json as { recoveryCodes: string[] };
  t.is(recoveryCodes.length, 10);
  t.is(new Set(recoveryCodes).size, 10);
  t.is((await call('GET', '/api/admin/workflows', { token })).status, 200, 'the console opens once the second factor is set up');
  assertError(t, await call('POST', '/api/account/second-factor/setup', { token, json: {} }), 409, 'second_factor_enrolled');
  const hashes = (await stack.db('recoveryCodes').where({ userId: admin.id }).select('codeHash')).map((r: { codeHash: string }) => r.codeHash);
  t.is(hashes.length, 10);
  t.false(hashes.some((h) => recoveryCodes.some((c) => h.includes(c.replace('-', '')))), 'recovery codes are stored as hashes');

  // Login now asks for the code: missing, reused (the enrolment's) and wrong codes are refused.
  const login = (code?: string) => call('POST', '/api/auth/login', { json: { username: admin.username, password: admin.password, ...(code ? { code } : {}) } });
  assertError(t, await login(), 401, 'second_factor_code_required');
  assertError(t, await login(enrolCode), 401, 'bad_second_factor_code');
  const nextCode = generateSync({ secret, epoch: (step + 1) * 30 });
  const withCode = await login(nextCode);
  t.is(withCode.status, 200, withCode.text);
  t.is((await call('GET', '/api/admin/workflows', { token: (withCode.json as { token: string }).token })).status, 200);
  assertError(t, await login(nextCode), 401, 'bad_second_factor_code');

  // A recovery code works once (typed in capitals and without the dash too).
  const recovery = recoveryCodes[3]!;
  const byRecovery = await login(recovery.toUpperCase().replace('-', ''));
  t.is(byRecovery.status, 200, byRecovery.text);
  t.is((await call('GET', '/api/admin/workflows', { token: (byRecovery.json as { token: string }).token })).status, 200);
  assertError(t, await login(recovery), 401, 'bad_second_factor_code');
});

test('the login page asks an enrolled user for the code, and a wrong code shows the form again', async (t) => {
  const staff = await newUser('staff');
  const token = await apiLogin(staff.username, staff.password);
  const { secret } = (await call('POST', '/api/account/second-factor/setup', { token, json: {} })).json as { secret: string };
  const step = Math.floor(Date.now() / 30_000);
  t.is((await call('POST', '/api/account/second-factor', { token, json: { code: generateSync({ secret, epoch: step * 30 }) } })).status, 201);

  const first = await call('POST', '/staff/login', { html: true, form: { username: staff.username, password: staff.password, next: '/staff/tasks?page=1' } });
  t.is(first.status, 200);
  t.is(sessionCookie(first.headers), undefined, 'no session before the code');
  t.regex(first.text, /Kods no autentifikācijas lietotnes/);
  const ticket = /name="ticket" value="([^"]+)"/.exec(first.text)![1]!;
  const wrong = await call('POST', '/staff/login/code', { html: true, form: { ticket, code: '12345' } });
  t.is(wrong.status, 401);
  t.regex(wrong.text, /Kods nav derīgs/);
  const right = await call('POST', '/staff/login/code', { html: true, form: { ticket, code: generateSync({ secret, epoch: (step + 1) * 30 }) } });
  t.is(right.status, 302, right.text);
  t.is(right.headers.get('location'), '/staff/tasks?page=1');
  t.is((await call('GET', '/staff/tasks', { cookie: sessionCookie(right.headers)!, html: true })).status, 200);
  const forged = await call('POST', '/staff/login/code', { html: true, form: { ticket: `${ticket}x`, code: '123456' } });
  t.is(forged.status, 401);
  t.regex(forged.text, /Pieteikšanās ilga pārāk ilgi/);
});

test('an administrator enrols through the page: QR code and secret, a code, then the recovery codes once', async (t) => {
  const admin = await newUser('admin');
  const login = await call('POST', '/staff/login', { html: true, form: { username: admin.username, password: admin.password, next: '/admin/registries' } });
  const cookie = sessionCookie(login.headers)!;
  const redirected = await call('GET', '/admin/registries', { cookie, html: true });
  t.is(redirected.headers.get('location'), '/account/second-factor?next=%2Fadmin%2Fregistries');
  const page = await call('GET', '/account/second-factor?next=%2Fadmin%2Fregistries', { cookie, html: true });
  t.is(page.status, 200);
  t.regex(page.text, /<img src="data:image\/png;base64,/);
  const secret = /data-testid="totp-secret">([A-Z2-7]+)</.exec(page.text)![1]!;
  const again = await call('GET', '/account/second-factor', { cookie, html: true });
  t.true(again.text.includes(secret), 'a reload shows the same secret until it is confirmed');
  const bad = await call('POST', '/account/second-factor', { cookie, html: true, form: { code: '', next: '/admin/registries' } });
  t.is(bad.status, 400);
  t.regex(bad.text, /Ievadiet kodu/);
  const done = await call('POST', '/account/second-factor', { cookie, html: true, form: { code: generateSync({ secret }), next: '/admin/registries' } });
  t.is(done.status, 200, done.text);
  t.is((done.text.match(/<li><code>[a-z2-9]{5}-[a-z2-9]{5}<\/code><\/li>/g) ?? []).length, 10);
  t.is((await call('GET', '/admin/registries', { cookie, html: true })).status, 200);
  const after = await call('GET', '/account/second-factor', { cookie, html: true });
  t.false(after.text.includes(secret), 'the secret is never shown again');
  t.regex(after.text, /Neizmantotie rezerves kodi: 10/);
});

test('staff see their sessions and end another one, which is refused on its next request; audited', async (t) => {
  const staff = await newUser('staff');
  const laptop = await apiLogin(staff.username, staff.password);
  const phoneLogin = await fetch(`${stack.appUrl}/api/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'Phone browser 1.0' },
    body: JSON.stringify({ username: staff.username, password: staff.password }),
  });
  const phone = ((await phoneLogin.json()) as { token: string }).token;
  const listed = await call('GET', '/api/account/sessions', { token: laptop });
  t.is(listed.status, 200);
  const sessions = (listed.json as { sessions: { id: string; userAgent: string | null; ip: string; current: boolean }[] }).sessions;
  t.is(sessions.length, 2);
  const other = sessions.find((s) => !s.current)!;
  t.is(other.userAgent, 'Phone browser 1.0');
  t.is(other.ip, '127.0.0.1');
  const current = sessions.find((s) => s.current)!;
  assertError(t, await call('POST', `/api/account/sessions/${current.id}/end`, { token: laptop, json: {} }), 409, 'current_session');
  const stranger = await apiLogin('staff');
  assertError(t, await call('POST', `/api/account/sessions/${other.id}/end`, { token: stranger, json: {} }), 404, 'not_found');

  t.is((await call('GET', '/api/staff/tasks', { token: phone })).status, 200);
  t.is((await call('POST', `/api/account/sessions/${other.id}/end`, { token: laptop, json: {} })).status, 204);
  assertError(t, await call('GET', '/api/staff/tasks', { token: phone }), 401, 'session_ended');
  t.is((await call('GET', '/api/staff/tasks', { token: laptop })).status, 200, 'the session that ended it goes on');
  t.like(await stack.db('auditLog').where({ action: 'end_session', actorId: staff.id }).first(), { actorRole: 'staff', result: { sessionId: other.id, wasLive: true } });

  const page = await call('GET', '/account/sessions', { token: laptop, html: true });
  t.is(page.status, 200);
  t.regex(page.text, /Šī sesija/);
  t.notRegex(page.text, /Phone browser/, 'an ended session is no longer listed');
});

test('a session unused for the idle time ends; the keep-alive route moves the idle end on', async (t) => {
  const idleMs = 2_000;
  const short = await stack.serveApi({
    sessionTimeouts: { ...SESSION_TIMEOUTS, idleMs: { staff: idleMs, admin: idleMs, provider: idleMs, coordinator: idleMs, consultant: idleMs, learner: idleMs }, touchEveryMs: 0 },
  });
  const shortCall = httpClient(() => short.url);
  const login = async () => ((await shortCall('POST', '/api/auth/login', { json: { username: 'staff', password: password('staff') } })).json as { token: string }).token;
  const idle = await login();
  t.is((await shortCall('GET', '/api/staff/tasks', { token: idle })).status, 200);
  const kept = await login();
  // Kept alive past the idle time several times over, while the other one stays unused.
  for (let i = 0; i < 4; i++) {
    await sleep(idleMs / 2);
    const alive = await shortCall('POST', '/api/session/keep-alive', { token: kept, json: {} });
    t.is(alive.status, 200, alive.text);
    t.true(Date.parse((alive.json as { idleExpiresAt: string }).idleExpiresAt) > Date.now());
  }
  assertError(t, await shortCall('GET', '/api/staff/tasks', { token: idle }), 401, 'session_ended');
  t.like(await stack.db('sessions').where({ tokenHash: createHash('sha256').update(idle).digest('hex') }).first(), { endedReason: 'idle' });
  t.is((await shortCall('GET', '/api/staff/tasks', { token: kept })).status, 200, 'the session kept alive is still live');
});

test('pages of a logged-in user carry the idle warning with its Latvian and English texts', async (t) => {
  const token = await apiLogin('staff');
  const lv = await call('GET', '/staff/tasks', { token, html: true });
  t.regex(lv.text, /data-session-idle-ms="\d+"/);
  t.regex(lv.text, /Jūsu sesija beigsies pēc 5 minūtēm/);
  t.regex(lv.text, /<script src="\/static\/session-timeout.js" defer><\/script>/);
  const en = await call('GET', '/staff/tasks?lang=en', { token, html: true });
  t.regex(en.text, /Your session will end in 5 minutes/);
  t.regex(en.text, /Stay logged in/);
  const script = await call('GET', '/static/session-timeout.js');
  t.is(script.status, 200);
  t.regex(script.text, /\/api\/session\/keep-alive/);
  const anonymous = await call('GET', '/', { html: true });
  t.notRegex(anonymous.text, /data-session-idle-ms/);
});

test('the fuzz stage logs in every role through the real doors, the administrator with a second factor', async (t) => {
  const target = { appUrl: stack.appUrl, ssoUrl: stack.ssoUrl, ssoClientId: stack.sso.clientId };
  const probes: Record<Exclude<FuzzRole, 'anonymous'>, string> = {
    learner: '/api/learner/journeys', coordinator: '/api/coordinator/journeys', consultant: '/api/consultant/consultations',
    provider: '/api/provider/offers', staff: '/api/staff/tasks', lead: '/api/staff/tasks', admin: '/api/admin/workflows',
  };
  await grantFuzzConsultant(stack.db);
  for (const [role, path] of Object.entries(probes) as [Exclude<FuzzRole, 'anonymous'>, string][]) {
    const token = await sessionFor(role, target);
    const answer = await call('GET', path, { token: token! });
    t.is(answer.status, 200, `${role}: ${answer.text}`);
  }
  t.truthy((await stack.db('users').where({ username: 'admin' }).first('totpEnrolledAt')).totpEnrolledAt);
});

test('after five wrong codes in a row the codes are not checked for a quarter of an hour (429 with Retry-After)', async (t) => {
  const staff = await newUser('staff');
  const token = await apiLogin(staff.username, staff.password);
  const { secret } = (await call('POST', '/api/account/second-factor/setup', { token, json: {} })).json as { secret: string };
  const step = Math.floor(Date.now() / 30_000);
  t.is((await call('POST', '/api/account/second-factor', { token, json: { code: generateSync({ secret, epoch: step * 30 }) } })).status, 201);
  const login = (code: string) => call('POST', '/api/auth/login', { json: { username: staff.username, password: staff.password, code } });
  for (let i = 0; i < 5; i++) assertError(t, await login(`wrong-${i}`), 401, 'bad_second_factor_code');
  const locked = await login(generateSync({ secret, epoch: (step + 1) * 30 }));
  const error = assertError(t, locked, 429, 'too_many_code_attempts');
  t.like(error.details[0], { field: 'code', rule: 'too_many_attempts' });
  t.true(Number(locked.headers.get('retry-after')) > 800);
  const page = await call('POST', '/staff/login', { html: true, form: { username: staff.username, password: staff.password } });
  const ticket = /name="ticket" value="([^"]+)"/.exec(page.text)![1]!;
  const lockedPage = await call('POST', '/staff/login/code', { html: true, form: { ticket, code: '123456' } });
  t.is(lockedPage.status, 429);
  t.regex(lockedPage.text, /Pārāk daudz nepareizu kodu/);
  // A quarter of an hour later the right code works again (the run of failures is over).
  await stack.db('users').where({ id: staff.id }).update({ totpFailedAt: new Date(Date.now() - 16 * 60_000) });
  t.is((await login(generateSync({ secret, epoch: (step + 1) * 30 }))).status, 200);
});

test('a coordinator whose grant ends mid-session is out on the next request', async (t) => {
  const personCode = '010170-10003';
  const [grant] = await stack.db('roleGrants').insert({
    personCode, role: 'coordinator', municipality: 'Rēzekne', municipalityCode: '90000012346',
    validFrom: '2024-01-01', validUntil: '2099-12-31', grantedBy: 'test',
  }).returning<{ id: string }[]>('id');
  const token = await stack.signIn({ role: 'coordinator', subject: personCode, name: 'Koordinators', municipality: 'Rēzekne' });
  t.is((await call('GET', '/api/coordinator/journeys', { token })).status, 200);
  await stack.db('roleGrants').where({ id: grant!.id }).update({ validUntil: '2024-12-31' });
  const error = assertError(t, await call('GET', '/api/coordinator/journeys', { token }), 401, 'session_ended');
  t.deepEqual(error.details, [{ reason: 'role_ended' }]);
});
