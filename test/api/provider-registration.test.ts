import { createHash } from 'node:crypto';
import test from 'ava';
import { SAMPLE_COMPANIES, SAMPLE_INSTITUTIONS } from '../../dev/seed-institutions';
import { MAX_UPLOAD_BYTES } from '../../domain/uploads';
import { providerRegistrationStateQuery } from '../../workflows/provider-registration';
import { assertError, fieldsOf, httpClient } from '../helpers/http';
import { multipartClient, SAMPLE_EDOC, SAMPLE_PDF, zipFirstEntry } from '../helpers/multipart';
import { startTestStack, type TestStack } from '../helpers/stack';

// Provider registration over HTTP: the multipart form with the e-signed declaration, password rules, refused
// uploads storing nothing, duplicates, the e-mailed confirmation link, and login refused until approved.

let stack: TestStack;
const call = httpClient(() => stack.appUrl);
const upload = multipartClient(() => stack.appUrl);

test.before(async () => { stack = await startTestStack(); });
test.after.always(async () => { await stack?.stop(); });

const PASSWORD = 'Mācības#2026x';
const fields = (over: Record<string, string> = {}) => ({
  institutionName: 'Kurzemes digitālo prasmju skola (paraugs)', companyRegistrationNumber: SAMPLE_COMPANIES.second,
  educationRegistrationNumber: SAMPLE_INSTITUTIONS.second, firstName: 'Jānis', lastName: 'Ozols', email: 'Janis.Ozols@kurzeme.example',
  password: PASSWORD, passwordRepeat: PASSWORD, language: 'lv', ...over,
});
const declaration = (content: Buffer = SAMPLE_EDOC, filename = 'apliecinajums.edoc') => [{ field: 'declaration', filename, content }];

async function counts() {
  const [p, u, d] = await Promise.all(['providers', 'users', 'documents'].map((t) => stack.db(t).count<{ count: string }[]>('* as count')));
  return { providers: Number(p![0]!.count), users: Number(u![0]!.count), documents: Number(d![0]!.count) };
}

let registered: { providerId: string };

test.serial('a registration stores provider, administrator and declaration (with its checksum) and starts the workflow', async (t) => {
  const answer = await upload('/api/providers/registrations', fields(), declaration());
  t.is(answer.status, 201, answer.text);
  registered = answer.json as { providerId: string };
  t.like(answer.json, { status: 'awaiting_email' });

  const provider = await stack.db('providers').where({ id: registered.providerId }).first();
  t.like(provider, {
    name: 'Kurzemes digitālo prasmju skola (paraugs)', registrationNumber: SAMPLE_COMPANIES.second,
    educationRegistrationNumber: SAMPLE_INSTITUTIONS.second, email: 'janis.ozols@kurzeme.example', status: 'awaiting_email',
    workflowId: `provider-registration:${registered.providerId}`,
  });
  const user = await stack.db('users').where({ providerId: registered.providerId }).first();
  t.like(user, { username: 'janis.ozols@kurzeme.example', displayName: 'Jānis Ozols', role: 'provider', providerRole: 'admin', status: 'awaiting_email', active: false });
  t.not(user.passwordHash, PASSWORD);
  const document = await stack.db('documents').where({ providerId: registered.providerId }).first();
  t.like(document, { kind: 'declaration', offerId: null, filename: 'apliecinajums.edoc', contentType: 'application/vnd.etsi.asic-e+zip', sizeBytes: SAMPLE_EDOC.length });
  t.is(document.sha256, createHash('sha256').update(SAMPLE_EDOC).digest('hex'));
  t.deepEqual(Buffer.from(document.content), SAMPLE_EDOC);

  const described = await stack.temporal.workflow.getHandle(provider.workflowId).describe();
  t.is(described.type, 'providerRegistration');
  t.is(described.taskQueue, stack.taskQueue);
});

test.serial('a password breaking the rules is a 400 naming each rule, and nothing is stored', async (t) => {
  const before = await counts();
  const answer = await upload('/api/providers/registrations', fields({ companyRegistrationNumber: SAMPLE_COMPANIES.young, educationRegistrationNumber: SAMPLE_INSTITUTIONS.young, email: 'a@young.example', password: 'short', passwordRepeat: 'other' }), declaration());
  const error = assertError(t, answer, 400, 'invalid_request');
  const rules = error.details.filter((d) => d.field === 'password').map((d) => d.rule);
  t.deepEqual(rules.sort(), ['no_digit', 'no_special', 'no_upper', 'too_short']);
  t.true(fieldsOf(error).includes('passwordRepeat'));
  t.deepEqual(await counts(), before);
});

test.serial('bad fields are named: numbers of the wrong length, an e-mail that is not one, a missing declaration', async (t) => {
  const answer = await upload('/api/providers/registrations', fields({ companyRegistrationNumber: '123', educationRegistrationNumber: '12345678901', email: 'nope' }), []);
  const error = assertError(t, answer, 400, 'invalid_request');
  t.deepEqual(fieldsOf(error).sort(), ['companyRegistrationNumber', 'declaration', 'educationRegistrationNumber', 'email']);
});

