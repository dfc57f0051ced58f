import type { Knex } from 'knex';
import type { EmailName } from './email-templates';

/**
 * The official e-address (issue 17 item 6): decisions about a person's account and enrolment are also delivered to
 * their official e-address. The e-mail goes as always; the e-address gets the same words (subject and plain text),
 * queued in `official_deliveries` and delivered by the worker's publisher, which records `no_e_address` for a
 * person without one (the e-mail is then their only delivery).
 */

/** The e-mails that carry a decision: the account approved, refused (by staff, or not eligible), and enrolment. */
export const OFFICIAL_DECISION_EMAILS: readonly EmailName[] = ['imk-approved', 'imk-rejected', 'not-eligible', 'enrolled'];

/** Whether an e-mail of this template is a decision the e-address also gets. */
export function isOfficialDecision(template: EmailName): boolean {
  return OFFICIAL_DECISION_EMAILS.includes(template);
}

/** Queues a decision for the person's e-address, once per dedupe key (the e-mail's own): a retry queues nothing new. */
export async function queueOfficialDelivery(db: Knex, delivery: { dedupeKey: string; caseId: string; template: EmailName; language: string; subject: string; body: string }): Promise<void> {
  await db('officialDeliveries').insert(delivery).onConflict('dedupeKey').ignore();
}
