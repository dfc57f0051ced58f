import { randomBytes, scryptSync } from 'node:crypto';
import test from 'ava';
import { SAMPLE_COMPANIES, SAMPLE_INSTITUTIONS } from '../../dev/seed-institutions';
import { LIMITS, type LimitName } from '../../api/throttle';
import { hashPassword, SCRYPT_PARAMS } from '../../lib/passwords';
import { eventually } from '../helpers/journeys';
import { startTestStack, type TestStack } from '../helpers/stack';
import { assertError, httpClient } from '../helpers/http';
import { multipartClient, SAMPLE_EDOC } from '../helpers/multipart';

// Throttling (api/throttle.ts) and passwords (change, reset by e-mailed link, strength, hashing parameters) over
// HTTP on the real stack. Each client address is set with X-Forwarded-For (the app trusts it: proxy: true), so
// every test has addresses of its own.

let stack: TestStack;
const call = httpClient(() => stack.appUrl);
const upload = multipartClient(() => stack.appUrl);

test.before(async () => { stack = await startTestStack(); });
test.after.always(async () => { await stack?.stop(); });

const from = (address: string) => ({ 'x-forwarded-for': address });

/** Sets a limit's count for a key as if `points` uses had happened (the window is the limit's own). */
async function used(name: LimitName, key: string, points: number): Promise<void> {
  await stack.db('rate_limits').insert({ key: `${name}:${key.toLowerCase()}`, points, expire: Date.now() + LIMITS[name].seconds * 1000 })
    .onConflict('key').merge();
}

function assertThrottled(t: import('ava').ExecutionContext, answer: { status: number; headers: Headers; text: string; json: unknown }, field: string) {
  const error = assertError(t, answer, 429, 'too_many_requests');
  const retryAfter = Number(answer.headers.get('retry-after'));
  t.true(Number.isInteger(retryAfter) && retryAfter > 0, `Retry-After: ${answer.headers.get('retry-after')}`);
  const detail = error.details[0] as { field: string; rule: string; retryAfterSeconds: number; words: { lv: string; en: string } };
  t.like(detail, { field, rule: 'too_many_requests', retryAfterSeconds: retryAfter });
  t.regex(detail.words.lv, /Lūdzu, mēģiniet vēlreiz pēc \d+ min\./);
  t.regex(detail.words.en, /Please try again in \d+ min\./);
  return { error, retryAfter };
}

test.serial('the 11th wrong password within a minute is a 429 with Retry-After (API and page); the right one from another address works', async (t) => {
  const attacker = from('198.51.100.7');
  for (let i = 1; i <= 10; i++) {
    const wrong = await call('POST', '/api/auth/login', { json: { username: 'staff', password: `Wrong#Guess${i}` }, headers: attacker });
    t.is(wrong.status, 401, `attempt ${i}`);
  }
  const eleventh = await call('POST', '/api/auth/login', { json: { username: 'staff', password: 'Wrong#Guess11' }, headers: attacker });
  const { retryAfter } = assertThrottled(t, eleventh, 'password');
  t.true(retryAfter <= 60);
  // Even the right password is refused from there until the window ends: the guesser learns nothing.
  assertThrottled(t, await call('POST', '/api/auth/login', { json: { username: 'staff', password: 'Agentura#2026' }, headers: attacker }), 'password');
  // An address the client writes before its proxy's entry is not believed: the proxy's own entry (the last) counts.
  const spoofed = { 'x-forwarded-for': '192.0.2.99, 198.51.100.7' };
  assertThrottled(t, await call('POST', '/api/auth/login', { json: { username: 'staff', password: 'Wrong#Guess12' }, headers: spoofed }), 'password');
  const page = await call('POST', '/staff/login', { html: true, form: { username: 'STAFF', password: 'Agentura#2026' }, headers: attacker });
  t.is(page.status, 429);
  t.truthy(page.headers.get('retry-after'));
  t.regex(page.text, /Pārāk daudz neveiksmīgu pieteikšanās mēģinājumu\. Lūdzu, mēģiniet vēlreiz pēc 1 min\./);
  t.regex(page.text, /name="username"/, 'the login form is shown again');

  const holder = await call('POST', '/api/auth/login', { json: { username: 'staff', password: 'Agentura#2026' }, headers: from('203.0.113.5') });
  t.is(holder.status, 200, holder.text);
  const browser = await call('POST', '/staff/login', { html: true, form: { username: 'staff', password: 'Agentura#2026' }, headers: from('203.0.113.5') });
  t.is(browser.status, 302);

  const doc = (await call('GET', '/api/openapi.json')).json as { paths: Record<string, Record<string, { responses: Record<string, { headers?: Record<string, unknown> }> }>> };
  for (const [path, method] of [['/api/auth/login', 'post'], ['/staff/login', 'post'], ['/api/catalogue', 'get'], ['/catalogue', 'get'], ['/api/providers/registrations', 'post'],
    ['/providers/register', 'post'], ['/api/providers/staff-registrations', 'post'], ['/providers/staff/register', 'post'], ['/api/auth/password-reset-requests', 'post'],
    ['/staff/password/forgot', 'post'], ['/api/account/password', 'post'], ['/account/password', 'post']] as const) {
    t.truthy(doc.paths[path]?.[method]?.responses['429']?.headers?.['Retry-After'], `${method} ${path} documents 429 with Retry-After`);
  }
});

