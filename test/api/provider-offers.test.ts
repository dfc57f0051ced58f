import { randomUUID } from 'node:crypto';
import test from 'ava';
import { SAMPLE_COMPANIES, SAMPLE_INSTITUTIONS } from '../../dev/seed-institutions';
import { OFFER_DOCUMENT_KINDS } from '../../dev/seed-calls';
import { hashPassword } from '../../lib/passwords';
import { createCallClosingIn } from '../helpers/calls';
import { assertError, fieldsOf, httpClient } from '../helpers/http';
import { multipartClient, SAMPLE_PDF } from '../helpers/multipart';
import { startTestStack, type TestStack } from '../helpers/stack';

// The provider's offers workspace over HTTP: drafts in an open call, editing, documents, submission with the
// automated checks, the freeze after submission, withdrawal; other providers see nothing; admin-only actions;
// staff approval by the provider's administrator.

let stack: TestStack;
const call = httpClient(() => stack.appUrl);
const upload = multipartClient(() => stack.appUrl);

interface ProviderUser { userId: string; name: string; providerId: string; providerRole: 'admin' | 'staff' }
let demoAdmin: ProviderUser;
let demoStaff: ProviderUser;
let otherAdmin: ProviderUser;
let callId: string;

async function addUser(providerId: string, name: string, providerRole: 'admin' | 'staff'): Promise<ProviderUser> {
  const [user] = await stack.db('users').insert({
    username: `u-${randomUUID().slice(0, 8)}`, passwordHash: 'not-a-login', displayName: name, role: 'provider', providerId, providerRole,
  }).returning<{ id: string }[]>('id');
  return { userId: user!.id, name, providerId, providerRole };
}
const tokenOf = (u: ProviderUser) => stack.signIn({ role: 'provider', subject: u.userId, name: u.name, providerId: u.providerId, providerRole: u.providerRole });

test.before(async () => {
  stack = await startTestStack();
  const demo = await stack.db('users').where({ username: 'provider' }).first<{ id: string; displayName: string; providerId: string }>();
  demoAdmin = { userId: demo.id, name: demo.displayName, providerId: demo.providerId, providerRole: 'admin' };
  demoStaff = await addUser(demo.providerId, 'Kārlis Bērziņš', 'staff');
  const [second] = await stack.db('providers').insert({
    name: 'Kurzemes digitālo prasmju skola (paraugs)', registrationNumber: SAMPLE_COMPANIES.second,
    educationRegistrationNumber: SAMPLE_INSTITUTIONS.second, status: 'approved',
  }).returning<{ id: string }[]>('id');
  otherAdmin = await addUser(second!.id, 'Olga Citrona', 'admin');
  ({ callId } = await createCallClosingIn(stack.db, 30 * 60_000));
});
test.after.always(async () => { await stack?.stop(); });

const as = async (u: ProviderUser, method: string, path: string, json?: unknown) => call(method, path, { token: await tokenOf(u), ...(json === undefined ? {} : { json }) });

const VALID = {
  competence: 'Kiberdrošības tehniķis', descriptionLv: 'Tīklu un sistēmu aizsardzības pamati.', descriptionEn: 'Basics of protecting networks and systems.',
  prerequisitesLv: 'Datorprasmes; Windows vai Linux.', prerequisitesEn: 'Computer skills; Windows or Linux.', language: 'lv',
  digcompLevel: 5, digitalSharePercent: 80, hoursTheory: 80, hoursPractice: 80, licenceNumber: 'P-00001 (paraugs)',
  coefficientCode: 'ICT-DB-NET', statedCostCents: 32_000, places: [{ address: 'Rīga, Brīvības iela 1 (paraugs)' }],
};

let offerId: string;

