/** The drill's check of the national platform (dev/drill/platform.ts): what counts as a case held as sent, and the targets. */
import test from 'ava';
import { comparePlatform, platformProblems } from '../../../dev/drill/platform';

const cases = [{ caseId: 'a', serviceCaseId: 'IMK-1', stage: 'imk_approved' }, { caseId: 'b', serviceCaseId: 'IMK-2', stage: 'not_eligible' }];
const outbox = [
  { caseId: 'a', seq: 2, status: 'imk_approved', acked: true }, { caseId: 'a', seq: 1, status: 'registered', acked: true },
  { caseId: 'b', seq: 1, status: 'registered', acked: true }, { caseId: 'b', seq: 2, status: 'not_eligible', acked: true },
];
const counters = { duplicates: 2, outOfOrder: 0, sentBeforeAcknowledged: 0 };

test('every case held as sent, every decision delivered once: no problem', (t) => {
  const held = new Map([['IMK-1', [{ sequence: 1, status: 'registered' }, { sequence: 2, status: 'imk_approved' }]], ['IMK-2', [{ sequence: 1, status: 'registered' }, { sequence: 2, status: 'not_eligible' }]]]);
  const count = comparePlatform({ cases, outbox, held, counters, deliveries: [{ dedupeKey: 'k1', status: 'delivered' }, { dedupeKey: 'k2', status: 'no_e_address' }], messageKeys: ['k1'] });
  t.like(count, { cases: 2, casesMatching: 2, statuses: 4, waiting: 0, decisions: { delivered: 1, noEAddress: 1, pending: 0, messages: 1 }, off: [] });
  t.deepEqual(platformProblems(count), []);
});

test('a status missing or out of place on the platform, one not acknowledged, early sends and undelivered decisions are problems', (t) => {
  const held = new Map([['IMK-1', [{ sequence: 2, status: 'imk_approved' }]], ['IMK-2', [{ sequence: 1, status: 'registered' }, { sequence: 2, status: 'not_eligible' }]]]);
  const waiting = outbox.map((r) => (r.caseId === 'b' && r.seq === 2 ? { ...r, acked: false } : r));
  const count = comparePlatform({
    cases, outbox: waiting, held, counters: { duplicates: 0, outOfOrder: 1, sentBeforeAcknowledged: 2 },
    deliveries: [{ dedupeKey: 'k1', status: 'delivered' }, { dedupeKey: 'k2', status: 'pending' }], messageKeys: [],
  });
  t.deepEqual(count.off, ['IMK-1: the platform holds [2:imk_approved], we sent [1:registered 2:imk_approved]', 'IMK-2: statuses not acknowledged', 'k1: delivered, but not on the e-address']);
  t.deepEqual(platformProblems(count), [
    '2 cases whose statuses the platform does not hold as sent', '1 statuses refused as out of order',
    '2 statuses sent before their predecessor was acknowledged', '1 decisions not delivered to the e-address yet', '0 e-address messages for 1 decisions delivered',
  ]);
});
