import { randomUUID } from 'node:crypto';
import test from 'ava';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { ApiRegistry, PageSpec } from '../../api/routes/define';
import { demoRoleGrant } from '../../dev/seed';
import { demoOffers } from '../../dev/seed-offers';
import { answersQueryOf } from '../../api/confirmations';
import { passwordFingerprint } from '../../lib/password-reset';
import type { PageLanguage } from '../../web/render';
import { MATRIX, type Caller } from '../api/authorization-matrix';
import { accessibilityProblems, launchBrowser } from '../helpers/browser';
import { createCallClosingIn } from '../helpers/calls';
import { httpClient } from '../helpers/http';
import { eventually } from '../helpers/journeys';
import { foreignText, textInLanguage } from '../helpers/page-language';
import { insertDraftOffer, insertRegisteredProvider } from '../helpers/providers';
import { startTestStack, type TestStack } from '../helpers/stack';

// The walk (issue 16, "done when"): every page the app serves with GET, as each kind of person who may open it, in
// Latvian and in English, at 1280 px and at 320 px. The list of pages is the app's own (the registry's GET routes that
// answer with a page), the people who may open each come from the authorization matrix, and the path parameters are
// filled from rows seeded below: a page added later is walked, or the walk fails naming what it lacks. Each page has
// one heading, no serious or critical WCAG 2.1 AA violation (axe-core), reads fully in its language and fits a 320 px
// screen. Then every form on those pages is sent with its fields emptied and must come back with a focused error
// summary whose links lead to the fields, the page again passing the same checks.
//
// To keep within time (one stack, one browser, the walkers side by side): a public page is walked by the people it is
// for (PUBLIC_WALKERS), and axe, whose findings are about markup rather than words, runs on each page's first walker
// and on every walker's first page (the walker's own header and menus), in both languages. The 320 px check is the
// same page narrowed, not a second load.

let stack: TestStack;
let browser: Browser;
let baseUrl: string;
let registry: ApiRegistry;
const call = httpClient(() => baseUrl);

/** The kinds of people the walk goes as, each with the authorization matrix's column that says where they may go. */
const WALKERS = {
  anonymous: 'anonymous', learner: 'learner', learnerWithoutAccount: 'otherLearner', coordinator: 'coordinator', consultant: 'consultant',
  providerAdmin: 'provider', providerUser: 'provider', staff: 'staff', teamLead: 'teamLead', admin: 'admin',
} as const satisfies Record<string, Caller>;
type Walker = keyof typeof WALKERS;

/** Each walker's session (none for the anonymous one). */
const tokens = new Map<Walker, string>();
/** The ids that fill the path parameters, by parameter name. */
const ids: Record<string, string> = {};
/** Parameters filled with another fixture on some pages: the public catalogue shows published offers only. */
const PARAMS_OF: Record<string, Record<string, string>> = {
  '/catalogue/:offerId': { offerId: 'publishedOfferId' },
  // The confirmations need an object in the state they confirm from (seeded below).
  '/learner/journeys/:caseId/withdrawal/confirm': { caseId: 'appliedCaseId' },
  '/coordinator/journeys/:caseId/applications/confirm': { caseId: 'assistedCaseId' },
  '/provider/applications/:applicationId/outcome/confirm': { applicationId: 'enrolledApplicationId' },
};
/** The query a page needs to be more than a refusal: the e-mailed links' tokens (seeded below). */
const QUERY_OF: Record<string, string> = {};
/** More views of a page than its bare address: a search, a filter, another state of the same object. */
const EXTRA_VIEWS: Record<string, string[]> = {
  '/staff/tasks': ['/staff/tasks?q=berz&state=all'],
  '/admin/statistics': ['/admin/statistics?programme=IMK'],
  '/learner/journeys/:caseId': ['/learner/journeys/:closedCaseId'],
};

/**
 * Who walks a public page: the people it is for (anyone, a learner with an account and one without). Everyone else
 * meets the same page with their own header, which their own pages show already.
 */
const PUBLIC_WALKERS: readonly Walker[] = ['anonymous', 'learner', 'learnerWithoutAccount'];

/** The forms the walk met (their page, action and who first saw it): each is then sent empty once per language. */
const forms = new Map<string, { walker: Walker; path: string; action: string }>();
/** The fields a person types into: each form met that has one is sent with them empty. */
const TYPED_FIELDS = 'input[type=text], input[type=email], input[type=number], input[type=date], input[type=password], input[type=tel], input[type=url], input:not([type]), textarea';
const WIDE = 1280;
const NARROW = 320;

