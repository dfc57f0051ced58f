import { createHash } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { generateSync } from 'otplib';
import type { Browser, Page } from 'playwright-core';
import { accessibilityProblems, launchBrowser } from '../helpers/browser';
import { demoUsers } from '../../dev/seed';
import { SESSION_TIMEOUTS } from '../../lib/sessions';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually, startLearnerJourney, untilStage } from '../helpers/journeys';

// Issue 5 in a real headless Chromium: a staff member filters the inbox, claims a task from the keyboard and
// decides it; an administrator finds a journey stuck on the Population Register and retries it once the register
// is back. axe-core checks the inbox, task and console pages for serious or critical WCAG 2.1 AA violations.

const ANNA = '321178-40215';
const JANIS = '150690-11223';

let stack: TestStack;
let browser: Browser;
/** The demo administrator's second factor once set up here: the secret read from the page, the last step used. */
let adminTotp: { secret: string; lastStep: number; recoveryCodes: string[] } | undefined;

/**
 * A browser page logged in as one of the demo users (the pages bypass CSP only so the test can inject axe). The
 * administrator sets up the second factor at the first login (reading the secret off the page, as a person types
 * it into an app) and gives a code at later ones.
 */
async function loggedIn(username: string, next: string, t?: ExecutionContext): Promise<Page> {
  const page = await (await browser.newContext({ bypassCSP: true })).newPage();
  const { password } = demoUsers.find((u) => u.username === username)!;
  await page.goto(`${stack.appUrl}${next}`);
  await page.getByLabel('Lietotājvārds').fill(username);
  await page.getByLabel('Parole').fill(password);
  await page.getByRole('button', { name: 'Pieteikties' }).click();
  if (username === 'admin') await secondFactor(page, t);
  await page.waitForURL((url) => url.pathname === next);
  return page;
}

/** Answers the administrator's second-factor step: set-up at the first login, a code at later ones. */
async function secondFactor(page: Page, t?: ExecutionContext): Promise<void> {
  // Both steps show the same code field; only the set-up shows the secret.
  const codeField = page.getByLabel('Kods no lietotnes (6 cipari) vai rezerves kods');
  await codeField.waitFor();
  if (await page.getByTestId('totp-secret').count() > 0) {
    if (t) t.deepEqual(await accessibilityProblems(page), [], 'second-factor set-up: no serious or critical accessibility violations');
    const secret = (await page.getByTestId('totp-secret').innerText()).trim();
    adminTotp = { secret, lastStep: Math.floor(Date.now() / 30_000), recoveryCodes: [] };
    await codeField.fill(generateSync({ secret, epoch: adminTotp.lastStep * 30 }));
    await page.getByRole('button', { name: 'Iestatīt' }).click();
    await page.getByTestId('recovery-codes').waitFor();
    adminTotp.recoveryCodes = (await page.getByTestId('recovery-codes').locator('code').allInnerTexts()).map((c) => c.trim());
    if (t) t.deepEqual(await accessibilityProblems(page), [], 'recovery codes: no serious or critical accessibility violations');
    await page.getByRole('link', { name: 'Turpināt' }).click();
    return;
  }
  // A code works once: the next login needs a later time step (the app's next code is accepted up to 30 s early).
  // Logins closer together than that use a recovery code, as a person would rather than wait for the next code.
  const totp = adminTotp!;
  const now = Math.floor(Date.now() / 30_000);
  if (totp.lastStep + 1 <= now + 1) {
    totp.lastStep = Math.max(totp.lastStep + 1, now);
    await codeField.fill(generateSync({ secret: totp.secret, epoch: totp.lastStep * 30 }));
  } else {
    await codeField.fill(totp.recoveryCodes.shift()!);
  }
  await page.getByRole('button', { name: 'Pieteikties' }).click();
}

test.before(async () => {
  stack = await startTestStack({ manualApproval: ['IMK'] });
  browser = await launchBrowser();
});
test.after.always(async () => {
  await browser?.close();
  await stack?.stop();
});