test.serial('a successful login clears the count of its account and address; wrong passwords for unknown names count too', async (t) => {
  const office = from('198.51.100.20');
  for (let i = 0; i < 9; i++) t.is((await call('POST', '/api/auth/login', { json: { username: 'staff2', password: 'Wrong#Guess1' }, headers: office })).status, 401);
  t.is((await call('POST', '/api/auth/login', { json: { username: 'staff2', password: 'Kolegis#2026' }, headers: office })).status, 200);
  for (let i = 0; i < 10; i++) t.is((await call('POST', '/api/auth/login', { json: { username: 'staff2', password: 'Wrong#Guess1' }, headers: office })).status, 401);
  assertThrottled(t, await call('POST', '/api/auth/login', { json: { username: 'staff2', password: 'Wrong#Guess1' }, headers: office }), 'password');

  const prober = from('198.51.100.21');
  for (let i = 0; i < 10; i++) t.is((await call('POST', '/api/auth/login', { json: { username: 'nobody-here', password: 'Wrong#Guess1' }, headers: prober })).status, 401);
  assertThrottled(t, await call('POST', '/api/auth/login', { json: { username: 'nobody-here', password: 'Wrong#Guess1' }, headers: prober }), 'password');
});

test.serial('the public catalogue search is throttled per address (API and page)', async (t) => {
  const crawler = from('198.51.100.30');
  for (let i = 0; i < LIMITS.catalogueSearchAddress.points; i++) {
    const answer = await call('GET', `/api/catalogue?q=kurss${i}`, { headers: crawler });
    if (answer.status !== 200) { t.fail(`search ${i + 1}: HTTP ${answer.status}`); return; }
  }
  assertThrottled(t, await call('GET', '/api/catalogue?q=kurss', { headers: crawler }), '(request)');
  const page = await call('GET', '/catalogue?q=kurss', { html: true, headers: crawler });
  t.is(page.status, 429);
  t.truthy(page.headers.get('retry-after'));
  t.regex(page.text, /No Jūsu tīkla veikts pārāk daudz meklēšanas pieprasījumu\./);
  const english = await call('GET', '/catalogue?q=kurss&lang=en', { html: true, headers: crawler });
  t.regex(english.text, /Too many searches from your network\. Please try again in 1 min\./);
  t.is((await call('GET', '/api/catalogue?q=kurss', { headers: from('198.51.100.31') })).status, 200, 'another address searches on');
});

const PASSWORD = 'Mācības#2026x';
const registration = (over: Record<string, string> = {}) => ({
  institutionName: 'Kurzemes digitālo prasmju skola (paraugs)', companyRegistrationNumber: SAMPLE_COMPANIES.second,
  educationRegistrationNumber: SAMPLE_INSTITUTIONS.second, firstName: 'Jānis', lastName: 'Ozols', email: 'janis.ozols@kurzeme.example',
  password: PASSWORD, passwordRepeat: PASSWORD, language: 'lv', ...over,
});
const declaration = [{ field: 'declaration', filename: 'apliecinajums.edoc', content: SAMPLE_EDOC }];
const providerCount = async () => Number((await stack.db('providers').count<{ count: string }[]>('* as count'))[0]!.count);

