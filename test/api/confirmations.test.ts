import { randomUUID } from 'node:crypto';
import test from 'ava';
import { demoUsers } from '../../dev/seed';
import { demoOffers } from '../../dev/seed-offers';
import { applyUpdate } from '../../workflows/learner-journey-application';
import { adultMaker, eventually, registerThroughApi, startLearnerJourney, untilStage } from '../helpers/journeys';
import { startTestStack, type TestStack } from '../helpers/stack';
import { httpClient, type Answer } from '../helpers/http';

// Check your answers before money moves (issue 16, item 3): the first form post only shows a confirmation page; the
// confirmation's form acts, once however often it is sent; the page after it says what happened, in Latvian and English.

let stack: TestStack;
const call = httpClient(() => stack.appUrl);

test.before(async () => { stack = await startTestStack(); });
test.after.always(async () => { await stack?.stop(); });

const newPerson = adultMaker(() => stack.registry, { prefix: '34', lastName: 'Apstiprina', birthDate: '1985-05-05', note: 'test adult' });
const decode = (html: string) => html.replace(/&#x27;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&');

/** The hidden fields of the page's form that posts to `action` (but the form token: these calls carry a bearer token). */
function formFields(page: Answer, action: string): Record<string, string> {
  const form = page.text.split(`action="${action}"`)[1]?.split('</form>')[0] ?? '';
  return Object.fromEntries([...form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)]
    .filter((m) => m[1] !== '_csrf').map((m) => [m[1]!, decode(m[2]!)]));
}

/** The text of the page's role="status" panel. */
const statusText = (page: Answer) => decode(/<div role="status" class="status-message">(.*?)<\/div>/s.exec(page.text)?.[1]?.replace(/<[^>]+>/g, '') ?? '');

test.serial('apply: the Apply form leads to a confirmation that changes nothing; its form applies once; the journey page says so in LV and EN', async (t) => {
  const person = newPerson('Ieva');
  const token = await stack.tokenFor('learner', person.code, person.name);
  const { caseId, handle } = await registerThroughApi(call, stack.temporal, token, person);
  await untilStage(stack.db, handle, caseId, 'imk_approved');
  const offer = demoOffers[1]!;
  const group = offer.groups[0]!;
  const before = await stack.db('cases').where({ id: caseId }).first<{ balanceCents: number }>();
  const applicationMails = async () => (await stack.db('emailOutbox').where({ caseId, template: 'application-received' })).length;

  const requestId = randomUUID();
  const first = await call('POST', `/learner/journeys/${caseId}/applications`, { token, html: true, form: { requestId, offerId: offer.id, groupId: group.id } });
  t.is(first.status, 303, first.text);
  const location = first.headers.get('location')!;
  t.true(location.startsWith(`/learner/journeys/${caseId}/applications/confirm?`), location);
  t.is((await stack.db('applications').where({ caseId })).length, 0, 'nothing applied yet');
  t.is((await stack.db('cases').where({ id: caseId }).first<{ balanceCents: number }>()).balanceCents, before.balanceCents, 'nothing reserved yet');
  t.is(await applicationMails(), 0, 'no e-mail yet');
  const forged = await call('GET', `/learner/journeys/${caseId}/applications/confirm?answers=v1.aaaa.bbbb.cccc`, { token, html: true });
  t.is(forged.status, 303, 'answers the server did not seal send the page back');

  const page = await call('GET', location, { token, html: true });
  t.is(page.status, 200);
  const text = decode(page.text);
  t.is((text.match(/<h1/g) ?? []).length, 1);
  t.true(text.includes('<h1>Pārbaudiet pieteikumu</h1>'));
  t.true(text.includes(offer.titleLv));
  const euro = (cents: number) => `${(cents / 100).toFixed(2).replace('.', ',')} EUR`;
  t.regex(text, new RegExp(`data-testid="confirm-cost">${euro(offer.costCents)}`));
  t.regex(text, new RegExp(`data-testid="confirm-balance-after">${euro(before.balanceCents - offer.costCents)}`));
  t.true(text.includes(`href="/catalogue/${offer.id}"`), 'a Change link back to the offer');
  const fields = formFields(page, `/learner/journeys/${caseId}/applications`);
  t.deepEqual(fields, { requestId, offerId: offer.id, groupId: group.id, confirmed: 'yes' }, 'the answers and the first form\'s request id travel on');
  const english = await call('GET', `${location}&lang=en`, { token, html: true });
  t.true(english.text.includes('<h1>Check your application</h1>'));

  const confirm = () => call('POST', `/learner/journeys/${caseId}/applications`, { token, html: true, form: fields });
  const done = await confirm();
  t.is(done.status, 303);
  t.is(done.headers.get('location'), `/learner/journeys/${caseId}?notice=applied`);
  const again = await confirm();
  t.is(again.headers.get('location'), `/learner/journeys/${caseId}?notice=applied`, 'a resubmitted confirmation gets the same answer');
  t.is((await stack.db('applications').where({ caseId })).length, 1, 'applied once');
  t.is((await stack.db('cases').where({ id: caseId }).first<{ balanceCents: number }>()).balanceCents, before.balanceCents - offer.costCents, 'reserved once');
  await eventually(async () => ((await applicationMails()) === 1 ? true : null), 'the application-received e-mail, once');

  t.regex(statusText(await call('GET', `/learner/journeys/${caseId}?notice=applied&lang=lv`, { token, html: true })), /Jūsu pieteikums ir iesniegts/);
  t.regex(statusText(await call('GET', `/learner/journeys/${caseId}?notice=applied&lang=en`, { token, html: true })), /Your application has been submitted/);

  // Withdrawing before enrolment: the confirmation says the money returns; only its form withdraws.
  const withdrawal = await call('POST', `/learner/journeys/${caseId}/withdrawal`, { token, html: true, form: { requestId: randomUUID(), reason: 'Cits laiks' } });
  t.is(withdrawal.status, 303);
  t.is((await stack.db('applications').where({ caseId }).first<{ state: string }>()).state, 'applied', 'not withdrawn yet');
  const check = await call('GET', withdrawal.headers.get('location')!, { token, html: true });
  t.regex(decode(check.text), new RegExp(`Rezervētie ${euro(offer.costCents)} atgriezīsies jūsu kontā`));
  const withdrawn = await call('POST', `/learner/journeys/${caseId}/withdrawal`, { token, html: true, form: formFields(check, `/learner/journeys/${caseId}/withdrawal`) });
  t.is(withdrawn.headers.get('location'), `/learner/journeys/${caseId}?notice=withdrawn_application`);
  t.is((await stack.db('cases').where({ id: caseId }).first<{ balanceCents: number }>()).balanceCents, before.balanceCents, 'the reserved amount is back');
  t.regex(statusText(await call('GET', withdrawn.headers.get('location')!, { token, html: true })), /Rezervētā summa ir atgriezta jūsu kontā/);
});

