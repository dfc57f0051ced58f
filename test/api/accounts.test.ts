import { randomUUID } from 'node:crypto';
import test from 'ava';
import { demoOffers } from '../../dev/seed-offers';
import { rigaDate } from '../../domain/dates';
import { passwordFingerprint } from '../../lib/password-reset';
import { hashPassword } from '../../lib/passwords';
import { insertProvider, insertProviderTask } from '../helpers/catalogue';
import { assertError, httpClient } from '../helpers/http';
import { adultMaker, eventually, registerThroughApi, untilStage, type TestPerson } from '../helpers/journeys';
import { startTestStack, type TestStack } from '../helpers/stack';

// Issue 15 items 5 and 7 over HTTP on the real stack: staff accounts an administrator creates and changes (the
// holder sets the password through the e-mailed link), and blocks of a learner and a provider user.

let stack: TestStack;
const call = httpClient(() => stack.appUrl);

test.before(async () => { stack = await startTestStack(); });
test.after.always(async () => { await stack?.stop(); });

const day = (offsetDays: number) => rigaDate(new Date(Date.now() + offsetDays * 86_400_000));
const messagesTo = (address: string) => stack.mail.messages().filter((m) => m.to.includes(address));
const linkIn = (text: string) => /\/staff\/password\/reset\?token=([^\s"&<]+)/.exec(text)?.[1];
const login = (username: string, password: string) => call('POST', '/api/auth/login', { json: { username, password }, headers: { 'x-forwarded-for': `203.0.113.${Math.floor(Math.random() * 200) + 20}` } });
type Words = { lv: string; en: string };

test.serial('only an administrator manages accounts and blocks; bad input is a 400 naming each field and rule in Latvian and English', async (t) => {
  const staff = await stack.staffToken();
  assertError(t, await call('POST', '/api/admin/accounts', { token: staff, json: { username: 'x' } }), 403, 'forbidden');
  assertError(t, await call('POST', '/api/admin/blocks', { token: staff, json: {} }), 403, 'forbidden');
  const admin = await stack.adminToken();
  const bad = assertError(t, await call('POST', '/api/admin/accounts', {
    token: admin, json: { username: 'A b', displayName: '', email: 'nav-epasts', role: 'boss', validFrom: '2026-12-31', validUntil: '2026-02-30', reason: '' },
  }), 400, 'invalid_request');
  const byField = Object.fromEntries((bad.details as { field: string; rule: string; words: Words }[]).map((d) => [d.field, d]));
  t.deepEqual(Object.keys(byField).sort(), ['displayName', 'email', 'reason', 'role', 'username', 'validUntil']);
  for (const field of Object.keys(byField)) t.true(bad.message.includes(`${field}:`), `the message names ${field}`);
  t.is(byField.validUntil!.words.lv, 'Norādiet datumu formā GGGG-MM-DD, ne agrāku par sākuma datumu.');
  t.is(byField.role!.words.en, 'Choose a role: staff, team lead or administrator.');
  const order = assertError(t, await call('POST', '/api/admin/accounts', {
    token: admin, json: { username: 'a.b', displayName: 'A B', email: 'a.b@agency.example', role: 'staff', validFrom: '2027-01-02', validUntil: '2027-01-01', reason: 'jauns darbinieks' },
  }), 400, 'invalid_request');
  t.like(order.details[0], { field: 'validUntil' });
  const block = assertError(t, await call('POST', '/api/admin/blocks', { token: admin, json: { subjectKind: 'learner', subject: '999999-99999', kind: 'block', reason: 'pārbaude', endsOn: '2020-01-01' } }), 400, 'invalid_request');
  t.like(block.details[0], { field: 'endsOn', rule: 'not_in_past', words: { lv: 'Beigu datumam jābūt šodien vai vēlāk.', en: 'The end date must be today or later.' } });
  // The page shows the problems next to the fields, in the page's language.
  const page = await call('POST', '/admin/accounts?lang=en', { token: admin, html: true, form: { username: '', displayName: 'A', email: 'a@agency.example', role: 'staff', reason: 'new colleague' } });
  t.is(page.status, 400);
  t.regex(page.text, /The username must be 3–60 characters/);
  // Every string of the new pages is in both languages (a missing one would show its key).
  for (const [path, heading] of [['/admin/accounts?lang=lv', 'Darbinieku konti'], ['/admin/accounts?lang=en', 'Staff accounts'],
    ['/admin/blocks?lang=lv', 'Bloķēšana un apturēšana'], ['/admin/blocks?lang=en', 'Blocks and suspensions'],
    [`/admin/accounts/${(await stack.db('users').where({ username: 'staff' }).first()).id}?lang=en`, 'Staff account: ']] as const) {
    const shown = await call('GET', path, { token: admin, html: true });
    t.is(shown.status, 200, path);
    t.true(shown.text.includes(heading), `${path} says ${heading}`);
    t.notRegex(shown.text, /[>"\s](accounts|blocks)\.[a-zA-Z_.]+[<"]/, `${path}: no untranslated key`);
  }
});

test.serial('a new account\'s holder sets the password through the e-mailed link, once; an ended validity period refuses sign-in and the live session', async (t) => {
  const admin = await stack.adminToken();
  const created = await call('POST', '/api/admin/accounts', {
    token: admin, json: { username: 'Anna.Berzina', displayName: 'Anna Bērziņa', email: 'anna@agency.example', role: 'team_lead', validFrom: day(0), reason: 'jauna komandas vadītāja' },
  });
  t.is(created.status, 201, created.text);
  const { account, linkSent } = created.json as { account: { id: string; username: string; role: string; passwordSet: boolean }; linkSent: boolean };
  t.like(account, { username: 'anna.berzina', role: 'team_lead', passwordSet: false });
  t.true(linkSent);
  const row = await stack.db('users').where({ id: account.id }).first();
  t.like(row, { role: 'staff', teamLead: true });
  t.is((await login('anna.berzina', '')).status, 400, 'no password works before the holder sets one');

  const mail = await eventually(async () => messagesTo('anna@agency.example')[0], 'the set-password e-mail');
  t.is(mail.subject, 'Jūsu konts individuālo mācību kontu platformā: iestatiet paroli');
  const token = decodeURIComponent(linkIn(mail.text)!);
  const password = 'Kalnu#Ezers2026';
  t.is((await call('POST', '/api/auth/password-resets', { json: { token, password, passwordRepeat: password } })).status, 200);
  assertError(t, await call('POST', '/api/auth/password-resets', { json: { token, password: 'Cits#Kalns2026', passwordRepeat: 'Cits#Kalns2026' } }), 410, 'link_expired');
  // A link past its time is refused although the password it was made for is still the one set.
  const hash = (await stack.db('users').where({ id: account.id }).first<{ passwordHash: string }>('passwordHash')).passwordHash;
  const stale = await stack.links.sign('reset-password', account.id, -1, { fp: passwordFingerprint(hash) });
  assertError(t, await call('POST', '/api/auth/password-resets', { json: { token: stale, password: 'Cits#Kalns2026', passwordRepeat: 'Cits#Kalns2026' } }), 410, 'link_expired');
  t.true(((await call('GET', `/api/admin/accounts/${account.id}`, { token: admin })).json as { passwordSet: boolean }).passwordSet);

  const signedIn = await login('anna.berzina', password);
  t.is(signedIn.status, 200, signedIn.text);
  const session = (signedIn.json as { token: string }).token;
  t.is((await call('GET', '/api/staff/tasks', { token: session })).status, 200);

  // The administrator ends the validity period yesterday: the live session ends at its next request, and so does sign-in.
  const changed = await call('POST', `/api/admin/accounts/${account.id}`, { token: admin, json: { validFrom: day(-10), validUntil: day(-1), reason: 'darba attiecības beigušās' } });
  t.is(changed.status, 200, changed.text);
  assertError(t, await call('GET', '/api/staff/tasks', { token: session }), 401, 'session_ended');
  const refused = assertError(t, await login('anna.berzina', password), 403, 'account_not_valid');
  t.regex((refused.details[0] as { words: Words }).words.lv, /šodien to nevar izmantot/);
  const page = await call('POST', '/staff/login', { html: true, form: { username: 'anna.berzina', password }, headers: { 'x-forwarded-for': '203.0.113.9' } });
  t.is(page.status, 403);
  t.regex(page.text, /Jūsu konts ir derīgs laikposmā/);

  const audit = await stack.db('auditLog').where({ action: 'staff_account.changed' }).whereRaw("result->>'userId' = ?", [account.id]).first();
  t.like(audit.result, { reason: 'darba attiecības beigušās', before: { validUntil: null }, after: { validUntil: day(-1) } });
  t.truthy(await stack.db('auditLog').where({ action: 'staff_account.created' }).whereRaw("result->>'userId' = ?", [account.id]).first());
  t.false(JSON.stringify(audit.result).includes(hash), 'never the password hash');
});

/** A new adult the Population Register knows. */
const newPerson = adultMaker(() => stack.registry, { prefix: '52', lastName: 'Bloķētā', birthDate: '1984-04-04', note: 'test adult (blocks)' });

test.serial('a blocked learner\'s journey waits, the pages say why, and it goes on when reinstated', async (t) => {
  const admin = await stack.adminToken();
  const person: TestPerson = newPerson('Līga');
  const learner = await stack.tokenFor('learner', person.code, person.name);
  const { caseId, handle } = await registerThroughApi(call, stack.temporal, learner, person);
  await untilStage(stack.db, handle, caseId, 'imk_approved');

  const blocked = await call('POST', '/api/admin/blocks', {
    token: admin, json: { subjectKind: 'learner', subject: person.code, kind: 'suspension', reason: 'personas lūgums', endsOn: day(30) },
  });
  t.is(blocked.status, 201, blocked.text);
  const blockId = (blocked.json as { id: string }).id;
  assertError(t, await call('POST', '/api/admin/blocks', { token: admin, json: { subjectKind: 'learner', subject: person.code, kind: 'block', reason: 'vēlreiz' } }), 409, 'already_blocked');

  const offer = demoOffers[0]!;
  const apply = () => call('POST', `/api/learner/journeys/${caseId}/applications`, { token: learner, json: { requestId: randomUUID(), offerId: offer.id, groupId: offer.groups[0]!.id } });
  const held = assertError(t, await apply(), 409, 'blocked');
  t.regex((held.details[0] as { words: Words }).words.lv, /^Jūsu konts ir apturēts līdz .*\. Iemesls: personas lūgums$/);
  t.regex(held.message, /^Your account is suspended until .*\. Reason: personas lūgums$/);
  // Nothing closed: the journey still waits for an application, in the read model and in the workflow.
  t.is((await stack.db('cases').where({ id: caseId }).first()).stage, 'imk_approved');
  t.is((await stack.db('cases').where({ id: caseId }).first()).closedAt, null);
  const page = await call('GET', `/learner/journeys/${caseId}`, { token: learner, html: true });
  t.regex(page.text, /Jūsu konts ir apturēts līdz/);
  t.regex(page.text, /Jūsu procesi nav slēgti/);
  const staffView = await call('GET', '/admin/blocks?lang=en', { token: admin, html: true });
  t.regex(staffView.text, /personas lūgums/);

  const reinstated = await call('POST', `/api/admin/blocks/${blockId}/reinstatement`, { token: admin, json: { reason: 'persona lūdz atjaunot' } });
  t.is(reinstated.status, 200, reinstated.text);
  t.like(reinstated.json, { live: false, liftReason: 'persona lūdz atjaunot' });
  const applied = await apply();
  t.is(applied.status, 201, applied.text);
  const audit = await stack.db('auditLog').where({ action: 'account_block.lifted', subjectPersonCode: person.code }).first();
  t.like(audit.result, { reason: 'persona lūdz atjaunot', before: { live: true }, after: { live: false } });
});

test.serial('a blocked provider user is refused at the next request and at sign-in; a suspension whose last day has passed holds no more', async (t) => {
  const admin = await stack.adminToken();
  const providerId = await insertProvider(stack.db);
  const password = 'Mācību#Centrs2026';
  const [user] = await stack.db('users').insert({
    username: 'ieva@provider.example', email: 'ieva@provider.example', displayName: 'Ieva Liepa', role: 'provider', providerId, providerRole: 'admin',
    status: 'active', passwordHash: await hashPassword(password),
  }).returning<{ id: string }[]>('id');
  const session = ((await login('ieva@provider.example', password)).json as { token: string }).token;
  t.is((await call('GET', '/api/provider/offers', { token: session })).status, 200);

  const blocked = await call('POST', '/api/admin/blocks', { token: admin, json: { subjectKind: 'provider_user', subject: user!.id, kind: 'block', reason: 'noteikumu pārkāpums' } });
  t.is(blocked.status, 201, blocked.text);
  assertError(t, await call('GET', '/api/provider/offers', { token: session }), 401, 'session_ended');
  const refused = assertError(t, await login('ieva@provider.example', password), 403, 'account_blocked');
  t.deepEqual((refused.details[0] as { words: Words }).words, { lv: 'Jūsu konts ir bloķēts. Iemesls: noteikumu pārkāpums', en: 'Your account is blocked. Reason: noteikumu pārkāpums' });

  t.is((await call('POST', `/api/admin/blocks/${(blocked.json as { id: string }).id}/reinstatement`, { token: admin, json: { reason: 'kļūda' } })).status, 200);
  // A suspension that ended yesterday ends by itself: nothing has to lift it.
  await stack.db('accountBlocks').insert({ id: randomUUID(), subjectKind: 'provider_user', userId: user!.id, kind: 'suspension', reason: 'atvaļinājums', endsOn: day(-1), createdById: 'test' });
  t.is((await login('ieva@provider.example', password)).status, 200);

  // A block of the provider holds its users' access and the agency's decisions about it: the task stays open.
  const taskId = await insertProviderTask(stack.db, { type: 'approve-provider', providerId });
  const providerBlock = await call('POST', '/api/admin/blocks', { token: admin, json: { subjectKind: 'provider', subject: providerId, kind: 'suspension', reason: 'pārbaude', endsOn: day(7) } });
  t.is(providerBlock.status, 201, providerBlock.text);
  assertError(t, await login('ieva@provider.example', password), 403, 'account_blocked');
  const staff = await stack.staffToken();
  const held = assertError(t, await call('POST', `/api/staff/tasks/${taskId}/decision`, { token: staff, json: { decision: 'approve', comment: 'viss kārtībā' } }), 409, 'blocked');
  t.regex((held.details[0] as { words: Words }).words.en, /^This account is suspended until .*\. Reason: pārbaude$/);
  t.is((await stack.db('tasks').where({ id: taskId }).first()).state, 'open');
  t.regex((await call('GET', `/staff/tasks/${taskId}`, { token: staff, html: true })).text, /Šis lēmums ir aizturēts/);
});
