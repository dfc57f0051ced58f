import { randomUUID } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { insertDocument, insertOffer, insertProvider, insertProviderEvent, insertProviderTask } from '../helpers/catalogue';
import { assertError, httpClient, type Answer } from '../helpers/http';
import { startTestStack, type TestStack } from '../helpers/stack';

// The staff inbox with tasks about a provider (registration approval) and an offer (evaluation), which have no
// learner case. The rows are written as the workflows' activities write them; deciding such a task end to end is
// the workflows' tests' business. Here: listing, the task page, the declaration download, who may see them, and
// the checks a decision passes before any Update is sent.

let stack: TestStack;
const call = httpClient(() => stack.appUrl);

test.after.always(async () => { await stack?.stop(); });

interface TaskView {
  id: string; caseId: string | null; serviceCaseId: string | null; providerId: string | null; offerId: string | null; type: string;
  learnerName: string | null; providerName: string | null; offerTitle: { lv: string; en: string } | null; subject: string; overdue: boolean;
}

const decode = (html: string) => html.replace(/&#x3D;/g, '=').replace(/&amp;/g, '&').replace(/&#x27;/g, "'").replace(/&quot;/g, '"');

// As activities/providers.ts checkProviderRegistries returns them.
const registryFacts = (name: string) => ({
  company: { registrationNumber: '40003000001', found: true, name, status: 'active' },
  institution: {
    registrationNumber: '3012345678', found: true, name: `${name} mācību centrs`, accredited: false, registeredSince: '2019-05-01',
    registeredAtLeastThreeYears: true, placesCount: 2, licencesCount: 3,
  },
});

// As activities/offers.ts closeSubmission returns them.
const evaluationFacts = {
  automatedChecks: { passed: true, problems: [], submittedAt: '2026-10-01T10:00:00.000Z' },
  costCents: 32_000, statedCostCents: 30_000, coefficientCode: 'ICT-DB-NET',
  checklist: ['provider_requirements', 'programme_requirements', 'documents_complete', 'cost_correct'],
};

async function setUp() {
  const word = randomUUID().slice(0, 8);
  const providerName = `Zinību Avots ${word} SIA`;
  const providerId = await insertProvider(stack.db, { name: providerName, status: 'awaiting_approval' });
  const declaration = await insertDocument(stack.db, providerId, { filename: 'apliecinājums "parakstīts".pdf' });
  const providerTask = await insertProviderTask(stack.db, { type: 'approve-provider', providerId, facts: registryFacts(providerName) });
  await insertProviderEvent(stack.db, { providerId, kind: 'email_confirmed', state: 'checking_registries' });
  await insertProviderEvent(stack.db, { providerId, kind: 'registries_checked', state: 'awaiting_approval' });

  const offer = await insertOffer(stack.db, {
    providerId, state: 'in_evaluation', titleLv: `Tīmekļa izstrāde ${word}`, titleEn: `Web development ${word}`,
    competence: 'Programmēšanas tehniķis', hoursTheory: 60, hoursPractice: 100, digcompLevel: 5, digitalSharePercent: 85,
    costCents: 32_000, statedCostCents: 30_000, places: ['Rīga, Skolas iela 1'],
    descriptionLv: 'Mācāmies veidot tīmekļa lietotnes.', prerequisitesLv: 'HTML pamati.',
  });
  await stack.db('offers').where({ id: offer.offerId }).update({ coefficientCode: 'ICT-DB-NET', licenceNumber: 'P-12345' });
  await insertDocument(stack.db, providerId, { kind: 'curriculum', filename: 'programma.pdf', offerId: offer.offerId, content: Buffer.from('curriculum') });
  // Overdue: escalated by the workflow, and due yesterday.
  const offerTask = await insertProviderTask(stack.db, {
    type: 'evaluate-offer', providerId, offerId: offer.offerId, facts: evaluationFacts,
    dueAt: new Date(Date.now() - 86_400_000), escalatedAt: new Date(),
  });
  await insertProviderEvent(stack.db, { providerId, offerId: offer.offerId, kind: 'submitted', state: 'submitted' });
  await insertProviderEvent(stack.db, { providerId, offerId: offer.offerId, kind: 'in_evaluation', state: 'in_evaluation' });
  return { word, providerName, providerId, declaration, providerTask, offer, offerTask };
}

let fixture: Awaited<ReturnType<typeof setUp>>;
test.before(async () => {
  stack = await startTestStack();
  fixture = await setUp();
});

function assertFields(t: ExecutionContext, answer: Answer, fields: string[]) {
  const error = assertError(t, answer, 400, 'invalid_request');
  t.deepEqual(error.details.map((d) => d.field), fields, answer.text);
  for (const field of fields) t.true(error.message.includes(`${field}:`), error.message);
}

test('the inbox lists provider and offer tasks with their subject, type and overdue flag', async (t) => {
  const staff = await stack.staffToken();
  const answer = await call('GET', '/api/staff/tasks', { token: staff });
  t.is(answer.status, 200, answer.text);
  const tasks = (answer.json as { tasks: TaskView[] }).tasks;
  const provider = tasks.find((x) => x.id === fixture.providerTask)!;
  const offer = tasks.find((x) => x.id === fixture.offerTask)!;
  t.like(provider, {
    type: 'approve-provider', caseId: null, serviceCaseId: null, learnerName: null, providerId: fixture.providerId,
    providerName: fixture.providerName, offerTitle: null, subject: fixture.providerName, overdue: false,
  });
  t.like(offer, {
    type: 'evaluate-offer', caseId: null, providerId: fixture.providerId, offerId: fixture.offer.offerId, providerName: fixture.providerName,
    offerTitle: { lv: `Tīmekļa izstrāde ${fixture.word}`, en: `Web development ${fixture.word}` }, overdue: true,
  });
  t.true(tasks.indexOf(offer) < tasks.indexOf(provider), 'the overdue task comes first');

  const onlyOffers = (await call('GET', '/api/staff/tasks?type=evaluate-offer', { token: staff })).json as { tasks: TaskView[] };
  t.true(onlyOffers.tasks.length > 0 && onlyOffers.tasks.every((x) => x.type === 'evaluate-offer'));
  assertFields(t, await call('GET', '/api/staff/tasks?type=approve-everything', { token: staff }), ['type']);

  const page = await call('GET', '/staff/tasks', { token: staff, html: true });
  t.is(page.status, 200);
  const html = decode(page.text);
  t.true(html.includes('Apstiprināt izglītības iestādi'), 'the type in words');
  t.true(html.includes('Izvērtēt piedāvājumu'));
  t.true(html.includes(fixture.providerName));
  t.regex(html, new RegExp(`<tr class="overdue" data-task-type="evaluate-offer">\\s*<td><a href="/staff/tasks/${fixture.offerTask}">`), 'the overdue row stands out');
  t.regex(html, new RegExp(`<tr class="" data-task-type="approve-provider">\\s*<td><a href="/staff/tasks/${fixture.providerTask}">`));
  const english = decode((await call('GET', '/staff/tasks?lang=en', { token: staff, html: true })).text);
  t.true(english.includes('Approve education provider'));
  t.true(english.includes('Evaluate offer'));
});

test('a provider task shows the registries\' findings, the declaration with its checksum, and the registration\'s history', async (t) => {
  const staff = await stack.staffToken();
  const answer = await call('GET', `/api/staff/tasks/${fixture.providerTask}`, { token: staff });
  t.is(answer.status, 200, answer.text);
  const body = answer.json as {
    provider: { name: string; registrationNumber: string }; offer: null;
    documents: { id: string; kind: string; sha256: string; downloadPath: string; offerId: string | null }[]; events: { kind: string }[];
  };
  t.is(body.provider.name, fixture.providerName);
  t.is(body.offer, null);
  t.deepEqual(body.documents.map((d) => [d.kind, d.sha256, d.downloadPath]), [['declaration', fixture.declaration.sha256, `/staff/documents/${fixture.declaration.documentId}`]],
    'the provider\'s own documents only, not the offer\'s annexes');
  t.deepEqual(body.events.map((e) => e.kind), ['email_confirmed', 'registries_checked'], 'the registration\'s events, not the offer\'s');

  const page = await call('GET', `/staff/tasks/${fixture.providerTask}`, { token: staff, html: true });
  t.is(page.status, 200);
  const html = decode(page.text);
  t.true(html.includes(`<h1>Apstiprināt izglītības iestādi: ${fixture.providerName}</h1>`));
  for (const text of ['Uzņēmumu reģistrs: uzņēmums', 'VIIS: izglītības iestāde', 'Akreditēta', 'Reģistrā vismaz 3 gadus', '2019-05-01',
    `href="/staff/documents/${fixture.declaration.documentId}"`, fixture.declaration.sha256, 'Pārbaudīts Uzņēmumu reģistrā un VIIS',
    'E-pasta adrese apstiprināta']) {
    t.true(html.includes(text), `the page shows ${text}`);
  }
  t.regex(html, /<dt>Akreditēta<\/dt><dd class="warn">nē<\/dd>/, 'a failed finding stands out');
  t.false(html.includes('name="reasons"'), 'no reasons list: a provider refusal is explained in the comment');
});

test('an offer task shows the offer, computed cost against the provider\'s figure, the checks and the checklist', async (t) => {
  const staff = await stack.staffToken();
  const page = await call('GET', `/staff/tasks/${fixture.offerTask}`, { token: staff, html: true });
  t.is(page.status, 200);
  const html = decode(page.text);
  t.true(html.includes(`<h1>Izvērtēt piedāvājumu: Tīmekļa izstrāde ${fixture.word} — ${fixture.providerName}</h1>`));
  for (const text of ['Programmēšanas tehniķis', '160 st. (60 teorija, 100 prakse)', 'P-12345', '1.28 (Datorsistēmas, datubāzes un datortīkli)',
    'Rīga, Skolas iela 1', 'Mācāmies veidot tīmekļa lietotnes.', 'HTML pamati.', '320,00 EUR', '300,00 EUR',
    'Iestādes norādītā summa atšķiras no aprēķinātās.', 'Automātiskās pārbaudes', 'Visas pārbaudes izturētas',
    'programma.pdf', 'Piedāvājums iesniegts', 'Nodots izvērtēšanai', '<strong class="badge">Nokavēts</strong>']) {
    t.true(html.includes(text), `the page shows ${text}`);
  }
  for (const code of evaluationFacts.checklist) t.regex(html, new RegExp(`<input type="checkbox" name="checklist_${code}"`));
  t.true(html.includes('Izmaksas aprēķinātas pareizi'), 'checklist items in words');
  t.true(html.includes('<textarea id="reasons" name="reasons"'));
});

test('the declaration downloads as an attachment with its stored type, for staff only', async (t) => {
  const path = `/staff/documents/${fixture.declaration.documentId}`;
  for (const token of [await stack.staffToken(), await stack.adminToken()]) {
    const res = await fetch(`${stack.appUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
    t.is(res.status, 200);
    t.is(res.headers.get('content-type'), 'application/pdf');
    t.is(res.headers.get('content-disposition'),
      'attachment; filename="apliecin_jums _parakst_ts_.pdf"; filename*=UTF-8\'\'apliecin%C4%81jums%20%22parakst%C4%ABts%22.pdf');
    t.is(res.headers.get('x-content-sha256'), fixture.declaration.sha256);
    t.deepEqual(Buffer.from(await res.arrayBuffer()), fixture.declaration.content);
  }
  assertError(t, await call('GET', path), 401, 'not_logged_in');
  assertError(t, await call('GET', path, { token: await stack.tokenFor('learner', '010180-10007') }), 403, 'forbidden');
  assertError(t, await call('GET', path, { token: await stack.tokenFor('provider', randomUUID()) }), 403, 'forbidden');
  // A browser without a session is sent to the staff login.
  const browser = await call('GET', path, { html: true });
  t.is(browser.status, 302);
  t.regex(browser.headers.get('location') ?? '', /^\/staff\/login\?next=/);
  const staff = await stack.staffToken();
  assertError(t, await call('GET', `/staff/documents/${randomUUID()}`, { token: staff }), 404, 'document_not_found');
  assertError(t, await call('GET', '/staff/documents/not-an-id', { token: staff }), 404, 'document_not_found');
});

test('provider and offer tasks are for staff only', async (t) => {
  for (const path of ['/api/staff/tasks', `/api/staff/tasks/${fixture.providerTask}`]) {
    assertError(t, await call('GET', path), 401, 'not_logged_in');
    assertError(t, await call('GET', path, { token: await stack.tokenFor('learner', '010180-10007') }), 403, 'forbidden');
    assertError(t, await call('GET', path, { token: await stack.tokenFor('provider', randomUUID()) }), 403, 'forbidden');
  }
  assertError(t, await call('POST', `/api/staff/tasks/${fixture.offerTask}/decision`, {
    token: await stack.tokenFor('provider', randomUUID()), json: { decision: 'approve' },
  }), 403, 'forbidden');
  t.is((await call('GET', `/api/staff/tasks/${fixture.providerTask}`, { token: await stack.adminToken() })).status, 200);
});

test('rejecting an offer without reasons is a 400 naming reasons, before any Update is sent', async (t) => {
  const staff = await stack.staffToken();
  const decide = (body: Record<string, unknown>) => call('POST', `/api/staff/tasks/${fixture.offerTask}/decision`, { token: staff, json: body });
  // The task's workflow does not run: had an Update been sent, the answer would be 409 task_not_open.
  assertFields(t, await decide({ decision: 'reject' }), ['reasons']);
  assertFields(t, await decide({ decision: 'reject', comment: 'Neatbilst', reasons: [] }), ['reasons']);
  assertFields(t, await decide({ decision: 'reject', reasons: ['  '] }), ['reasons.0']);
  assertFields(t, await decide({ decision: 'approve', checklist: { no_such_item: true } }), ['checklist.no_such_item']);
  assertFields(t, await decide({ decision: 'approve', checklist: { cost_correct: 'yes' } }), ['checklist.cost_correct']);
  // With a reason the request is valid and goes to the workflow (which, in this test, is not running).
  assertError(t, await decide({ decision: 'reject', reasons: ['Izmaksas aprēķinātas nepareizi'], checklist: { cost_correct: false } }), 409, 'task_not_open');
  t.like(await stack.db('tasks').where({ id: fixture.offerTask }).first(), { state: 'open', decision: null });

  // A provider's registration is refused with a comment; reasons and a checklist belong to offers.
  const decideProvider = (body: Record<string, unknown>) => call('POST', `/api/staff/tasks/${fixture.providerTask}/decision`, { token: staff, json: body });
  assertFields(t, await decideProvider({ decision: 'reject' }), ['comment']);
  assertFields(t, await decideProvider({ decision: 'reject', comment: 'Nav akreditēta', reasons: ['x'] }), ['reasons']);

  // The page's form: reasons one per line; without any the page answers 400 with the message next to the field.
  const page = await call('POST', `/staff/tasks/${fixture.offerTask}/decision`, {
    token: staff, html: true, form: { decision: 'reject', reasons: '\n  \n', comment: '', checklist_cost_correct: 'on' },
  });
  t.is(page.status, 400);
  const html = decode(page.text);
  t.regex(html, /<p class="field-error" id="reasons-error">Iemesli: noraidot norādiet vismaz vienu iemeslu/, 'said in the page\'s language');
  t.regex(html, /<input type="checkbox" name="checklist_cost_correct" checked>/, 'the ticked item stays ticked');
  t.regex(html, /<input type="checkbox" name="checklist_documents_complete" >/);
});

test('an offer decision is confirmed first: the confirmation restates the checklist, reasons and comment; Change brings them back into the form', async (t) => {
  const staff = await stack.staffToken();
  const form = { decision: 'reject', reasons: 'Izmaksas aprēķinātas nepareizi\nNav licences', comment: 'Lūdzu, izlabojiet', checklist_cost_correct: 'on' };
  const first = await call('POST', `/staff/tasks/${fixture.offerTask}/decision`, { token: staff, html: true, form });
  t.is(first.status, 303, first.text);
  const location = first.headers.get('location')!;
  t.true(location.startsWith(`/staff/tasks/${fixture.offerTask}/decision/confirm?`), location);
  t.false(decodeURIComponent(location).includes('izlabojiet'), 'the comment travels sealed, not readable in the address');
  t.like(await stack.db('tasks').where({ id: fixture.offerTask }).first(), { state: 'open', decision: null }, 'nothing decided by the first post');
  const page = decode((await call('GET', location, { token: staff, html: true })).text);
  t.true(page.includes('<h1>Pārbaudiet pirms atteikuma</h1>'));
  t.true(page.includes('Izmaksas aprēķinātas nepareizi; Nav licences'), 'the reasons');
  t.regex(page, /data-testid="confirm-comment">Lūdzu, izlabojiet/);
  const change = /<a class="change" href="([^"]+)"/.exec(page)![1]!;
  const again = decode((await call('GET', change, { token: staff, html: true })).text);
  t.regex(again, /<textarea id="reasons"[^>]*>Izmaksas aprēķinātas nepareizi\nNav licences<\/textarea>/, 'the reasons are back in the form');
  t.regex(again, /<input type="checkbox" name="checklist_cost_correct" checked>/, 'the ticked item stays ticked');
  t.regex(again, /<input type="radio" name="decision" value="reject" checked>/);
});

test('a decided provider task is answered 409 already_decided naming who decided', async (t) => {
  const providerId = await insertProvider(stack.db);
  const taskId = await insertProviderTask(stack.db, { type: 'approve-provider', providerId });
  await stack.db('tasks').where({ id: taskId }).update({ state: 'decided', decision: 'approve', decidedByName: 'Inese Kalna', decidedAt: new Date() });
  const answer = await call('POST', `/api/staff/tasks/${taskId}/decision`, { token: await stack.staffToken(), json: { decision: 'approve' } });
  const error = assertError(t, answer, 409, 'already_decided');
  t.regex(error.message, /Inese Kalna/);
  const page = decode((await call('GET', `/staff/tasks/${taskId}`, { token: await stack.staffToken(), html: true })).text);
  t.false(page.includes(`action="/staff/tasks/${taskId}/decision"`), 'no decision form on a decided task');
  t.true(page.includes('Izlemts: approve, Inese Kalna'));
});
