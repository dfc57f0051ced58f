import test from 'ava';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../helpers/browser';
import { startTestStack, type TestStack } from '../helpers/stack';

// Nothing wider than the screen on a 320 px phone (issue 16, item 8): each page, as the role that uses it, in
// Latvian and in English, fits without horizontal scrolling.

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

const WIDTH = 320;

test('every page fits a 320 px screen in both languages', async (t) => {
  await stack.db('learners').insert({ personCode: '321178-40215', firstName: 'Anna', lastName: 'Bērziņa', email: 'anna@example.lv', language: 'lv', termsVersion: 'test', termsAcceptedAt: new Date() });
  const provider = await stack.db('users').where({ username: 'provider' }).first<{ id: string; displayName: string; providerId: string }>();
  const sessions: [token: Promise<string> | null, paths: string[]][] = [
    [null, ['/', '/catalogue', '/offers', '/terms', '/privacy', '/accessibility', '/open-data', '/staff/login']],
    [stack.tokenFor('learner', '321178-40215', 'Anna Bērziņa'), ['/learner', '/account/profile', '/account/my-data', '/account/data-requests', '/account/roles', '/offers']],
    [stack.staffToken('staff'), ['/staff/tasks', '/staff/tasks?q=berz&state=all']],
    [stack.adminToken(), ['/admin/workflows', '/admin/stuck', '/admin/programmes', '/admin/calls', '/admin/calendar', '/admin/accounts', '/admin/blocks', '/admin/audit', '/admin/announcements', '/admin/statistics']],
    [stack.signIn({ role: 'provider', subject: provider.id, name: provider.displayName, providerId: provider.providerId, providerRole: 'admin' }), ['/provider', '/provider/contact']],
  ];
  const wide: string[] = [];
  for (const [token, paths] of sessions) {
    const context = await browser.newContext({ viewport: { width: WIDTH, height: 640 } });
    if (token) await context.addCookies([{ name: 'ila_session', value: await token, url: stack.appUrl }]);
    const page = await context.newPage();
    for (const path of paths) {
      for (const lang of ['lv', 'en']) {
        const answer = await page.goto(`${stack.appUrl}${path}${path.includes('?') ? '&' : '?'}lang=${lang}`);
        t.is(answer?.status(), 200, `${path} (${lang})`);
        const width = await page.evaluate('document.documentElement.scrollWidth') as number;
        if (width <= WIDTH) continue;
        // The first elements reaching past the screen's edge, to say what to fix.
        const culprits = await page.evaluate(`[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > ${WIDTH} + 1)
          .slice(0, 4).map((e) => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '') + ' ' + Math.round(e.getBoundingClientRect().right) + ' px')`) as string[];
        wide.push(`${path} (${lang}): ${width} px, e.g. ${culprits.join(', ')}`);
      }
    }
    await context.close();
  }
  t.deepEqual(wide, [], 'pages wider than the screen');
});