test.serial('a draft is created in an open call, with the call\'s window and its own workflow', async (t) => {
  const answer = await as(demoAdmin, 'POST', '/api/provider/offers', { callId, titleLv: 'Kiberdrošības tehniķa pamati (paraugs)', titleEn: 'Cybersecurity technician basics (sample)' });
  t.is(answer.status, 201, answer.text);
  const offer = answer.json as { id: string; state: string; editable: boolean; documents: { kind: string; document: unknown }[] };
  offerId = offer.id;
  t.like(offer, { state: 'draft', editable: true });
  t.deepEqual(offer.documents.map((d) => d.kind), [...OFFER_DOCUMENT_KINDS]);
  const row = await stack.db('offers').where({ id: offerId }).first();
  const theCall = await stack.db('calls').where({ id: callId }).first();
  t.like(row, { providerId: demoAdmin.providerId, callId, programme: 'IMK', costCents: 0, published: false, workflowId: `provider-offer:${offerId}` });
  t.deepEqual(row.applicationsOpenAt, theCall.applicationsOpenAt);
  t.deepEqual(row.groupFormationDeadline, theCall.groupFormationAt);
  t.is((await stack.temporal.workflow.getHandle(row.workflowId).describe()).type, 'providerOffer');

  const list = await as(demoAdmin, 'GET', '/api/provider/offers');
  const body = list.json as { offers: { id: string; state: string; callId: string }[]; openCalls: { id: string }[] };
  t.like(body.offers.find((o) => o.id === offerId), { state: 'draft', callId });
  t.true(body.openCalls.some((c) => c.id === callId));
});

test.serial('the same new-draft request sent twice at once (a double click) creates one draft and one workflow', async (t) => {
  const request = { callId, titleLv: 'Dubultklikšķis (paraugs)', titleEn: 'Double click (sample)', requestId: randomUUID() };
  const answers = await Promise.all([0, 1].map(() => as(demoAdmin, 'POST', '/api/provider/offers', request)));
  for (const answer of answers) t.true(answer.status === 201, answer.text);
  const ids = answers.map((a) => (a.json as { id: string }).id);
  t.is(ids[0], ids[1]);
  t.is((await stack.db('offers').where({ titleLv: 'Dubultklikšķis (paraugs)' })).length, 1);
  await stack.temporal.workflow.getHandle(`provider-offer:${ids[0]}`).terminate('test cleanup');
});

test.serial('the draft is edited; the computed cost is shown next to the provider\'s figure', async (t) => {
  const answer = await as(demoStaff, 'POST', `/api/provider/offers/${offerId}`, { ...VALID, statedCostCents: 31_000 });
  t.is(answer.status, 200, answer.text);
  t.like(answer.json, { computedCostCents: 32_000, fields: { statedCostCents: 31_000, hoursTheory: 80, places: VALID.places } });
  const bad = await as(demoStaff, 'POST', `/api/provider/offers/${offerId}`, { digcompLevel: 9, hoursTheory: -1, coefficientCode: 'ICT-DB-NET', places: [{ address: '' }] });
  t.deepEqual(fieldsOf(assertError(t, bad, 400, 'invalid_request')).sort(), ['digcompLevel', 'hoursTheory', 'places.0.address']);
  const unknown = await as(demoStaff, 'POST', `/api/provider/offers/${offerId}`, { coefficientCode: 'NOPE' });
  t.deepEqual(fieldsOf(assertError(t, unknown, 400, 'invalid_request')), ['coefficientCode']);
});

test.serial('documents are uploaded per kind the call asks for, replacing the previous one; bad files store nothing', async (t) => {
  const token = await tokenOf(demoStaff);
  for (const kind of OFFER_DOCUMENT_KINDS) {
    const answer = await upload(`/api/provider/offers/${offerId}/documents/${kind}`, {}, [{ field: 'file', filename: `${kind}.pdf`, content: SAMPLE_PDF }], { token });
    t.is(answer.status, 201, answer.text);
    t.like(answer.json, { kind, contentType: 'application/pdf', sizeBytes: SAMPLE_PDF.length });
  }
  const again = await upload(`/api/provider/offers/${offerId}/documents/curriculum`, {}, [{ field: 'file', filename: 'programma-v2.pdf', content: SAMPLE_PDF }], { token });
  t.is(again.status, 201);
  const rows = await stack.db('documents').where({ offerId });
  t.is(rows.length, OFFER_DOCUMENT_KINDS.length);
  t.is(rows.find((r: { kind: string }) => r.kind === 'curriculum').filename, 'programma-v2.pdf');

  const wrong = await upload(`/api/provider/offers/${offerId}/documents/curriculum`, {}, [{ field: 'file', filename: 'x.pdf', content: Buffer.from('<html>') }], { token });
  t.like(assertError(t, wrong, 400, 'invalid_request').details[0], { field: 'file', rule: 'wrong_type' });
  assertError(t, await upload(`/api/provider/offers/${offerId}/documents/passport`, {}, [{ field: 'file', filename: 'x.pdf', content: SAMPLE_PDF }], { token }), 404, 'document_kind_not_found');
  t.is((await stack.db('documents').where({ offerId, kind: 'curriculum' }).first()).filename, 'programma-v2.pdf');
});