test.before(async () => {
  stack = await startTestStack();
  // A second app on the same stack, to reach its route registry (ApiDeps.testRoutes is handed it).
  ({ url: baseUrl } = await stack.serveApi({ testRoutes: (_router, api) => { registry = api; } }));
  browser = await launchBrowser();
  await seedWalk();
});
test.after.always(async () => {
  await browser?.close();
  await stack?.stop();
});

/**
 * What the confirmation pages confirm from, and their sealed answers (api/confirmations.ts): the learner's open IMK
 * case is wait-listed with a freed place offered (apply, decline the place), an MN case has an application waiting
 * for the provider (withdraw, enrol), a DPP case is studying (completion); a coordinator's registration can apply.
 */
async function seedConfirmations(holderId: string): Promise<void> {
  const { db } = stack;
  const offer = demoOffers[0]!;
  const group = offer.groups[0]!;
  const application = (caseId: string, state: string) => ({
    id: randomUUID(), caseId, attempt: 1, offerId: offer.id, groupId: group.id, state, costCents: offer.costCents,
    earmarkedCents: state === 'waitlisted' ? 0 : offer.costCents, holdsPlace: state !== 'waitlisted', actorRole: 'learner', channel: 'e-service',
    ...(state === 'enrolled' ? { enrolledAt: new Date() } : {}),
  });
  const waiting = application(ids.caseId!, 'waitlisted');
  await db('applications').insert(waiting);
  await db('placeOffers').insert({ programme: 'IMK', caseId: ids.caseId, applicationId: waiting.id, state: 'offered', offeredAt: new Date(), dueAt: new Date(Date.now() + 3 * 86_400_000) });
  for (const [name, programme, stage, state] of [['appliedCaseId', 'MN', 'applied', 'applied'], ['studyingCaseId', 'DPP', 'studying', 'enrolled']] as const) {
    ids[name] = randomUUID();
    await db('cases').insert({
      id: ids[name], serviceCaseId: `${programme}-WALK`, workflowId: `e2e-walk:${ids[name]}`, learnerId: holderId, programme, stage, channel: 'e-service', balanceCents: 0,
    });
    const row = application(ids[name]!, state);
    await db('applications').insert(row);
    ids[state === 'applied' ? 'applicationId' : 'enrolledApplicationId'] = row.id;
  }
  // A journey the coordinator registered, approved and able to apply.
  const [assisted] = await db('learners').insert({
    personCode: '320000-77002', firstName: 'Palīdzētā', lastName: 'Persona', email: 'palidzeta@example.lv', language: 'lv', termsVersion: 'test', termsAcceptedAt: new Date(),
  }).returning<{ id: string }[]>('id');
  ids.assistedCaseId = randomUUID();
  await db('cases').insert({
    id: ids.assistedCaseId, serviceCaseId: 'IMK-WALK-A', workflowId: `e2e-walk:${ids.assistedCaseId}`, learnerId: assisted!.id,
    programme: 'IMK', stage: 'imk_approved', channel: 'assisted', balanceCents: 50_000,
  });
  await db('caseEvents').insert({
    caseId: ids.assistedCaseId, step: 'registered', kind: 'registered', stage: 'registered', actorRole: 'coordinator', actorId: demoRoleGrant.personCode,
    channel: 'assisted', details: JSON.stringify({ municipality: demoRoleGrant.municipality }),
  });
  const apply = answersQueryOf(stack.tokens, { offerId: offer.id, groupId: group.id });
  QUERY_OF['/learner/journeys/:caseId/applications/confirm'] = apply;
  QUERY_OF['/coordinator/journeys/:caseId/applications/confirm'] = apply;
  QUERY_OF['/learner/journeys/:caseId/withdrawal/confirm'] = answersQueryOf(stack.tokens, { reason: 'Mainījās darba laiks' });
  QUERY_OF['/provider/applications/:applicationId/decision/confirm'] = answersQueryOf(stack.tokens, { decision: 'decline', reason: 'Nav vietu' });
  QUERY_OF['/provider/applications/:applicationId/outcome/confirm'] = answersQueryOf(stack.tokens, { outcome: 'completed' });
}

