import { randomUUID } from 'node:crypto';
import test from 'ava';
import { insertCall } from '../../dev/seed-calls';
import { formatRigaDay, rigaDate, rigaEndOfDay, rigaTime } from '../../domain/dates';
import { startTestStack, type TestStack } from '../helpers/stack';
import { httpClient } from '../helpers/http';

// A call whose submission closes today (a day, as the agency gives it) takes offers for the whole of today: the
// stored deadline is the end of the Riga day (the next day's 00:00), and the API judges against that stored value.

let stack: TestStack;
const call = httpClient(() => stack.appUrl);
test.before(async () => { stack = await startTestStack(); });
test.after.always(async () => { await stack?.stop(); });

const nextDay = (day: string) => new Date(Date.UTC(Number(day.slice(0, 4)), Number(day.slice(5, 7)) - 1, Number(day.slice(8, 10)) + 1)).toISOString().slice(0, 10);

test.serial('a call closing today: its stored deadline is the next Riga midnight, it is open, and a draft can be started in it', async (t) => {
  const today = rigaDate(new Date());
  const code = `TODAY-${randomUUID().slice(0, 8)}`;
  const callId = await insertCall(stack.db, code, {
    submissionOpensAt: rigaTime(today, '00:00'), submissionClosesAt: rigaEndOfDay(today),
    evaluationEndsAt: rigaEndOfDay(nextDay(today)), publicationAt: rigaEndOfDay(nextDay(nextDay(today))),
    applicationsOpenAt: rigaEndOfDay(nextDay(nextDay(today))), applicationsCloseAt: rigaEndOfDay('2099-01-31'),
    groupFormationAt: rigaEndOfDay('2099-02-28'), teachingEndsAt: rigaEndOfDay('2099-06-30'),
  });

  // The stored deadline, read back from the database, is the start of tomorrow in Riga: the whole of today counts.
  const stored = (await stack.db('calls').where({ id: callId }).first<{ submissionClosesAt: Date }>()).submissionClosesAt;
  t.is(new Date(stored).toISOString(), rigaTime(nextDay(today), '00:00').toISOString());
  t.true([21, 22].includes(new Date(stored).getUTCHours()), 'a Riga midnight is 21:00 or 22:00 UTC');

  const user = await stack.db('users').where({ username: 'provider' }).first<{ id: string; displayName: string; providerId: string }>();
  const token = await stack.signIn({ role: 'provider', subject: user.id, name: user.displayName, providerId: user.providerId, providerRole: 'admin' });
  const list = await call('GET', '/api/provider/offers', { token });
  t.is(list.status, 200, list.text);
  t.true(list.text.includes(callId), 'the call is listed as taking offers');
  const draft = await call('POST', '/api/provider/offers', { token, json: { callId, titleLv: 'Šodien (paraugs)', titleEn: 'Today (sample)' } });
  t.is(draft.status, 201, draft.text);

  // People read the deadline as the end of today, inclusive, not as tomorrow's 00:00 (walk: one deadline wording).
  const page = await call('GET', '/provider/offers?lang=en', { token, html: true });
  t.is(page.status, 200);
  const shown = `until ${formatRigaDay(today, 'en')} (inclusive)`;
  t.true(page.text.includes(shown), `the page shows "${shown}"`);
  const [year, month, day] = today.split('-').map(Number);
  const latvian = await call('GET', '/provider/offers?lang=lv', { token, html: true });
  const months = ['janvārim', 'februārim', 'martam', 'aprīlim', 'maijam', 'jūnijam', 'jūlijam', 'augustam', 'septembrim', 'oktobrim', 'novembrim', 'decembrim'];
  t.true(latvian.text.includes(`līdz ${year}. gada ${day}. ${months[month! - 1]} (ieskaitot)`), 'the Latvian page shows the same deadline');
});

test.serial('the data migration moves a deadline stored at 23:59 Riga time to the end of that day, and leaves other times alone', async (t) => {
  const { up } = await import('../../migrations/20261204030000_day_deadlines_end_at_midnight');
  const code = `OLD-${randomUUID().slice(0, 8)}`;
  const callId = await insertCall(stack.db, code, {
    submissionOpensAt: rigaTime('2026-11-01', '00:00'), submissionClosesAt: rigaTime('2026-12-10', '23:59'),
    evaluationEndsAt: rigaTime('2027-03-28', '23:59:59.999'), publicationAt: rigaTime('2027-04-05', '09:00'),
    applicationsOpenAt: rigaTime('2027-04-07', '00:00'), applicationsCloseAt: rigaTime('2027-05-01', '23:59'),
    groupFormationAt: rigaTime('2027-05-10', '00:00'), teachingEndsAt: rigaTime('2027-06-30', '18:00'),
  });
  await up(stack.db);
  const row = await stack.db('calls').where({ id: callId }).first<Record<string, Date>>();
  const iso = (column: string) => new Date(row[column]!).toISOString();
  t.is(iso('submissionClosesAt'), rigaEndOfDay('2026-12-10').toISOString(), 'winter: 22:00 UTC');
  t.is(iso('evaluationEndsAt'), rigaEndOfDay('2027-03-28').toISOString(), 'the day summer time starts: 21:00 UTC');
  t.is(iso('applicationsCloseAt'), rigaEndOfDay('2027-05-01').toISOString());
  t.is(iso('groupFormationAt'), rigaTime('2027-05-10', '00:00').toISOString(), 'already a midnight');
  t.is(iso('teachingEndsAt'), rigaTime('2027-06-30', '18:00').toISOString(), 'not a day\'s last minute');
  t.is(iso('publicationAt'), rigaTime('2027-04-05', '09:00').toISOString());
});
