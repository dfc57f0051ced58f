import { randomUUID } from 'node:crypto';
import test from 'ava';
import type { ApiRegistry } from '../../api/routes/define';
import { SAMPLE_COMPANIES, SAMPLE_INSTITUTIONS } from '../../dev/seed-institutions';
import { demoRoleGrant } from '../../dev/seed';
import { demoOffers } from '../../dev/seed-offers';
import { learnerJourneyId } from '../../workflows/ids';
import { createCallClosingIn } from '../helpers/calls';
import { insertProviderTask } from '../helpers/catalogue';
import { insertDraftOffer } from '../helpers/providers';
import { httpClient, type Answer } from '../helpers/http';
import { eventually } from '../helpers/journeys';
import { startTestStack, type TestStack } from '../helpers/stack';
import { CALLER_ROLES, CALLERS, MATRIX, type Caller, type Expected } from './authorization-matrix';

// Every route of the registry × every kind of caller, against the table in authorization-matrix.ts: one stack, each
// caller logged in once, the requests sent a few at a time. Callers the table lets through send an invalid body, so
// nothing changes; a caller the table expects to be refused (401, 403, or 404 for someone else's case, offer,
// application, ...) sends a valid one where the route has it (VALID_BODIES), so a missing check shows as the action
// succeeding rather than hiding behind a 400.

let stack: TestStack;
let baseUrl: string;
const call = httpClient(() => baseUrl);
let registry: ApiRegistry;

/** Logs a caller in (a new session each time). */
const logins = new Map<Caller, () => Promise<string>>();
const tokens = new Map<Caller, string>();
/** The ids that fill the path parameters, by parameter name. */
const ids: Record<string, string> = {};
/** What each caller must never read in any answer (unless it sent it in the path itself): others' ids and person codes. */
const secrets = new Map<Caller, string[]>();

/** A new adult whose declared address is in Daugavpils, known to the Population Register stub. */
function daugavpilsPerson(firstName: string) {
  const code = `32${String(Math.floor(Math.random() * 10_000)).padStart(4, '0')}-${String(Math.floor(Math.random() * 100_000)).padStart(5, '0')}`;
  stack.registry.setPerson({
    personCode: code, firstName, lastName: 'Matrica', birthDate: '1984-04-04', deceased: false,
    address: 'Saules iela 1, Daugavpils, LV-5401', municipality: 'Daugavpils', note: 'authorization matrix',
  });
  return { code, name: `${firstName} Matrica` };
}

