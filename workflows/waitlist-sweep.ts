import { log } from '@temporalio/workflow';
import { db } from './activity-presets';

/** What one sweep run found: place offers past their deadline, each passed to the next wait-listed learner. */
export interface WaitlistSweepResult { expired: number }

/**
 * Wait-list promotion's clock (lib/waitlist.ts): place offers whose deadline has passed (or whose journey closed)
 * expire and their places go to the next wait-listed learners. Releases, applications and declines in a programme
 * expire its overdue offers too; this run makes sure a deadline is kept when nothing else happens. Started every
 * few minutes by a Temporal Schedule (worker/schedules.ts), or by hand.
 */
export async function waitlistSweep(): Promise<WaitlistSweepResult> {
  const { expired } = await db.sweepPlaceOffers({});
  if (expired > 0) log.info('place offers expired and passed on', { expired });
  return { expired };
}
