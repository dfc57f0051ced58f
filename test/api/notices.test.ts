import { randomUUID } from 'node:crypto';
import test from 'ava';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { providerNotices } from '../../workflows/provider-notices';
import { insertOffer, insertProvider } from '../helpers/catalogue';
import { assertError, httpClient, type Answer } from '../helpers/http';
import { eventually } from '../helpers/journeys';
import { startTestStack, type TestStack } from '../helpers/stack';

// Issue 15 items 9 and 10 over HTTP against the real app, PostgreSQL, Temporal worker and mail catcher: the agency's
// announcements (banner per audience and period, e-mail once per person) and the notifications to providers.

let stack: TestStack;
const call = httpClient(() => stack.appUrl);

test.before(async () => { stack = await startTestStack(); });
test.after.always(async () => { await stack?.stop(); });

const HOUR = 3_600_000;

interface View { id: string; showing: boolean; mailing: { total: number | null; sent: number; rejected: number; finished: boolean } | null }

function announcement(overrides: Record<string, unknown> = {}) {
  const tag = randomUUID().slice(0, 8);
  return {
    titleLv: `Darbības pārtraukums ${tag}`, titleEn: `Planned interruption ${tag}`,
    bodyLv: 'Platforma nebūs pieejama no 20:00 līdz 22:00.', bodyEn: 'The platform is down from 20:00 to 22:00.',
    audience: 'learners', showsFrom: new Date(Date.now() - HOUR).toISOString(), showsUntil: new Date(Date.now() + HOUR).toISOString(),
    email: false, reason: 'Plānoti serveru darbi', ...overrides,
  };
}

async function publish(body: Record<string, unknown>): Promise<View> {
  const answer = await call('POST', '/api/admin/announcements', { token: await stack.adminToken(), json: body });
  if (answer.status !== 201) throw new Error(`publish: HTTP ${answer.status} ${answer.text}`);
  return answer.json as View;
}

async function viewOf(id: string): Promise<View> {
  const answer = await call('GET', '/api/admin/announcements', { token: await stack.adminToken() });
  return (answer.json as { announcements: View[] }).announcements.find((a) => a.id === id)!;
}