test.before(async () => {
  stack = await startTestStack();
  // A second app on the same stack, to reach its route registry (ApiDeps.testRoutes is handed it).
  ({ url: baseUrl } = await stack.serveApi({ testRoutes: (_router, api) => { registry = api; } }));
  const { db } = stack;

  // --- The callers ---
  const learner = daugavpilsPerson('Lauma');
  const provider = await db('users').where({ username: 'provider' }).first<{ id: string; displayName: string; providerId: string }>();
  const [otherProviderRow] = await db('providers').insert({
    name: 'Matricas skola (paraugs)', registrationNumber: SAMPLE_COMPANIES.second,
    educationRegistrationNumber: SAMPLE_INSTITUTIONS.second, status: 'approved',
  }).returning<{ id: string }[]>('id');
  const [otherProviderUser] = await db('users').insert({
    username: `matrix-${randomUUID().slice(0, 8)}`, passwordHash: 'not-a-login', displayName: 'Olga Citrona', role: 'provider',
    providerId: otherProviderRow!.id, providerRole: 'admin',
  }).returning<{ id: string }[]>('id');
  // A coordinator outside the learner's municipality: the coordinator who registered the learner, Marta Zariņa of
  // Daugavpils, in a session as coordinator of Rīga (a second grant). A coordinator who is another person is kept
  // out by the registered-by check anyway (test/api/coordinator.test.ts); the municipality must keep her out too.
  const otherCoordinator = { code: demoRoleGrant.personCode, name: 'Marta Zariņa' };
  await db('roleGrants').insert({
    personCode: otherCoordinator.code, role: 'coordinator', municipality: 'Rīga', municipalityCode: '90000000001',
    validFrom: '2026-01-01', validUntil: '2099-12-31', grantedBy: 'authorization matrix',
  });
  logins.set('learner', () => stack.tokenFor('learner', learner.code, learner.name));
  logins.set('otherLearner', () => stack.tokenFor('learner', '321178-40215', 'Anna Bērziņa'));
  logins.set('coordinator', () => stack.signIn({ role: 'coordinator', subject: demoRoleGrant.personCode, name: 'Marta Zariņa', municipality: demoRoleGrant.municipality }));
  logins.set('otherCoordinator', () => stack.signIn({ role: 'coordinator', subject: otherCoordinator.code, name: otherCoordinator.name, municipality: 'Rīga' }));
  logins.set('provider', () => stack.signIn({ role: 'provider', subject: provider.id, name: provider.displayName, providerId: provider.providerId, providerRole: 'admin' }));
  logins.set('otherProvider', () => stack.signIn({ role: 'provider', subject: otherProviderUser!.id, name: 'Olga Citrona', providerId: otherProviderRow!.id, providerRole: 'admin' }));
  logins.set('staff', () => stack.staffToken('staff'));
  logins.set('teamLead', () => stack.staffToken('lead'));
  logins.set('admin', () => stack.adminToken());
  // Two career consultants of Daugavpils: the learner asks the first one for a consultation (below), not the other.
  const consultant = { code: '010180-10006', name: 'Kārlis Konsultants' };
  const otherConsultant = { code: '010180-10014', name: 'Olga Konsultante' };
  const consultantGrants: string[] = [];
  for (const person of [consultant, otherConsultant]) {
    const [grant] = await db('roleGrants').insert({
      personCode: person.code, role: 'career_consultant', municipality: 'Daugavpils', validFrom: '2026-01-01', validUntil: '2099-12-31', grantedBy: 'authorization matrix',
    }).returning<{ id: string }[]>('id');
    consultantGrants.push(grant!.id);
  }
  logins.set('consultant', () => stack.signIn({ role: 'consultant', subject: consultant.code, name: consultant.name, municipality: 'Daugavpils' }));
  logins.set('otherConsultant', () => stack.signIn({ role: 'consultant', subject: otherConsultant.code, name: otherConsultant.name, municipality: 'Daugavpils' }));
  for (const [caller, login] of logins) tokens.set(caller, await login());

  // --- The objects the path parameters name ---
  // The learner's case, registered on their behalf by the coordinator of Daugavpils (their municipality).
  const registered = await call('POST', '/api/coordinator/journeys', {
    token: tokens.get('coordinator'),
    json: { requestId: randomUUID(), personCode: learner.code, email: `${learner.code}@example.lv`, language: 'lv', programme: 'IMK', termsAcceptedInPerson: true },
  });
  if (registered.status !== 201 && registered.status !== 202) throw new Error(`assisted registration: HTTP ${registered.status} ${registered.text}`);
  ids.caseId = (registered.json as { caseId: string }).caseId;
  ids.workflowId = learnerJourneyId(ids.caseId);
  await eventually(() => db('cases').where({ id: ids.caseId }).whereNot({ stage: 'registered' }).first('id'), 'the learner\'s case past registration');

  // The provider's draft offer in an open call, with its documents; its published demo offer (the catalogue's),
  // one of its groups, and an application to it that ended (a completed study: nothing an action could change).
  const { callId, phases } = await createCallClosingIn(db, 60 * 60_000);
  ids.offerId = (await insertDraftOffer(db, { providerId: provider.providerId, sample: 'demo', callId, phases })).offerId;
  // calls: the call for the administrators' call pages, and a statutory holiday (its removal is refused).
  ids.callId = callId;
  ids.day = '2027-01-01';
  ids.kind = 'curriculum';
  ids.documentId = (await db('documents').where({ offerId: ids.offerId, kind: ids.kind }).first<{ id: string }>('id')).id;
  const offer = demoOffers[0]!;
  ids.publishedOfferId = offer.id;
  ids.groupId = offer.groups[0]!.id;
  const [someone] = await db('learners').insert({
    personCode: `32${String(Math.floor(Math.random() * 10_000)).padStart(4, '0')}-99999`, firstName: 'Pabeidzējs', lastName: 'Matrica',
    email: `completer-${randomUUID().slice(0, 6)}@example.lv`, language: 'lv', termsVersion: 'test', termsAcceptedAt: new Date(),
  }).returning<{ id: string }[]>('id');
  const closedCaseId = randomUUID();
  await db('cases').insert({
    id: closedCaseId, serviceCaseId: `TEST-M-${closedCaseId.slice(0, 13)}`, workflowId: `test-matrix:${closedCaseId}`,
    learnerId: someone!.id, programme: 'IMK', stage: 'closed', channel: 'e-service', closedAt: new Date(),
  });
  ids.applicationId = randomUUID();
  await db('applications').insert({
    id: ids.applicationId, caseId: closedCaseId, attempt: 1, offerId: offer.id, groupId: ids.groupId, state: 'completed',
    costCents: 32_000, spentCents: 32_000, actorRole: 'learner', channel: 'e-service', enrolledAt: new Date(), endedAt: new Date(),
  });
  // A staff member of the provider waiting for its administrator's approval.
  const [pending] = await db('users').insert({
    username: `matrix-pending-${randomUUID().slice(0, 8)}`, passwordHash: 'not-a-login', displayName: 'Gaida Apstiprinājumu', role: 'provider',
    providerId: provider.providerId, providerRole: 'staff', active: false, status: 'awaiting_approval',
  }).returning<{ id: string }[]>('id');
  ids.userId = pending!.id;
  // A decided task (claiming or releasing it changes nothing), a finished batch, another staff member's session.
  ids.taskId = await insertProviderTask(db, { type: 'approve-provider', providerId: provider.providerId });
  await db('tasks').where({ id: ids.taskId }).update({ state: 'decided' });
  ids.batchId = randomUUID();
  await db('consoleBatches').insert({
    id: ids.batchId, action: 'retry', reason: 'authorization matrix', filter: JSON.stringify({}), total: 0,
    startedById: 'matrix', startedByName: 'Matrica', state: 'finished', finishedAt: new Date(),
  });
  ids.sessionId = (await stack.sessionOf(await stack.staffToken('staff2')))!.id;
  ids.colleagueId = (await db('users').where({ username: 'staff2' }).first<{ id: string }>('id')).id;
  ids.name = 'site.css';
  // The learner's correction request (an inbox task for staff), and a retention rule.
  const filed = await call('POST', '/api/learner/data-requests', {
    token: tokens.get('learner'), json: { requestId: randomUUID(), kind: 'correction', text: 'Mans tālrunis ir mainījies.', field: 'phone', correctValue: '+37129999999' },
  });
  if (filed.status !== 201) throw new Error(`data request: HTTP ${filed.status} ${filed.text}`);
  ids.requestId = (filed.json as { id: string }).id;
  ids.code = 'documents_delete';
  // --- programmes ---: a programme and its first application window.
  ids.programmeCode = 'IMK';
  ids.windowId = (await db('programmeWindows').where({ programme: 'IMK' }).first<{ id: string }>('id')).id;
  // accounts: a staff account, and a block already lifted (so the matrix's learner and provider users stay unblocked).
  ids.accountId = ids.colleagueId;
  ids.blockId = randomUUID();
  await db('accountBlocks').insert({
    id: ids.blockId, subjectKind: 'provider_user', userId: ids.userId, kind: 'block', reason: 'authorization matrix', createdById: 'matrix',
    liftedAt: new Date(), liftedById: 'matrix', liftReason: 'authorization matrix',
  });
  // The learner's request for the coordinator role (an inbox task), the Rīga grant above, and a career consultant's
  // grant with the learner's consultation.
  const roleRequest = await call('POST', '/api/role-requests', {
    token: tokens.get('learner'), json: { requestId: randomUUID(), role: 'coordinator', municipality: 'Daugavpils', reason: 'Autorizācijas matrica.' },
  });
  if (roleRequest.status !== 201) throw new Error(`role request: HTTP ${roleRequest.status} ${roleRequest.text}`);
  ids.roleRequestId = (roleRequest.json as { id: string }).id;
  ids.grantId = (await db('roleGrants').where({ personCode: otherCoordinator.code, municipality: 'Rīga' }).first<{ id: string }>('id')).id;
  const [consultation] = await db('consultations').insert({
    personCode: learner.code, learnerName: learner.name, grantId: consultantGrants[0], consultantPersonCode: consultant.code, message: 'Matrica',
  }).returning<{ id: string }[]>('id');
  ids.consultationId = consultation!.id;
  // An announcement (notices), shown to everyone for a day.
  const [announcement] = await db('announcements').insert({
    titleLv: 'Matrica', titleEn: 'Matrix', bodyLv: 'Matrica', bodyEn: 'Matrix', audience: 'staff', createdByName: 'Matrica',
    showsFrom: new Date(), showsUntil: new Date(Date.now() + 86_400_000),
  }).returning('id') as { id: string }[];
  ids.announcementId = announcement.id;

  const learnersCase = [ids.caseId, learner.code, ids.requestId, ids.roleRequestId, ids.consultationId];
  const providersObjects = [ids.offerId, ids.applicationId, ids.userId, ids.documentId];
  secrets.set('anonymous', [...learnersCase, ...providersObjects, ids.taskId, ids.batchId, ids.sessionId]);
  secrets.set('learner', [...providersObjects, ids.taskId, ids.batchId, ids.sessionId]);
  secrets.set('otherLearner', [...learnersCase, ...providersObjects, ids.taskId, ids.batchId, ids.sessionId]);
  secrets.set('coordinator', [...providersObjects, ids.taskId, ids.batchId, ids.sessionId]);
  secrets.set('otherCoordinator', [...learnersCase, ...providersObjects, ids.taskId, ids.batchId, ids.sessionId]);
  secrets.set('provider', [...learnersCase, ids.taskId, ids.batchId, ids.sessionId]);
  secrets.set('otherProvider', [...learnersCase, ...providersObjects, ids.taskId, ids.batchId, ids.sessionId]);
  // Staff see cases, offers and tasks; never another member's sessions, nor the console's batches.
  secrets.set('staff', [ids.batchId, ids.sessionId]);
  secrets.set('teamLead', [ids.batchId, ids.sessionId]);
  secrets.set('admin', [ids.sessionId]);
  // The consultant the learner asked sees the learner's journeys (read-only); the other consultant sees nothing of theirs.
  secrets.set('consultant', [ids.requestId, ids.roleRequestId, ...providersObjects, ids.taskId, ids.batchId, ids.sessionId]);
  secrets.set('otherConsultant', [...learnersCase, ...providersObjects, ids.taskId, ids.batchId, ids.sessionId]);
});

