import { randomUUID } from 'node:crypto';
import test from 'ava';
import type { Browser } from 'playwright-core';
import { loadStrings } from '../../web/render';
import { accessibilityProblems, launchBrowser } from '../helpers/browser';
import { createCallClosingIn } from '../helpers/calls';
import { startTestStack, type TestStack } from '../helpers/stack';

// The agency's own administration and the pages it added for everyone (issue 15) in a real headless Chromium: each
// page in Latvian and in English has one heading, no serious or critical WCAG 2.1 AA violation (axe-core), and reads
// fully in its language: no text of the other language's strings, no untranslated key.

let stack: TestStack;
let browser: Browser;

test.before(async () => {
  stack = await startTestStack();
  browser = await launchBrowser();
});
test.after.always(async () => {
  await browser?.close();
  await stack?.stop();
});

const strings = { lv: loadStrings('lv'), en: loadStrings('en') };
/** The first parts of the string keys ("programmes" of "programmes.field.funding"): a key shown as text starts so. */
const namespaces = new Set(Object.keys(strings.lv).map((k) => k.split('.')[0]!));

/**
 * What on a page in `lang` is not in that language: a line that is one of the other language's strings (those that
 * differ between the two, with no placeholder; a whole line, so data such as a call's English title shown beside
 * its Latvian one does not count), and string keys shown instead of their text.
 */
function foreignText(text: string, lang: 'lv' | 'en'): string[] {
  const other = lang === 'lv' ? 'en' : 'lv';
  const lines = new Set(text.split('\n').map((line) => line.trim().replace(/:$/, '')));
  // A text that is also a string of the page's own language is not foreign ("English", the name of the language).
  const own = new Set(Object.values(strings[lang]));
  const foreign = Object.entries(strings[other])
    .filter(([key, value]) => value !== strings[lang][key] && !own.has(value) && value.length >= 6 && !value.includes('{') && !value.includes('<'))
    .filter(([, value]) => lines.has(value.replace(/:$/, '')))
    .map(([key, value]) => `${other} string ${key}: "${value}"`);
  const keys = [...text.matchAll(/\b([a-z][a-zA-Z]+)(\.[a-zA-Z0-9]+)+\b/g)].map((m) => m[0])
    .filter((word) => namespaces.has(word.split('.')[0]!) && !/\.(lv|ee|com|css|js|json|csv)$/.test(word))
    .map((word) => `key shown as text: ${word}`);
  return [...foreign, ...keys];
}

