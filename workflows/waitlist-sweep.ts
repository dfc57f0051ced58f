import { log, patched } from '@temporalio/workflow';
import { db, email } from './activity-presets';

/** What one sweep run did: place offers past their deadline passed on, open offers e-mailed to their learners. */
export interface WaitlistSweepResult { expired: number; mailed?: number }

/**
 * Wait-list promotion's clock (lib/waitlist.ts): place offers whose deadline has passed (or whose journey closed)
 * expire and their places go to the next wait-listed learners. Releases, applications and declines in a programme
 * expire its overdue offers too; this run makes sure a deadline is kept when nothing else happens. Then every open
 * offer not yet e-mailed is e-mailed once (offers are made inside transactions, where no e-mail can go). Started
 * every few minutes by a Temporal Schedule (worker/schedules.ts), or by hand.
 */
export async function waitlistSweep(): Promise<WaitlistSweepResult> {
  const { expired } = await db.sweepPlaceOffers({});
  if (expired > 0) log.info('place offers expired and passed on', { expired });
  // Runs started before the e-mails existed end as they began; the next run e-mails their offers.
  if (!patched('place-offer-emails')) return { expired };
  const { sent: mailed } = await email.notifyPlaceOffers({});
  if (mailed > 0) log.info('place offers e-mailed', { mailed });
  return { expired, mailed };
}
