/**
 * Issue 17 item 6: the national service platform. Each case's statuses reach the service-accounting stub exactly
 * once and in order, also when the publisher is restarted mid-batch or the platform is down for a while; a decision
 * reaches the person's official e-address when they have one, and the e-mail goes to everyone.
 */
import test from 'ava';
import { adultMaker, eventually, startLearnerJourney, untilStage } from '../helpers/journeys';
import { startTestStack, type TestStack } from '../helpers/stack';
import { registryHealth } from '../../api/services/registry-health';
import { httpClient } from '../helpers/http';
import { createLearnerActivities } from '../../activities/learners';
import { createNationalPlatformPublisher, type NationalPlatformPublisher } from '../../worker/national-platform-publisher';

// One stack without the stack's own publisher: each test runs (and restarts) its own.
let stack: TestStack;
const running: NationalPlatformPublisher[] = [];
test.before(async () => { stack = await startTestStack(); });
test.after.always(async () => {
  for (const publisher of running) await publisher.stop();
  await stack?.stop();
});

const call = httpClient(() => stack.appUrl);
const newAdult = adultMaker(() => stack.registry, { prefix: '86', lastName: 'Platforma', birthDate: '1984-04-04', note: 'national platform test adult' });

function publisher(timing: Parameters<typeof createNationalPlatformPublisher>[0]['timing'] = {}): NationalPlatformPublisher {
  const started = createNationalPlatformPublisher({ ...stack.platformDeps, timing: { ...stack.platformDeps.timing, ...timing } });
  running.push(started);
  started.start();
  return started;
}

/** Journeys of new adults on the automatic path, each at `imk_approved`; their case and service-case ids. */
async function approvedJourneys(count: number): Promise<{ caseId: string; serviceCaseId: string; personCode: string }[]> {
  return Promise.all(Array.from({ length: count }, async (_, i) => {
    const person = newAdult(`Persona${i}`);
    const { caseId, handle } = await startLearnerJourney(stack.temporal, stack.taskQueue, person.code);
    const state = await untilStage(stack.db, handle, caseId, 'imk_approved');
    return { caseId, serviceCaseId: state.serviceCaseId!, personCode: person.code };
  }));
}

/** The case's stages as its timeline shows them, each change once: what the platform must hold, in this order. */
async function stageHistory(caseId: string): Promise<string[]> {
  const stages = await stack.db('caseEvents').where({ caseId }).orderBy('id').pluck('stage') as string[];
  return stages.filter((stage, i) => i === 0 || stage !== stages[i - 1]);
}

const unacknowledged = async (caseIds: string[]) => Number((await stack.db('serviceStatusOutbox').whereIn('caseId', caseIds).whereNull('ackedAt').count({ n: '*' }).first())?.n);

test.serial('the status publisher restarted mid-batch: the platform holds each status of each case once, in order', async (t) => {
  const cases = await approvedJourneys(5);
  const ids = cases.map((c) => c.caseId);
  const queued = Number((await stack.db('serviceStatusOutbox').whereIn('caseId', ids).count({ n: '*' }).first())?.n);
  t.true(queued >= 10, `every case queued its statuses (${queued})`);

  // The platform answers slowly, so the first publisher has sends in flight (kept by the platform, not yet
  // acknowledged) when it dies.
  stack.servicePlatform.setDelay(500);
  const first = publisher({ batch: 3 });
  await eventually(async () => stack.servicePlatform.statuses().length >= 3, 'the first statuses to reach the platform', 10_000);
  first.abandon();
  const heldAtCrash = stack.servicePlatform.statuses().length;
  t.true(heldAtCrash < queued, `the crash came mid-batch (${heldAtCrash} of ${queued})`);

  // A new publisher (another owner) takes over once the dead one's leases run out, and sends the rest; the platform
  // still answers slowly, so a status sent before its predecessor's answer would be seen.
  publisher();
  await eventually(async () => (await unacknowledged(ids)) === 0, 'every status to be acknowledged', 20_000);

  for (const c of cases) {
    const held = stack.servicePlatform.statusesOf(c.serviceCaseId);
    t.deepEqual(held.map((s) => s.status), await stageHistory(c.caseId), `${c.serviceCaseId}: the platform holds the case's history`);
    t.deepEqual(held.map((s) => s.sequence), held.map((_, i) => i + 1));
    t.true(held.every((s) => s.serviceCode === 'TEST-IMK' && s.channel === 'e-service' && !Number.isNaN(Date.parse(s.occurredAt))));
  }
  t.is(stack.servicePlatform.outOfOrder, 0, 'no status arrived before its predecessor');
  t.is(stack.servicePlatform.sentBeforeAcknowledged, 0, 'no status was sent before its predecessor was acknowledged');
  stack.servicePlatform.setDelay(0);
  // The sends in flight at the crash were kept by the platform and sent again by the new publisher: kept once.
  t.true(stack.servicePlatform.duplicates >= 1, `the repeats after the restart were recognised (${stack.servicePlatform.duplicates})`);
});