test.serial('enrol and completion: the workspace forms lead to confirmations that change nothing; each acts once; the workspace says so in LV and EN', async (t) => {
  const demoUser = demoUsers.find((u) => u.role === 'provider')!;
  const user = await stack.db('users').where({ username: demoUser.username }).first<{ id: string; displayName: string; providerId: string }>();
  const token = await stack.signIn({ role: 'provider', subject: user.id, name: user.displayName, providerId: user.providerId });
  const now = Date.now();
  const [offer] = await stack.db('offers').insert({
    providerId: user.providerId, programme: 'IMK', titleLv: 'Apstiprināšana (paraugs)', titleEn: 'Confirming (sample)', costCents: 20_000, published: true,
    applicationsOpenAt: new Date(now - 3_600_000), applicationsCloseAt: new Date(now + 86_400_000), groupFormationDeadline: new Date(now + 86_400_000),
  }).returning<{ id: string }[]>('id');
  // A group that has ended, so its completion may be reported.
  const [group] = await stack.db('offerGroups').insert({ offerId: offer!.id, place: 'Rīga, Elizabetes iela 1', startsOn: '2026-09-07', endsOn: '2026-11-27', capacity: 20 })
    .returning<{ id: string }[]>('id');
  const person = newPerson('Jānis');
  const { caseId, handle } = await startLearnerJourney(stack.temporal, stack.taskQueue, person.code);
  await untilStage(stack.db, handle, caseId, 'imk_approved');
  const applied = await handle.executeUpdate(applyUpdate, {
    args: [{ offerId: offer!.id, groupId: group!.id, actor: { role: 'learner', id: person.code, name: person.name, channel: 'e-service' } }],
  });
  const applicationId = applied.applicationId!;
  const row = () => stack.db('applications').where({ id: applicationId }).first<{ state: string; spentCents: number; earmarkedCents: number }>();
  const templates = async () => (await stack.db('emailOutbox').where({ caseId }).pluck('template')) as string[];

  for (const [kind, answers, state, doneCode, heading, mail] of [
    ['decision', { decision: 'enrol', reason: '' }, 'enrolled', 'enrolled', 'Pārbaudiet pirms uzņemšanas grupā', 'enrolled'],
    ['outcome', { outcome: 'completed' }, 'completed', 'completed', 'Pārbaudiet pirms pabeigšanas reģistrēšanas', 'study-completed'],
  ] as const) {
    const action = `/provider/applications/${applicationId}/${kind}`;
    const stateBefore = (await row()).state;
    const first = await call('POST', action, { token, html: true, form: answers });
    t.is(first.status, 303, first.text);
    const location = first.headers.get('location')!;
    t.true(location.startsWith(`${action}/confirm?`), location);
    t.is((await row()).state, stateBefore, `${kind}: nothing changed yet`);
    t.false((await templates()).includes(mail), `${kind}: no e-mail yet`);

    const page = await call('GET', location, { token, html: true });
    t.is(page.status, 200);
    t.true(decode(page.text).includes(`<h1>${heading}</h1>`));
    t.regex(page.text, new RegExp(`data-testid="confirm-learner">${person.name}`));
    if (kind === 'outcome') t.regex(decode(page.text), /200,00 EUR tiek izlietoti/, 'completion says it spends the reserved money');
    const fields = formFields(page, action);
    t.is(fields.confirmed, 'yes');

    const confirm = () => call('POST', action, { token, html: true, form: fields });
    const done = await confirm();
    t.is(done.status, 303, done.text);
    t.is(done.headers.get('location'), `/provider?done=${doneCode}#status`);
    const again = await confirm();
    t.is(again.headers.get('location'), `/provider?done=${doneCode}#status`, `${kind}: a resubmitted confirmation gets the same answer`);
    t.is((await row()).state, state);
    await eventually(async () => ((await templates()).filter((name) => name === mail).length === 1 ? true : null), `the ${mail} e-mail`);
    t.regex(statusText(await call('GET', `/provider?done=${doneCode}&lang=lv`, { token, html: true })), kind === 'decision' ? /Izglītojamais uzņemts grupā/ : /Mācību pabeigšana reģistrēta/);
    t.regex(statusText(await call('GET', `/provider?done=${doneCode}&lang=en`, { token, html: true })), kind === 'decision' ? /The learner is enrolled/ : /Completion is recorded/);
  }
  t.like(await row(), { spentCents: 20_000, earmarkedCents: 0 }, 'spent once');
  const events = await stack.db('caseEvents').where({ caseId }).whereIn('kind', ['enrolled', 'completed']).pluck('kind');
  t.deepEqual([...events].sort(), ['completed', 'enrolled'], 'one event each');
});