test.serial('staff filter the inbox, claim a task with the keyboard and decide it; the learner\'s case moves on', async (t) => {
  const { caseId, handle } = await startLearnerJourney(stack.temporal, stack.taskQueue, ANNA);
  await eventually(() => stack.db('tasks').where({ caseId, state: 'open' }).first(), 'the approval task');

  const staff = await loggedIn('staff', '/staff/tasks');
  // The filters are a plain GET form: the view is in the URL and can be shared.
  await staff.getByLabel('Uzdevuma veids').selectOption('approve-imk');
  await staff.getByLabel('Atbildīgais').selectOption('unassigned');
  await staff.getByRole('button', { name: 'Rādīt' }).click();
  await staff.waitForURL(/type=approve-imk/);
  t.regex(staff.url(), /assignee=unassigned/);
  t.deepEqual(await accessibilityProblems(staff), [], 'filtered inbox: no serious or critical accessibility violations');

  const row = staff.getByRole('row', { name: /Anna Bērziņa/ });
  await row.getByRole('button', { name: 'Ņemt' }).focus();
  await staff.keyboard.press('Enter');
  await staff.getByRole('status').filter({ hasText: 'Uzdevums tagad ir jūsu.' }).waitFor();
  const claimed = await stack.db('tasks').where({ caseId }).first();
  t.truthy(claimed.assigneeId, 'the task is claimed');

  await staff.goto(`${stack.appUrl}/staff/tasks/${claimed.id}`);
  t.deepEqual(await accessibilityProblems(staff), [], 'task page: no serious or critical accessibility violations');
  await staff.getByLabel('Apstiprināt', { exact: true }).check();
  await staff.getByRole('button', { name: 'Saglabāt lēmumu' }).click();
  await staff.getByRole('heading', { level: 1, name: 'Pārbaudiet pirms apstiprināšanas' }).waitFor();
  t.is((await stack.db('tasks').where({ caseId }).first()).state, 'open', 'nothing is decided before the confirmation');
  await staff.getByRole('button', { name: 'Apstiprināt lēmumu' }).click();
  await staff.waitForURL(`${stack.appUrl}/staff/tasks?done=decided`);
  await staff.getByRole('status').filter({ hasText: 'Lēmums ir reģistrēts.' }).waitFor();
  await untilStage(stack.db, handle, caseId, 'imk_approved');
  const decided = await stack.db('tasks').where({ caseId }).first();
  t.like(decided, { state: 'decided', decision: 'approve', decidedByName: 'Inese Kļaviņa' });
  const claimEvent = await stack.db('caseEvents').where({ caseId, kind: 'task_claimed' }).first();
  t.is(claimEvent.actorName, 'Inese Kļaviņa');
});

test.serial('an administrator sets up the second factor at the first login, and sees and ends another session', async (t) => {
  const other = await loggedIn('admin', '/admin/registries', t);
  const page = await (await browser.newContext({ bypassCSP: true })).newPage();
  await page.goto(`${stack.appUrl}/account/sessions`);
  await page.getByLabel('Lietotājvārds').fill('admin');
  await page.getByLabel('Parole').fill(demoUsers.find((u) => u.username === 'admin')!.password);
  await page.getByRole('button', { name: 'Pieteikties' }).click();
  t.deepEqual(await accessibilityProblems(page), [], 'the code step: no serious or critical accessibility violations');
  await secondFactor(page);
  await page.waitForURL((url) => url.pathname === '/account/sessions');
  t.deepEqual(await accessibilityProblems(page), [], 'sessions page: no serious or critical accessibility violations');
  t.is(await page.getByRole('button', { name: 'Beigt šo sesiju' }).count(), 1, 'the other session can be ended');
  await page.getByRole('button', { name: 'Beigt šo sesiju' }).click();
  await page.getByRole('status').filter({ hasText: 'Sesija ir beigta.' }).waitFor();
  await other.reload();
  t.is(new URL(other.url()).pathname, '/staff/login', 'the ended session is sent to the login page');
});