test.after.always(async () => { await stack?.stop(); });

/**
 * Bodies that pass a route's validation, sent only by callers the table expects to be refused: were the check
 * missing, the request would act instead. Pages get them as forms.
 */
const VALID_BODIES: Record<string, () => Record<string, string | number>> = {
  'POST /api/learner/journeys/:caseId/applications': () => ({ offerId: ids.publishedOfferId!, groupId: ids.groupId! }),
  'POST /api/learner/journeys/:caseId/withdrawal': () => ({}),
  'POST /api/learner/journeys/:caseId/survey': () => ({}),
  'POST /api/coordinator/journeys/:caseId/applications': () => ({ offerId: ids.publishedOfferId!, groupId: ids.groupId! }),
  'POST /api/provider/applications/:applicationId/decision': () => ({ decision: 'decline', reason: 'authorization matrix' }),
  'POST /api/provider/applications/:applicationId/outcome': () => ({ outcome: 'completed' }),
  'POST /api/provider/staff/:userId/decision': () => ({ decision: 'reject' }),
  'POST /api/provider/offers/:offerId': () => ({}),
  'POST /api/provider/offers/:offerId/submit': () => ({}),
  'POST /api/provider/offers/:offerId/withdraw': () => ({}),
  'POST /api/provider/offers/:offerId/groups': () => ({ place: 'Rīga, Brīvības iela 1 (paraugs)', startsOn: '2027-05-03', endsOn: '2027-06-30', schedule: 'P, T 18:00-21:00', capacity: 5 }),
  'POST /learner/journeys/:caseId/applications': () => ({ offerId: ids.publishedOfferId!, groupId: ids.groupId! }),
  'POST /learner/journeys/:caseId/withdrawal': () => ({}),
  'POST /learner/journeys/:caseId/survey': () => ({}),
  'POST /coordinator/journeys/:caseId/applications': () => ({ choice: `${ids.publishedOfferId}:${ids.groupId}` }),
  'POST /provider/applications/:applicationId/decision': () => ({ decision: 'decline', reason: 'authorization matrix' }),
  'POST /provider/applications/:applicationId/outcome': () => ({ outcome: 'completed' }),
  'POST /provider/staff/:userId/decision': () => ({ decision: 'reject' }),
  'POST /provider/offers/:offerId': () => ({}),
  'POST /provider/offers/:offerId/submit': () => ({}),
  'POST /provider/offers/:offerId/withdraw': () => ({}),
  'POST /provider/offers/:offerId/groups': () => ({ place: 'Rīga, Brīvības iela 1 (paraugs)', startsOn: '2027-05-03', endsOn: '2027-06-30', schedule: 'P, T 18:00-21:00', capacity: '5' }),
  'POST /api/staff/role-requests/:roleRequestId/decision': () => ({ decision: 'reject', reason: 'authorization matrix' }),
  'POST /staff/role-requests/:roleRequestId/decision': () => ({ decision: 'reject', reason: 'authorization matrix' }),
  'POST /api/admin/role-grants/:grantId/revocation': () => ({ reason: 'authorization matrix' }),
  'POST /admin/role-grants/:grantId/revocation': () => ({ reason: 'authorization matrix' }),
  'POST /api/consultant/consultations/:consultationId/notes': () => ({ text: 'authorization matrix' }),
  'POST /consultant/consultations/:consultationId/notes': () => ({ text: 'authorization matrix' }),
  // --- offerform ---
  'POST /api/provider/offers/:offerId/check': () => ({}),
  'POST /provider/offers/:offerId/preview': () => ({}),
  'POST /provider/offers/:offerId/check': () => ({}),
  // Only a team lead assigns tasks.
  'POST /api/staff/tasks/:taskId/assign': () => ({ assigneeId: ids.colleagueId! }),
  'POST /staff/tasks/:taskId/assign': () => ({ assigneeId: ids.colleagueId! }),
};