test('an announcement is e-mailed once per address, even when its mailing is stopped midway and started again', async (t) => {
  const { db } = stack;
  const tag = randomUUID().slice(0, 8);
  // 25 learners, one of whom shares an address (in other letter case) with another: 24 people to write to.
  const codes: string[] = [];
  for (let i = 0; i < 25; i += 1) {
    const email = i === 24 ? `Notice-${tag}-0@Example.lv` : `notice-${tag}-${i}@example.lv`;
    codes.push(`32${String(i).padStart(4, '0')}-${String(Math.floor(Math.random() * 100_000)).padStart(5, '0')}`);
    await db('learners').insert({
      personCode: codes[i],
      firstName: 'Zane', lastName: `Nr${i}`, email, language: i % 2 ? 'en' : 'lv', termsVersion: 'test', termsAcceptedAt: new Date(),
    });
  }
  // A 26th learner is blocked today: their account is on hold, so the announcement is not e-mailed to them.
  const blocked = `notice-${tag}-blocked@example.lv`;
  const blockedCode = `32${String(Math.floor(Math.random() * 10_000)).padStart(4, '0')}-99999`;
  await db('learners').insert({ personCode: blockedCode, firstName: 'Zane', lastName: 'Bloķētā', email: blocked, language: 'lv', termsVersion: 'test', termsAcceptedAt: new Date() });
  await db('accountBlocks').insert({ id: randomUUID(), subjectKind: 'learner', personCode: blockedCode, kind: 'block', reason: 'Pārbaude', createdById: 'test' });
  const published = await publish(announcement({ email: true }));
  // Stopped as an outage or an administrator would stop it, once the first e-mails are out.
  await eventually(async () => (await viewOf(published.id)).mailing!.sent > 0, 'the first e-mails');
  const { mailingWorkflowId } = await db('announcements').where({ id: published.id }).first<{ mailingWorkflowId: string }>('mailingWorkflowId');
  await stack.temporal.workflow.getHandle(mailingWorkflowId).terminate('test: the mailing stops midway');

  const again = await call('POST', `/api/admin/announcements/${published.id}/mailing`, { token: await stack.adminToken(), json: { reason: 'Sūtīšana apstājās' } });
  t.is(again.status, 202, again.text);
  const twice = await call('POST', `/api/admin/announcements/${published.id}/mailing`, { token: await stack.adminToken(), json: { reason: 'Vēlreiz' } });
  assertError(t, twice, 409, 'mailing_running');
  const done = await eventually(async () => { const v = await viewOf(published.id); return v.mailing!.finished ? v : null; }, 'the mailing to finish');

  const addresses = (await db('learners').where({ active: true }).whereNull('pseudonymisedAt').whereNot({ email: blocked }).select<{ email: string }[]>('email'))
    .map((r) => r.email.toLowerCase());
  const people = new Set(addresses);
  const titles = await db('announcements').where({ id: published.id }).first<{ titleLv: string; titleEn: string }>('titleLv', 'titleEn');
  const ours = stack.mail.messages().filter((m) => m.subject.endsWith(titles.titleLv) || m.subject.endsWith(titles.titleEn));
  const perAddress = new Map<string, number>();
  for (const m of ours) for (const to of m.to) perAddress.set(to.toLowerCase(), (perAddress.get(to.toLowerCase()) ?? 0) + 1);
  t.deepEqual([...perAddress.keys()].sort(), [...people].sort(), 'every learner\'s address got it');
  t.false(perAddress.has(blocked), 'but not the blocked learner\'s');
  t.deepEqual([...new Set(perAddress.values())], [1], 'and only once');
  t.like(done.mailing, { total: people.size, sent: people.size, rejected: 0, finished: true });
  const progress = await call('GET', '/admin/announcements?lang=en', { token: await stack.adminToken(), html: true });
  t.true(progress.text.includes(`E-mail sent to ${people.size} of ${people.size}.`), 'the admin page shows the progress');
  t.true(people.has(`notice-${tag}-0@example.lv`) && addresses.filter((a) => a === `notice-${tag}-0@example.lv`).length === 2);

  // The e-mail is part of the learner's own data.
  const mine = await call('GET', '/api/learner/my-data', { token: await stack.tokenFor('learner', codes[1], 'Zane Nr1') });
  t.like((mine.json as { sections: { email_outbox: unknown[] } }).sections.email_outbox, [{ template: 'announcement', recipient: `notice-${tag}-1@example.lv`, status: 'sent' }]);

  const audited = await db('auditLog').where('action', 'like', 'announcement.%').orderBy('at').select<{ action: string; purpose: string }[]>('action', 'purpose');
  t.true(audited.some((a) => a.action === 'announcement.published' && a.purpose === 'Plānoti serveru darbi'));
  t.true(audited.some((a) => a.action === 'announcement.mailing_started' && a.purpose === 'Sūtīšana apstājās'));
});

test('the banner shows to its audience only, only in its period, and not once withdrawn', async (t) => {
  const now = await publish(announcement());
  const later = await publish(announcement({ showsFrom: new Date(Date.now() + HOUR).toISOString(), showsUntil: new Date(Date.now() + 2 * HOUR).toISOString() }));
  const forStaff = await publish(announcement({ audience: 'staff' }));
  const titles = async (id: string) => (await stack.db('announcements').where({ id }).first<{ titleLv: string; titleEn: string }>('titleLv', 'titleEn'));
  const [nowTitle, laterTitle, staffTitle] = [await titles(now.id), await titles(later.id), await titles(forStaff.id)];
  const page = async (token?: string, lang = 'lv'): Promise<Answer> => call('GET', `/catalogue?lang=${lang}`, { token, html: true });

  const learner = await stack.tokenFor('learner', '320000-00001', 'Zane Banere');
  const asLearner = await page(learner);
  t.is(asLearner.status, 200);
  t.true(asLearner.text.includes(nowTitle.titleLv), 'a learner sees the learners\' announcement');
  t.false(asLearner.text.includes(laterTitle.titleLv), 'not before its period');
  t.false(asLearner.text.includes(staffTitle.titleLv), 'nor the staff\'s');
  t.true((await page(learner, 'en')).text.includes(nowTitle.titleEn), 'in English too');
  const providerId = await insertProvider(stack.db);
  const provider = await stack.signIn({ role: 'provider', subject: randomUUID(), providerId, providerRole: 'admin' });
  t.false((await page(provider)).text.includes(nowTitle.titleLv), 'a provider does not see it');
  t.false((await page()).text.includes(nowTitle.titleLv), 'nor a visitor');
  t.true((await page(await stack.staffToken())).text.includes(staffTitle.titleLv), 'staff see theirs');

  const withdrawn = await call('POST', `/api/admin/announcements/${now.id}/withdraw`, { token: await stack.adminToken(), json: { reason: 'Darbi atcelti' } });
  t.is(withdrawn.status, 200, withdrawn.text);
  t.false((await page(learner)).text.includes(nowTitle.titleLv), 'withdrawn, it is gone');
  const again = await call('POST', `/api/admin/announcements/${now.id}/withdraw`, { token: await stack.adminToken(), json: { reason: 'Vēlreiz' } });
  assertError(t, again, 409, 'already_withdrawn');
  const audit = await stack.db('auditLog').where({ action: 'announcement.withdrawn' }).whereRaw("result->>'announcementId' = ?", [now.id]).first<{ purpose: string; result: { before: { withdrawnAt: string | null }; after: { withdrawnAt: string | null } } }>('purpose', 'result');
  t.is(audit!.purpose, 'Darbi atcelti');
  t.is(audit!.result.before.withdrawnAt, null);
  t.truthy(audit!.result.after.withdrawnAt);
});

