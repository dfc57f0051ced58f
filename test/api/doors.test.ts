import net from 'node:net';
import test from 'ava';
import { SAMPLE_COMPANIES, SAMPLE_INSTITUTIONS } from '../../dev/seed-institutions';
import { createCallClosingIn } from '../helpers/calls';
import { assertError, fieldsOf, formTokenOf, httpClient, type Answer, type ErrorBody } from '../helpers/http';
import { multipartClient, SAMPLE_EDOC, SAMPLE_PDF } from '../helpers/multipart';
import { startTestStack, type TestStack } from '../helpers/stack';

// Input at the doors: requests an anonymous or hostile client can send must be answered with a 4xx naming the field
// (Latvian and English), never a 500 and never a dead process. Each crash request is followed by a normal request
// to the same server: on the old code the first one killed the process that serves them both.

let stack: TestStack;
const call = httpClient(() => stack.appUrl);

let adminToken: string;
let providerToken: string;
let offerId: string;
let workflowId: string;

test.before(async () => {
  stack = await startTestStack();
  adminToken = await stack.adminToken();
  const provider = await stack.db('users').where({ username: 'provider' }).first<{ id: string; displayName: string; providerId: string }>();
  providerToken = await stack.signIn({ role: 'provider', subject: provider.id, name: provider.displayName, providerId: provider.providerId, providerRole: 'admin' });
  const { callId } = await createCallClosingIn(stack.db, 60 * 60_000);
  const created = await call('POST', '/api/provider/offers', { token: providerToken, json: { callId, titleLv: 'Durvju pārbaude (paraugs)', titleEn: 'Door check (sample)' } });
  if (created.status !== 201) throw new Error(`draft not created: ${created.text}`);
  offerId = (created.json as { offerId?: string; id?: string }).offerId ?? (created.json as { id: string }).id;
  workflowId = (await stack.db('offers').where({ id: offerId }).first<{ workflowId: string }>()).workflowId;
});
test.after.always(async () => { await stack?.stop(); });