/** The people and the objects the pages show, in SQL where the journey is not the point. */
async function seedWalk(): Promise<void> {
  const { db } = stack;
  // --- The learner: an open learning account with money on it and a closed one, a consultation asked ---
  const learner = { code: '320000-77001', name: 'Konta Turētāja' };
  const [holder] = await db('learners').insert({
    personCode: learner.code, firstName: 'Konta', lastName: 'Turētāja', email: 'konts-e2e@example.lv', language: 'lv', termsVersion: 'test', termsAcceptedAt: new Date(),
  }).returning<{ id: string }[]>('id');
  for (const [name, balanceCents, closedAt] of [['caseId', 18_000, null], ['closedCaseId', 5_000, new Date()]] as const) {
    ids[name] = randomUUID();
    await db('cases').insert({
      id: ids[name], serviceCaseId: `IMK-WALK-${closedAt ? 'C' : 'O'}`, workflowId: `e2e-walk:${ids[name]}`, learnerId: holder!.id,
      programme: 'IMK', stage: closedAt ? 'completed' : 'waitlisted', channel: 'e-service', balanceCents, closedAt,
    });
  }
  await seedConfirmations(holder!.id);
  const consultant = { code: '010180-10006', name: 'Kārlis Konsultants' };
  const [grant] = await db('roleGrants').insert({
    personCode: consultant.code, role: 'career_consultant', municipality: 'Daugavpils', organisation: 'Daugavpils karjeras centrs',
    validFrom: '2026-01-01', validUntil: '2099-12-31', grantedBy: 'walk',
  }).returning<{ id: string }[]>('id');
  const [consultation] = await db('consultations').insert({
    personCode: learner.code, learnerName: learner.name, grantId: grant!.id, consultantPersonCode: consultant.code, message: 'Par karjeru.',
  }).returning<{ id: string }[]>('id');
  ids.consultationId = consultation!.id;

  // --- The sessions ---
  const provider = await db('users').where({ username: 'provider' }).first<{ id: string; displayName: string; providerId: string }>();
  const logins: Record<Exclude<Walker, 'anonymous'>, () => Promise<string>> = {
    learner: () => stack.tokenFor('learner', learner.code, learner.name),
    learnerWithoutAccount: () => stack.tokenFor('learner', '010180-10001', 'Bez Konta'),
    coordinator: () => stack.signIn({ role: 'coordinator', subject: demoRoleGrant.personCode, name: 'Marta Zariņa', municipality: demoRoleGrant.municipality }),
    consultant: () => stack.signIn({ role: 'consultant', subject: consultant.code, name: consultant.name, municipality: 'Daugavpils' }),
    providerAdmin: () => stack.signIn({ role: 'provider', subject: provider.id, name: provider.displayName, providerId: provider.providerId, providerRole: 'admin' }),
    providerUser: () => stack.signIn({ role: 'provider', subject: randomUUID(), name: 'Pēteris Pasniedzējs', providerId: provider.providerId, providerRole: 'staff' }),
    staff: () => stack.staffToken('staff'),
    teamLead: () => stack.staffToken('lead'),
    admin: () => stack.adminToken(),
  };
  for (const [walker, login] of Object.entries(logins)) tokens.set(walker as Walker, await login());

  // --- The provider's draft offer in an open call, and a published one for the catalogue ---
  const { callId, phases } = await createCallClosingIn(db, 30 * 86_400_000);
  ids.callId = callId;
  ids.offerId = (await insertDraftOffer(db, { providerId: provider.providerId, sample: 'demo', callId, phases })).offerId;
  ids.publishedOfferId = demoOffers[0]!.id;

  // --- The inbox: a learner's case with a decided and an open task, its history and a letter ---
  const [searched] = await db('learners').insert({
    personCode: '010190-12345', firstName: 'Zane', lastName: 'Bērziņa', email: 'zane@example.lv', language: 'lv', termsVersion: 'test', termsAcceptedAt: new Date(),
  }).returning<{ id: string }[]>('id');
  const searchedCase = randomUUID();
  await db('cases').insert({
    id: searchedCase, serviceCaseId: 'IMK-2026-900001', workflowId: `e2e-walk:${searchedCase}`, learnerId: searched!.id,
    programme: 'IMK', stage: 'awaiting_approval', channel: 'e-service',
  });
  ids.taskId = randomUUID();
  await db('tasks').insert([
    { id: randomUUID(), caseId: searchedCase, workflowId: `e2e-walk:${searchedCase}`, step: 'approval-1', type: 'approve-imk', state: 'decided', decision: 'approve',
      decidedByName: 'Ilze Lēmēja', decidedAt: new Date(), facts: JSON.stringify({ eligibility: { rule: 'age-25-64', facts: { age: 36 } } }), dueAt: new Date() },
    { id: ids.taskId, caseId: searchedCase, workflowId: `e2e-walk:${searchedCase}`, step: 'approval-2', type: 'approve-imk', state: 'open', facts: '{}',
      dueAt: new Date(Date.now() + 86_400_000) },
  ]);
  await db('caseEvents').insert({ caseId: searchedCase, step: 'registered', kind: 'registered', stage: 'registered', actorRole: 'learner', channel: 'e-service', details: '{}' });
  await db('emailOutbox').insert({
    caseId: searchedCase, step: 'mail', template: 'imk-approved', language: 'lv', recipient: 'zane@example.lv', subject: 'Jūsu IMK', status: 'sent',
    dedupeKey: `case:${searchedCase}:mail`, sentAt: new Date(),
  });

  // --- Requests with workflows of their own: the learner's correction request and request for a role ---
  const learnerToken = tokens.get('learner')!;
  const filed = await call('POST', '/api/learner/data-requests', {
    token: learnerToken, json: { requestId: randomUUID(), kind: 'correction', text: 'Mans tālrunis ir mainījies.', field: 'phone', correctValue: '+37129999999' },
  });
  if (filed.status !== 201) throw new Error(`data request: HTTP ${filed.status} ${filed.text}`);
  ids.requestId = (filed.json as { id: string }).id;
  const asked = await call('POST', '/api/role-requests', {
    token: learnerToken, json: { requestId: randomUUID(), role: 'coordinator', municipality: 'Daugavpils', reason: 'Gribu palīdzēt kaimiņiem.' },
  });
  if (asked.status !== 201) throw new Error(`role request: HTTP ${asked.status} ${asked.text}`);
  ids.roleRequestId = (asked.json as { id: string }).id;
  ids.workflowId = `role-request:${ids.roleRequestId}`;
  await eventually(() => db('tasks').where({ workflowId: ids.workflowId }).first('id'), 'the role request\'s task');

  // --- The administration: a colleague's account, a finished batch, a programme ---
  ids.accountId = (await db('users').where({ username: 'staff2' }).first<{ id: string }>('id')).id;
  ids.batchId = randomUUID();
  await db('consoleBatches').insert({
    id: ids.batchId, action: 'retry', reason: 'walk', filter: JSON.stringify({}), total: 0, startedById: 'walk', startedByName: 'Staigātājs', state: 'finished', finishedAt: new Date(),
  });
  ids.code = 'IMK';

  // --- The e-mailed links: a provider confirming its address, a staff member setting a new password ---
  const registered = await insertRegisteredProvider(db, 'second');
  QUERY_OF['/providers/confirm'] = `?token=${encodeURIComponent(await stack.links.sign('confirm-provider-email', registered.providerId, 1))}`;
  const colleague = await db('users').where({ id: ids.accountId }).first<{ passwordHash: string }>('passwordHash');
  QUERY_OF['/staff/password/reset'] = `?token=${encodeURIComponent(await stack.links.sign('reset-password', ids.accountId, 1, { fp: passwordFingerprint(colleague.passwordHash) }))}`;

  // --- The confirmations of a staff decision and of stopping a workflow (the role request's, running) ---
  QUERY_OF['/staff/tasks/:taskId/decision/confirm'] = answersQueryOf(stack.tokens, { decision: 'approve', comment: 'Atbilst.' });
  QUERY_OF['/admin/workflows/:workflowId/actions/confirm'] = answersQueryOf(stack.tokens, { action: 'terminate', reason: 'Pieteikums iesniegts kļūdas pēc' });
}