test('bad input is refused naming the field in Latvian and English; only an administrator publishes', async (t) => {
  const admin = await stack.adminToken();
  const bad = await call('POST', '/api/admin/announcements', {
    token: admin, json: announcement({ audience: 'friends', reason: '' }),
  });
  const error = assertError(t, bad, 400, 'invalid_request');
  const details = error.details as { field: string; words?: { lv: string; en: string } }[];
  t.deepEqual(details.map((d) => d.field).sort(), ['audience', 'reason']);
  t.true(details.every((d) => d.words && d.words.lv !== d.words.en), 'each problem is worded in both languages');
  t.is(details.find((d) => d.field === 'reason')!.words!.lv, 'Norādiet iemeslu (līdz 500 zīmēm): to saglabā auditā.');
  const past = await call('POST', '/api/admin/announcements', { token: admin, json: announcement({ showsFrom: new Date(Date.now() - 3 * HOUR).toISOString(), showsUntil: new Date(Date.now() - 2 * HOUR).toISOString() }) });
  const pastError = assertError(t, past, 400, 'invalid_request');
  t.like(pastError.details, [{ field: 'showsUntil', rule: 'in_future', words: { en: 'Give a date and time in the future after the start (at most 366 days later).' } }]);

  const form = await call('POST', '/admin/announcements', { token: admin, html: true, form: { ...announcement(), email: 'on', showsFrom: '2026-12-10T08:00', showsUntil: '2026-12-09T08:00' } as Record<string, string> });
  t.is(form.status, 400);
  t.true(form.text.includes('Norādiet datumu un laiku nākotnē pēc sākuma'), 'the page says it next to the field, in Latvian');

  const asStaff = await call('POST', '/api/admin/announcements', { token: await stack.staffToken(), json: announcement() });
  t.is(asStaff.status, 403);
  t.is((await call('GET', '/admin/announcements', { token: await stack.staffToken(), html: true })).status, 403);
  const pageAnswer = await call('GET', '/admin/announcements?lang=en', { token: admin, html: true });
  t.is(pageAnswer.status, 200);
  t.true(pageAnswer.text.includes('Announcements to users'));

  // The answers match their response schemas in the OpenAPI document (which the fuzz stage checks answers against).
  const document = (await call('GET', '/api/openapi.json')).json as { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>> };
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  const conforms = (method: string, path: string, answer: Answer) => {
    const schema = document.paths[path]?.[method]?.responses[String(answer.status)]?.content?.['application/json']?.schema;
    t.truthy(schema, `${method} ${path} ${answer.status} has a schema`);
    const validate = ajv.compile(schema!);
    t.true(validate(answer.json), `${method} ${path}: ${ajv.errorsText(validate.errors)}`);
  };
  const created = await call('POST', '/api/admin/announcements', { token: admin, json: announcement({ audience: 'providers' }) });
  conforms('post', '/api/admin/announcements', created);
  conforms('get', '/api/admin/announcements', await call('GET', '/api/admin/announcements', { token: admin }));
  const id = (created.json as View).id;
  conforms('post', '/api/admin/announcements/{announcementId}/withdraw', await call('POST', `/api/admin/announcements/${id}/withdraw`, { token: admin, json: { reason: 'Kļūda' } }));
});