test.serial('provider registration is throttled per address, per company number held and per e-mail address; the page shows the form again', async (t) => {
  const address = '198.51.100.40';
  await used('providerRegistrationAddress', address, LIMITS.providerRegistrationAddress.points - 1);
  const last = await upload('/api/providers/registrations', registration(), declaration, { headers: from(address) });
  t.is(last.status, 201, last.text);
  const before = await providerCount();
  const young = registration({ companyRegistrationNumber: SAMPLE_COMPANIES.young, educationRegistrationNumber: SAMPLE_INSTITUTIONS.young, email: 'anna@young.example' });
  assertThrottled(t, await upload('/api/providers/registrations', young, declaration, { headers: from(address) }), '(form)');
  const page = await upload('/providers/register', young, declaration, { html: true, headers: from(address) });
  t.is(page.status, 429);
  t.truthy(page.headers.get('retry-after'));
  t.regex(page.text, /No Jūsu tīkla veikts pārāk daudz reģistrāciju\./);
  t.regex(page.text, /value="anna@young.example"/, 'the form keeps what was typed');
  t.is(await providerCount(), before, 'nothing stored');

  // A company number held three times in 30 days (each registration left to expire) cannot be held again.
  await used('registrationNumberHolds', SAMPLE_COMPANIES.young, LIMITS.registrationNumberHolds.points);
  assertThrottled(t, await upload('/api/providers/registrations', young, declaration, { headers: from('198.51.100.41') }), 'companyRegistrationNumber');
  // Confirmation e-mails to one address: three a day.
  await used('confirmationMailTarget', 'bob@unaccredited.example', LIMITS.confirmationMailTarget.points);
  const mailed = registration({ companyRegistrationNumber: SAMPLE_COMPANIES.unaccredited, educationRegistrationNumber: SAMPLE_INSTITUTIONS.unaccredited, email: 'Bob@Unaccredited.example' });
  assertThrottled(t, await upload('/api/providers/registrations', mailed, declaration, { headers: from('198.51.100.42') }), 'email');
  t.is(await providerCount(), before, 'nothing stored');
});

test.serial('requests of provider staff to join are throttled per address', async (t) => {
  const address = '198.51.100.50';
  await used('staffRegistrationAddress', address, LIMITS.staffRegistrationAddress.points);
  const body = { firstName: 'Ilze', lastName: 'Liepa', companyRegistrationNumber: SAMPLE_COMPANIES.demo, email: 'ilze.liepa@provider.example', password: PASSWORD, passwordRepeat: PASSWORD };
  assertThrottled(t, await call('POST', '/api/providers/staff-registrations', { json: body, headers: from(address) }), '(form)');
  const page = await call('POST', '/providers/staff/register', { html: true, form: body, headers: from(address) });
  t.is(page.status, 429);
  t.regex(page.text, /No Jūsu tīkla veikts pārāk daudz reģistrāciju\./);
  t.is((await call('POST', '/api/providers/staff-registrations', { json: body, headers: from('198.51.100.51') })).status, 201);
});

test.serial('trivial variants of common passwords are refused, naming the field and the rule in Latvian and English', async (t) => {
  for (const password of ['Password1!!', 'Password12!', 'Password#1']) {
    const body = { firstName: 'Ilze', lastName: 'Kalna', companyRegistrationNumber: SAMPLE_COMPANIES.demo, email: 'ilze.kalna@provider.example', password, passwordRepeat: password };
    const error = assertError(t, await call('POST', '/api/providers/staff-registrations', { json: body, headers: from('198.51.100.60') }), 400, 'invalid_request');
    t.regex(error.message, /password: The password is too easy to guess/);
    t.like(error.details[0], { field: 'password', rule: 'too_guessable' });
    t.regex((error.details[0] as { words: { lv: string } }).words.lv, /Parole ir pārāk viegli uzminama/);
  }
});

/** A staff user with an e-mail address and a password, made for one test. */
async function newUser(username: string, password: string, passwordHash?: string) {
  const [user] = await stack.db('users').insert({
    username, email: `${username}@agency.example`, displayName: 'Laura Egle', role: 'staff', passwordHash: passwordHash ?? await hashPassword(password),
  }).returning<{ id: string }[]>('id');
  return user!.id;
}

