import { randomUUID } from 'node:crypto';
import test from 'ava';
import { CURRENT_TERMS_VERSION } from '../../domain/terms';
import { demoOffers } from '../../dev/seed-offers';
import { learnerJourneyId } from '../../workflows/ids';
import { untilStage } from '../helpers/journeys';
import { httpClient } from '../helpers/http';
import { startTestStack, type TestStack } from '../helpers/stack';

// A slow or stalled SMTP server must not hold up the people waiting on a journey: its e-mails are sent alongside
// the next step. Found by the fault drill (make drill): while the SMTP server held its reply, a learner whose
// approval e-mail was still being sent could not apply (503 after 10 s, again and again), and a provider could not
// enrol an applicant whose "application received" e-mail was still on its way.

let stack: TestStack;
const call = httpClient(() => stack.appUrl);
const OFFER = demoOffers[0]!;
const GROUP = OFFER.groups[0]!;

test.before(async () => { stack = await startTestStack(); });
test.after.always(async () => {
  stack?.mail.reset();
  await stack?.stop();
});

test('a learner applies, and the provider enrols, while the SMTP server holds its replies', async (t) => {
  const code = `34${String(Date.now() % 10_000).padStart(4, '0')}-${String(Math.floor(Math.random() * 100_000)).padStart(5, '0')}`;
  stack.registry.setPerson({ personCode: code, firstName: 'Lēna', lastName: 'Pasta', birthDate: '1986-06-06', deceased: false, address: 'Rīga', note: 'test adult' });
  const token = await stack.tokenFor('learner', code, 'Lēna Pasta');
  // Every message's DATA reply is held 60 s: each send hangs until the mailer gives up, and is tried again.
  stack.mail.stall({ ms: 60_000, at: 'data' });

  const started = await call('POST', '/api/learner/journeys', {
    token, json: { requestId: randomUUID(), email: `${code}@example.lv`, language: 'lv', acceptTerms: true, termsVersion: CURRENT_TERMS_VERSION },
  });
  t.true(started.status === 201 || started.status === 202, started.text);
  const { caseId } = started.json as { caseId: string };
  await untilStage(stack.db, stack.temporal.workflow.getHandle(learnerJourneyId(caseId)), caseId, 'imk_approved');

  const before = Date.now();
  const applied = await call('POST', `/api/learner/journeys/${caseId}/applications`, { token, json: { requestId: randomUUID(), offerId: OFFER.id, groupId: GROUP.id } });
  t.is(applied.status, 201, applied.text);
  t.true(Date.now() - before < 5_000, `applying took ${Date.now() - before} ms`);

  const { applicationId } = applied.json as { applicationId: string };
  const provider = await stack.db('users').where({ username: 'provider' }).first<{ id: string; displayName: string; providerId: string }>();
  const providerToken = await stack.signIn({ role: 'provider', subject: provider.id, name: provider.displayName, providerId: provider.providerId, providerRole: 'admin' });
  const decided = await call('POST', `/api/provider/applications/${applicationId}/decision`, { token: providerToken, json: { decision: 'enrol' } });
  t.is(decided.status, 200, decided.text);
  t.is((await stack.db('cases').where({ id: caseId }).first<{ stage: string }>('stage')).stage, 'studying');
  // Nothing was sent yet: the e-mails wait in the outbox for the server, and go once it answers.
  t.deepEqual(stack.mail.messages().filter((m) => m.to.includes(`${code}@example.lv`)), []);
  stack.mail.reset();
});
