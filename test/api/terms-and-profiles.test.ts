import { randomUUID } from 'node:crypto';
import test from 'ava';
import { rigaDate } from '../../domain/dates';
import { demoRoleGrant } from '../../dev/seed';
import { accessibilityProblems, launchBrowser } from '../helpers/browser';
import { assertError, fieldsOf, httpClient } from '../helpers/http';
import { adultMaker, eventually, registerThroughApi } from '../helpers/journeys';
import { startTestStack, type TestStack } from '../helpers/stack';

// Issue 15, items 4 and 8: versions of the terms of use that block learners, coordinators and provider users until
// accepted; learners' and providers' contact data kept current. One stack; the profile test runs before the new
// terms version exists, the terms test publishes it.

let stack: TestStack;
const call = httpClient(() => stack.appUrl);
const adult = adultMaker(() => stack.registry, { prefix: '38', lastName: 'Noteikumu', birthDate: '1985-05-05', note: 'terms and profiles test' });

test.before(async () => {
  // Accounts are approved by hand, so the journey waits at the approval task until the test decides it.
  stack = await startTestStack({ manualApproval: ['IMK'] });
});

test.after.always(async () => {
  await stack?.stop();
});

interface Detail { field?: string; rule?: string; words?: { lv: string; en: string }; version?: string }

async function providerSession(providerRole: 'admin' | 'staff') {
  const user = await stack.db('users').where({ username: 'provider' }).first<{ id: string; displayName: string; providerId: string }>();
  return providerRole === 'admin'
    ? stack.signIn({ role: 'provider', subject: user.id, name: user.displayName, providerId: user.providerId, providerRole: 'admin' })
    : stack.signIn({ role: 'provider', subject: randomUUID(), name: 'Pēteris Darbinieks', providerId: user.providerId, providerRole: 'staff' });
}

test.serial('a learner changes their e-mail and language: the case history shows it, the audit has before and after, the next e-mail goes to the new address', async (t) => {
  const person = adult('Ilze');
  const learner = await stack.tokenFor('learner', person.code, person.name);
  const { caseId } = await registerThroughApi(call, stack.temporal, learner, person);
  const staff = await stack.staffToken();
  const task = await eventually(async () => {
    const answer = await call('GET', '/api/staff/tasks', { token: staff });
    return (answer.json as { tasks: { id: string; caseId: string }[] }).tasks.find((x) => x.caseId === caseId);
  }, 'the approval task');

  const newAddress = `jauna-${person.code}@example.lv`;
  const changed = await call('POST', '/api/learner/profile', { token: learner, json: { email: newAddress, language: 'en', phone: '+371 20000001' } });
  t.is(changed.status, 200, changed.text);
  t.deepEqual(changed.json, { email: newAddress, phone: '+371 20000001', language: 'en' });

  // The case history says the contact data changed (and which fields), in the learner's own journey.
  const journey = (await call('GET', `/api/learner/journeys/${caseId}`, { token: learner })).json as { events: { kind: string; details: { fields?: string[] } }[] };
  const event = journey.events.find((e) => e.kind === 'profile_changed');
  t.truthy(event, 'the journey shows the change');
  t.deepEqual(event!.details.fields?.sort(), ['email', 'language', 'phone']);
  const page = await call('GET', `/learner/journeys/${caseId}?lang=en`, { token: learner, html: true });
  t.true(page.text.includes('Contact data changed'), 'the journey page names the change');

  const audit = await stack.db('auditLog').where({ action: 'profile.changed', subjectPersonCode: person.code }).first<{ result: { before: Record<string, unknown>; after: Record<string, unknown> } }>('result');
  t.is(audit?.result.before.email, `${person.code}@example.lv`);
  t.is(audit?.result.after.email, newAddress);

  // The approval e-mail, the next one the journey sends, goes to the new address, in English.
  const decided = await call('POST', `/api/staff/tasks/${task.id}/decision`, { token: staff, json: { decision: 'approve' } });
  t.is(decided.status, 200, decided.text);
  const mail = await eventually(async () => stack.mail.messages().find((m) => m.to.includes(newAddress)), 'the approval e-mail at the new address');
  t.regex(mail.subject, /account|approved/i, 'in English');
  t.false(stack.mail.messages().some((m) => m.to.includes(`${person.code}@example.lv`)), 'nothing to the old address');

  // Bad input: 400 naming each field, with words in both languages; on the page, next to the field.
  const bad = assertError(t, await call('POST', '/api/learner/profile', { token: learner, json: { email: 'nav-adrese', phone: '12', language: 'de' } }), 400, 'invalid_request');
  t.deepEqual(fieldsOf(bad).sort(), ['email', 'language', 'phone']);
  for (const d of bad.details as Detail[]) t.truthy(d.words?.lv && d.words.en, `${d.field} has words in both languages`);
  const empty = assertError(t, await call('POST', '/api/learner/profile', { token: learner, json: {} }), 400, 'invalid_request');
  t.deepEqual(fieldsOf(empty), ['(body)']);
  const lvPage = await call('POST', '/account/profile?lang=lv', { token: learner, html: true, form: { email: 'nav-adrese', phone: '', language: 'lv' } });
  t.is(lvPage.status, 400);
  t.true(lvPage.text.includes('Norādiet e-pasta adresi'), 'the Latvian words next to the field');
  const enPage = await call('POST', '/account/profile?lang=en', { token: learner, html: true, form: { email: 'nav-adrese', phone: '', language: 'en' } });
  t.true(enPage.text.includes('Give an e-mail address'), 'the English words next to the field');
  t.is((await stack.db('learners').where({ personCode: person.code }).first<{ email: string }>('email')).email, newAddress, 'nothing stored from bad input');
});

