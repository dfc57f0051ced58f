import test from 'ava';
import { queuePriority } from '../../domain/social-status';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { decideApprovalUpdate, journeyStateQuery } from '../../workflows/learner-journey';
import { applyUpdate } from '../../workflows/learner-journey-application';
import type { Actor } from '../../domain/journey';
import { CURRENT_TERMS_VERSION } from '../../domain/terms';
import { assertError, fieldsOf, httpClient } from '../helpers/http';
import { adultMaker, openTaskOf, startLearnerJourney, untilStage } from '../helpers/journeys';
import { startTestStack, type TestStack } from '../helpers/stack';

// Programmes edited by the agency (issue 15, items 1 and 2), against the real stack: versions with an effective date
// (a running journey keeps its version, a new one takes the new version; SOPA is not asked where the rule is
// not_used), application windows with a cap each, and the doors (admin only; a bad field is a 400 in LV and EN).

let stack: TestStack;
const call = httpClient(() => stack.appUrl);
let admin: string;
let staff: string;
const newAdult = adultMaker(() => stack.registry, { prefix: '71', lastName: 'Programma', birthDate: '1984-04-04', note: 'programmes test adult' });
const decider: Actor = { role: 'staff', id: 'staff-1', name: 'Inese Kļaviņa', channel: 'staff' };

test.before(async () => {
  stack = await startTestStack();
  admin = await stack.adminToken();
  staff = await stack.staffToken();
});
test.after.always(async () => { await stack?.stop(); });

const RULES = {
  nameLv: 'Pārbaudes programma (paraugs)', nameEn: 'Test programme (sample)', minAge: 18, maxAge: null, funding: 'account',
  balanceCents: 40_000, copayPercent: null, socialStatusRule: 'priority', approval: 'manual',
};
const sopaQueriesOf = async (caseId: string) => (await stack.db('auditLog').where({ action: 'sopa.get-statuses', caseId })).length;

test.serial('only an administrator may see or change programmes', async (t) => {
  assertError(t, await call('GET', '/api/admin/programmes'), 401, 'not_logged_in');
  assertError(t, await call('GET', '/api/admin/programmes', { token: staff }), 403, 'forbidden');
  assertError(t, await call('POST', '/api/admin/programmes/IMK/versions', { token: staff, json: { ...RULES, reason: 'no right to' } }), 403, 'forbidden');
  const list = await call('GET', '/api/admin/programmes', { token: admin });
  t.is(list.status, 200, list.text);
  t.deepEqual((list.json as { programmes: { code: string }[] }).programmes.map((p) => p.code), ['DPP', 'IMK', 'MN']);
});

test.serial('bad input is a 400 naming each field and its rule, in Latvian and English; nothing is stored', async (t) => {
  const bad = await call('POST', '/api/admin/programmes', {
    token: admin, json: { ...RULES, code: 'BAD', overCap: 'waitlist', funding: 'account', copayPercent: 60, minAge: 30, maxAge: 20, reason: '' },
  });
  const error = assertError(t, bad, 400, 'invalid_request');
  t.deepEqual([...new Set(fieldsOf(error))].sort(), ['copayPercent', 'maxAge', 'reason']);
  const copay = error.details.find((d) => d.field === 'copayPercent') as unknown as { rule: string; words: { lv: string; en: string } };
  t.is(copay.rule, 'too_big');
  t.regex(copay.words.en, /5 to 50/);
  t.regex(copay.words.lv, /no 5 līdz 50/);
  // A share in range is still refused where the programme is not co-paid.
  const notCopay = assertError(t, await call('POST', '/api/admin/programmes', { token: admin, json: { ...RULES, code: 'BAD', overCap: 'waitlist', copayPercent: 20, reason: 'test' } }), 400, 'invalid_request');
  t.like(notCopay.details, [{ field: 'copayPercent', rule: 'copay_programme_only' }]);
  t.is(await stack.db('programmes').where({ code: 'BAD' }).first(), undefined);
  // The page shows the problem next to the field, in the page's language.
  const page = await call('POST', '/admin/programmes?lang=en', { token: admin, html: true, form: { code: 'BAD', ...stringify(RULES), copayPercent: '60', funding: 'copay', balanceCents: '0', overCap: 'waitlist', reason: 'test' } });
  t.is(page.status, 400, page.text.slice(0, 300));
  t.regex(page.text, /Co-payment share: a whole per cent from 5 to 50/);
});