test.serial('a declaration of the wrong type, empty, or over 10 MB is refused and nothing is stored', async (t) => {
  const before = await counts();
  const other = fields({ companyRegistrationNumber: SAMPLE_COMPANIES.young, educationRegistrationNumber: SAMPLE_INSTITUTIONS.young, email: 'b@young.example' });

  // A Word file renamed to .pdf and claiming to be a PDF: the content decides.
  const wrong = await upload('/api/providers/registrations', other, [{ field: 'declaration', filename: 'apliecinajums.pdf', content: Buffer.from('PK\x05\x06not really'), contentType: 'application/pdf' }]);
  const wrongError = assertError(t, wrong, 400, 'invalid_request');
  t.like(wrongError.details[0], { field: 'declaration', rule: 'wrong_type' });
  t.regex(wrongError.message, /PDF/);
  t.regex(wrongError.message, /\.edoc/);

  // A Word document is a ZIP too, but not a signature container: it is not a signed declaration.
  const docx = await upload('/api/providers/registrations', other, declaration(zipFirstEntry('[Content_Types].xml', '<?xml version="1.0"?>'), 'apliecinajums.edoc'));
  t.like(assertError(t, docx, 400, 'invalid_request').details[0], { field: 'declaration', rule: 'wrong_type' });

  const empty = await upload('/api/providers/registrations', other, declaration(Buffer.alloc(0), 'tukss.pdf'));
  t.like(assertError(t, empty, 400, 'invalid_request').details[0], { field: 'declaration', rule: 'empty' });

  const big = Buffer.concat([SAMPLE_PDF, Buffer.alloc(MAX_UPLOAD_BYTES + 1 - SAMPLE_PDF.length, 0x20)]);
  const tooLarge = await upload('/api/providers/registrations', other, declaration(big, 'liels.pdf'));
  const largeError = assertError(t, tooLarge, 413, 'file_too_large');
  t.like(largeError.details[0], { field: 'declaration', limitBytes: MAX_UPLOAD_BYTES });
  t.regex(largeError.message, /declaration.*10 MB/);

  const twoFiles = await upload('/api/providers/registrations', other, [...declaration(), ...declaration(SAMPLE_PDF, 'otrs.pdf')]);
  assertError(t, twoFiles, 400, 'too_many_files');

  t.deepEqual(await counts(), before);
});

test.serial('a company, institution or e-mail already registered is a 409 naming the field', async (t) => {
  const before = await counts();
  const demo = await upload('/api/providers/registrations', fields({
    companyRegistrationNumber: SAMPLE_COMPANIES.demo, educationRegistrationNumber: SAMPLE_INSTITUTIONS.young, email: 'c@young.example',
  }), declaration());
  t.deepEqual(fieldsOf(assertError(t, demo, 409, 'already_registered')), ['companyRegistrationNumber']);
  const sameEmail = await upload('/api/providers/registrations', fields({
    companyRegistrationNumber: SAMPLE_COMPANIES.young, educationRegistrationNumber: SAMPLE_INSTITUTIONS.young, email: 'JANIS.OZOLS@kurzeme.example',
  }), declaration());
  t.deepEqual(fieldsOf(assertError(t, sameEmail, 409, 'already_registered')), ['email']);
  t.deepEqual(await counts(), before);
});

test.serial('the page form shows each problem next to its field, in Latvian, and keeps what was typed', async (t) => {
  const form = await call('GET', '/providers/register', { html: true });
  t.is(form.status, 200);
  t.regex(form.text, /enctype="multipart\/form-data"/);
  t.regex(form.text, /<label for="declaration">/);

  const answer = await upload('/providers/register', fields({ password: 'parole', passwordRepeat: 'parole', companyRegistrationNumber: SAMPLE_COMPANIES.demo }),
    declaration(Buffer.from('hello'), 'x.txt'), { html: true });
  t.is(answer.status, 400);
  t.regex(answer.text, /id="password-error"[^>]*>[^<]*Vismaz 9 rakstzīmes/);
  t.regex(answer.text, /id="declaration-error"[^>]*>[^<]*nevar pieņemt/);
  t.regex(answer.text, /aria-describedby="password-hint password-error"/);
  t.regex(answer.text, /value="Kurzemes digitālo prasmju skola \(paraugs\)"/);
  t.notRegex(answer.text, /value="parole"/, 'the password is not sent back');
});

test.serial('login is refused with the reason until the registration is approved', async (t) => {
  const login = await call('POST', '/api/auth/login', { json: { username: 'Janis.Ozols@kurzeme.example', password: PASSWORD } });
  const error = assertError(t, login, 403, 'account_not_active');
  t.regex(error.message, /[Cc]onfirm your e-mail/);
  t.like(error.details[0], { status: 'awaiting_email' });
  const wrong = await call('POST', '/api/auth/login', { json: { username: 'janis.ozols@kurzeme.example', password: 'Wrong#Pass123' } });
  assertError(t, wrong, 401, 'bad_credentials');
  const page = await call('POST', '/staff/login', { form: { username: 'janis.ozols@kurzeme.example', password: PASSWORD }, html: true });
  t.is(page.status, 403);
  t.regex(page.text, /apstipriniet savu e-pasta adresi/);
});