/** Parameters filled with another fixture on some routes: the public catalogue shows published offers only. */
const PARAMS_OF: Record<string, Record<string, string>> = {
  'GET /api/catalogue/:offerId': { offerId: 'publishedOfferId' },
  'GET /catalogue/:offerId': { offerId: 'publishedOfferId' },
  // --- programmes ---
  ...Object.fromEntries(['GET /api/admin/programmes/:code', 'POST /api/admin/programmes/:code/versions', 'POST /api/admin/programmes/:code/windows',
    'GET /admin/programmes/:code', 'POST /admin/programmes/:code/versions', 'POST /admin/programmes/:code/windows',
    'GET /admin/programmes/:code/versions', 'GET /admin/programmes/:code/windows']
    .map((route) => [route, { code: 'programmeCode' }])),
  ...Object.fromEntries(['POST /api/admin/programmes/:code/windows/:id', 'POST /admin/programmes/:code/windows/:id', 'GET /admin/programmes/:code/windows/:id']
    .map((route) => [route, { code: 'programmeCode', id: 'windowId' }])),
};

/** Routes that end the caller's session: each request gets a session of its own. */
const ENDS_SESSION = new Set(['POST /api/auth/logout', 'POST /logout']);

interface Probe { route: string; page: boolean; method: 'GET' | 'POST'; path: string; caller: Caller; expected: Expected }