/** Sends raw bytes, as a hostile client would. */
async function send(method: string, path: string, body: string | Buffer, headers: Record<string, string>): Promise<Answer> {
  const res = await fetch(`${stack.appUrl}${path}`, { method, headers: { accept: 'application/json', ...headers }, body: typeof body === "string" ? body : new Uint8Array(body), redirect: 'manual' });
  const text = await res.text();
  let json: unknown;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

async function stillServing(t: import('ava').ExecutionContext) {
  const health = await call('GET', '/api/health');
  t.is(health.status, 200, 'the same server still answers a normal request');
}

const multipart = (parts: string) => ({ body: parts, headers: { 'content-type': 'multipart/form-data; boundary=X' } });
// A file part cut off before its closing boundary: the body ends in the middle of the file.
const truncatedFile = (field: string) => multipart(
  `--X\r\nContent-Disposition: form-data; name="${field}"; filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7 the rest never comes`,
);

/** The problem the details name for a field (with its words in both languages). */
function problemOf(error: ErrorBody['error'], field: string) {
  const problem = error.details.find((d) => d.field === field) as { rule?: string; words?: { lv: string; en: string } } | undefined;
  return problem;
}

// ---------------------------------------------------------------------------------------------------------------
// The two requests that killed the process

test.serial('a page opened with a very long query sends a browser to the login with a Location it can read, back to the page', async (t) => {
  // 1,000 emoji are 12 KB encoded: within what the server takes, but as `next` encoded again, 36 KB of Location header,
  // which HTTP clients refuse (the fuzzer met it on the confirmation pages' `answers`).
  const path = '/staff/tasks/d6fb64d1-990a-5fc9-b652-70def1ae888c';
  const answer = await call('GET', `${path}?answers=${encodeURIComponent('\u{1F3FB}'.repeat(1_000))}`, { html: true });
  t.is(answer.status, 302);
  t.is(answer.headers.get('location'), `/staff/login?next=${encodeURIComponent(path)}`);
  const short = await call('GET', `${path}?q=berz`, { html: true });
  t.is(short.headers.get('location'), `/staff/login?next=${encodeURIComponent(`${path}?q=berz`)}`, 'an ordinary query comes back too');
});

test.serial('a multipart part with an empty name is a 400, and the server keeps serving', async (t) => {
  const { body, headers } = multipart('--X\r\nContent-Disposition: form-data; name=""\r\n\r\nnull\r\n--X--\r\n');
  const answer = await send('POST', '/api/providers/registrations', body, headers);
  const error = assertError(t, answer, 400, 'malformed_multipart');
  t.is(problemOf(error, '(body)')?.rule, 'unnamed_part');
  await stillServing(t);
});

test.serial('a file cut off before its closing boundary is a 400 on the registration API, and the server keeps serving', async (t) => {
  const { body, headers } = truncatedFile('declaration');
  const error = assertError(t, await send('POST', '/api/providers/registrations', body, headers), 400, 'malformed_multipart');
  t.is(problemOf(error, 'declaration')?.rule, 'malformed_multipart');
  t.is(await stack.db('providers').where({ registrationNumber: SAMPLE_COMPANIES.second }).first(), undefined, 'nothing is stored');
  await stillServing(t);
});

test.serial('a file cut off before its closing boundary is a 400 on the offer document upload, and nothing is stored', async (t) => {
  const { body, headers } = truncatedFile('file');
  const answer = await send('POST', `/api/provider/offers/${offerId}/documents/curriculum`, body, { ...headers, authorization: `Bearer ${providerToken}` });
  assertError(t, answer, 400, 'malformed_multipart');
  t.is(await stack.db('documents').where({ offerId, kind: 'curriculum' }).first(), undefined);
  await stillServing(t);
});

test.serial('a file cut off on the registration page shows the form again, in Latvian and English, next to the file field', async (t) => {
  // As a browser sends the page's form: its token first, with the pre-session cookie the page set.
  const browser = await formTokenOf(stack.appUrl);
  const form = (lang: string) => `--X\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${browser.token}\r\n`
    + `--X\r\nContent-Disposition: form-data; name="institutionName"\r\n\r\nSkola\r\n--X\r\nContent-Disposition: form-data; name="language"\r\n\r\n${lang}\r\n`;
  const headers = { ...truncatedFile('declaration').headers, accept: 'text/html', cookie: browser.cookie };
  const lv = await send('POST', '/providers/register', form('lv') + truncatedFile('declaration').body, headers);
  t.is(lv.status, 400, lv.text);
  t.true(lv.text.includes('id="declaration-error"'), 'the message is next to the file field');
  t.true(lv.text.includes('Augšupielāde netika pabeigta'));
  t.true(lv.text.includes('value="Skola"'), 'the fields read are kept');
  const en = await send('POST', '/providers/register?lang=en', form('en') + truncatedFile('declaration').body, headers);
  t.is(en.status, 400);
  t.true(en.text.includes('The upload did not finish'));
  await stillServing(t);
});

/** Starts a request whose body is announced as 100 000 bytes, sends a part of it and goes away. */
async function abortMidBody(path: string, headers: string, partial: string): Promise<void> {
  const url = new URL(stack.appUrl);
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname, () => {
      socket.write(`POST ${path} HTTP/1.1\r\nHost: ${url.host}\r\n${headers}Content-Length: 100000\r\n\r\n${partial}`);
      setTimeout(() => { socket.destroy(); resolve(); }, 300);
    });
    socket.on('error', reject);
  });
}

