import { randomUUID } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { SAMPLE_COMPANIES, SAMPLE_INSTITUTIONS } from '../../dev/seed-institutions';
import { CURRENT_TERMS_VERSION } from '../../domain/terms';
import { RETRY_AFTER_SECONDS } from '../../lib/dependency-errors';
import { journeyStateQuery } from '../../workflows/learner-journey';
import { assertError, httpClient, type Answer } from '../helpers/http';
import { eventually, startLearnerJourney } from '../helpers/journeys';
import { multipartClient, SAMPLE_EDOC } from '../helpers/multipart';
import { createCallClosingIn } from '../helpers/calls';
import { startTestStack, type TestStack } from '../helpers/stack';

// Starts that race: simultaneous registrations (with the worker running, and with no worker at all), a journey
// started past the API's rule, and a provider registration whose commit fails.

let stack: TestStack;
let unpolledUrl = '';
let unpolledQueue = '';
const call = httpClient(() => stack.appUrl);
const callUnpolled = httpClient(() => unpolledUrl);

test.before(async () => {
  stack = await startTestStack();
  // An API whose journeys go to a task queue no worker polls: the worker "stopped", or far behind.
  unpolledQueue = `unpolled-${randomUUID()}`;
  unpolledUrl = (await stack.serveApi({ taskQueue: unpolledQueue })).url;
});
test.after.always(async () => { await stack?.stop(); });

const ANNA = { code: '321178-40215', name: 'Anna Bērziņa' };
const JANIS = { code: '150690-11223', name: 'Jānis Kalniņš' };
const MARTA = { code: '220288-10458', name: 'Marta Zariņa' };

// No request id: each submit is a new attempt, as from two browser tabs or two devices.
const registration = (programme: string) => ({
  programme, email: 'learner@example.lv', language: 'lv', acceptTerms: true, termsVersion: CURRENT_TERMS_VERSION,
});

async function registerAtOnce(client: typeof call, person: { code: string; name: string }, programme: string, times: number): Promise<Answer[]> {
  const token = await stack.tokenFor('learner', person.code, person.name);
  return Promise.all(Array.from({ length: times }, () => client('POST', '/api/learner/journeys', { token, json: registration(programme) })));
}

/** Exactly one answer accepted; every other one a 409 journey_already_open naming the accepted case. */
function assertOneAccepted(t: ExecutionContext, answers: Answer[]): string {
  const accepted = answers.filter((a) => a.status === 201 || a.status === 202);
  t.is(accepted.length, 1, answers.map((a) => `${a.status} ${a.text}`).join('\n'));
  const caseId = (accepted[0]!.json as { caseId: string }).caseId;
  for (const refused of answers.filter((a) => a !== accepted[0])) {
    const error = assertError(t, refused, 409, 'journey_already_open');
    t.deepEqual(error.details, [{ caseId }]);
  }
  return caseId;
}

async function runningJourneys(taskQueue: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const w of stack.temporal.workflow.list({ query: `TaskQueue = "${taskQueue}" AND WorkflowType = "learnerJourney" AND ExecutionStatus = "Running"` })) {
    ids.push(w.workflowId);
  }
  return ids.sort();
}

test.serial('simultaneous registrations of one person in one programme start one journey; the others hear which', async (t) => {
  const caseId = assertOneAccepted(t, await registerAtOnce(call, MARTA, 'DPP', 5));
  await eventually(() => stack.db('cases').where({ id: caseId }).first(), 'the accepted case');
  const cases = await stack.db('cases').join('learners', 'learners.id', 'cases.learnerId')
    .where({ 'learners.personCode': MARTA.code, 'cases.programme': 'DPP' }).pluck('cases.id');
  t.deepEqual(cases, [caseId]);
  const journeys = (await runningJourneys(stack.taskQueue)).filter((id) => id.includes(caseId));
  t.is(journeys.length <= 1, true);
});

test.serial('with no worker running, simultaneous registrations of two people start one journey each', async (t) => {
  const [janis, anna] = await Promise.all([registerAtOnce(callUnpolled, JANIS, 'IMK', 3), registerAtOnce(callUnpolled, ANNA, 'IMK', 2)]);
  const janisCase = assertOneAccepted(t, janis!);
  const annaCase = assertOneAccepted(t, anna!);
  // Temporal's list is eventually consistent: wait until both show, then make sure nothing else does.
  const expected = [`learner-journey:${janisCase}`, `learner-journey:${annaCase}`].sort();
  await eventually(async () => (await runningJourneys(unpolledQueue)).length >= 2, 'both journeys in the list');
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  t.deepEqual(await runningJourneys(unpolledQueue), expected);
  // A later attempt, still with no worker, is told about the same case.
  const later = assertError(t, (await registerAtOnce(callUnpolled, JANIS, 'IMK', 1))[0]!, 409, 'journey_already_open');
  t.deepEqual(later.details, [{ caseId: janisCase }]);
});