test.serial('a provider\'s administrator keeps its contact data current: the provider history shows it; its staff may not change it', async (t) => {
  const admin = await providerSession('admin');
  const changed = await call('POST', '/api/provider/contact', { token: admin, json: { email: 'kontakti@provider.example', phone: '+371 67000000' } });
  t.is(changed.status, 200, changed.text);
  t.deepEqual(changed.json, { email: 'kontakti@provider.example', phone: '+371 67000000' });
  const user = await stack.db('users').where({ username: 'provider' }).first<{ providerId: string }>('providerId');
  const event = await stack.db('providerEvents').where({ providerId: user.providerId, kind: 'contact_changed' }).first<{ details: { fields: string[] }; actorName: string }>();
  t.deepEqual(event?.details.fields.sort(), ['email', 'phone']);
  t.truthy(await stack.db('auditLog').where({ action: 'provider.contact_changed' }).first('id'));

  const staff = await providerSession('staff');
  assertError(t, await call('POST', '/api/provider/contact', { token: staff, json: { phone: '+371 67000001' } }), 403, 'admin_only');
  const bad = assertError(t, await call('POST', '/api/provider/contact', { token: admin, json: { email: 'x' } }), 400, 'invalid_request');
  t.deepEqual(fieldsOf(bad), ['email']);
});