/** The route's path with every parameter filled with its fixture's id. */
function fill(route: string, path: string): string {
  return path.replace(/:(\w+)/g, (_m, name: string) => {
    const id = ids[PARAMS_OF[route]?.[name] ?? name];
    if (!id) throw new Error(`${path}: no fixture for the path parameter ${name} (add one in the before hook)`);
    return encodeURIComponent(id);
  });
}

async function send(probe: Probe): Promise<Answer> {
  const token = probe.caller === 'anonymous' ? undefined
    : ENDS_SESSION.has(probe.route) ? await logins.get(probe.caller)!() : tokens.get(probe.caller);
  const path = fill(probe.route, probe.path);
  if (probe.method === 'GET') return call('GET', path, { token, html: probe.page });
  const valid = probe.expected !== 'ok' ? VALID_BODIES[probe.route] : undefined;
  if (probe.page) {
    const form = Object.fromEntries(Object.entries(valid?.() ?? {}).map(([k, v]) => [k, String(v)]));
    return call('POST', path, { token, html: true, form });
  }
  // A JSON array is no route's body: every validated body is refused with a 400 before anything happens.
  return call('POST', path, { token, json: valid?.() ?? [] });
}

/** Whether an answer is what the table expects. */
function matches(expected: Expected, answer: Answer): boolean {
  const toLogin = answer.status === 302 && /^\/(auth\/sso\/login|staff\/login)\b/.test(answer.headers.get('location') ?? '');
  if (expected === 'login') return toLogin;
  if (expected === 'ok') return ![401, 403, 404].includes(answer.status) && !toLogin && answer.status < 500;
  return answer.status === expected;
}