test.serial('the platform down: statuses wait in the outbox, the health panel shows it failing, and they arrive in order when it is back', async (t) => {
  stack.servicePlatform.reset();
  stack.servicePlatform.setDown(true);
  publisher();
  const cases = await approvedJourneys(2);
  const ids = cases.map((c) => c.caseId);
  await eventually(async () => {
    const tried = await stack.db('serviceStatusOutbox').whereIn('caseId', ids).whereNull('ackedAt').where('attempts', '>', 1).first();
    return tried ?? null;
  }, 'statuses tried more than once', 15_000);
  t.true(await unacknowledged(ids) >= 4, 'the statuses wait');
  for (const c of cases) t.deepEqual(stack.servicePlatform.statusesOf(c.serviceCaseId), []);
  const failing = (await registryHealth(stack)).registries.find((r) => r.registry === 'service-platform')!;
  t.true(failing.last15.errors >= 2 && ['degraded', 'down'].includes(failing.status), `the panel shows the failing calls: ${JSON.stringify(failing.last15)}`);
  t.true(failing.waiting!.count >= 4, 'and the statuses waiting');
  const page = await call('GET', '/admin/registries', { token: await stack.adminToken(), html: true });
  t.regex(/data-registry="service-platform">([\s\S]*?)<\/tr>/.exec(page.text)?.[1] ?? '', /\d+ gaida nosūtīšanu, vecākais kopš/);

  // Meanwhile one case is closed from outside (as the register's re-check closes a deceased person's): `closed` queues too.
  await createLearnerActivities({ db: stack.db, populationRegister: { getPerson: async () => null } }).closeCaseFromOutside({
    caseId: cases[0]!.caseId, reason: 'deceased', detail: 'test', actor: { role: 'system', id: null, name: null, channel: 'system' }, journeyRunning: false,
  });

  stack.servicePlatform.setDown(false);
  await eventually(async () => (await unacknowledged(ids)) === 0, 'every status to be acknowledged after the outage', 20_000);
  for (const c of cases) {
    t.deepEqual(stack.servicePlatform.statusesOf(c.serviceCaseId).map((s) => s.status), await stageHistory(c.caseId));
  }
  t.is(stack.servicePlatform.statusesOf(cases[0]!.serviceCaseId).at(-1)?.status, 'closed');
  t.is(stack.servicePlatform.outOfOrder, 0);
  t.is(stack.servicePlatform.sentBeforeAcknowledged, 0);
});

test.serial('a decision goes to the e-address of a person who has one (once, though its answer was lost), and by e-mail to everyone', async (t) => {
  const [holder, other] = [newAdult('Eadrese'), newAdult('Bezadreses')];
  stack.eAddress.addHolder(holder.code);
  // The first delivery is kept by the e-address but its answer fails: the publisher sends it again, with its key.
  stack.eAddress.failNext(1, 503);
  publisher();
  // One after the other, so the failed answer is the holder's.
  const journeys: string[] = [];
  for (const person of [holder, other]) {
    const { caseId, handle } = await startLearnerJourney(stack.temporal, stack.taskQueue, person.code);
    await untilStage(stack.db, handle, caseId, 'imk_approved');
    if (person === holder) await eventually(() => stack.db('officialDeliveries').where({ caseId, status: 'delivered' }).first(), 'the holder\'s delivery', 20_000);
    journeys.push(caseId);
  }
  const settled = await eventually(async () => {
    const rows = await stack.db('officialDeliveries').whereIn('caseId', journeys).whereNot('status', 'pending').orderBy('id')
      .select<{ caseId: string; template: string; status: string; body: string | null }[]>('caseId', 'template', 'status', 'body');
    return rows.length === 2 ? rows : null;
  }, 'both decisions to be settled', 20_000);
  const byCase = new Map(settled.map((r) => [r.caseId, r]));
  t.like(byCase.get(journeys[0]!), { template: 'imk-approved', status: 'delivered', body: null });
  t.like(byCase.get(journeys[1]!), { template: 'imk-approved', status: 'no_e_address', body: null });

  const mailToHolder = await stack.mail.waitFor((m) => m.to.includes(`${holder.code}@example.lv`));
  await stack.mail.waitFor((m) => m.to.includes(`${other.code}@example.lv`));
  const delivered = stack.eAddress.messagesTo(holder.code);
  t.is(delivered.length, 1, 'delivered once');
  t.is(delivered[0]!.subject, mailToHolder.subject, 'the e-address gets the decision the e-mail says');
  t.true(delivered[0]!.body.includes('500,00 EUR'));
  t.is(stack.eAddress.duplicates, 1, 'the repeat after the lost answer was recognised');
  t.deepEqual(stack.eAddress.messagesTo(other.code), []);
});
