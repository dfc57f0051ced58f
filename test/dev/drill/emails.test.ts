/** Counting the drill's e-mails: exactly one per (case, step), repeats only in SMTP's at-least-once window. */
import test from 'ava';
import { AT_LEAST_ONCE_WINDOW_MS, countMail, learnerMessageId, type CaughtMail, type OutboxRow } from '../../../dev/drill/emails';
import { messageIdFor } from '../../../activities/email';

const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';
const at = (ms: number) => new Date(ms).toISOString();
const caught = (caseId: string, step: string, ms: number): CaughtMail => ({ messageId: learnerMessageId(caseId, step), to: ['x@drill.test'], date: at(ms) });
const row = (caseId: string, step: string, status = 'sent'): OutboxRow => ({ caseId, step, status, recipient: 'x@drill.test' });

test('the Message-ID of a (case, step) is the one the e-mail activity gives it', (t) => {
  t.is(learnerMessageId(A, 'application-received-1'), messageIdFor(`case:${A}:application-received-1`));
});

test('one e-mail per expected (case, step), the outbox agreeing: nothing to report', (t) => {
  const count = countMail(
    [{ caseId: A, step: 'imk-approved', refused: false }, { caseId: B, step: 'imk-approved', refused: true }],
    [caught(A, 'imk-approved', 1_000)],
    [row(A, 'imk-approved'), row(B, 'imk-approved', 'rejected')],
    [],
  );
  t.like(count, { sent: 1, duplicates: 0, explainedDuplicates: 0, rejected: 1, missing: [], unexpected: [], outboxMismatches: [] });
});

test('a repeat is explained only when its first copy arrived shortly before a worker kill', (t) => {
  const kill = 100_000;
  const count = countMail(
    [{ caseId: A, step: 'imk-approved', refused: false }, { caseId: B, step: 'imk-approved', refused: false }],
    [caught(A, 'imk-approved', kill - 2_000), caught(A, 'imk-approved', kill + 9_000), caught(B, 'imk-approved', kill - AT_LEAST_ONCE_WINDOW_MS - 1), caught(B, 'imk-approved', kill + 5_000)],
    [row(A, 'imk-approved'), row(B, 'imk-approved')],
    [kill],
  );
  t.like(count, { sent: 2, duplicates: 2, explainedDuplicates: 1 });
  t.is(count.duplicateKeys.length, 2);
});

test('missing, unexpected and disagreeing e-mails are named', (t) => {
  const count = countMail(
    [{ caseId: A, step: 'imk-approved', refused: false }, { caseId: A, step: 'application-received-1', refused: false }, { caseId: B, step: 'imk-approved', refused: true }],
    [caught(A, 'imk-approved', 1), caught(A, 'enrolled-1', 2), caught(B, 'imk-approved', 3)],
    [row(A, 'imk-approved', 'pending'), row(A, 'enrolled-1'), row(B, 'imk-approved', 'rejected'), row(B, 'not-eligible')],
    [],
  );
  t.deepEqual(count.missing, [`${A}:application-received-1`, `${B}:imk-approved (refused address: caught true, row rejected)`]);
  t.deepEqual(count.unexpected, [learnerMessageId(A, 'enrolled-1')]);
  t.deepEqual(count.outboxMismatches, [`${A}:imk-approved: caught, but its outbox row is pending`, `${B}:not-eligible: row sent, nothing caught`]);
  t.is(count.rejected, 0);
});