/** The GET routes that answer with a page (not a redirect, a file or data). */
function pageRoutes(): PageSpec[] {
  return registry.pages.filter((p) => p.method === 'get' && Object.entries(p.responses).some(([status, r]) =>
    Number(status) < 300 && !r.redirect && (r.contentType === undefined || [r.contentType].flat().includes('text/html'))));
}

/** A path with every parameter filled with its fixture's id. */
function fill(route: string): string {
  return route.replace(/:(\w+)/g, (_m, name: string) => {
    const id = ids[PARAMS_OF[route.split('?')[0]!]?.[name] ?? name];
    if (!id) throw new Error(`${route}: no fixture for the path parameter ${name} (seed one in seedWalk)`);
    return encodeURIComponent(id);
  });
}

/** One address a walker opens; `firstWalker` when no walker opens it before this one (see the walk). */
interface Visit { route: string; firstWalker: boolean }

/** Every address each walker opens: the pages the matrix lets them open, with the extra views of those pages. */
function walkPlan(): { plan: Map<Walker, Visit[]>; problems: string[] } {
  const plan = new Map<Walker, Visit[]>(Object.keys(WALKERS).map((w) => [w as Walker, []]));
  const problems: string[] = [];
  for (const spec of pageRoutes()) {
    const row = MATRIX.get(`GET ${spec.path}`);
    if (!row) {
      problems.push(`GET ${spec.path} has no row in test/api/authorization-matrix.ts, so nobody walks it`);
      continue;
    }
    const walkers = (Object.entries(WALKERS) as [Walker, Caller][]).filter(([, column]) => row[column] === 'ok').map(([walker]) => walker)
      .filter((walker) => spec.roles !== 'public' || PUBLIC_WALKERS.includes(walker));
    if (walkers.length === 0) problems.push(`GET ${spec.path}: no walker may open it`);
    const paths = [spec.path + (QUERY_OF[spec.path] ?? ''), ...(EXTRA_VIEWS[spec.path] ?? [])];
    walkers.forEach((walker, n) => plan.get(walker)!.push(...paths.map((route) => ({ route, firstWalker: n === 0 }))));
  }
  const unfilled = [...new Set([...plan.values()].flat().flatMap(({ route: path }) => [...path.matchAll(/:(\w+)/g)].map((m) => PARAMS_OF[path.split('?')[0]!]?.[m[1]!] ?? m[1]!)))]
    .filter((name) => !ids[name]);
  if (unfilled.length) problems.push(`path parameters without a fixture (seed one in seedWalk): ${unfilled.join(', ')}`);
  return { plan, problems };
}

