import { randomUUID } from 'node:crypto';
import test from 'ava';
import type { Browser } from 'playwright-core';
import { accessibilityProblems, launchBrowser } from '../helpers/browser';
import { httpClient } from '../helpers/http';
import { eventually } from '../helpers/journeys';
import { startTestStack, type TestStack } from '../helpers/stack';

// The pages of role requests, grants and the career consultant's workspace (issue 15 item 6) in a real headless
// Chromium: each read in Latvian and English with no serious or critical WCAG 2.1 AA violations (axe-core).

let stack: TestStack;
let browser: Browser;
const call = httpClient(() => stack.appUrl);

test.before(async () => {
  stack = await startTestStack();
  browser = await launchBrowser();
});
test.after.always(async () => {
  await browser?.close();
  await stack?.stop();
});

test('the role, grant, consultation and consultant pages pass the accessibility check in both languages', async (t) => {
  const learner = { code: '321212-19999', name: 'Rasma Pieejamā' };
  const consultant = { code: '321212-29998', name: 'Kārlis Konsultants' };
  const learnerToken = await stack.tokenFor('learner', learner.code, learner.name);
  const filed = await call('POST', '/api/role-requests', { token: learnerToken, json: { requestId: randomUUID(), role: 'coordinator', municipality: 'Tukums', reason: 'Pieejamības pārbaude.' } });
  const requestId = (filed.json as { id: string }).id;
  await eventually(() => stack.db('tasks').where({ workflowId: `role-request:${requestId}` }).first('id'), 'the role request\'s task');
  const [grant] = await stack.db('roleGrants').insert({
    personCode: consultant.code, role: 'career_consultant', municipality: 'Tukums', organisation: 'Tukuma karjeras centrs',
    validFrom: '2026-01-01', validUntil: '2099-12-31', grantedBy: 'test',
  }).returning<{ id: string }[]>('id');
  const asked = await call('POST', '/api/learner/consultations', { token: learnerToken, json: { consultantId: grant!.id, message: 'Par karjeru.' } });
  const consultationId = (asked.json as { id: string }).id;
  await call('POST', `/api/consultant/consultations/${consultationId}/notes`, {
    token: await stack.signIn({ role: 'consultant', subject: consultant.code, name: consultant.name, municipality: 'Tukums' }), json: { text: 'Piezīme.' },
  });

  const sessions: [token: Promise<string>, paths: string[]][] = [
    [Promise.resolve(learnerToken), ['/account/roles', '/learner/consultation']],
    [stack.staffToken('staff'), [`/staff/role-requests/${requestId}`]],
    [stack.adminToken(), ['/admin/role-grants']],
    [stack.signIn({ role: 'consultant', subject: consultant.code, name: consultant.name, municipality: 'Tukums' }), ['/consultant', `/consultant/consultations/${consultationId}`, '/auth/role']],
  ];
  for (const [token, paths] of sessions) {
    const context = await browser.newContext({ bypassCSP: true });
    await context.addCookies([{ name: 'ila_session', value: await token, url: stack.appUrl }]);
    const page = await context.newPage();
    for (const path of paths) {
      for (const lang of ['lv', 'en']) {
        const answer = await page.goto(`${stack.appUrl}${path}${path.includes('?') ? '&' : '?'}lang=${lang}`);
        t.is(answer?.status(), 200, `${path} (${lang})`);
        t.is(await page.locator('h1').count(), 1, `${path} (${lang}) has one heading`);
        t.deepEqual(await accessibilityProblems(page), [], `${path} (${lang}): no serious or critical accessibility violations`);
      }
    }
    await context.close();
  }
});
