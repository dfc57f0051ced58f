/**
 * Counting the drill's e-mails: every (case, step) the learners must get arrives exactly once in the mail
 * catcher, and its outbox row agrees. A repeat is allowed only in SMTP's at-least-once window: the worker was
 * killed after the server's "250" and before the outbox row was marked sent, so the retry sent the same message
 * (same Message-ID) again. Such a repeat is "explained" when its first copy arrived just before a worker kill.
 */

/** An e-mail as the mail catcher's JSON API lists it (the fields the count needs). */
export interface CaughtMail { messageId: string; to: string[]; date: string }

/** An e-mail outbox row (the fields the count needs). */
export interface OutboxRow { caseId: string | null; step: string; status: string; recipient: string }

/** An e-mail a learner must get: for a refused address, none arrives and the row ends `rejected`. */
export interface ExpectedMail { caseId: string; step: string; refused: boolean }

/** The outcome of the count. */
export interface MailCount {
  /** Distinct messages caught (one per Message-ID). */
  sent: number;
  /** Copies beyond the first of a Message-ID. */
  duplicates: number;
  /** Of those, the ones in the at-least-once window (first copy shortly before a worker kill). */
  explainedDuplicates: number;
  /** Expected e-mails that never arrived (and whose row is not `rejected` for a refused address). */
  missing: string[];
  /** Learner e-mails that arrived but no scenario expects. */
  unexpected: string[];
  /** Refused addresses whose row ended `rejected` with nothing caught, as it should. */
  rejected: number;
  /** Rows whose status disagrees with what was caught (sent but not caught, caught but still pending). */
  outboxMismatches: string[];
  /** Every duplicate, for the log. */
  duplicateKeys: string[];
}

/** How long before a worker kill a first copy may have arrived for its repeat to count as the at-least-once window. */
export const AT_LEAST_ONCE_WINDOW_MS = 15_000;

/** The Message-ID the e-mail activity gives a learner's (case, step) e-mail (activities/email.ts, messageIdFor). */
export function learnerMessageId(caseId: string, step: string): string {
  return `<${`case:${caseId}:${step}`.replace(/[^A-Za-z0-9.-]/g, '.')}@learning-accounts>`;
}

/** Counts caught e-mails against the expected ones and the outbox. `workerKills` are the times (ms) of kill -9s. */
export function countMail(expected: readonly ExpectedMail[], caught: readonly CaughtMail[], outbox: readonly OutboxRow[], workerKills: readonly number[]): MailCount {
  const copies = new Map<string, CaughtMail[]>();
  for (const mail of caught) copies.set(mail.messageId, [...(copies.get(mail.messageId) ?? []), mail]);
  let duplicates = 0;
  let explainedDuplicates = 0;
  const duplicateKeys: string[] = [];
  for (const [messageId, list] of copies) {
    if (list.length < 2) continue;
    duplicates += list.length - 1;
    duplicateKeys.push(`${messageId} ×${list.length}`);
    const first = Math.min(...list.map((m) => Date.parse(m.date)));
    if (workerKills.some((kill) => first <= kill && kill - first <= AT_LEAST_ONCE_WINDOW_MS)) explainedDuplicates += list.length - 1;
  }

  const rowOf = new Map(outbox.filter((r) => r.caseId).map((r) => [`${r.caseId}:${r.step}`, r]));
  const missing: string[] = [];
  const outboxMismatches: string[] = [];
  const expectedIds = new Set<string>();
  let rejected = 0;
  for (const mail of expected) {
    const key = `${mail.caseId}:${mail.step}`;
    const id = learnerMessageId(mail.caseId, mail.step);
    expectedIds.add(id);
    const arrived = copies.has(id);
    const row = rowOf.get(key);
    if (mail.refused) {
      if (!arrived && row?.status === 'rejected') rejected += 1;
      else missing.push(`${key} (refused address: caught ${arrived}, row ${row?.status ?? 'none'})`);
      continue;
    }
    if (!arrived) missing.push(key);
    if (arrived && row?.status !== 'sent') outboxMismatches.push(`${key}: caught, but its outbox row is ${row?.status ?? 'missing'}`);
  }
  for (const row of outbox) {
    if (!row.caseId || row.status !== 'sent') continue;
    if (!copies.has(learnerMessageId(row.caseId, row.step))) outboxMismatches.push(`${row.caseId}:${row.step}: row sent, nothing caught`);
  }
  const unexpected = [...copies.keys()].filter((id) => id.startsWith('<case.') && !expectedIds.has(id));
  return { sent: copies.size, duplicates, explainedDuplicates, missing, unexpected, rejected, outboxMismatches, duplicateKeys };
}
