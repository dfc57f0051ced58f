import test from 'ava';
import type { Browser } from 'playwright-core';
import { accessibilityProblems, launchBrowser } from '../helpers/browser';
import { startTestStack, type TestStack } from '../helpers/stack';
import { demoUsers } from '../../dev/seed';

// The thin slice as people live it, in a real headless Chromium: a learner signs in through the national
// sign-on stub and applies, an agency officer approves in the inbox, the learner sees "IMK approved".
let stack: TestStack;
let browser: Browser;

test.before(async () => {
  stack = await startTestStack({ manualApproval: ['IMK'] });
  browser = await launchBrowser();
});
test.after.always(async () => {
  await browser?.close();
  await stack?.stop();
});

test('a learner applies, staff approve, the learner sees "IMK approved" and gets an e-mail', async (t) => {
  const learner = await (await browser.newContext({ bypassCSP: true })).newPage();
  await learner.goto(stack.appUrl);
  await learner.getByRole('link', { name: 'Pieteikties ar Latvija.gov.lv' }).click();
  await learner.getByRole('button', { name: /Anna Bērziņa/ }).click();
  await learner.waitForURL(`${stack.appUrl}/learner`);
  t.true(await learner.getByText('Labdien, Anna Bērziņa!').isVisible());

  // A form with a mistake is shown again with the message next to the field.
  await learner.getByLabel('E-pasts').fill('not-an-address');
  await learner.getByRole('button', { name: 'Iesniegt pieteikumu' }).click();
  t.regex(await learner.locator('#email-error').innerText(), /jābūt e-pasta adresei/);
  t.regex(await learner.locator('#acceptTerms-error').innerText(), /Lietošanas noteikumi: jāatzīmē/);

  await learner.getByLabel('E-pasts').fill('anna.berzina@example.lv');
  await learner.getByLabel(/individuālais mācību konts/).check();
  await learner.getByLabel(/piekrītu platformas lietošanas noteikumiem/).check();
  await learner.getByRole('button', { name: 'Iesniegt pieteikumu' }).click();
  await learner.waitForURL(/\/learner\/journeys\//);
  await learner.getByTestId('stage').filter({ hasText: 'Gaida aģentūras apstiprinājumu' }).waitFor();
  t.deepEqual(await accessibilityProblems(learner), [], 'journey page: no serious or critical accessibility violations');

  const staff = await (await browser.newContext({ bypassCSP: true })).newPage();
  const { username, password } = demoUsers.find((u) => u.role === 'staff')!;
  await staff.goto(`${stack.appUrl}/staff/tasks`);
  await staff.getByLabel('Lietotājvārds').fill(username);
  await staff.getByLabel('Parole').fill(password);
  await staff.getByRole('button', { name: 'Pieteikties' }).click();
  await staff.waitForURL(`${stack.appUrl}/staff/tasks`);
  t.deepEqual(await accessibilityProblems(staff), [], 'inbox: no serious or critical accessibility violations');
  await staff.getByRole('row', { name: /Anna Bērziņa/ }).getByRole('link').click();
  t.deepEqual(await accessibilityProblems(staff), [], 'task page: no serious or critical accessibility violations');
  t.true(await staff.getByRole('heading', { name: 'Apstiprināt IMK: Anna Bērziņa' }).isVisible());
  await staff.getByLabel('Apstiprināt', { exact: true }).check();
  await staff.getByRole('button', { name: 'Saglabāt lēmumu' }).click();
  // Check your answers: the decision and the facts it rests on, then confirm (api/confirmations.ts).
  await staff.getByRole('heading', { level: 1, name: 'Pārbaudiet pirms apstiprināšanas' }).waitFor();
  t.deepEqual(await accessibilityProblems(staff), [], 'decision confirmation: no serious or critical accessibility violations');
  t.is(Number((await stack.db('tasks').where({ state: 'decided' }).count<{ count: string }[]>('* as count'))[0]!.count), 0, 'nothing is decided before the confirmation');
  await staff.getByRole('button', { name: 'Apstiprināt lēmumu' }).click();
  await staff.waitForURL(`${stack.appUrl}/staff/tasks?done=decided`);
  t.true(await staff.getByText('Lēmums ir reģistrēts.').isVisible(), 'the inbox says the decision is recorded');
  t.true(await staff.getByText('Nav atvērtu uzdevumu.').isVisible());

  await learner.reload();
  t.is(await learner.getByTestId('stage').innerText(), 'IMK apstiprināts');
  t.true(await learner.getByText('500,00 EUR').isVisible());
  await learner.getByRole('link', { name: 'English' }).click();
  t.is(await learner.getByTestId('stage').innerText(), 'IMK approved');

  const mail = await stack.mail.waitFor((m) => m.to.includes('anna.berzina@example.lv'));
  t.regex(mail.subject, /IMK-\d{4}-\d{6}/);
});