test.serial('a forged confirmation link is 400, an expired one 410', async (t) => {
  const forged = await call('GET', '/providers/confirm?token=not-a-token', { html: true });
  t.is(forged.status, 400);
  t.regex(forged.text, /nav derīga/);
  const wrongPurpose = await stack.links.sign('confirm-provider-staff-email', registered.providerId, 1);
  t.is((await call('GET', `/providers/confirm?token=${wrongPurpose}`, { html: true })).status, 400);
  const expired = await stack.links.sign('confirm-provider-email', registered.providerId, -1);
  const answer = await call('GET', `/providers/confirm?token=${encodeURIComponent(expired)}`, { html: true });
  t.is(answer.status, 410);
  t.regex(answer.text, /reģistrējieties vēlreiz/);
  t.regex(answer.text, /href="\/providers\/register"/);
  assertError(t, await call('POST', '/api/providers/confirmations', { json: { token: expired } }), 410, 'link_expired');
  t.is((await stack.db('providers').where({ id: registered.providerId }).first()).status, 'awaiting_email', 'nothing changed');
});

test.serial('a valid link confirms the address: the workflow moves on to the agency and a second click says so again', async (t) => {
  const token = await stack.links.sign('confirm-provider-email', registered.providerId, 72);
  // Opening the link (as an e-mail scanner does) changes nothing: the page asks for the button.
  const opened = await call('GET', `/providers/confirm?token=${encodeURIComponent(token)}`, { html: true });
  t.is(opened.status, 200, opened.text);
  t.regex(opened.text, /<form method="post" action="\/providers\/confirm"/);
  t.regex(opened.text, /Apstiprināt manu e-pasta adresi/);
  const handle = stack.temporal.workflow.getHandle(`provider-registration:${registered.providerId}`);
  t.is((await handle.query(providerRegistrationStateQuery)).stage, 'awaiting_email', 'the GET did not confirm');
  t.is((await stack.db('providers').where({ id: registered.providerId }).first()).status, 'awaiting_email');
  // A POST without the page's form token is refused and confirms nothing either.
  const forged = await call('POST', '/providers/confirm', { form: { token }, html: true, formToken: false });
  t.is(forged.status, 403);
  t.is((await handle.query(providerRegistrationStateQuery)).stage, 'awaiting_email', 'the forged POST did not confirm');

  const answer = await call('POST', '/providers/confirm', { form: { token }, html: true });
  t.is(answer.status, 302, answer.text);
  t.is(answer.headers.get('location'), '/providers/confirm?done=confirmed', 'post/redirect/get');
  t.regex((await call('GET', answer.headers.get('location')!, { html: true })).text, /vienas darba dienas laikā/);

  const state = await handle.query(providerRegistrationStateQuery);
  t.not(state.stage, 'awaiting_email');
  const deadline = Date.now() + 10_000;
  let status = '';
  while (Date.now() < deadline) {
    status = (await stack.db('providers').where({ id: registered.providerId }).first()).status;
    if (status !== 'awaiting_email') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  t.is(status, 'awaiting_approval');

  const again = await call('GET', `/providers/confirm?token=${encodeURIComponent(token)}`, { html: true });
  t.is(again.status, 200);
  t.regex(again.text, /jau ir apstiprināta/);
  t.notRegex(again.text, /action="\/providers\/confirm"/, 'no button once confirmed');
  const second = await call('POST', '/providers/confirm', { form: { token }, html: true });
  t.is(second.headers.get('location'), '/providers/confirm?done=already_confirmed', 'a second click says so again');
  t.regex((await call('GET', second.headers.get('location')!, { html: true })).text, /jau ir apstiprināta/);
  const login = await call('POST', '/api/auth/login', { json: { username: 'janis.ozols@kurzeme.example', password: PASSWORD } });
  t.regex(assertError(t, login, 403, 'account_not_active').message, /waiting for approval/);
});

test.serial('staff of an unknown or unapproved provider cannot register; the password rules apply', async (t) => {
  const pending = await call('POST', '/api/providers/staff-registrations', { json: {
    firstName: 'Anna', lastName: 'Liepa', companyRegistrationNumber: SAMPLE_COMPANIES.second, email: 'anna@kurzeme.example', password: PASSWORD,
  } });
  t.deepEqual(fieldsOf(assertError(t, pending, 400, 'invalid_request')), ['companyRegistrationNumber']);
  const weak = await call('POST', '/api/providers/staff-registrations', { json: {
    firstName: 'Anna', lastName: 'Liepa', companyRegistrationNumber: SAMPLE_COMPANIES.demo, email: 'anna@kurzeme.example', password: 'password',
  } });
  t.true(fieldsOf(assertError(t, weak, 400, 'invalid_request')).every((f) => f === 'password'));
});