const login = (username: string, password: string, address = '203.0.113.70') => call('POST', '/api/auth/login', { json: { username, password }, headers: from(address) });
const messagesTo = (address: string) => stack.mail.messages().filter((m) => m.to.includes(address));
const linkIn = (text: string) => /\/staff\/password\/reset\?token=([^\s"&<]+)/.exec(text)?.[1];

test.serial('a password change needs the current password and keeps the rules', async (t) => {
  await newUser('laura', 'Vecā#Parole2026');
  const token = (await login('laura', 'Vecā#Parole2026')).json as { token: string };
  const change = (body: Record<string, string>) => call('POST', '/api/account/password', { token: token.token, json: body });
  const wrong = assertError(t, await change({ currentPassword: 'Minēta#Parole1', newPassword: 'Jauna#Kalnu7ezers', newPasswordRepeat: 'Jauna#Kalnu7ezers' }), 400, 'invalid_request');
  t.like(wrong.details[0], { field: 'currentPassword', rule: 'wrong_password' });
  const weak = assertError(t, await change({ currentPassword: 'Vecā#Parole2026', newPassword: 'Password1!!', newPasswordRepeat: 'Password1!!' }), 400, 'invalid_request');
  t.like(weak.details[0], { field: 'newPassword', rule: 'too_guessable' });
  const named = assertError(t, await change({ currentPassword: 'Vecā#Parole2026', newPassword: 'Laura#2026', newPasswordRepeat: 'Laura#2026' }), 400, 'invalid_request');
  t.like(named.details[0], { field: 'newPassword', rule: 'too_guessable' }, 'built from the name');
  t.is((await login('laura', 'Vecā#Parole2026')).status, 200, 'nothing changed yet');

  const done = await change({ currentPassword: 'Vecā#Parole2026', newPassword: 'Jauna#Kalnu7ezers', newPasswordRepeat: 'Jauna#Kalnu7ezers' });
  t.is(done.status, 200, done.text);
  t.is((await login('laura', 'Vecā#Parole2026')).status, 401);
  t.is((await login('laura', 'Jauna#Kalnu7ezers')).status, 200);
  t.truthy(await stack.db('auditLog').where({ action: 'password_changed' }).first(), 'audited');

  const page = await call('POST', '/account/password', { html: true, token: token.token, form: { currentPassword: 'Nepareiza#Parole1', newPassword: 'Cita#Kalnu7ezers', newPasswordRepeat: 'Cita#Kalnu7ezers' } });
  t.is(page.status, 400);
  t.regex(page.text, /Pašreizējā parole nav pareiza\./);
  t.is((await call('GET', '/api/account/password', { token: token.token })).status, 405);
  t.is((await call('POST', '/api/account/password', { json: { currentPassword: 'a', newPassword: 'b', newPasswordRepeat: 'b' } })).status, 401);
});

test.serial('a reset link arrives once, works once, and the answer does not tell whether the account exists', async (t) => {
  const userId = await newUser('marta', 'Vecā#Parole2026');
  const unknown = await call('POST', '/staff/password/forgot', { html: true, form: { login: 'nobody@agency.example' }, headers: from('203.0.113.80') });
  const known = await call('POST', '/staff/password/forgot', { html: true, form: { login: 'MARTA@agency.example' }, headers: from('203.0.113.80') });
  // Post/redirect/get: the same redirect either way, to the page saying a link was sent if the account exists.
  t.is(unknown.status, 302);
  t.is(known.status, 302);
  t.is(known.headers.get('location'), unknown.headers.get('location'), 'the same answer either way');
  const sent = await call('GET', known.headers.get('location')!, { html: true });
  t.regex(sent.text, /Ja konts ar šo lietotājvārdu vai e-pasta adresi pastāv/);
  const api = await call('POST', '/api/auth/password-reset-requests', { json: { login: 'nobody' }, headers: from('203.0.113.80') });
  t.is(api.status, 202);

  const mail = await eventually(async () => messagesTo('marta@agency.example')[0], 'the reset e-mail');
  t.regex(mail.subject, /Jaunas paroles iestatīšana/);
  const token = decodeURIComponent(linkIn(mail.text)!);
  t.truthy(token);

  const form = await call('GET', `/staff/password/reset?token=${encodeURIComponent(token)}`, { html: true });
  t.is(form.status, 200);
  t.regex(form.text, /name="password"/);
  t.is(form.headers.get('cache-control'), 'no-store');
  const weak = assertError(t, await call('POST', '/api/auth/password-resets', { json: { token, password: 'Password1!!', passwordRepeat: 'Password1!!' } }), 400, 'invalid_request');
  t.like(weak.details[0], { field: 'password', rule: 'too_guessable' });
  const done = await call('POST', '/staff/password/reset', { html: true, form: { token, password: 'Jauna#Kalnu7ezers', passwordRepeat: 'Jauna#Kalnu7ezers' } });
  t.is(done.status, 302, done.text);
  t.is(done.headers.get('location'), '/staff/password/reset?done=set', 'the answer\'s address carries no token');
  t.regex((await call('GET', done.headers.get('location')!, { html: true })).text, /Jaunā parole ir iestatīta/);
  t.is((await login('marta', 'Jauna#Kalnu7ezers')).status, 200);
  t.is((await login('marta', 'Vecā#Parole2026')).status, 401);

  // Used: the link is bound to the password it replaced.
  assertError(t, await call('POST', '/api/auth/password-resets', { json: { token, password: 'Otra#Kalnu7ezers', passwordRepeat: 'Otra#Kalnu7ezers' } }), 410, 'link_expired');
  const again = await call('GET', `/staff/password/reset?token=${encodeURIComponent(token)}`, { html: true });
  t.is(again.status, 410);
  t.regex(again.text, /Šīs saites derīguma termiņš ir beidzies, vai tā jau izmantota\./);
  assertError(t, await call('POST', '/api/auth/password-resets', { json: { token: `${token}x`, password: 'Otra#Kalnu7ezers', passwordRepeat: 'Otra#Kalnu7ezers' } }), 400, 'invalid_link');

  // One e-mail for the one request, whatever the retries; nothing for the unknown names.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  t.is(messagesTo('marta@agency.example').length, 1);
  t.is(messagesTo('nobody@agency.example').length, 0);
  const rows = await stack.db('emailOutbox').where({ template: 'password-reset', recipient: 'marta@agency.example' });
  t.is(rows.length, 1);
  t.truthy(await stack.db('auditLog').where({ action: 'password_reset' }).whereRaw("result->>'userId' = ?", [userId]).first(), 'audited');
});

test.serial('a reset link expires', async (t) => {
  await newUser('ilze', 'Vecā#Parole2026');
  // A second API whose links are valid for two seconds (the worker signs with the validity the request carries).
  const shortLived = await stack.serveApi({ passwordResetValidHours: 2 / 3600 });
  const answer = await fetch(`${shortLived.url}/api/auth/password-reset-requests`, {
    method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ login: 'ilze', language: 'en' }),
  });
  t.is(answer.status, 202);
  const mail = await eventually(async () => messagesTo('ilze@agency.example')[0], 'the reset e-mail');
  t.regex(mail.subject, /Set a new password/);
  const token = decodeURIComponent(linkIn(mail.text)!);
  await new Promise((resolve) => setTimeout(resolve, 3_500));
  assertError(t, await call('POST', '/api/auth/password-resets', { json: { token, password: 'Jauna#Kalnu7ezers', passwordRepeat: 'Jauna#Kalnu7ezers' } }), 410, 'link_expired');
  const page = await call('GET', `/staff/password/reset?token=${encodeURIComponent(token)}&lang=en`, { html: true });
  t.is(page.status, 410);
  t.regex(page.text, /This link has expired or was already used\./);
  t.is((await login('ilze', 'Vecā#Parole2026')).status, 200, 'the password stays');
});