/** A browser context logged in as the walker. */
async function contextOf(walker: Walker): Promise<BrowserContext> {
  const context = await browser.newContext({ bypassCSP: true, viewport: { width: WIDE, height: 800 } });
  const token = tokens.get(walker);
  if (token) await context.addCookies([{ name: 'ila_session', value: token, url: baseUrl }]);
  return context;
}

/** The address in a language (the ?lang= switch). */
const inLanguage = (path: string, lang: PageLanguage) => `${baseUrl}${path}${path.includes('?') ? '&' : '?'}lang=${lang}`;

/** What is wrong with the page open in the browser: its heading, its language, accessibility, width at 320 px. */
async function problemsOf(page: Page, lang: PageLanguage, axe: boolean): Promise<string[]> {
  const problems: string[] = [];
  const headings = await page.locator('h1').count();
  if (headings !== 1) problems.push(`${headings} h1 headings`);
  const declared = await page.locator('html').getAttribute('lang');
  if (declared !== lang) problems.push(`html lang="${declared}"`);
  if (axe) problems.push(...(await accessibilityProblems(page)).map((p) => `axe ${p}`));
  problems.push(...foreignText(await textInLanguage(page, lang), lang));
  await page.setViewportSize({ width: NARROW, height: 640 });
  const width = await page.evaluate('document.documentElement.scrollWidth') as number;
  if (width > NARROW) {
    // The first elements reaching past the screen's edge, to say what to fix.
    // (Not those inside a box that scrolls by itself, such as a wide table: they do not widen the page.)
    const culprits = await page.evaluate(`[...document.querySelectorAll('body *')].filter((e) => {
        // An element past the edge, or one whose text runs out of it (a long word).
        const runsOut = getComputedStyle(e).display !== 'inline' && e.scrollWidth > e.clientWidth + 1;
        if (e.getBoundingClientRect().right <= ${NARROW} + 1 && !runsOut) return false;
        for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) if (getComputedStyle(a).overflowX !== 'visible') return false;
        return true;
      }).slice(-3).map((e) => e.tagName.toLowerCase() + (typeof e.className === 'string' && e.className ? '.' + e.className : '') + ' ' + Math.round(e.getBoundingClientRect().right) + ' px')`) as string[];
    problems.push(`${width} px wide at ${NARROW} px, e.g. ${culprits.join(', ')}`);
  }
  await page.setViewportSize({ width: WIDE, height: 800 });
  return problems;
}