test.serial('an administrator finds a journey stuck on the Population Register and retries it once the register is back', async (t) => {
  stack.registry.setDown(true);
  try {
    const { caseId, handle } = await startLearnerJourney(stack.temporal, stack.taskQueue, JANIS);
    // Three failed attempts take about 3 s with the registry retry policy (1 s, 2 s, ...).
    await eventually(async () => {
      const described = await handle.describe();
      return (described.raw.pendingActivities ?? []).some((a) => (a.attempt ?? 0) >= 3) || null;
    }, 'three failed lookups', 30_000);

    const admin = await loggedIn('admin', '/admin/stuck');
    const group = admin.getByRole('heading', { name: /^Population Register: connection/ });
    await group.waitFor();
    t.deepEqual(await accessibilityProblems(admin), [], 'stuck view: no serious or critical accessibility violations');

    await admin.getByRole('link', { name: handle.workflowId }).first().click();
    await admin.waitForURL(/\/admin\/workflows\//);
    t.true(await admin.getByRole('heading', { name: 'Kas neizdodas' }).isVisible());
    t.deepEqual(await accessibilityProblems(admin), [], 'workflow page: no serious or critical accessibility violations');

    // A retry without a reason is refused next to the field, and nothing happens.
    await admin.getByLabel(/Atkārtot tagad/).check();
    await admin.getByRole('button', { name: 'Izpildīt' }).click();
    t.regex(await admin.locator('#reason-error').innerText(), /Iemesls: jābūt vismaz 5 rakstzīmes garam/);

    stack.registry.setDown(false);
    await admin.getByLabel(/Atkārtot tagad/).check();
    await admin.getByLabel(/Iemesls/).fill('Iedzīvotāju reģistrs atkal pieejams');
    await admin.getByRole('button', { name: 'Izpildīt' }).click();
    await admin.getByRole('status').filter({ hasText: 'activity restarted: lookupPerson' }).waitFor();
    await untilStage(stack.db, handle, caseId, 'awaiting_approval');

    // An announcement, so its page is checked with a listed one (its forms and the e-mail's progress) too.
    await stack.db('announcements').insert({
      titleLv: 'Plānots pārtraukums', titleEn: 'Planned interruption', bodyLv: 'Platforma nebūs pieejama.', bodyEn: 'The platform is down.',
      audience: 'everyone', showsFrom: new Date(), showsUntil: new Date(Date.now() + 3_600_000), email: true, emailTotal: 3, createdByName: 'Administrators',
    });
    for (const path of ['/admin/workflows', '/admin/registries', '/admin/batches', '/admin/announcements']) {
      await admin.goto(`${stack.appUrl}${path}`);
      t.deepEqual(await accessibilityProblems(admin), [], `${path}: no serious or critical accessibility violations`);
      t.is(await admin.locator('h1').count(), 1, `${path}: one heading says where the reader is`);
    }
    // --- programmes ---: the programmes list and one programme's page (versions, windows, wait-list), in both languages.
    for (const path of ['/admin/programmes?lang=en', '/admin/programmes/IMK', '/admin/programmes/IMK?lang=lv']) {
      await admin.goto(`${stack.appUrl}${path}`);
      t.deepEqual(await accessibilityProblems(admin), [], `${path}: no serious or critical accessibility violations`);
      t.is(await admin.locator('h1').count(), 1, `${path}: one heading says where the reader is`);
    }
    // The health panel updates itself, and the reader can stop that (WCAG 2.2.1).
    await admin.goto(`${stack.appUrl}/admin/registries`);
    await admin.getByRole('button', { name: 'Pārtraukt atjaunošanu' }).click();
    await admin.getByRole('status').filter({ hasText: 'Automātiskā atjaunošana pārtraukta' }).waitFor();
  } finally {
    stack.registry.setDown(false);
  }
});

test.serial('an administrator repairs a consistency violation from the console panel, and reads that it was repaired', async (t) => {
  // A reservation whose journey never started (its start's answer lost), older than its settle window.
  const caseId = '00000000-0000-4000-8000-00000000e2e1';
  await stack.db('journeyReservations').insert({ personCode: '010101-10101', programme: 'DPP', caseId, createdAt: new Date(Date.now() - 600_000) });
  const admin = await loggedIn('admin', '/admin/consistency');
  t.deepEqual(await accessibilityProblems(admin), [], '/admin/consistency: no serious or critical accessibility violations');
  t.is(await admin.locator('h1').count(), 1);
  const row = admin.getByRole('row').filter({ hasText: caseId });
  await row.getByLabel(/Iemesls/).fill('Darbplūsma netika sākta');
  await row.getByRole('button', { name: 'Labot' }).click();
  await admin.getByRole('status').filter({ hasText: `Labots: reservation_unsettled objektam ${caseId}` }).waitFor();
  t.is(await stack.db('journeyReservations').where({ caseId }).first(), undefined);
  t.is(await admin.getByText('Pārkāpumu nav').count(), 1);
  t.deepEqual(await accessibilityProblems(admin), [], 'the page after the repair: no serious or critical accessibility violations');
});

test.serial('the page warns before the session idles out; its button keeps the session alive, and without it the session ends', async (t) => {
  // A second API with short limits: 6 s idle, the warning 4 s before the end.
  const idleMs = 6_000;
  const short = await stack.serveApi({
    sessionTimeouts: { ...SESSION_TIMEOUTS, warnBeforeMs: 4_000, touchEveryMs: 0, idleMs: { staff: idleMs, admin: idleMs, provider: idleMs, coordinator: idleMs, consultant: idleMs, learner: idleMs } },
  });
  const page = await (await browser.newContext({ bypassCSP: true })).newPage();
  await page.goto(`${short.url}/staff/tasks`);
  await page.getByLabel('Lietotājvārds').fill('staff');
  await page.getByLabel('Parole').fill(demoUsers.find((u) => u.username === 'staff')!.password);
  await page.getByRole('button', { name: 'Pieteikties' }).click();
  await page.waitForURL((url) => url.pathname === '/staff/tasks');
  const loggedInAt = Date.now();

  const warning = page.getByRole('alert').filter({ hasText: 'Jūsu sesija beigsies' });
  await warning.waitFor();
  t.deepEqual(await accessibilityProblems(page), [], 'the warning: no serious or critical accessibility violations');
  await page.getByRole('button', { name: 'Palikt pieteiktam' }).click();
  await warning.waitFor({ state: 'hidden' });
  // Past the end the session had before the button: still alive.
  await page.waitForTimeout(Math.max(0, loggedInAt + idleMs + 500 - Date.now()));
  // Read from the table, since a request would itself count as activity.
  const token = (await page.context().cookies()).find((c) => c.name === 'ila_session')!.value;
  const row = await stack.db('sessions').where({ tokenHash: createHash('sha256').update(token).digest('hex') }).first();
  t.is(row.endedAt, null, 'the button kept the session alive');
  t.true(row.idleExpiresAt.getTime() > Date.now());

  // Left alone now: the page says the session has ended, and the server agrees.
  await page.getByRole('alert').filter({ hasText: 'Jūsu sesija ir beigusies' }).waitFor({ timeout: 15_000 });
  t.true(await page.getByRole('link', { name: 'Pieteikties vēlreiz' }).isVisible());
  t.is((await page.request.get(`${short.url}/api/staff/tasks`)).status(), 401);
});