test.serial('a new terms version blocks a learner, a coordinator and a provider user until each accepts it; acceptances are recorded; the public page shows it', async (t) => {
  const person = adult('Rasma');
  const learner = await stack.tokenFor('learner', person.code, person.name);
  await registerThroughApi(call, stack.temporal, learner, person);
  const coordinator = await stack.signIn({ role: 'coordinator', subject: demoRoleGrant.personCode, name: 'Marta Zariņa', municipality: demoRoleGrant.municipality });
  const provider = await providerSession('admin');
  const staff = await stack.staffToken();
  const homes = { learner: '/api/learner/journeys', coordinator: '/api/coordinator/journeys', provider: '/api/provider/offers' };
  const tokens = { learner, coordinator, provider };
  for (const [who, path] of Object.entries(homes)) t.is((await call('GET', path, { token: tokens[who as keyof typeof tokens] })).status, 200, `${who} works under the initial terms`);

  // An administrator publishes version 2026-12, in force today; bad input first.
  const admin = await stack.adminToken();
  const today = rigaDate(new Date());
  const bad = assertError(t, await call('POST', '/api/admin/terms', { token: admin, json: { version: 'a b', textLv: 'īss', textEn: '', effectiveFrom: '2020-01-01', reason: '' } }), 400, 'invalid_request');
  t.deepEqual(fieldsOf(bad).sort(), ['reason', 'textEn', 'textLv', 'version']);
  for (const d of bad.details as Detail[]) t.truthy(d.words?.lv && d.words.en, `${d.field} has words in both languages`);
  const textLv = 'LIETOŠANAS NOTEIKUMI 2026-12\n\n1. Jaunais punkts par datu aizsardzību.';
  const textEn = 'TERMS OF USE 2026-12\n\n1. The new clause on data protection.';
  const past = assertError(t, await call('POST', '/api/admin/terms', { token: admin, json: { version: '2026-12', textLv, textEn, effectiveFrom: '2020-01-01', reason: 'Jauns datu aizsardzības punkts' } }), 400, 'invalid_request');
  t.deepEqual(fieldsOf(past), ['effectiveFrom']);
  const created = await call('POST', '/api/admin/terms', { token: admin, json: { version: '2026-12', textLv, textEn, effectiveFrom: today, reason: 'Jauns datu aizsardzības punkts' } });
  t.is(created.status, 201, created.text);
  const audit = await stack.db('auditLog').where({ action: 'terms.version_created' }).first<{ result: { reason: string; before: { currentVersion: string }; after: { version: string } } }>('result');
  t.deepEqual([audit?.result.reason, audit?.result.before.currentVersion, audit?.result.after.version], ['Jauns datu aizsardzības punkts', '2025-09', '2026-12']);
  assertError(t, await call('POST', '/api/admin/terms', { token: admin, json: { version: '2026-12', textLv, textEn, effectiveFrom: '2099-01-01', reason: 'vēlreiz' } }), 409, 'terms_version_exists');

  // Nothing else works for them now: the API answers 403 naming the version, pages go to the acceptance page.
  for (const [who, path] of Object.entries(homes)) {
    const refused = assertError(t, await call('GET', path, { token: tokens[who as keyof typeof tokens] }), 403, 'terms_not_accepted');
    t.is((refused.details[0] as Detail).version, '2026-12', who);
  }
  for (const [who, page] of [['learner', '/learner'], ['coordinator', '/coordinator'], ['provider', '/provider']] as const) {
    const answer = await call('GET', page, { token: tokens[who], html: true });
    t.is(answer.status, 302, who);
    t.is(answer.headers.get('location'), `/terms/accept?next=${encodeURIComponent(page)}`, who);
  }
  t.is((await call('GET', '/api/staff/tasks', { token: staff })).status, 200, 'agency staff are not asked');
  // A person's right to their own data does not wait on accepting new terms.
  t.is((await call('GET', '/api/learner/my-data', { token: learner })).status, 200, 'the learner still sees their data');
  t.is((await call('GET', '/account/data-requests?lang=en', { token: learner, html: true })).status, 200, 'and may ask to erase or correct it');

  // The learner reads and accepts it on the page; the coordinator and the provider user through the API.
  const acceptPage = await call('GET', '/terms/accept?next=%2Flearner&lang=en', { token: learner, html: true });
  t.is(acceptPage.status, 200);
  t.true(acceptPage.text.includes('The new clause on data protection.'), 'the English text');
  const unticked = await call('POST', '/terms/accept', { token: learner, html: true, form: { version: '2026-12', next: '/learner' } });
  t.is(unticked.status, 400);
  t.is((await call('GET', homes.learner, { token: learner })).status, 403, 'still blocked');
  const accepted = await call('POST', '/terms/accept', { token: learner, html: true, form: { version: '2026-12', accept: 'on', next: '/learner' } });
  t.is(accepted.status, 302, accepted.text);
  t.is(accepted.headers.get('location'), '/learner');
  t.is((await call('GET', homes.learner, { token: learner })).status, 200, 'the learner works again');

  assertError(t, await call('GET', homes.coordinator, { token: coordinator }), 403, 'terms_not_accepted');
  assertError(t, await call('POST', '/api/terms/acceptances', { token: coordinator, json: { version: '2025-09' } }), 409, 'terms_version_changed');
  t.is((await call('POST', '/api/terms/acceptances', { token: coordinator, json: { version: '2026-12' } })).status, 201);
  t.is((await call('GET', homes.coordinator, { token: coordinator })).status, 200, 'the coordinator works again');
  assertError(t, await call('GET', homes.provider, { token: provider }), 403, 'terms_not_accepted');
  t.is((await call('POST', '/api/terms/acceptances', { token: provider, json: { version: '2026-12' } })).status, 201);
  t.is((await call('GET', homes.provider, { token: provider })).status, 200, 'the provider user works again');

  // Each acceptance is recorded with version and time; the learner's row keeps the version, as registration does.
  const rows = await stack.db('termsAcceptances').where({ version: '2026-12' }).select<{ personCode: string | null; userId: string | null; role: string; how: string; acceptedAt: Date }[]>('*');
  t.deepEqual(rows.map((r) => `${r.role}:${r.personCode ?? 'user'}:${r.how}`).sort(),
    [`coordinator:${demoRoleGrant.personCode}:acceptance_page`, `learner:${person.code}:acceptance_page`, 'provider:user:acceptance_page']);
  t.true(rows.every((r) => r.acceptedAt instanceof Date));
  t.is((await stack.db('learners').where({ personCode: person.code }).first<{ termsVersion: string }>('termsVersion')).termsVersion, '2026-12');
  const myData = (await call('GET', '/api/learner/my-data', { token: learner })).json as { sections: { terms_acceptances: { version: string; how: string }[] } };
  t.deepEqual(myData.sections.terms_acceptances.map((a) => `${a.version}:${a.how}`), ['2025-09:registration', '2026-12:acceptance_page'], 'the export shows both acceptances');

  // The public page shows the version in force, in both languages, to anyone.
  const lv = await call('GET', '/terms?lang=lv', { html: true });
  t.is(lv.status, 200);
  t.true(lv.text.includes('Jaunais punkts par datu aizsardzību.') && lv.text.includes('2026-12'));
  const en = await call('GET', '/terms?lang=en', { html: true });
  t.true(en.text.includes('The new clause on data protection.') && en.text.includes('Terms of use of the platform'));
  const current = (await call('GET', '/api/terms/current')).json as { version: string };
  t.is(current.version, '2026-12');

  // Someone new accepts the version in force first; a registration form still carrying the old version is refused.
  const other = adult('Vija');
  const newcomer = await stack.tokenFor('learner', other.code, other.name);
  const register = () => call('POST', '/api/learner/journeys', {
    token: newcomer, json: { requestId: randomUUID(), email: `${other.code}@example.lv`, language: 'lv', acceptTerms: true, termsVersion: '2025-09' },
  });
  t.is((assertError(t, await register(), 403, 'terms_not_accepted').details[0] as Detail).version, '2026-12');
  t.is((await call('POST', '/api/terms/acceptances', { token: newcomer, json: { version: '2026-12' } })).status, 201);
  const stale = assertError(t, await register(), 400, 'invalid_request');
  t.deepEqual(fieldsOf(stale), ['termsVersion']);
});

