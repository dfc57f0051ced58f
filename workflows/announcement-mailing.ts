import { continueAsNew, log, sleep, workflowInfo } from '@temporalio/workflow';
import { db, email } from './activity-presets';

/** What a mailing is asked to do. */
export interface AnnouncementMailingInput {
  announcementId: string;
  /** E-mails per second at most (default 10): the mail server and recipients' providers are not flooded. */
  perSecond?: number;
  /** Set by a run that continued as new: the last address done. */
  after?: string | null;
  /** Batches one run sends before it continues as new (default 300), so its history stays small. */
  batchesPerRun?: number;
}

/** How the mailing ended. */
export interface AnnouncementMailingResult { state: 'finished' | 'withdrawn' }

/**
 * E-mails an announcement to its audience, once per address, throttled: one batch of `perSecond` addresses, then a
 * one-second timer, in address order. Every e-mail goes through the outbox under `announcement:<id>:<address>`, so
 * a retried batch, a restarted worker or a mailing an administrator starts again sends nobody a second copy. The
 * admin page shows the progress from the outbox (sent of the total counted at the start).
 */
export async function announcementMailing(input: AnnouncementMailingInput): Promise<AnnouncementMailingResult> {
  const perSecond = Math.max(1, Math.min(100, Math.floor(input.perSecond ?? 10)));
  const batchesPerRun = Math.max(1, Math.floor(input.batchesPerRun ?? 300));
  const { announcementId } = input;
  let after = input.after ?? null;
  if (after === null) {
    const { withdrawn } = await db.prepareAnnouncementMailing({ announcementId, workflowId: workflowInfo().workflowId });
    if (withdrawn) return { state: 'withdrawn' };
  }
  for (let batch = 0; ; batch += 1) {
    const result = await email.sendAnnouncementBatch({ announcementId, after, limit: perSecond });
    after = result.last;
    if (result.done) break;
    if (batch + 1 >= batchesPerRun) await continueAsNew<typeof announcementMailing>({ ...input, after });
    await sleep(1000);
  }
  await db.finishAnnouncementMailing({ announcementId });
  log.info('announcement mailing finished', { announcementId });
  return { state: 'finished' };
}