test('providers hear of a new application and a near group deadline once; missing outcomes get a reminder, then an overdue task', async (t) => {
  const { db } = stack;
  const providerEmail = `notices-${randomUUID().slice(0, 8)}@example.lv`;
  const providerId = await insertProvider(db, { email: providerEmail });
  const day = (offsetDays: number) => new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
  const { offerId, groupIds } = await insertOffer(db, {
    providerId, groups: [
      { place: 'Rīga, Brīvības iela 1 (paraugs)', startsOn: day(-60), endsOn: day(-3), capacity: 10, enrolled: 1 },
      { place: 'Liepāja, Lielā iela 2 (paraugs)', startsOn: day(20), endsOn: day(80), capacity: 10 },
    ],
  });
  // Groups close within the hour: well inside 2 working days.
  await db('offers').where({ id: offerId }).update({ groupFormationDeadline: new Date(Date.now() + HOUR) });
  const application = async (groupId: string, state: 'applied' | 'enrolled') => {
    const [learner] = await db('learners').insert({
      personCode: `32${String(Math.floor(Math.random() * 10_000)).padStart(4, '0')}-${String(Math.floor(Math.random() * 100_000)).padStart(5, '0')}`,
      firstName: 'Ilze', lastName: state, email: `${state}-${randomUUID().slice(0, 6)}@example.lv`, language: 'lv', termsVersion: 'test', termsAcceptedAt: new Date(),
    }).returning('id') as { id: string }[];
    const caseId = randomUUID();
    await db('cases').insert({
      id: caseId, serviceCaseId: `TEST-${caseId.slice(0, 13)}`, workflowId: `test-notices:${caseId}`, learnerId: learner.id, programme: 'IMK',
      stage: state === 'applied' ? 'applied' : 'studying', channel: 'e-service',
    });
    await db('applications').insert({
      id: randomUUID(), caseId, attempt: 1, offerId, groupId, state, costCents: 32_000, earmarkedCents: 32_000, actorRole: 'learner', channel: 'e-service',
      enrolledAt: state === 'enrolled' ? new Date() : null,
    });
  };
  await application(groupIds[1], 'applied');
  await application(groupIds[0], 'enrolled');

  const scan = () => stack.temporal.workflow.execute(providerNotices, { taskQueue: stack.taskQueue, workflowId: `provider-notices:test-${randomUUID()}`, args: [{ overdueAfterMs: 0 }] });
  const first = await scan();
  t.like(first, { newApplications: 1, groupDeadlines: 1, outcomeReminders: 1, followUps: 1 });
  t.deepEqual(await scan(), { newApplications: 0, groupDeadlines: 0, outcomeReminders: 0, followUps: 0 }, 'a second scan sends nothing again');

  const toProvider = stack.mail.messages().filter((m) => m.to.includes(providerEmail)).map((m) => m.subject).sort();
  t.is(toProvider.length, 3, toProvider.join(' | '));
  t.true(toProvider.some((s) => s.startsWith('Jauns pieteikums:')));
  t.true(toProvider.some((s) => s.startsWith('Atgādinājums: grupas komplektēšanas termiņš')));
  t.true(toProvider.some((s) => s.startsWith('Atgādinājums: norādiet mācību rezultātus')));

  const task = await eventually(() => db('tasks').where({ offerId, type: 'outcomes-overdue', state: 'open' })
    .first<{ id: string; createdAt: Date } | undefined>('id', 'createdAt'), 'the overdue task');
  const reminder = await db('emailOutbox').where({ dedupeKey: `provider-notice:outcomes:${offerId}` }).first<{ sentAt: Date }>('sentAt');
  t.true(new Date(reminder.sentAt).getTime() <= new Date(task.createdAt).getTime(), 'the reminder came first');
  const inbox = await call('GET', '/api/staff/tasks?type=outcomes-overdue&due=overdue', { token: await stack.staffToken() });
  t.is(inbox.status, 200, inbox.text);
  t.true(inbox.text.includes(task.id), 'the task is among the overdue ones in the inbox');

  const decided = await call('POST', `/api/staff/tasks/${task.id}/decision`, { token: await stack.staffToken(), json: { decision: 'approve', comment: 'Sazinājāmies ar iestādi.' } });
  t.is(decided.status, 200, decided.text);
  t.is((await db('tasks').where({ id: task.id }).first<{ state: string }>('state')).state, 'decided');
});