/** A row for a route that has none, from its guard's roles alone: a start for whoever adds it, not the answer. */
function suggestedRow(spec: { method: string; path: string; roles: readonly string[] | 'public' }, page: boolean): string {
  const expected = CALLERS.map((caller) => {
    const role = CALLER_ROLES[caller];
    if (spec.roles === 'public') return "'ok'";
    if (role === null) return page && spec.method === 'get' ? "'login'" : '401';
    return spec.roles.includes(role) ? "'ok'" : '403';
  });
  return `  ['${spec.method.toUpperCase()} ${spec.path}', ${expected.join(', ')}],`;
}

/** Runs the probes a few at a time. */
async function runAll<T, R>(items: T[], concurrency: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await run(items[i]!);
    }
  }));
  return results;
}

test.serial('every route of the registry has a row in the authorization matrix, and every row a route', (t) => {
  const specs = [...registry.routes, ...registry.pages];
  const routes = specs.map((r) => `${r.method.toUpperCase()} ${r.path}`);
  const missing = specs.filter((r) => !MATRIX.has(`${r.method.toUpperCase()} ${r.path}`));
  const gone = [...MATRIX.keys()].filter((r) => !routes.includes(r));
  const problems = [
    ...(missing.length ? ['Routes without a row in test/api/authorization-matrix.ts; add one line each (suggested from the guard\'s roles: '
      + 'make the column of whoever must not reach someone else\'s object 404):', ...missing.map((r) => suggestedRow(r, registry.pages.includes(r as never)))] : []),
    ...(gone.length ? ['Rows for routes that no longer exist (remove them from test/api/authorization-matrix.ts):', ...gone.map((r) => `  ${r}`)] : []),
  ];
  t.deepEqual(problems, [], problems.join('\n'));
});

test.serial('every operation of the OpenAPI document has a row in the authorization matrix', async (t) => {
  const doc = (await call('GET', '/api/openapi.json')).json as { paths: Record<string, Record<string, unknown>> };
  const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`));
  t.true(operations.length > 100);
  t.deepEqual(operations.filter((o) => !MATRIX.has(o)), []);
});

test.serial('every route answers every caller as the matrix says, never with a 5xx, and shows no caller what is not theirs', async (t) => {
  const pages = new Set(registry.pages);
  const probes: Probe[] = [...registry.routes, ...registry.pages].flatMap((spec) => {
    const route = `${spec.method.toUpperCase()} ${spec.path}`;
    const row = MATRIX.get(route);
    if (!row) return [];
    return CALLERS.map((caller) => ({
      route, page: pages.has(spec as never), method: spec.method.toUpperCase() as 'GET' | 'POST', path: spec.path, caller, expected: row[caller],
    }));
  });
  // A parameter without a fixture (a new route's) is named here rather than breaking the whole run.
  const unfilled = [...new Set(probes.flatMap((p) => [...p.path.matchAll(/:(\w+)/g)].map((m) => PARAMS_OF[p.route]?.[m[1]!] ?? m[1]!))
    .filter((name) => !ids[name]))];
  t.deepEqual(unfilled, [], `path parameters without a fixture (add an id for each to \`ids\` in the before hook): ${unfilled.join(', ')}`);
  if (unfilled.length > 0) return;
  const answers = await runAll(probes, 6, send);
  const differences: string[] = [];
  const failures: string[] = [];
  const leaks: string[] = [];
  probes.forEach((probe, i) => {
    const answer = answers[i]!;
    const path = fill(probe.route, probe.path);
    for (const secret of secrets.get(probe.caller)!) {
      if (!path.includes(secret) && answer.text.includes(secret)) leaks.push(`${probe.route} as ${probe.caller}: the answer (${answer.status}) holds ${secret}`);
    }
    const got = `${answer.status}${answer.status === 302 ? ` → ${answer.headers.get('location')}` : ''} ${answer.text.slice(0, 160).replace(/\s+/g, ' ')}`;
    if (answer.status >= 500) failures.push(`${probe.route} as ${probe.caller}: ${got}`);
    if (!matches(probe.expected, answer)) differences.push(`${probe.route} as ${probe.caller}: expected ${probe.expected}, got ${got}`);
  });
  t.deepEqual(failures, [], `5xx answers:\n${failures.join('\n')}`);
  t.deepEqual(differences, [], `answers that differ from the matrix:\n${differences.join('\n')}`);
  t.deepEqual(leaks, [], `answers showing a caller what is not theirs:\n${leaks.join('\n')}`);
  t.true(probes.length >= MATRIX.size * CALLERS.length);
});