test('every administration, terms and profile page reads fully in Latvian and in English and passes the accessibility check', async (t) => {
  const { callId } = await createCallClosingIn(stack.db, 30 * 86_400_000);
  const colleague = (await stack.db('users').where({ username: 'staff2' }).first<{ id: string }>('id')).id;
  const provider = await stack.db('users').where({ username: 'provider' }).first<{ id: string; displayName: string; providerId: string }>();

  // --- account --- a learner with an open and a closed learning account (rows in SQL), for the account pages.
  const [holder] = await stack.db('learners').insert({
    personCode: '320000-77001', firstName: 'Konta', lastName: 'Turētāja', email: 'konts-e2e@example.lv', language: 'lv', termsVersion: 'test', termsAcceptedAt: new Date(),
  }).returning('id');
  const accountCases = await Promise.all([[18_000, null], [5_000, new Date()]].map(async ([balanceCents, closedAt]) => {
    const id = randomUUID();
    await stack.db('cases').insert({
      id, serviceCaseId: `IMK-E2E-${closedAt ? 'C' : 'O'}`, workflowId: `e2e-account:${closedAt ? 'closed' : 'open'}`, learnerId: (holder as { id: string }).id,
      programme: 'IMK', stage: closedAt ? 'completed' : 'imk_approved', channel: 'e-service', balanceCents, closedAt,
    });
    return `/learner/journeys/${id}`;
  }));

  const sessions: [token: Promise<string> | null, paths: string[]][] = [
    [null, ['/terms', '/privacy', '/accessibility', '/open-data', '/programmes', '/catalogue']],
    [stack.tokenFor('learner', '320000-77001', 'Konta Turētāja'), [...accountCases, '/catalogue']],
    [stack.tokenFor('learner', '010180-10001', 'Bez Konta'), ['/programmes', '/learner']],
    [stack.adminToken(), [
      '/admin/programmes', '/admin/programmes/IMK', '/admin/programmes/MN', '/admin/calls', `/admin/calls/${callId}`, '/admin/calendar',
      '/admin/terms', '/admin/accounts', `/admin/accounts/${colleague}`, '/admin/blocks', '/admin/announcements', '/admin/role-grants',
      '/admin/statistics', '/admin/statistics?programme=IMK',
    ]],
    [stack.tokenFor('learner', '321178-40215', 'Anna Bērziņa'), ['/account/profile', '/account/roles', '/account/data-requests']],
    [stack.signIn({ role: 'provider', subject: provider.id, name: provider.displayName, providerId: provider.providerId, providerRole: 'admin' }), ['/provider/contact']],
    // --- search ---
    [stack.staffToken('staff'), await searchPages()],
  ];
  for (const [token, paths] of sessions) {
    const context = await browser.newContext({ bypassCSP: true });
    if (token) await context.addCookies([{ name: 'ila_session', value: await token, url: stack.appUrl }]);
    const page = await context.newPage();
    for (const path of paths) {
      for (const lang of ['lv', 'en'] as const) {
        const answer = await page.goto(`${stack.appUrl}${path}${path.includes('?') ? '&' : '?'}lang=${lang}`);
        t.is(answer?.status(), 200, `${path} (${lang})`);
        t.is(await page.locator('h1').count(), 1, `${path} (${lang}) has one heading`);
        t.is(await page.locator('html').getAttribute('lang'), lang, `${path} (${lang}) says its language`);
        t.deepEqual(await accessibilityProblems(page), [], `${path} (${lang}): no serious or critical accessibility violations`);
        // The text in the page's language: parts marked as another language (the switch to it) are taken out first.
        const text = await page.evaluate(`(() => {
          for (const e of document.querySelectorAll('body [lang]')) if (e.getAttribute('lang') !== '${lang}') e.remove();
          return document.body.innerText;
        })()`) as string;
        t.deepEqual(foreignText(text, lang), [], `${path} (${lang}) reads fully in its language`);
      }
    }
    await context.close();
  }
});

// --- search ---
// The inbox searched by name (with the export link) and a case's printable file: a learner case with a decided and
// an open task, its history and a letter, seeded in SQL.
async function searchPages(): Promise<string[]> {
  const [learner] = await stack.db('learners').insert({
    personCode: '010190-12345', firstName: 'Zane', lastName: 'Bērziņa', email: 'zane@example.lv', language: 'lv', termsVersion: 'test', termsAcceptedAt: new Date(),
  }).returning('id');
  const caseId = randomUUID();
  await stack.db('cases').insert({
    id: caseId, serviceCaseId: 'IMK-2026-900001', workflowId: `e2e-search:${caseId}`, learnerId: (learner as { id: string }).id,
    programme: 'IMK', stage: 'awaiting_approval', channel: 'e-service',
  });
  const taskId = randomUUID();
  await stack.db('tasks').insert([
    { id: randomUUID(), caseId, workflowId: `e2e-search:${caseId}`, step: 'approval-1', type: 'approve-imk', state: 'decided', decision: 'approve',
      decidedByName: 'Ilze Lēmēja', decidedAt: new Date(), facts: JSON.stringify({ eligibility: { rule: 'age-25-64', facts: { age: 36 } } }), dueAt: new Date() },
    { id: taskId, caseId, workflowId: `e2e-search:${caseId}`, step: 'approval-2', type: 'approve-imk', state: 'open', facts: '{}', dueAt: new Date(Date.now() + 86_400_000) },
  ]);
  await stack.db('caseEvents').insert({ caseId, step: 'registered', kind: 'registered', stage: 'registered', actorRole: 'learner', channel: 'e-service', details: '{}' });
  await stack.db('emailOutbox').insert({
    caseId, step: 'mail', template: 'imk-approved', language: 'lv', recipient: 'zane@example.lv', subject: 'Jūsu IMK', status: 'sent',
    dedupeKey: `case:${caseId}:mail`, sentAt: new Date(),
  });
  return ['/staff/tasks?q=berz&state=all', `/staff/tasks/${taskId}/file`];
}