test.serial('a programme edit applies to new journeys only: the running one keeps its version and money; where the new rule is not_used SOPA is not asked', async (t) => {
  const created = await call('POST', '/api/admin/programmes', { token: admin, json: { ...RULES, code: 'TESTV', overCap: 'waitlist', reason: 'a programme for the test' } });
  t.is(created.status, 201, created.text);
  await call('POST', '/api/admin/programmes/TESTV/windows', { token: admin, json: { opensAt: new Date(Date.now() - 60_000).toISOString(), reason: 'open now' } });

  // Version 1 (priority, manual approval, EUR 400): the journey asks SOPA, then waits for staff.
  const first = newAdult('Pirmais');
  const old = await startLearnerJourney(stack.temporal, stack.taskQueue, first.code, { programme: 'TESTV' });
  const task = await openTaskOf(stack.db, old.caseId);
  t.is(await sopaQueriesOf(old.caseId), 1, 'priority: SOPA asked');

  // Version 2: EUR 250, automatic approval, social status not used.
  const edited = await call('POST', '/api/admin/programmes/TESTV/versions', {
    token: admin, json: { ...RULES, nameEn: 'Test programme, edited (sample)', balanceCents: 25_000, socialStatusRule: 'not_used', approval: 'automatic', reason: 'the ministry cut the grant' },
  });
  t.is(edited.status, 200, edited.text);
  t.like(edited.json, { current: { version: 2, balanceCents: 25_000, inEffect: true }, priorityOrder: false });
  const audit = await stack.db('auditLog').where({ action: 'programme.version_added' }).first<{ purpose: string; actorRole: string; result: { before: { version: number; balanceCents: number }; after: { version: number; balanceCents: number } } }>();
  t.like(audit, { purpose: 'the ministry cut the grant', actorRole: 'admin', result: { before: { version: 1, balanceCents: 40_000 }, after: { version: 2, balanceCents: 25_000 } } });
  t.like(await stack.db('programmes').where({ code: 'TESTV' }).first(), { nameEn: 'Test programme, edited (sample)', currentVersion: 2 });

  // A new journey takes version 2: approved automatically with EUR 250, and SOPA is not asked at all.
  const second = newAdult('Otrais');
  const fresh = await startLearnerJourney(stack.temporal, stack.taskQueue, second.code, { programme: 'TESTV' });
  await untilStage(stack.db, fresh.handle, fresh.caseId, 'imk_approved');
  t.like(await stack.db('cases').where({ id: fresh.caseId }).first(), { programmeVersion: 2, balanceCents: 25_000 });
  t.is(await sopaQueriesOf(fresh.caseId), 0, 'not_used: SOPA not asked');

  // The running journey keeps version 1: staff still decide, and it is granted EUR 400.
  await old.handle.executeUpdate(decideApprovalUpdate, { args: [{ taskId: task.id, decision: 'approve', comment: '', decidedBy: decider }] });
  await untilStage(stack.db, old.handle, old.caseId, 'imk_approved');
  t.like(await stack.db('cases').where({ id: old.caseId }).first(), { programmeVersion: 1, balanceCents: 40_000 });
  t.is((await old.handle.query(journeyStateQuery)).stage, 'imk_approved');
});

test.serial('a second window opens and its cap holds: past it the programme\'s rule (refusal) applies; windows may not overlap', async (t) => {
  const imk = (await call('GET', '/api/admin/programmes/IMK', { token: admin })).json as { windows: { id: string; opensAt: string; applicationsReceived: number }[] };
  t.is(imk.windows.length, 1);
  const firstWindow = imk.windows[0]!;
  const now = Date.now();
  // A second window cannot open while the first has no end.
  const overlap = await call('POST', '/api/admin/programmes/IMK/windows', { token: admin, json: { opensAt: new Date(now).toISOString(), cap: 1, overCap: 'refuse', reason: 'second round' } });
  t.like(assertError(t, overlap, 409, 'window_overlaps').details[0], { field: 'opensAt', rule: 'no_overlap' });
  const closed = await call('POST', `/api/admin/programmes/IMK/windows/${firstWindow.id}`, {
    token: admin, json: { opensAt: firstWindow.opensAt, closesAt: new Date(now - 1_000).toISOString(), cap: 2000, reason: 'first round over' },
  });
  t.is(closed.status, 200, closed.text);
  const opened = await call('POST', '/api/admin/programmes/IMK/windows', { token: admin, json: { opensAt: new Date(now - 500).toISOString(), cap: 1, overCap: 'refuse', reason: 'second round' } });
  t.is(opened.status, 201, opened.text);
  const second = (opened.json as { windows: { id: string; openNow: boolean; cap: number }[] }).windows.find((w) => w.openNow)!;
  t.is(second.cap, 1);

  const providerRow = await stack.db('providers').first<{ id: string }>('id');
  const [offer] = await stack.db('offers').insert({
    providerId: providerRow.id, programme: 'IMK', titleLv: 'Kurss (paraugs)', titleEn: 'Course (sample)', costCents: 10_000, published: true,
    applicationsOpenAt: new Date(now - 3_600_000), applicationsCloseAt: new Date(now + 86_400_000), groupFormationDeadline: new Date(now + 86_400_000),
  }).returning<{ id: string }[]>('id');
  const [group] = await stack.db('offerGroups').insert({ offerId: offer!.id, place: 'Rīga', startsOn: '2027-01-11', endsOn: '2027-03-26', capacity: 10 }).returning<{ id: string }[]>('id');

  const answers = [];
  for (const name of ['Trešais', 'Ceturtais']) {
    const person = newAdult(name);
    const journey = await startLearnerJourney(stack.temporal, stack.taskQueue, person.code);
    await untilStage(stack.db, journey.handle, journey.caseId, 'imk_approved');
    answers.push(await journey.handle.executeUpdate(applyUpdate, {
      args: [{ offerId: offer!.id, groupId: group!.id, actor: { role: 'learner', id: person.code, name, channel: 'e-service' } }],
    }));
  }
  t.like(answers[0], { outcome: 'applied' });
  t.like(answers[1], { outcome: 'refused', reason: 'cap_reached', earmarkedCents: 0 });
  const windows = await stack.db('programmeWindows').where({ programme: 'IMK' }).orderBy('opensAt');
  t.deepEqual(windows.map((w: { applicationsReceived: number }) => w.applicationsReceived), [firstWindow.applicationsReceived, 1]);
  t.like(await stack.db('applications').where({ id: answers[0]!.applicationId }).first(), { windowId: second.id, holdsPlace: true });
  const changes = await stack.db('auditLog').whereIn('action', ['programme.window_added', 'programme.window_changed']).orderBy('id');
  t.deepEqual(changes.map((c: { purpose: string }) => c.purpose).slice(-2), ['first round over', 'second round']);
});