test.serial('terminate in the console: the action form leads to a confirmation that stops nothing; its form terminates once', async (t) => {
  const person = newPerson('Rūdolfs');
  const { caseId, handle } = await startLearnerJourney(stack.temporal, stack.taskQueue, person.code);
  await untilStage(stack.db, handle, caseId, 'imk_approved');
  const token = await stack.adminToken();
  const action = `/admin/workflows/${encodeURIComponent(handle.workflowId)}/actions`;
  const first = await call('POST', action, { token, html: true, form: { action: 'terminate', reason: 'Dubultā lieta' } });
  t.is(first.status, 303, first.text);
  const location = first.headers.get('location')!;
  t.true(location.startsWith(`${action}/confirm?`), location);
  t.is((await handle.describe()).status.name, 'RUNNING', 'nothing stopped yet');

  const page = await call('GET', `${location}&lang=en`, { token, html: true });
  t.is(page.status, 200);
  t.true(page.text.includes('<h1>Check before you terminate the workflow</h1>'));
  t.regex(page.text, new RegExp(`data-testid="confirm-workflow">${handle.workflowId}`));
  const fields = formFields(page, action);
  t.deepEqual(fields, { action: 'terminate', reason: 'Dubultā lieta', confirmed: 'yes' });

  const done = await call('POST', action, { token, html: true, form: fields });
  t.is(done.status, 303, done.text);
  t.regex(done.headers.get('location')!, /\?done=/);
  t.is((await handle.describe()).status.name, 'TERMINATED');
  const again = await call('POST', action, { token, html: true, form: fields });
  t.is(again.status, 409, 'a resubmitted confirmation finds nothing running and does nothing');
  t.regex(statusText(await call('GET', done.headers.get('location')!, { token, html: true })), /Process pārtraukts\. terminated; /);
});