test.serial('reset requests are throttled per address; per account they stop silently', async (t) => {
  const address = from('198.51.100.90');
  for (let i = 0; i < LIMITS.resetMailAddress.points; i++) {
    t.is((await call('POST', '/api/auth/password-reset-requests', { json: { login: `someone${i}` }, headers: address })).status, 202);
  }
  const refused = await call('POST', '/api/auth/password-reset-requests', { json: { login: 'someone' }, headers: address });
  assertThrottled(t, refused, 'login');
  const page = await call('POST', '/staff/password/forgot', { html: true, form: { login: 'someone' }, headers: address });
  t.is(page.status, 429);
  t.regex(page.text, /Pārāk daudz paroles atjaunošanas pieprasījumu\./);
  t.regex(page.text, /name="login"/, 'the form again');
});

test.serial('a hash with the old scrypt parameters is replaced at the next successful login, not at a failed one', async (t) => {
  // As the code before hashed: N=2^15, r=8, p=1.
  const salt = randomBytes(16);
  const old = ['scrypt', 32768, 8, 1, salt.toString('base64'), scryptSync('Vecā#Parole2026'.normalize('NFC'), salt, 32, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }).toString('base64')].join('$');
  const userId = await newUser('peteris', '', old);
  t.is((await login('peteris', 'Nepareiza#Parole1')).status, 401);
  t.is((await stack.db('users').where({ id: userId }).first()).passwordHash, old);
  t.is((await login('peteris', 'Vecā#Parole2026')).status, 200);
  const stored = (await stack.db('users').where({ id: userId }).first()).passwordHash as string;
  t.true(stored.startsWith(`scrypt$${SCRYPT_PARAMS.N}$${SCRYPT_PARAMS.r}$${SCRYPT_PARAMS.p}$`), stored);
  t.is((await login('peteris', 'Vecā#Parole2026')).status, 200, 'the new hash verifies');
});