test.serial('the new pages read in Latvian and English and pass the accessibility check', async (t) => {
  const person = adult('Dace');
  const learner = await stack.tokenFor('learner', person.code, person.name);
  // Version 2026-12 is in force since the previous test: accepted first, as a newcomer would.
  t.is((await call('POST', '/api/terms/acceptances', { token: learner, json: { version: '2026-12' } })).status, 201);
  const registered = await call('POST', '/api/learner/journeys', {
    token: learner, json: { requestId: randomUUID(), email: `${person.code}@example.lv`, language: 'lv', acceptTerms: true, termsVersion: '2026-12' },
  });
  t.true([201, 202].includes(registered.status), registered.text);
  await eventually(() => stack.db('learners').where({ personCode: person.code }).first('id'), 'the learner\'s profile');
  const pages: [string, string | null][] = [
    ['/terms', null], ['/terms/accept', learner], ['/account/profile', learner],
    ['/provider/contact', await providerSession('admin')], ['/admin/terms', await stack.adminToken()],
  ];
  // Every string in the page's language: no i18n key shows through, in either language.
  const KEY = /\b(terms|profile|providerContact|console)\.[a-z]+\.?[a-zA-Z.]*\b/;
  for (const [path, token] of pages) {
    for (const lang of ['lv', 'en']) {
      const answer = await call('GET', `${path}?lang=${lang}`, { html: true, ...(token ? { token } : {}) });
      t.is(answer.status, 200, `${path} ${lang}`);
      t.notRegex(answer.text.replace(/<[^>]+>/g, ' '), KEY, `${path} in ${lang}: no untranslated key`);
    }
  }
  // The markup is the same in both languages: one accessibility check per page.
  const browser = await launchBrowser();
  try {
    for (const [path, token] of pages) {
      const context = await browser.newContext({ bypassCSP: true });
      if (token) await context.addCookies([{ name: 'ila_session', value: token, url: stack.appUrl }]);
      const page = await context.newPage();
      await page.goto(`${stack.appUrl}${path}`);
      t.deepEqual(await accessibilityProblems(page), [], `${path}: no serious or critical accessibility violations`);
      await context.close();
    }
  } finally {
    await browser.close();
  }
});
