import test from 'ava';
import type { Browser } from 'playwright-core';
import { accessibilityProblems, launchBrowser } from '../helpers/browser';
import { startTestStack, type TestStack } from '../helpers/stack';

// A form sent with problems comes back with a summary above it (issue 16, item 8): focused as the page opens, one
// link per problem, each to the field it is about; the page passes axe in both languages.

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

/** The forms, each sent empty (or as the page fills it) by its first submit button inside main. */
const FORMS: [who: 'learner' | 'admin', path: string, form: string][] = [
  ['learner', '/account/profile', 'form[action="/account/profile"]'],
  ['admin', '/admin/terms', 'form[action="/admin/terms"]'],
  ['admin', '/admin/accounts', 'form[action="/admin/accounts"]'],
  ['admin', '/admin/announcements', 'form[action="/admin/announcements"]'],
  ['admin', '/admin/programmes', 'form[action="/admin/programmes"]'],
];

test('a form sent with problems shows a focused summary whose links lead to each field, in Latvian and English', async (t) => {
  // A registered learner (the profile belongs to one), seeded in SQL: the journey is not the point here.
  await stack.db('learners').insert({ personCode: '321178-40215', firstName: 'Anna', lastName: 'Bērziņa', email: 'anna@example.lv', language: 'lv', termsVersion: 'test', termsAcceptedAt: new Date() });
  const tokens = { learner: await stack.tokenFor('learner', '321178-40215', 'Anna Bērziņa'), admin: await stack.adminToken() };
  for (const [who, path, formSelector] of FORMS) {
    for (const lang of ['lv', 'en'] as const) {
      const context = await browser.newContext({ bypassCSP: true });
      await context.addCookies([{ name: 'ila_session', value: tokens[who], url: stack.appUrl }]);
      const page = await context.newPage();
      await page.goto(`${stack.appUrl}${path}?lang=${lang}`);
      const form = page.locator(formSelector);
      // Emptied text fields: each required one becomes a problem.
      for (const field of await form.locator('input[type=text], input[type=email], input:not([type]), textarea').all()) await field.fill('');
      // The server's answer is what is tested, not the browser's own checks of `required` fields.
      await form.evaluate('(f) => { f.noValidate = true; }');
      const [answer] = await Promise.all([page.waitForEvent('response', (r) => r.request().method() === 'POST'), form.locator('button[type=submit]').first().click()]);
      await page.waitForLoadState();
      t.is(answer.status(), 400, `${path} (${lang}) refuses the empty form`);
      const summary = page.locator('.error-summary');
      t.is(await summary.count(), 1, `${path} (${lang}) shows one error summary`);
      t.is(await page.evaluate('document.activeElement?.className'), 'error-summary', `${path} (${lang}): the summary has the focus`);
      const targets = await page.evaluate(`[...document.querySelectorAll('.error-summary a')]
        .map((a) => [a.getAttribute('href'), !!document.getElementById(a.getAttribute('href').slice(1))])`) as [string, boolean][];
      t.true(targets.length > 0, `${path} (${lang}) lists its problems`);
      t.deepEqual(targets.filter(([, exists]) => !exists).map(([href]) => href), [], `${path} (${lang}): every link leads to its field`);
      t.deepEqual(await accessibilityProblems(page), [], `${path} (${lang}): no serious or critical accessibility violations`);
      await context.close();
    }
  }
});