/** How many requests to a route ended with a status, from the API's own metrics (served off the public port). */
async function answered(route: string, status: number): Promise<number> {
  const metrics = await stack.apiDeps.metrics.registry.metrics();
  const line = metrics.split('\n').find((l) => l.startsWith('http_request_duration_seconds_count{') && l.includes(`method="POST",route="${route}",status="${status}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

test.serial('a client going away mid-body ends its request (an upload or a JSON body), and the server keeps serving', async (t) => {
  const before = await answered('/api/provider/offers/:offerId/documents/:kind', 400);
  await abortMidBody(`/api/provider/offers/${offerId}/documents/curriculum`, `Authorization: Bearer ${providerToken}\r\nContent-Type: multipart/form-data; boundary=X\r\n`,
    '--X\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7 and then nothing');
  await abortMidBody('/api/auth/login', 'Content-Type: application/json\r\n', '{"username":"sta');
  await new Promise((resolve) => setTimeout(resolve, 200));
  await stillServing(t);
  // The upload ended as a 400 (not a hang holding the request for ever); nobody read it, but it is accounted for.
  t.is(await answered('/api/provider/offers/:offerId/documents/:kind', 400), before + 1);
  t.is(await answered('/api/auth/login', 500), 0, 'a body cut off by the client is not our failure');
});

// ---------------------------------------------------------------------------------------------------------------
// NUL bytes and invalid Unicode: a 400 naming the field and the rule, never a 500

const NUL = 'a\u0000b';

/** Asserts the JSON API's 400 for a broken text rule names the field, with the words of both languages. */
function assertTextRule(t: import('ava').ExecutionContext, answer: Answer, field: string, rule = 'nul_character') {
  const error = assertError(t, answer, 400, 'invalid_request');
  t.true(fieldsOf(error).includes(field), `names ${field}: ${answer.text}`);
  t.true(error.message.includes(field), 'the message names the field');
  const problem = problemOf(error, field);
  t.is(problem?.rule, rule);
  t.truthy(problem?.words?.lv);
  t.truthy(problem?.words?.en);
}

test.serial('NUL in the login (API and page) is a 400 naming the field, in Latvian and English on the page', async (t) => {
  assertTextRule(t, await call('POST', '/api/auth/login', { json: { username: NUL, password: 'x' } }), 'username');
  assertTextRule(t, await call('POST', '/api/auth/login', { json: { username: 'staff', password: NUL } }), 'password');
  const lv = await call('POST', '/staff/login', { html: true, form: { username: NUL, password: 'x' } });
  t.is(lv.status, 400);
  t.true(lv.text.includes('Lauks „Lietotājvārds”: Nedrīkst saturēt rakstzīmi NUL'), lv.text);
  const en = await call('POST', '/staff/login?lang=en', { html: true, form: { username: NUL, password: 'x' } });
  t.is(en.status, 400);
  t.true(en.text.includes('Field “Username”: Must not contain the NUL character'), en.text);
});

test.serial('NUL in the catalogue and offer search (q, competence, place) is a 400 naming the field; the page shows it next to the field', async (t) => {
  for (const field of ['q', 'competence', 'place']) {
    assertTextRule(t, await call('GET', `/api/catalogue?${field}=a%00b`), field);
    const lv = await call('GET', `/catalogue?${field}=a%00b`, { html: true });
    t.is(lv.status, 400, field);
    t.regex(lv.text, new RegExp(`id="${field}-error">Nedrīkst saturēt rakstzīmi NUL`), field);
    const en = await call('GET', `/catalogue?lang=en&${field}=a%00b`, { html: true });
    t.is(en.status, 400, field);
    t.regex(en.text, new RegExp(`id="${field}-error">Must not contain the NUL character`), field);
  }
  assertTextRule(t, await call('GET', '/api/offers?q=a%00b'), 'q');
  const offers = await call('GET', '/offers?q=a%00b', { html: true });
  t.is(offers.status, 400);
  t.true(offers.text.includes('Lauks „Meklēt”'), 'the field by its label');
});

test.serial('NUL in the provider staff registration (API and page) is a 400 naming the field', async (t) => {
  const fields = { firstName: NUL, lastName: 'Liepa', companyRegistrationNumber: SAMPLE_COMPANIES.demo, email: 'anna@example.lv', password: 'Mācības#2026x', passwordRepeat: 'Mācības#2026x' };
  assertTextRule(t, await call('POST', '/api/providers/staff-registrations', { json: fields }), 'firstName');
  const lv = await call('POST', '/providers/staff/register', { html: true, form: fields });
  t.is(lv.status, 400);
  t.regex(lv.text, /id="firstName-error">Nedrīkst saturēt rakstzīmi NUL/);
  const en = await call('POST', '/providers/staff/register?lang=en', { html: true, form: fields });
  t.regex(en.text, /id="firstName-error">Must not contain the NUL character/);
  t.is(await stack.db('users').where({ email: 'anna@example.lv' }).first(), undefined);
});

test.serial('NUL in an offer draft\'s title and places (API and page) is a 400 naming the field', async (t) => {
  const { callId } = await stack.db('offers').where({ id: offerId }).first<{ callId: string }>();
  assertTextRule(t, await call('POST', '/api/provider/offers', { token: providerToken, json: { callId, titleLv: NUL, titleEn: 'x' } }), 'titleLv');
  assertTextRule(t, await call('POST', `/api/provider/offers/${offerId}`, { token: providerToken, json: { places: [{ address: NUL }] } }), 'places.0.address');
  const created = await call('POST', '/provider/offers', { token: providerToken, html: true, form: { callId, titleLv: NUL, titleEn: 'x' } });
  t.is(created.status, 400);
  t.regex(created.text, /id="titleLv-error">Nedrīkst saturēt rakstzīmi NUL/);
  const saved = await call('POST', `/provider/offers/${offerId}?lang=en`, { token: providerToken, html: true, form: { titleLv: 'Durvis', titleEn: 'Doors', place_0: NUL } });
  t.is(saved.status, 400);
  t.true(saved.text.includes('Must not contain the NUL character'), 'the place\'s message in English');
  t.regex(saved.text, /id="place-\d+-error">Must not contain the NUL character/);
  // The page's save keeps the good fields (issue 16): the titles are saved, the place with NUL is not.
  t.like(await stack.db('offers').where({ id: offerId }).first(), { titleLv: 'Durvis', places: [] });
});

test.serial('NUL in the console\'s workflowId filter is a 400 at once (not a 20 s wait for Temporal), API and page', async (t) => {
  const started = Date.now();
  assertTextRule(t, await call('GET', '/api/admin/workflows?workflowId=a%00b', { token: adminToken }), 'workflowId');
  const page = await call('GET', '/admin/workflows?workflowId=a%00b', { token: adminToken, html: true });
  t.is(page.status, 400);
  t.regex(page.text, /id="workflowId-error">Nedrīkst saturēt rakstzīmi NUL/);
  const en = await call('GET', '/admin/workflows?lang=en&workflowId=a%00b', { token: adminToken, html: true });
  t.regex(en.text, /id="workflowId-error">Must not contain the NUL character/);
  t.true(Date.now() - started < 5_000, 'answered without asking Temporal');
});

test.serial('NUL in a console action\'s reason is a 400 naming the field, API and page, and nothing is done', async (t) => {
  const path = `/admin/workflows/${encodeURIComponent(workflowId)}/actions`;
  assertTextRule(t, await call('POST', `/api${path}`, { token: adminToken, json: { action: 'cancel', reason: `because ${NUL}` } }), 'reason');
  const lv = await call('POST', path, { token: adminToken, html: true, form: { action: 'cancel', reason: `because ${NUL}` } });
  t.is(lv.status, 400);
  t.regex(lv.text, /id="reason-error">Nedrīkst saturēt rakstzīmi NUL/);
  const en = await call('POST', `${path}?lang=en`, { token: adminToken, html: true, form: { action: 'cancel', reason: `because ${NUL}` } });
  t.regex(en.text, /id="reason-error">Must not contain the NUL character/);
  const described = await stack.temporal.workflow.getHandle(workflowId).describe();
  t.is(described.status.name, 'RUNNING');
});

test.serial('a lone surrogate, bytes that are not UTF-8, NUL in a path and in a file name are 400s naming the field', async (t) => {
  assertTextRule(t, await send('POST', '/api/auth/login', '{"username":"a\\ud800","password":"x"}', { 'content-type': 'application/json' }), 'username', 'invalid_unicode');
  const notUtf8 = Buffer.concat([Buffer.from('{"username":"a'), Buffer.from([0xff, 0xfe]), Buffer.from('","password":"x"}')]);
  assertTextRule(t, await send('POST', '/api/auth/login', notUtf8, { 'content-type': 'application/json' }), 'username', 'invalid_utf8');
  assertTextRule(t, await call('GET', '/api/catalogue?q=%FF'), 'q', 'invalid_utf8');
  assertTextRule(t, await call('GET', '/api/admin/workflows/a%00b', { token: adminToken }), 'path');
  const { body, headers } = multipart(`--X\r\nContent-Disposition: form-data; name="declaration"; filename*=UTF-8''a%00b.pdf\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7\r\n--X--\r\n`);
  assertTextRule(t, await send('POST', '/api/providers/registrations', body, headers), 'declaration');
  const form = await send('POST', '/staff/login', 'username=%FF&password=x', { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' });
  t.is(form.status, 400);
  t.true(form.text.includes('Lauks „Lietotājvārds”: Nav derīgs UTF-8 teksts'));
});

// ---------------------------------------------------------------------------------------------------------------
// Lengths, types and the document

test.serial('a JSON body nested thousands of levels deep is a 400, not a stack overflow', async (t) => {
  const deep = `{"username":${'['.repeat(30_000)}${']'.repeat(30_000)},"password":"x"}`;
  const error = assertError(t, await send('POST', '/api/auth/login', deep, { 'content-type': 'application/json' }), 400, 'malformed_json');
  t.regex(error.message, /nested more than 32 levels/);
});

test.serial('an over-long text field is a 400 naming it', async (t) => {
  const error = assertError(t, await call('GET', `/api/admin/workflows?lang=${'x'.repeat(11)}`, { token: adminToken }), 400, 'invalid_request');
  t.deepEqual(fieldsOf(error), ['lang']);
  const staff = assertError(t, await call('POST', '/api/providers/staff-registrations', { json: {
    firstName: 'Anna', lastName: 'Liepa', companyRegistrationNumber: SAMPLE_COMPANIES.demo, email: 'anna@example.lv', password: 'Mācības#2026x', passwordRepeat: 'x'.repeat(201),
  } }), 400, 'invalid_request');
  t.true(staff.details.some((d) => d.field === 'passwordRepeat' && d.rule === 'too_big'));
});

test.serial('a form-encoded body to the JSON API is a 415 with the uniform body; pages still take forms', async (t) => {
  const error = assertError(t, await call('POST', '/api/auth/login', { form: { username: 'staff', password: 'Agentura#2026' } }), 415, 'unsupported_media_type');
  t.regex(error.message, /application\/json/);
  assertError(t, await call('POST', '/api/providers/staff-registrations', { form: { firstName: 'Anna' } }), 415, 'unsupported_media_type');
  const page = await call('POST', '/staff/login', { html: true, form: { username: 'staff', password: 'Agentura#2026' } });
  t.is(page.status, 302, 'the page form logs in');
  t.is((await call('POST', '/api/auth/login', { json: { username: 'staff', password: 'Agentura#2026' } })).status, 200);
});

test.serial('the OpenAPI document gives every text field its maxLength and every body route its 413 and 415', async (t) => {
  const doc = (await call('GET', '/api/openapi.json')).json as {
    paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties: Record<string, { maxLength?: number }> } }> };
      parameters?: { name: string; schema: { maxLength?: number } }[]; responses: Record<string, unknown> }>>;
  };
  const login = doc.paths['/api/auth/login']!.post!;
  t.is(login.requestBody!.content['application/json']!.schema.properties.username!.maxLength, 100);
  t.truthy(login.responses['415']);
  t.truthy(login.responses['413']);
  const catalogue = doc.paths['/api/catalogue']!.get!;
  t.is(catalogue.parameters!.find((p) => p.name === 'q')!.schema.maxLength, 100);
  t.falsy(catalogue.responses['415'], 'a route without a body takes none');
  t.is(doc.paths['/api/providers/registrations']!.post!.requestBody!.content['multipart/form-data']!.schema.properties.passwordRepeat!.maxLength, 200);
  t.truthy(doc.paths['/api/providers/registrations']!.post!.responses['415']);
  // Every text property of every request body and parameter has a maximum length.
  const unbounded: string[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      for (const p of op.parameters ?? []) if ((p.schema as { type?: string }).type === 'string' && p.schema.maxLength === undefined && !(p.schema as { format?: string; pattern?: string; enum?: unknown }).format && !(p.schema as { pattern?: string }).pattern && !(p.schema as { enum?: unknown }).enum) unbounded.push(`${method} ${path} ${p.name}`);
      for (const content of Object.values(op.requestBody?.content ?? {})) {
        for (const [name, prop] of Object.entries(content.schema.properties ?? {})) {
          const s = prop as { type?: string; maxLength?: number; format?: string; pattern?: string; enum?: unknown; const?: unknown };
          if (s.type === 'string' && s.maxLength === undefined && !s.format && !s.pattern && !s.enum && s.const === undefined) unbounded.push(`${method} ${path} ${name}`);
        }
      }
    }
  }
  t.deepEqual(unbounded, []);
});

test.serial('a handler that fails unexpectedly is a 500 with the uniform body (a page for browsers), and the server keeps serving', async (t) => {
  // The catalogue's table disappears under the API (in this file's own database), so its query throws.
  await stack.db.raw('ALTER TABLE offers RENAME TO offers_away');
  try {
    const error = assertError(t, await call('GET', '/api/catalogue'), 500, 'internal_error');
    t.false(error.message.includes('offers'), 'nothing of the cause is told to the caller');
    const page = await call('GET', '/catalogue', { html: true });
    t.is(page.status, 500);
    t.regex(page.headers.get('content-type') ?? '', /^text\/html/);
  } finally {
    await stack.db.raw('ALTER TABLE offers_away RENAME TO offers');
  }
  await stillServing(t);
  t.is((await call('GET', '/api/catalogue')).status, 200);
});

// ---------------------------------------------------------------------------------------------------------------
// Multipart bodies: strict UTF-8, Latvian text, the cap on uploads read at once

/** A multipart body (boundary X) from parts given as raw bytes: a part's header lines and its content. */
function rawMultipart(parts: { headers: (string | Buffer)[]; content: string | Buffer }[]): Buffer {
  return Buffer.concat([...parts.flatMap((p) => [Buffer.from('--X\r\n'), ...p.headers.flatMap((h) => [Buffer.from(h), Buffer.from('\r\n')]),
    Buffer.from('\r\n'), Buffer.from(p.content), Buffer.from('\r\n')]), Buffer.from('--X--\r\n')]);
}
const MULTIPART = { 'content-type': 'multipart/form-data; boundary=X' };
const NOT_UTF8 = Buffer.from([0xff, 0xfe, 0xed, 0xa0, 0x80]);
const LATVIAN = 'āčēģīķļņšūž ĀČĒĢĪĶĻŅŠŪŽ';
const upload = multipartClient(() => stack.appUrl);

/** The registration form's fields, valid unless overridden. */
const registrationFields = (over: Record<string, string> = {}) => ({
  institutionName: `Latgales skola ${LATVIAN}`, companyRegistrationNumber: SAMPLE_COMPANIES.second,
  educationRegistrationNumber: SAMPLE_INSTITUTIONS.second, firstName: 'Jānis', lastName: 'Ozols', email: 'janis.ozols@latgale.example',
  password: 'Mācības#2026x', passwordRepeat: 'Mācības#2026x', language: 'lv', ...over,
});

test.serial('bytes that are not UTF-8 in a multipart file name or text field are a 400 naming the field (invalid_utf8), and nothing is stored', async (t) => {
  const auth = { ...MULTIPART, authorization: `Bearer ${providerToken}` };
  const file = rawMultipart([{ headers: [Buffer.concat([Buffer.from('Content-Disposition: form-data; name="file"; filename="bad'), NOT_UTF8, Buffer.from('.pdf"')]), 'Content-Type: application/pdf'], content: SAMPLE_PDF }]);
  assertTextRule(t, await send('POST', `/api/provider/offers/${offerId}/documents/curriculum`, file, auth), 'file', 'invalid_utf8');
  // The same bytes percent-encoded in an RFC 5987 file name that says it is UTF-8.
  const star = rawMultipart([{ headers: ['Content-Disposition: form-data; name="file"; filename*=UTF-8\'\'bad%FF%FE%ED%A0%80.pdf', 'Content-Type: application/pdf'], content: SAMPLE_PDF }]);
  assertTextRule(t, await send('POST', `/api/provider/offers/${offerId}/documents/curriculum`, star, auth), 'file', 'invalid_utf8');
  t.is(await stack.db('documents').where({ offerId }).first(), undefined, 'no document stored');

  const fields = Object.entries(registrationFields()).map(([name, value]) => ({
    headers: [`Content-Disposition: form-data; name="${name}"`], content: name === 'institutionName' ? Buffer.concat([Buffer.from('Skola '), NOT_UTF8]) : value,
  }));
  const declaration = { headers: ['Content-Disposition: form-data; name="declaration"; filename="apliecinajums.edoc"', 'Content-Type: application/vnd.etsi.asic-e+zip'], content: SAMPLE_EDOC };
  assertTextRule(t, await send('POST', '/api/providers/registrations', rawMultipart([...fields, declaration]), MULTIPART), 'institutionName', 'invalid_utf8');
  const browser = await formTokenOf(stack.appUrl);
  const token = { headers: ['Content-Disposition: form-data; name="_csrf"'], content: browser.token };
  const page = await send('POST', '/providers/register?lang=en', rawMultipart([token, ...fields, declaration]), { ...MULTIPART, accept: 'text/html', cookie: browser.cookie });
  t.is(page.status, 400);
  t.true(page.text.includes('Is not valid UTF-8 text'), page.text);
  t.is(await stack.db('providers').where({ registrationNumber: SAMPLE_COMPANIES.second }).first(), undefined, 'no provider stored');
});

test.serial('a multipart field in a charset busboy cannot decode is a 415 naming the field, and the server keeps serving', async (t) => {
  const body = rawMultipart([{ headers: ['Content-Disposition: form-data; name="institutionName"', 'Content-Type: text/plain; charset=koi8-r'], content: 'abc' }]);
  const error = assertError(t, await send('POST', '/api/providers/registrations', body, MULTIPART), 415, 'unsupported_media_type');
  t.like(problemOf(error, 'institutionName'), { rule: 'unsupported_charset' });
  await stillServing(t);
});

test.serial('Latvian text in multipart fields and file names (plain and RFC 5987) is kept as sent', async (t) => {
  const name = `Mācību programma ${LATVIAN}.pdf`;
  const plain = await upload(`/api/provider/offers/${offerId}/documents/curriculum`, {}, [{ field: 'file', filename: name, content: SAMPLE_PDF }], { token: providerToken });
  t.is(plain.status, 201, plain.text);
  t.like(await stack.db('documents').where({ offerId, kind: 'curriculum' }).first(), { filename: name });
  const starName = `Līgums ${LATVIAN}.pdf`;
  const star = rawMultipart([{ headers: [`Content-Disposition: form-data; name="file"; filename*=UTF-8''${encodeURIComponent(starName)}`, 'Content-Type: application/pdf'], content: SAMPLE_PDF }]);
  const starred = await send('POST', `/api/provider/offers/${offerId}/documents/curriculum`, star, { ...MULTIPART, authorization: `Bearer ${providerToken}` });
  t.is(starred.status, 201, starred.text);
  t.like(await stack.db('documents').where({ offerId, kind: 'curriculum' }).first(), { filename: starName });

  const registered = await upload('/api/providers/registrations', registrationFields(), [{ field: 'declaration', filename: `apliecinājums ${LATVIAN}.edoc`, content: SAMPLE_EDOC }]);
  t.is(registered.status, 201, registered.text);
  const { providerId } = registered.json as { providerId: string };
  t.like(await stack.db('providers').where({ id: providerId }).first(), { name: `Latgales skola ${LATVIAN}` });
  t.like(await stack.db('documents').where({ providerId }).first(), { filename: `apliecinājums ${LATVIAN}.edoc` });
});

/** Starts an upload whose body is announced as 9.5 MB, sends its first part and then goes quiet; returns the socket. */
async function stalledUpload(baseUrl: string, path: string): Promise<net.Socket> {
  const url = new URL(baseUrl);
  return new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname, () => {
      socket.write(`POST ${path} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: multipart/form-data; boundary=X\r\nContent-Length: 9961472\r\n\r\n`
        + `--X\r\nContent-Disposition: form-data; name="declaration"; filename="a.edoc"\r\nContent-Type: application/octet-stream\r\n\r\n${'x'.repeat(64 * 1024)}`);
      resolve(socket);
    });
    socket.on('error', reject);
  });
}

test.serial('beyond the cap on uploads read at once, an upload is answered 503 at once (Retry-After, Latvian and English), and served again once one ends', async (t) => {
  const { url } = await stack.serveApi({ maxUploadsInProgress: 2 });
  const stalled = [await stalledUpload(url, '/api/providers/registrations'), await stalledUpload(url, '/providers/register')];
  await new Promise((resolve) => setTimeout(resolve, 300));
  const at = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${url}${path}`, { method: 'POST', headers: { ...MULTIPART, accept: 'application/json', ...headers }, body: new Uint8Array(rawMultipart([{ headers: ['Content-Disposition: form-data; name="firstName"'], content: 'Anna' }])) });
    const text = await res.text();
    let json: unknown;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: res.status, headers: res.headers, text, json };
  };
  const started = Date.now();
  const refused = await at('/api/providers/registrations');
  const error = assertError(t, refused, 503, 'too_many_uploads');
  t.truthy(refused.headers.get('retry-after'));
  t.is(refused.headers.get('connection'), 'close');
  t.like(problemOf(error, '(body)'), { rule: 'too_many_uploads' });
  t.truthy(problemOf(error, '(body)')?.words?.lv);
  const lv = await at('/providers/register', { accept: 'text/html' });
  t.is(lv.status, 503);
  t.true(lv.text.includes('Pašlaik tiek saņemts pārāk daudz augšupielāžu'), lv.text);
  const en = await at('/providers/register?lang=en', { accept: 'text/html' });
  t.true(en.text.includes('Too many uploads are being received right now'), en.text);
  t.true(Date.now() - started < 3_000, 'answered at once');
  // A JSON request is no upload and is served meanwhile.
  t.is((await fetch(`${url}/api/health`)).status, 200);

  for (const socket of stalled) socket.destroy();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const served = await at('/api/providers/registrations');
  t.is(served.status, 400, served.text);
  t.not((served.json as ErrorBody).error.code, 'too_many_uploads');
});