test.serial('every page, as each person who may open it, in Latvian and English, at 1280 and 320 px', async (t) => {
  t.timeout(10 * 60_000);
  const started = Date.now();
  const { plan, problems: gaps } = walkPlan();
  t.deepEqual(gaps, [], gaps.join('\n'));
  const found: string[] = [];
  let walked = 0;
  // The walkers go side by side, each in its own browser context.
  await Promise.all([...plan].map(async ([walker, paths]) => {
    const context = await contextOf(walker);
    const page = await context.newPage();
    for (const [visit, { route, firstWalker }] of paths.entries()) {
      const path = fill(route);
      for (const lang of ['lv', 'en'] as const) {
        const answer = await page.goto(inLanguage(path, lang));
        walked += 1;
        const where = `${path} as ${walker} (${lang})`;
        if (answer?.status() !== 200) {
          found.push(`${where}: HTTP ${answer?.status()}`);
          continue;
        }
        for (const problem of await problemsOf(page, lang, firstWalker || visit === 0)) found.push(`${where}: ${problem}`);
        // Its forms are sent as the page's first walker (the anonymous one for a public page).
        if (lang === 'lv' && firstWalker) for (const action of await typedFormsOf(page)) if (!forms.has(action || path)) forms.set(action || path, { walker, path, action });
      }
    }
    await context.close();
  }));
  t.log(`${walked} page views in ${Math.round((Date.now() - started) / 1000)} s`);
  t.deepEqual(found, [], `problems found on the walk:\n${found.join('\n')}`);
});

/** Forms whose empty answer is not a field's problem, with why. */
const NO_FIELD_PROBLEM: Record<string, string> = {
  '/staff/login': 'an empty login is a failed login (401), said without naming a field, as for a wrong password',
};

/** The actions of the page's forms (in main, posting) that have a field to type in. */
async function typedFormsOf(page: Page): Promise<string[]> {
  return await page.evaluate(`[...document.querySelectorAll('main form[method=post]')]
    .filter((f) => f.querySelector(${JSON.stringify(TYPED_FIELDS)}))
    .map((f) => f.getAttribute('action') ?? '')`) as string[];
}

test.serial('every form the walk met, sent with its fields emptied, comes back with a focused summary linking to each field, in Latvian and English', async (t) => {
  t.timeout(5 * 60_000);
  t.true(forms.size > 10, 'the walk met the forms');
  const found: string[] = [];
  // Each walker sends its forms in its own browser context, the walkers side by side.
  const byWalker = new Map<Walker, { path: string; action: string }[]>();
  for (const form of forms.values()) if (!(form.action in NO_FIELD_PROBLEM)) byWalker.set(form.walker, [...(byWalker.get(form.walker) ?? []), form]);
  await Promise.all([...byWalker].map(async ([walker, walkerForms]) => {
    const context = await contextOf(walker);
    const page = await context.newPage();
    for (const { path, action } of walkerForms) for (const lang of ['lv', 'en'] as const) {
      const where = `${action} on ${path} as ${walker} (${lang})`;
      await page.goto(inLanguage(path, lang));
      const form = page.locator(`main form[method=post]${action ? `[action="${action}"]` : ':not([action])'}`).first();
      for (const field of await form.locator(TYPED_FIELDS).all()) if (await field.isEditable()) await field.fill('');
      // The server's answer is what is tested, not the browser's own checks of `required` fields.
      await form.evaluate('(f) => { f.noValidate = true; }');
      const [answer] = await Promise.all([page.waitForNavigation(), form.locator('button[type=submit], button:not([type])').first().click()]);
      if (!answer || answer.status() >= 500) {
        found.push(`${where}: HTTP ${answer?.status()}`);
        continue;
      }
      if (await page.locator('.error-summary').count() !== 1) {
        found.push(`${where}: no error summary (HTTP ${answer.status()} ${new URL(page.url()).pathname})`);
        continue;
      }
      // The browser moves the focus (autofocus) once the page is shown, a moment after it loaded.
      const focused = await page.waitForFunction("document.activeElement?.className === 'error-summary'", undefined, { timeout: 2_000 }).then(() => true, () => false);
      if (!focused) found.push(`${where}: the summary does not have the focus`);
      const targets = await page.evaluate(`[...document.querySelectorAll('.error-summary a')]
        .map((a) => [a.textContent, !!document.getElementById(a.getAttribute('href').slice(1))])`) as [string, boolean][];
      if (targets.length === 0) found.push(`${where}: the summary lists no problem`);
      for (const [text] of targets.filter(([, exists]) => !exists)) found.push(`${where}: "${text}" links to no field`);
      for (const problem of await problemsOf(page, lang, lang === 'lv')) found.push(`${where}: ${problem}`);
    }
    await context.close();
  }));
  t.deepEqual(found, [], `problems found on the forms:\n${found.join('\n')}`);
});
