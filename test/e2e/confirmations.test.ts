import test from 'ava';
import type { Browser, Page } from 'playwright-core';
import { demoOffers } from '../../dev/seed-offers';
import { accessibilityProblems, launchBrowser } from '../helpers/browser';
import { adultMaker, registerThroughApi, untilStage } from '../helpers/journeys';
import { startTestStack, type TestStack } from '../helpers/stack';
import { httpClient } from '../helpers/http';

// The confirmation pages in a real browser on a 320 px phone (issue 16, items 3 and 8): a learner applies through
// "Check your application", the provider enrols through its confirmation; each page has one heading, no serious or
// critical axe finding and nothing wider than the screen, and the page after it says what happened.

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

const WIDTH = 320;
const newPerson = adultMaker(() => stack.registry, { prefix: '35', lastName: 'Tālrune', birthDate: '1987-07-07', note: 'test adult' });

async function phone(token: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: WIDTH, height: 640 }, bypassCSP: true });
  await context.addCookies([{ name: 'ila_session', value: token, url: stack.appUrl }]);
  return context.newPage();
}

async function checkConfirmationPage(t: import('ava').ExecutionContext, page: Page, heading: string) {
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  t.is(await page.locator('h1').count(), 1, `${heading}: one heading`);
  t.deepEqual(await accessibilityProblems(page), [], `${heading}: no serious or critical accessibility violations`);
  t.true(await page.evaluate('document.documentElement.scrollWidth') as number <= WIDTH, `${heading}: fits ${WIDTH} px`);
}

test('a learner applies and the provider enrols, each through a confirmation page, on a 320 px screen', async (t) => {
  const person = newPerson('Marta');
  const learnerToken = await stack.tokenFor('learner', person.code, person.name);
  const { caseId, handle } = await registerThroughApi(call, stack.temporal, learnerToken, person);
  await untilStage(stack.db, handle, caseId, 'imk_approved');
  const offer = demoOffers[1]!;

  const learner = await phone(learnerToken);
  await learner.goto(`${stack.appUrl}/catalogue/${offer.id}`);
  await learner.getByRole('button', { name: /Pieteikties/ }).first().click();
  await checkConfirmationPage(t, learner, 'Pārbaudiet pieteikumu');
  t.is((await stack.db('applications').where({ caseId })).length, 0, 'nothing applied before the confirmation');
  // The language switch keeps the confirmation and its answers.
  await learner.getByRole('link', { name: 'English' }).click();
  await checkConfirmationPage(t, learner, 'Check your application');
  await learner.getByRole('button', { name: 'Confirm and apply' }).click();
  await learner.getByRole('status').filter({ hasText: 'Your application has been submitted' }).waitFor();
  t.is((await stack.db('applications').where({ caseId })).length, 1);

  const provider = await stack.db('users').where({ username: 'provider' }).first<{ id: string; displayName: string; providerId: string }>();
  const workspace = await phone(await stack.signIn({ role: 'provider', subject: provider.id, name: provider.displayName, providerId: provider.providerId, providerRole: 'admin' }));
  await workspace.goto(`${stack.appUrl}/provider?lang=lv`);
  const card = workspace.locator('li.card', { hasText: person.name });
  await card.getByLabel('Uzņemt grupā').check();
  await card.getByRole('button', { name: 'Saglabāt lēmumu' }).click();
  await checkConfirmationPage(t, workspace, 'Pārbaudiet pirms uzņemšanas grupā');
  t.is((await stack.db('applications').where({ caseId }).first<{ state: string }>()).state, 'applied', 'nothing decided before the confirmation');
  await workspace.getByRole('button', { name: 'Apstiprināt uzņemšanu' }).click();
  await workspace.getByRole('status').filter({ hasText: 'Izglītojamais uzņemts grupā' }).waitFor();
  t.is((await stack.db('applications').where({ caseId }).first<{ state: string }>()).state, 'enrolled');
});
