import test from 'ava';
import { MY_DATA_SECTIONS, NOT_A_LEARNERS_DATA, PERSON_TIE_COLUMNS } from '../../api/services/my-data';
import { adultMaker, registerThroughApi, untilStage } from '../helpers/journeys';
import { startTestStack, type TestStack } from '../helpers/stack';
import { assertError, httpClient } from '../helpers/http';

// Data-subject rights (issue 14 part 3) over HTTP against the real app, PostgreSQL and Temporal worker: a learner's
// own data, retention rules applied by their workflow, erasure and correction requests decided in the inbox.

let stack: TestStack;
const call = httpClient(() => stack.appUrl);

test.before(async () => { stack = await startTestStack(); });
test.after.always(async () => { await stack?.stop(); });

const newPerson = adultMaker(() => stack.registry, { prefix: '36', lastName: 'Datiņa', birthDate: '1984-04-04', note: 'test adult (data-subject rights)' });

interface Export { generatedAt: string; personCode: string; sections: Record<string, Record<string, unknown>[]> }

test('the export has a section for every table that ties a row to a person (checked against the schema)', async (t) => {
  const person = newPerson('Anna');
  const token = await stack.tokenFor('learner', person.code, person.name);
  const answer = await call('GET', '/api/learner/my-data', { token });
  t.is(answer.status, 200, answer.text);
  const sections = Object.keys((answer.json as Export).sections);
  const tables = await stack.db.raw<{ rows: { name: string }[] }>(
    `SELECT DISTINCT table_name AS name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = ANY(?) ORDER BY table_name`,
    [[...PERSON_TIE_COLUMNS]]);
  const personal = tables.rows.map((r) => r.name);
  t.true(personal.length >= 10, `tables found: ${personal.join(', ')}`);
  const uncovered = personal.filter((table) => !sections.includes(table) && !(table in NOT_A_LEARNERS_DATA));
  t.deepEqual(uncovered, [], 'a table holding personal data is neither in the export nor listed as not a learner\'s data');
  t.deepEqual(sections, [...MY_DATA_SECTIONS]);
});

test('a learner downloads their profile, case, events, e-mails, registry queries and who viewed the case; the download is audited', async (t) => {
  const person = newPerson('Baiba');
  const other = newPerson('Cilda');
  const token = await stack.tokenFor('learner', person.code, person.name);
  const { caseId, handle } = await registerThroughApi(call, stack.temporal, token, person);
  await untilStage(stack.db, handle, caseId, 'imk_approved');
  const otherToken = await stack.tokenFor('learner', other.code, other.name);
  await registerThroughApi(call, stack.temporal, otherToken, other);
  // A member of staff looked at the case.
  await stack.db('auditLog').insert({
    actorRole: 'staff', actorId: 'staff-1', actorName: 'Līga Skatītāja', action: 'case.view', subjectPersonCode: person.code, caseId,
    purpose: 'inbox: deciding a task', result: {}, keepUntil: '2030-01-01',
  });

  const answer = await call('GET', '/api/learner/my-data', { token });
  t.is(answer.status, 200, answer.text);
  const data = answer.json as Export;
  t.is(data.personCode, person.code);
  t.is(data.sections.learners.length, 1);
  t.is(data.sections.learners[0].email, `${person.code}@example.lv`);
  t.deepEqual(data.sections.cases.map((c) => c.id), [caseId]);
  t.true(data.sections.case_events.length > 0 && data.sections.case_events.every((e) => e.caseId === caseId));
  t.true(data.sections.email_outbox.some((e) => e.template === 'imk-approved'), JSON.stringify(data.sections.email_outbox));
  t.false(JSON.stringify(data.sections.email_outbox).includes('dedupeKey'));
  t.true(data.sections.audit_log.some((a) => a.action === 'population-register.get-person'), 'the registry query about them');
  t.true(data.sections.audit_log.some((a) => a.action === 'case.view' && a.actorName === 'Līga Skatītāja' && a.actorRole === 'staff'));
  t.true(data.sections.sessions.length >= 1);
  t.false(answer.text.includes('tokenHash') || answer.text.includes('token_hash'), 'no session secrets');
  t.false(answer.text.includes(other.code), 'nothing of another learner');

  const page = await call('GET', '/account/my-data', { token, html: true });
  t.is(page.status, 200);
  t.true(page.text.includes('Dati, ko par Jums glabājam'));
  t.true(page.text.includes('Līga Skatītāja'));
  t.true(page.text.includes('@media print') || page.text.includes('site.css'));
  const english = await call('GET', '/account/my-data?lang=en', { token, html: true });
  t.true(english.text.includes('The data we hold about you') && english.text.includes('Registry queries made about you'));
  const file = await call('GET', '/account/my-data.json', { token });
  t.is(file.status, 200);
  t.regex(file.headers.get('content-disposition') ?? '', /attachment/);
  t.is((file.json as Export).personCode, person.code);

  const audited = await stack.db('auditLog').where({ action: 'my_data.export', subjectPersonCode: person.code }).select('actorId', 'result');
  t.is(audited.length, 4, 'each download is audited');
  t.true(audited.every((a: { actorId: string }) => a.actorId === person.code));
});

test('only the learner themselves: staff, coordinators, providers and anonymous callers are refused', async (t) => {
  const person = newPerson('Dace');
  const staff = await stack.staffToken();
  const today = new Date().toISOString().slice(0, 10);
  await stack.db('roleGrants').insert({
    personCode: person.code, role: 'coordinator', municipality: 'Rīga', municipalityCode: '90000068977', validFrom: today, validUntil: '2099-12-31', grantedBy: 'test',
  });
  const coordinator = await stack.signIn({ role: 'coordinator', subject: person.code, name: person.name, municipality: 'Rīga' });
  const provider = await stack.signIn({ role: 'provider', subject: 'provider-user', providerRole: 'admin' });
  for (const token of [staff, coordinator, provider]) {
    assertError(t, await call('GET', '/api/learner/my-data', { token }), 403, 'forbidden');
    t.is((await call('GET', '/account/my-data', { token, html: true })).status, 403);
  }
  t.is((await call('GET', '/api/learner/my-data')).status, 401);
});