test.serial('another provider\'s offer is a 404 for reading, editing, uploading, submitting', async (t) => {
  assertError(t, await as(otherAdmin, 'GET', `/api/provider/offers/${offerId}`), 404, 'offer_not_found');
  assertError(t, await as(otherAdmin, 'POST', `/api/provider/offers/${offerId}`, { titleLv: 'Mans' }), 404, 'offer_not_found');
  assertError(t, await as(otherAdmin, 'POST', `/api/provider/offers/${offerId}/submit`, {}), 404, 'offer_not_found');
  assertError(t, await as(otherAdmin, 'POST', `/api/provider/offers/${offerId}/withdraw`, {}), 404, 'offer_not_found');
  const token = await tokenOf(otherAdmin);
  assertError(t, await upload(`/api/provider/offers/${offerId}/documents/curriculum`, {}, [{ field: 'file', filename: 'x.pdf', content: SAMPLE_PDF }], { token }), 404, 'offer_not_found');
  t.false((await as(otherAdmin, 'GET', '/api/provider/offers')).text.includes(offerId));
  const page = await call('GET', `/provider/offers/${offerId}`, { token, html: true });
  t.is(page.status, 404);
  t.is((await stack.db('offers').where({ id: offerId }).first()).titleLv, 'Kiberdrošības tehniķa pamati (paraugs)');
});

test.serial('a staff member may not submit: only the administrator', async (t) => {
  assertError(t, await as(demoStaff, 'POST', `/api/provider/offers/${offerId}/submit`, {}), 403, 'admin_only');
});

test.serial('a submission with problems is 422 naming the fields, and the page shows each next to its field with both cost figures', async (t) => {
  const answer = await as(demoAdmin, 'POST', `/api/provider/offers/${offerId}/submit`, {});
  const error = assertError(t, answer, 422, 'offer_checks_failed');
  t.true(fieldsOf(error).includes('statedCostCents'), answer.text);
  t.is((await stack.db('offers').where({ id: offerId }).first()).state, 'draft');

  const page = await call('POST', `/provider/offers/${offerId}/submit`, { token: await tokenOf(demoAdmin), form: { requestId: randomUUID() }, html: true });
  t.is(page.status, 422);
  t.regex(page.text, /id="statedCost-error"/);
  t.regex(page.text, /href="#statedCost"/);
  t.regex(page.text, /320,00/);
  t.regex(page.text, /310,00/);
});

test.serial('a valid offer is submitted and frozen; withdrawing makes it editable again', async (t) => {
  t.is((await as(demoAdmin, 'POST', `/api/provider/offers/${offerId}`, { statedCostCents: 32_000 })).status, 200);
  const submitted = await as(demoAdmin, 'POST', `/api/provider/offers/${offerId}/submit`, { requestId: randomUUID() });
  t.is(submitted.status, 200, submitted.text);
  t.like(submitted.json, { state: 'submitted' });

  const edit = await as(demoAdmin, 'POST', `/api/provider/offers/${offerId}`, { titleLv: 'Cits' });
  t.regex(assertError(t, edit, 409, 'offer_frozen').message, /withdraw it first/);
  const token = await tokenOf(demoAdmin);
  assertError(t, await upload(`/api/provider/offers/${offerId}/documents/curriculum`, {}, [{ field: 'file', filename: 'x.pdf', content: SAMPLE_PDF }], { token }), 409, 'offer_frozen');
  t.is((await stack.db('offers').where({ id: offerId }).first()).titleLv, 'Kiberdrošības tehniķa pamati (paraugs)');

  assertError(t, await as(demoStaff, 'POST', `/api/provider/offers/${offerId}/withdraw`, {}), 403, 'admin_only');
  const withdrawn = await as(demoAdmin, 'POST', `/api/provider/offers/${offerId}/withdraw`, {});
  t.is(withdrawn.status, 200, withdrawn.text);
  t.like(withdrawn.json, { state: 'withdrawn' });
  const again = await as(demoAdmin, 'POST', `/api/provider/offers/${offerId}/withdraw`, {});
  t.is(again.status, 409, again.text);
  t.is((await as(demoAdmin, 'POST', `/api/provider/offers/${offerId}`, { titleLv: 'Kiberdrošības pamati (paraugs)' })).status, 200);
});