test.serial('media types are case-insensitive; a multipart type an upload route does not take is told which it takes; a 413 names the body', async (t) => {
  const login = await send('POST', '/api/auth/login', JSON.stringify({ username: 'staff', password: 'Agentura#2026' }), { 'content-type': 'APPLICATION/JSON; Charset=UTF-8' });
  t.is(login.status, 200, login.text);
  const upper = await send('POST', `/api/provider/offers/${offerId}/documents/curriculum`,
    rawMultipart([{ headers: ['Content-Disposition: form-data; name="file"; filename="a.pdf"', 'Content-Type: application/pdf'], content: SAMPLE_PDF }]),
    { 'content-type': 'Multipart/Form-Data; boundary=X', authorization: `Bearer ${providerToken}` });
  t.is(upper.status, 201, upper.text);

  const mixed = assertError(t, await send('POST', '/api/providers/registrations', rawMultipart([{ headers: ['Content-Disposition: form-data; name="firstName"'], content: 'Anna' }]),
    { 'content-type': 'multipart/mixed; boundary=X' }), 415, 'unsupported_media_type');
  t.regex(mixed.message, /multipart\/form-data/);
  t.notRegex(mixed.message, /as application\/json/);

  const big = assertError(t, await send('POST', '/api/auth/login', JSON.stringify({ username: 'x'.repeat(100_000), password: 'x' }), { 'content-type': 'application/json' }), 413, 'body_too_large');
  t.like(problemOf(big, '(body)'), { rule: 'too_large' });
  const fields = assertError(t, await send('POST', '/api/providers/registrations', rawMultipart([{ headers: ['Content-Disposition: form-data; name="institutionName"'], content: 'x'.repeat(70_000) }]), MULTIPART), 413, 'body_too_large');
  t.like(problemOf(fields, '(body)'), { rule: 'too_large' });
});
