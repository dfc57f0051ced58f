import { log } from '@temporalio/workflow';
import { email } from './activity-presets';

/** What one scan is asked to do; the schedule passes the same input every time. */
export interface ProviderNoticesInput {
  /** Working days before the group-formation deadline the reminder goes (default 2). */
  groupDeadlineWorkingDays?: number;
  /** Working days after the outcomes reminder before the agency's follow-up opens (default 5). */
  overdueAfterWorkingDays?: number;
  /** Tests only: milliseconds after the outcomes reminder instead of working days. */
  overdueAfterMs?: number | null;
}

/** What a scan did. */
export interface ProviderNoticesResult { newApplications: number; groupDeadlines: number; outcomeReminders: number; followUps: number }

/**
 * The notifications to providers, from a scan the schedule starts every few minutes (worker/schedules.ts) rather
 * than from the running journeys and offers, so no running workflow's code changes: a new application in the
 * provider's group; the group-formation deadline within 2 working days with applications undecided; teaching ended
 * with outcomes not reported (a reminder, then the agency's follow-up task). Each query is bounded and each e-mail
 * goes through the outbox under its own key, so a scan run twice sends nothing twice.
 */
export async function providerNotices(input: ProviderNoticesInput = {}): Promise<ProviderNoticesResult> {
  const applications = await email.notifyNewApplications();
  const deadlines = await email.remindGroupDeadlines({ workingDays: input.groupDeadlineWorkingDays ?? 2 });
  const outcomes = await email.remindMissingOutcomes({ overdueAfterWorkingDays: input.overdueAfterWorkingDays ?? 5, overdueAfterMs: input.overdueAfterMs ?? null });
  const result = { newApplications: applications.sent, groupDeadlines: deadlines.sent, outcomeReminders: outcomes.sent, followUps: outcomes.followUps };
  if (Object.values(result).some((n) => n > 0)) log.info('provider notices sent', { ...result });
  return result;
}