test.serial('a journey that finds the person\'s case already open ends cleanly instead of retrying', async (t) => {
  // Started directly, past the API's reservation (as journeys from before it could be).
  const first = await startLearnerJourney(stack.temporal, stack.taskQueue, ANNA.code, { programme: 'MN' });
  await eventually(() => stack.db('cases').where({ id: first.caseId }).first(), 'the first case');
  const second = await startLearnerJourney(stack.temporal, stack.taskQueue, ANNA.code, { programme: 'MN' });
  const result = await Promise.race([
    second.handle.result(),
    new Promise((resolve) => setTimeout(() => resolve('still running after 15 s'), 15_000)),
  ]);
  t.deepEqual(result, { stage: 'closed', serviceCaseId: null });
  t.is((await second.handle.describe()).status.name, 'COMPLETED');
  t.falsy(await stack.db('cases').where({ id: second.caseId }).first(), 'no second case');
  t.is((await first.handle.query(journeyStateQuery)).caseId, first.caseId, 'the first journey goes on');
});

test.serial('a provider registration whose commit fails leaves no workflow behind', async (t) => {
  // A check PostgreSQL makes only at commit (a deferred constraint trigger), failing for this one institution.
  await stack.db.raw(`
    CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.name LIKE '%commit fails%' THEN RAISE EXCEPTION 'refused at commit'; END IF; RETURN NEW; END $$;
    CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON providers DEFERRABLE INITIALLY DEFERRED
      FOR EACH ROW EXECUTE FUNCTION refuse_at_commit();`);
  const password = 'Mācības#2026x';
  const answer = await multipartClient(() => stack.appUrl)('/api/providers/registrations', {
    institutionName: 'Skola, kuras commit fails (paraugs)', companyRegistrationNumber: SAMPLE_COMPANIES.second,
    educationRegistrationNumber: SAMPLE_INSTITUTIONS.second, firstName: 'Jānis', lastName: 'Ozols', email: 'commit.fails@kurzeme.example',
    password, passwordRepeat: password, language: 'lv',
  }, [{ field: 'declaration', filename: 'apliecinajums.edoc', content: SAMPLE_EDOC }]);
  t.is(answer.status, 500, answer.text);
  t.falsy(await stack.db('providers').where({ registrationNumber: SAMPLE_COMPANIES.second }).first(), 'no provider row');
  // Temporal's list is eventually consistent: give a started workflow time to show.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const { count } = await stack.temporal.workflow.count(`TaskQueue = "${stack.taskQueue}" AND WorkflowType = "providerRegistration"`);
  t.is(count, 0, 'no registration workflow was started');
});

test.serial('an offer draft whose commit fails leaves no workflow behind', async (t) => {
  await stack.db.raw(`
    CREATE FUNCTION refuse_offer_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.title_en LIKE '%commit fails%' THEN RAISE EXCEPTION 'refused at commit'; END IF; RETURN NEW; END $$;
    CREATE CONSTRAINT TRIGGER refuse_offer_at_commit AFTER INSERT ON offers DEFERRABLE INITIALLY DEFERRED
      FOR EACH ROW EXECUTE FUNCTION refuse_offer_at_commit();`);
  const { callId } = await createCallClosingIn(stack.db, 30 * 60_000);
  const demo = await stack.db('users').where({ username: 'provider' }).first<{ id: string; displayName: string; providerId: string }>();
  const token = await stack.signIn({ role: 'provider', subject: demo.id, name: demo.displayName, providerId: demo.providerId, providerRole: 'admin' });
  const answer = await call('POST', '/api/provider/offers', { token, json: { callId, titleLv: 'Neizdosies (paraugs)', titleEn: 'The commit fails (sample)' } });
  t.is(answer.status, 500, answer.text);
  t.falsy(await stack.db('offers').where({ callId }).first(), 'no offer row');
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const { count } = await stack.temporal.workflow.count(`TaskQueue = "${stack.taskQueue}" AND WorkflowType = "providerOffer"`);
  t.is(count, 0, 'no offer workflow was started');
});

test.serial('a reservation whose journey never started holds the programme only until it has settled; a closed case releases it', async (t) => {
  const LIGA = { code: '010309-21234', name: 'Līga Ozola' };
  const abandoned = randomUUID();
  // A start that answered 503 and never happened (the API could not even confirm it) left this behind.
  await stack.db('journeyReservations').insert({ personCode: LIGA.code, programme: 'MN', caseId: abandoned, createdAt: new Date() });
  const young = assertError(t, (await registerAtOnce(call, LIGA, 'MN', 1))[0]!, 409, 'journey_already_open');
  t.deepEqual(young.details, [{ caseId: abandoned }], 'a start may still be in flight: it is not taken over yet');

  // The 503 of the failed start said when to try again; by then the reservation has settled and is taken over.
  await stack.db('journeyReservations').where({ caseId: abandoned }).update({ createdAt: new Date(Date.now() - RETRY_AFTER_SECONDS * 1000) });
  const [answer] = await registerAtOnce(call, LIGA, 'MN', 1);
  t.true([201, 202].includes(answer!.status), answer!.text);
  const caseId = (answer!.json as { caseId: string }).caseId;
  t.not(caseId, abandoned);
  // Līga is 17: her journey closes the case as not eligible, and the close gives the programme back.
  await eventually(() => stack.db('cases').where({ id: caseId, stage: 'not_eligible' }).whereNotNull('closedAt').first(), 'the case to close');
  t.falsy(await stack.db('journeyReservations').where({ personCode: LIGA.code, programme: 'MN' }).first(), 'the close released the reservation');
});