test.serial('groups are refused before approval', async (t) => {
  const answer = await as(demoAdmin, 'POST', `/api/provider/offers/${offerId}/groups`, { place: VALID.places[0]!.address, startsOn: '2027-01-11', endsOn: '2027-02-11', schedule: 'Pirmdienās 18:00', capacity: 12 });
  assertError(t, answer, 409, 'offer_not_approved');
});

test.serial('pages: the list, the edit form with labelled fields, and the home page links', async (t) => {
  const token = await tokenOf(demoAdmin);
  const list = await call('GET', '/provider/offers', { token, html: true });
  t.is(list.status, 200);
  t.regex(list.text, new RegExp(`/provider/offers/${offerId}`));
  const edit = await call('GET', `/provider/offers/${offerId}`, { token, html: true });
  t.is(edit.status, 200);
  t.regex(edit.text, /<label for="hoursTheory">/);
  t.regex(edit.text, /enctype="multipart\/form-data"/);
  const home = await call('GET', '/provider', { token, html: true });
  t.regex(home.text, /href="\/provider\/offers"/);
  t.regex(home.text, /href="\/provider\/surveys"/);
  const surveys = await call('GET', '/provider/surveys', { token, html: true });
  t.is(surveys.status, 200);
  const api = await as(demoAdmin, 'GET', '/api/provider/surveys');
  t.is(api.status, 200, api.text);
  t.like(api.json, { institution: { completionAnswers: 0, dropoutAnswers: 0 } });
});

test.serial('staff approval: staff register, only the administrator of their provider approves, then they can log in', async (t) => {
  const password = 'Darbinieks#2026';
  const registered = await call('POST', '/api/providers/staff-registrations', { json: {
    firstName: 'Anna', lastName: 'Liepa', companyRegistrationNumber: SAMPLE_COMPANIES.demo, email: 'Anna.Liepa@prasmes.example', password,
  } });
  t.is(registered.status, 201, registered.text);
  const { userId } = registered.json as { userId: string };
  t.like(await stack.db('users').where({ id: userId }).first(), { providerId: demoAdmin.providerId, providerRole: 'staff', status: 'awaiting_approval', active: false });
  assertError(t, await call('POST', '/api/auth/login', { json: { username: 'anna.liepa@prasmes.example', password } }), 403, 'account_not_active');

  const staffList = await as(demoStaff, 'GET', '/api/provider/staff');
  t.true((staffList.json as { staff: { id: string }[] }).staff.some((u) => u.id === userId));
  assertError(t, await as(demoStaff, 'POST', `/api/provider/staff/${userId}/decision`, { decision: 'approve' }), 403, 'admin_only');
  assertError(t, await as(otherAdmin, 'POST', `/api/provider/staff/${userId}/decision`, { decision: 'approve' }), 404, 'user_not_found');

  const approved = await as(demoAdmin, 'POST', `/api/provider/staff/${userId}/decision`, { decision: 'approve' });
  t.is(approved.status, 200, approved.text);
  t.like(approved.json, { status: 'active' });
  assertError(t, await as(demoAdmin, 'POST', `/api/provider/staff/${userId}/decision`, { decision: 'reject' }), 409, 'already_decided');
  const audit = await stack.db('auditLog').where({ action: 'provider_staff_approved' }).first();
  t.like(audit, { actorRole: 'provider', actorId: demoAdmin.userId });

  const login = await call('POST', '/api/auth/login', { json: { username: 'anna.liepa@prasmes.example', password } });
  t.is(login.status, 200, login.text);
  const session = await stack.sessionOf((login.json as { token: string }).token);
  t.like(session, { role: 'provider', providerId: demoAdmin.providerId, providerRole: 'staff' });
});

test.serial('the demo administrator logs in with providerRole admin in the session', async (t) => {
  const user = await stack.db('users').where({ username: 'provider' }).first();
  await stack.db('users').where({ id: user.id }).update({ passwordHash: await hashPassword('Provider#2026') });
  const login = await call('POST', '/api/auth/login', { json: { username: 'provider', password: 'Provider#2026' } });
  t.is(login.status, 200, login.text);
  t.like(await stack.sessionOf((login.json as { token: string }).token), { providerRole: 'admin' });
});
