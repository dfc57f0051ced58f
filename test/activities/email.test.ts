import test from 'ava';
import { createEmailActivities } from '../../activities/email';
import { createProviderActivities } from '../../activities/providers';
import type { Actor } from '../../domain/journey';
import { loadEmailTemplates, type EmailTemplates } from '../../lib/email-templates';
import { createLogger } from '../../lib/logger';
import { createMailTransport } from '../../lib/mailer';
import { journeyStateQuery } from '../../workflows/learner-journey';
import { applyUpdate } from '../../workflows/learner-journey-application';
import { insertOffer } from '../helpers/catalogue';
import { httpClient } from '../helpers/http';
import { eventually, startLearnerJourney } from '../helpers/journeys';
import { insertRegisteredProvider } from '../helpers/providers';
import { startTestStack, type TestStack } from '../helpers/stack';

// E-mail is sent once and never blocks a case, against the real mail catcher, Temporal and PostgreSQL: attempts
// at one outbox row never overlap, a slow SMTP server gets one message, and an address the server refuses for
// good is recorded on the case while the journey goes on. The catcher's switches are shared, so tests are serial.
let stack: TestStack;
let templates: EmailTemplates;
test.before(async () => {
  stack = await startTestStack();
  templates = await loadEmailTemplates();
});
test.after.always(async () => { await stack?.stop(); });
test.afterEach.always(() => stack.mail.reset());

const call = httpClient(() => stack.appUrl);

/** The e-mail activities as one more worker would run them: own SMTP transport, same database and catcher. */
function anotherWorker() {
  return createEmailActivities({
    db: stack.db, templates, mailer: createMailTransport(`smtp://127.0.0.1:${stack.smtpPort}`), mailFrom: 'IMK <imk@test.invalid>',
    publicUrl: stack.appUrl, logger: createLogger('test', 'error'),
  });
}

const overdueEmail = (workflowId: string, recipient: string) => ({
  workflowId, step: 'task-overdue:1', template: 'task-overdue' as const, recipient, language: 'lv' as const,
  data: { taskType: 'approve-imk', subject: 'Testa uzdevums', dueAt: '1. decembris', serviceCaseId: 'T-1', caseUrl: 'http://example.lv/t' },
});

let people = 0;
/** A new adult the Population Register knows, and the address their journey's e-mails go to. */
function newPerson(): { personCode: string; email: string } {
  people += 1;
  const personCode = `32${String(people + 4000).padStart(4, '0')}-${String(Math.floor(Math.random() * 100_000)).padStart(5, '0')}`;
  stack.registry.setPerson({
    personCode, firstName: 'Ilga', lastName: 'Paraugs', birthDate: '1984-04-04', deceased: false, address: 'Rīga', note: 'e-mail test',
  });
  return { personCode, email: `${personCode}@example.lv` };
}

const outboxRow = (caseId: string, step: string) =>
  stack.db('emailOutbox').where({ caseId, step }).first<{ status: string; attempts: number; smtpReply: string | null; messageId: string | null } | undefined>();
const mailsTo = (address: string) => stack.mail.messages().filter((m) => m.to.includes(address));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Fails instead of hanging when a workflow never answers (a journey stuck behind an e-mail). */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  return Promise.race([promise, sleep(ms).then(() => { throw new Error(`${what}: no answer within ${ms} ms`); })]);
}

test.serial('two overlapping attempts at one outbox row send one e-mail: the second waits for the lease and finds it sent', async (t) => {
  const workflowId = `provider-registration:${Date.now()}`;
  const recipient = `overlap-${Date.now()}@example.lv`;
  // A slow server: each reply to DATA comes 1.5 s late, so the two attempts are talking to it at the same time.
  stack.mail.stall({ at: 'data', ms: 1_500 });
  const results = await Promise.all([
    anotherWorker().sendEmailTo(overdueEmail(workflowId, recipient)),
    sleep(200).then(() => anotherWorker().sendEmailTo(overdueEmail(workflowId, recipient))),
  ]);
  t.deepEqual(results.map((r) => r.status), ['sent', 'already-sent']);
  await sleep(2_000);
  t.is(mailsTo(recipient).length, 1, 'the mail catcher got one message');
  const row = await stack.db('emailOutbox').where({ dedupeKey: `${workflowId}:task-overdue:1` }).first();
  t.like(row, { status: 'sent', attempts: 1, leaseOwner: null, leasedUntil: null });
});

test.serial('an address the server refuses for good is an answer: the row is rejected with the reply, nothing is retried', async (t) => {
  const workflowId = `provider-registration:${Date.now()}`;
  const recipient = `nav-${Date.now()}@example.lv`;
  stack.mail.rejectAddress(recipient);
  t.deepEqual(await anotherWorker().sendEmailTo(overdueEmail(workflowId, recipient)), { status: 'rejected' });
  const row = await stack.db('emailOutbox').where({ dedupeKey: `${workflowId}:task-overdue:1` }).first();
  t.like(row, { status: 'rejected', attempts: 1 });
  t.regex(row.smtpReply, /^550 5\.1\.1 <nav-\d+@example\.lv>: no such user/);
  t.truthy(row.rejectedAt);
  // A later attempt (a retry, a replay) does not knock again.
  t.deepEqual(await anotherWorker().sendEmailTo(overdueEmail(workflowId, recipient)), { status: 'rejected' });
  t.is((await stack.db('emailOutbox').where({ dedupeKey: `${workflowId}:task-overdue:1` }).first()).attempts, 1);
});