test.serial('where the rule is priority the wait-list is served by social status, then time, and the page says so', async (t) => {
  // Three wait-listed applications in IMK (priority): seeded in SQL, the journey is not the point here.
  const make = async (status: string | null, minutesAgo: number) => {
    const caseId = (await stack.db.raw(`SELECT gen_random_uuid() AS id`)).rows[0].id as string;
    const person = newAdult(`Gaida${minutesAgo}`);
    const [learner] = await stack.db('learners').insert({ personCode: person.code, email: `${person.code}@example.lv`, language: 'lv', termsVersion: CURRENT_TERMS_VERSION, termsAcceptedAt: new Date() }).returning<{ id: string }[]>('id');
    await stack.db('cases').insert({ id: caseId, serviceCaseId: `IMK-T-${minutesAgo}`, workflowId: `learner-journey:${caseId}`, learnerId: learner!.id, programme: 'IMK', programmeVersion: 1, stage: 'waitlisted', channel: 'e-service' });
    await stack.db('caseEvents').insert({ caseId, step: 'eligibility', kind: 'eligible', stage: 'imk_approved', actorRole: 'system', channel: 'system', details: { facts: status ? { socialStatus: status } : {} } });
    const offer = await stack.db('offers').first<{ id: string }>('id');
    const group = await stack.db('offerGroups').where({ offerId: offer.id }).first<{ id: string }>('id');
    await stack.db('applications').insert({ id: caseId, caseId, attempt: 1, offerId: offer.id, groupId: group.id, state: 'waitlisted', costCents: 0, actorRole: 'learner', channel: 'e-service', createdAt: new Date(Date.now() - minutesAgo * 60_000),
      waitlistPriority: queuePriority(status as 'poor' | 'low_income' | null, 'priority') });
  };
  await make(null, 30);
  await make('low_income', 20);
  await make('poor', 10);
  const answer = await call('GET', '/api/admin/programmes/IMK', { token: admin });
  const imk = answer.json as { priorityOrder: boolean; waitlist: { serviceCaseId: string; socialStatus: string | null }[] };
  t.true(imk.priorityOrder);
  // The answer is what the OpenAPI document says it is (versions, windows and the wait-list included).
  const document = (await call('GET', '/api/openapi.json')).json as { paths: Record<string, { get: { responses: Record<string, { content: { 'application/json': { schema: object } } }> } }> };
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  const validate = ajv.compile(document.paths['/api/admin/programmes/{code}']!.get.responses['200']!.content['application/json'].schema);
  t.true(validate(imk), ajv.errorsText(validate.errors));
  t.deepEqual(imk.waitlist.map((w) => w.serviceCaseId), ['IMK-T-10', 'IMK-T-20', 'IMK-T-30']);
  const page = await call('GET', '/admin/programmes/IMK?lang=en', { token: admin, html: true });
  t.is(page.status, 200);
  t.regex(page.text, /gives priority by social status: the wait-list is served poor households first/);
  const lv = await call('GET', '/admin/programmes/IMK?lang=lv', { token: admin, html: true });
  t.regex(lv.text, /prioritāti nosaka sociālais statuss/);
});

function stringify(values: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

test.serial('the programmes page reads in both languages', async (t) => {
  for (const [lang, heading] of [['lv', /Izveidot programmu/], ['en', /Create a programme/]] as const) {
    const page = await call('GET', `/admin/programmes?lang=${lang}`, { token: admin, html: true });
    t.is(page.status, 200);
    t.regex(page.text, heading);
  }
});