test.serial('a registrant\'s address refused for good: the registration\'s history says so, for the agency to see', async (t) => {
  const { providerId, email } = await insertRegisteredProvider(stack.db, 'second', { email: `nav-${Date.now()}@provider.test` });
  stack.mail.rejectAddress(email);
  // Only the e-mail and link parts are used by this activity; the registry clients are not called.
  const providers = createProviderActivities({
    db: stack.db, links: stack.links, publicUrl: stack.appUrl, email: anotherWorker(), viis: null as never, enterpriseRegister: null as never,
  });
  const workflowId = `provider-registration:${providerId}`;
  const sent = await providers.sendProviderConfirmationEmail({
    providerId, workflowId, email, language: 'lv', validHours: 72, validUntil: new Date(Date.now() + 72 * 3_600_000).toISOString(),
  });
  t.deepEqual(sent, { status: 'rejected' });
  const event = await stack.db('providerEvents').where({ providerId, kind: 'email_undeliverable' }).first();
  t.like(event, { workflowId, step: 'email-undeliverable:confirm-email', state: 'awaiting_email', actorRole: 'system', offerId: null });
  t.like(event.details, { template: 'provider-confirm-email' });
  t.like(await stack.db('emailOutbox').where({ dedupeKey: `${workflowId}:confirm-email` }).first(), { status: 'rejected', recipient: email });
});

test.serial('an SMTP server holding its reply past the activity timeout: the learner gets one message, the outbox sends once', async (t) => {
  const { personCode, email } = newPerson();
  // The reply to the approval e-mail's DATA is held for 70 s, longer than the old 1-minute activity timeout plus
  // the retry interval: an attempt that waits that long overlaps the next one.
  const stallMs = 70_000;
  stack.mail.stall({ at: 'data', ms: stallMs, count: 1 });
  const started = Date.now();
  const { caseId } = await startLearnerJourney(stack.temporal, stack.taskQueue, personCode);
  const row = await eventually(async () => {
    const found = await outboxRow(caseId, 'imk-approved');
    return found?.status === 'sent' ? found : null;
  }, 'the approval e-mail to be sent', 100_000);
  // Whatever the held reply would still deliver has arrived by now.
  await sleep(Math.max(0, started + stallMs + 3_000 - Date.now()));
  const mails = mailsTo(email);
  t.is(mails.length, 1, `one message in the mail catcher, got ${mails.length}`);
  t.deepEqual(mails.map((m) => m.messageId), [row.messageId], 'with the outbox row\'s stable Message-ID');
  t.like(await outboxRow(caseId, 'imk-approved'), { status: 'sent' });
});

test.serial('the learner\'s address refused for good: the case records it and the journey goes on (apply works)', async (t) => {
  const { personCode, email } = newPerson();
  stack.mail.rejectAddress(email);
  const { caseId, handle } = await startLearnerJourney(stack.temporal, stack.taskQueue, personCode);
  const row = await eventually(async () => {
    const found = await outboxRow(caseId, 'imk-approved');
    return found?.status === 'rejected' ? found : null;
  }, 'the approval e-mail to be rejected');
  t.regex(row.smtpReply ?? '', /^550 5\.1\.1 /);
  t.is(row.attempts, 1, 'a permanent refusal is not retried');
  const event = await stack.db('caseEvents').where({ caseId, kind: 'email_undeliverable' }).first();
  t.like(event, { step: 'email-undeliverable:imk-approved', stage: 'imk_approved', actorRole: 'system' });
  t.like(event.details, { template: 'imk-approved' });
  t.is((await handle.query(journeyStateQuery)).stage, 'imk_approved');

  // The journey is not stuck behind the e-mail: the learner can apply, and that e-mail is refused the same way.
  const { offerId, groupIds } = await insertOffer(stack.db, { groups: [{ place: 'Rīga', startsOn: '2027-01-11', endsOn: '2027-04-30', capacity: 20 }] });
  const learner: Actor = { role: 'learner', id: personCode, name: 'Ilga Paraugs', channel: 'e-service' };
  const applied = await within(20_000, 'apply', handle.executeUpdate(applyUpdate, { args: [{ offerId, groupId: groupIds[0]!, actor: learner }] }));
  t.like(applied, { outcome: 'applied', stage: 'applied' });
  await eventually(async () => (await outboxRow(caseId, 'application-received-1'))?.status === 'rejected', 'the application e-mail to be rejected');
  await eventually(async () => ((await handle.describe()).raw.pendingActivities ?? []).length === 0, 'no activity left retrying');
  t.deepEqual((await stack.db('caseEvents').where({ caseId, kind: 'email_undeliverable' }).orderBy('id')).map((e: { step: string }) => e.step),
    ['email-undeliverable:imk-approved', 'email-undeliverable:application-received-1']);
  t.deepEqual(mailsTo(email), []);

  const token = await stack.tokenFor('learner', personCode, 'Ilga Paraugs');
  const en = await call('GET', `/learner/journeys/${caseId}?lang=en`, { token, html: true });
  t.true(en.text.includes('The e-mail could not be delivered: the recipient&#x27;s mail server refused the address')
    || en.text.includes('The e-mail could not be delivered: the recipient\'s mail server refused the address'));
  const lv = await call('GET', `/learner/journeys/${caseId}`, { token, html: true });
  t.true(lv.text.includes('E-pasta vēstuli nevarēja piegādāt'));
});
