import type { Knex } from 'knex';
import { Context } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { rigaDate } from '../domain/dates';
import { shift } from '../domain/holidays';
import { workingDaysDeadline } from '../domain/working-days';
import { outcomesOverdueId } from '../workflows/ids';
import type { OutcomesOverdueInput } from '../workflows/outcomes-overdue';
import { holidaysBetween } from './calendar';
import type { SendEmailResult, SendEmailToInput } from './email';
import { formatTime } from './providers';

/** What the provider notices need: the database, the outbox, the Temporal client (to open the agency's follow-up). */
export interface ProviderNoticeDeps {
  db: Knex;
  email: { sendEmailTo(input: SendEmailToInput): Promise<SendEmailResult> };
  temporal: Client;
  publicUrl: string;
}

/** How much one scan looks at; the scan runs often, so a backlog is worked off over a few runs. */
export const NOTICE_SCAN_LIMIT = 200;

/** The outbox key prefix of each kind of provider notice (the "workflow" part of `<prefix>:<id>`). */
const KEYS = {
  newApplication: 'provider-notice:new-application',
  groupDeadline: 'provider-notice:group-deadline',
  outcomes: 'provider-notice:outcomes',
} as const;

/** A day (YYYY-MM-DD) as both languages read it in a provider's e-mail: 30.04.2027. */
function day(iso: string): string {
  const [y, m, d] = iso.slice(0, 10).split('-');
  return `${d}.${m}.${y}`;
}

// An e-mail already sent or refused for good under the key; a pending one (an attempt that died) is tried again.
const notYetSent = (key: string) => `NOT EXISTS (SELECT 1 FROM email_outbox e WHERE e.dedupe_key = ${key} AND e.status IN ('sent', 'rejected'))`;

interface OfferMail { offerId: string; providerName: string; providerEmail: string; titleLv: string; callCode: string | null }

/** The provider notifications (workflows/provider-notices.ts): each e-mail once, through the outbox. */
export function createProviderNoticeActivities(deps: ProviderNoticeDeps) {
  const { db } = deps;
  const common = (o: OfferMail) => ({
    providerName: o.providerName, offerTitle: o.titleLv, serviceCaseId: o.callCode ?? o.offerId,
    caseUrl: `${deps.publicUrl}/provider/offers/${o.offerId}`,
  });
  const offerColumns = ['o.id AS offer_id', 'p.name AS provider_name', 'p.email AS provider_email', 'o.title_lv', 'c.code AS call_code'];
  const fromOffers = () => db.queryBuilder().from('offers AS o').join('providers AS p', 'p.id', 'o.provider_id').leftJoin('calls AS c', 'c.id', 'o.call_id')
    .whereNotNull('p.email');

  return {
    /**
     * E-mails the provider once about each new application waiting for its decision (applied in the last 7 days;
     * one sent earlier is not sent again).
     */
    async notifyNewApplications(): Promise<{ sent: number }> {
      const rows = await fromOffers().join('applications AS a', 'a.offer_id', 'o.id').join('offer_groups AS g', 'g.id', 'a.group_id')
        .where('a.state', 'applied').whereRaw("a.created_at > now() - interval '7 days'")
        .whereRaw(notYetSent(`'${KEYS.newApplication}:' || a.id`))
        .orderBy('a.created_at').limit(NOTICE_SCAN_LIMIT)
        .select(...offerColumns, 'a.id AS application_id', 'g.place', db.raw("to_char(g.starts_on, 'YYYY-MM-DD') AS starts_on"), 'o.group_formation_deadline') as
        (OfferMail & { applicationId: string; place: string; startsOn: string; groupFormationDeadline: Date })[];
      let sent = 0;
      for (const r of rows) {
        const result = await deps.email.sendEmailTo({
          workflowId: KEYS.newApplication, step: r.applicationId, template: 'provider-new-application', recipient: r.providerEmail, language: 'lv',
          data: { ...common(r), place: r.place, startsOn: day(r.startsOn), deadline: formatTime(new Date(r.groupFormationDeadline).toISOString(), 'lv') },
        });
        if (result.status === 'sent') sent += 1;
      }
      return { sent };
    },

    /**
     * Reminds the provider once when its offer's group-formation deadline ends within 2 working days (Riga calendar,
     * public holidays skipped) and applications still wait for its decision. A moved deadline gets its own reminder.
     */
    async remindGroupDeadlines(input: { workingDays?: number } = {}): Promise<{ sent: number }> {
      const now = new Date();
      const today = rigaDate(now);
      const holidays = await holidaysBetween(db, today, shift(today, 40));
      const cutoff = workingDaysDeadline(now, input.workingDays ?? 2, holidays);
      const rows = await fromOffers().join('applications AS a', 'a.offer_id', 'o.id')
        .where('a.state', 'applied').where('o.group_formation_deadline', '>', now).where('o.group_formation_deadline', '<=', cutoff)
        .whereRaw(notYetSent(`'${KEYS.groupDeadline}:' || o.id || ':' || to_char(o.group_formation_deadline, 'YYYY-MM-DD"T"HH24:MI')`))
        .groupBy('o.id', 'p.name', 'p.email', 'o.title_lv', 'c.code', 'o.group_formation_deadline')
        .limit(NOTICE_SCAN_LIMIT)
        .select(...offerColumns, 'o.group_formation_deadline', db.raw("to_char(o.group_formation_deadline, 'YYYY-MM-DD\"T\"HH24:MI') AS deadline_key"), db.raw('count(*)::int AS undecided')) as
        (OfferMail & { groupFormationDeadline: Date; deadlineKey: string; undecided: number })[];
      let sent = 0;
      for (const r of rows) {
        const result = await deps.email.sendEmailTo({
          workflowId: KEYS.groupDeadline, step: `${r.offerId}:${r.deadlineKey}`, template: 'provider-group-deadline', recipient: r.providerEmail, language: 'lv',
          data: { ...common(r), undecided: r.undecided, deadline: formatTime(new Date(r.groupFormationDeadline).toISOString(), 'lv') },
        });
        if (result.status === 'sent') sent += 1;
      }
      return { sent };
    },

    /**
     * Teaching ended (the group's last day is past) and learners are still 'enrolled', i.e. no outcome reported:
     * reminds the provider once per offer; once the reminder has been out `overdueAfterWorkingDays` working days
     * (tests: `overdueAfterMs`), starts the agency's follow-up (workflows/outcomes-overdue.ts: an overdue task in
     * the inbox), once per offer.
     */
    async remindMissingOutcomes(input: { overdueAfterWorkingDays?: number; overdueAfterMs?: number | null } = {}): Promise<{ sent: number; followUps: number }> {
      const today = rigaDate(new Date());
      const rows = await fromOffers().join('applications AS a', 'a.offer_id', 'o.id').join('offer_groups AS g', 'g.id', 'a.group_id')
        .where('a.state', 'enrolled').where('g.ends_on', '<', today)
        .groupBy('o.id', 'p.name', 'p.email', 'o.title_lv', 'c.code', 'o.provider_id')
        .orderBy('o.id').limit(NOTICE_SCAN_LIMIT)
        .select(...offerColumns, 'o.provider_id', db.raw("to_char(max(g.ends_on), 'YYYY-MM-DD') AS ended_on"), db.raw('count(*)::int AS missing')) as
        (OfferMail & { providerId: string; endedOn: string; missing: number })[];
      let sent = 0;
      let followUps = 0;
      const holidays = await holidaysBetween(db, shift(today, -60), shift(today, 1));
      for (const r of rows) {
        const result = await deps.email.sendEmailTo({
          workflowId: KEYS.outcomes, step: r.offerId, template: 'provider-outcomes-missing', recipient: r.providerEmail, language: 'lv',
          data: { ...common(r), missing: r.missing, endedOn: day(r.endedOn) },
        });
        if (result.status === 'sent') sent += 1;
        const reminder = await db('emailOutbox').where({ dedupeKey: `${KEYS.outcomes}:${r.offerId}` }).whereIn('status', ['sent', 'rejected'])
          .first<{ sentAt: Date | null; rejectedAt: Date | null } | undefined>('sentAt', 'rejectedAt');
        const remindedAt = reminder?.sentAt ?? reminder?.rejectedAt;
        if (!remindedAt) continue;
        const overdueAt = input.overdueAfterMs !== undefined && input.overdueAfterMs !== null
          ? new Date(new Date(remindedAt).getTime() + input.overdueAfterMs)
          : workingDaysDeadline(new Date(remindedAt), input.overdueAfterWorkingDays ?? 5, holidays);
        if (Date.now() < overdueAt.getTime()) continue;
        if (await startFollowUp({ offerId: r.offerId, providerId: r.providerId })) followUps += 1;
      }
      return { sent, followUps };
    },

    /** How many of the offer's learners have no outcome although their group's teaching ended. */
    async countMissingOutcomes(input: { offerId: string }): Promise<{ missing: number }> {
      const [{ missing }] = await db('applications AS a').join('offerGroups AS g', 'g.id', 'a.groupId')
        .where('a.offerId', input.offerId).where('a.state', 'enrolled').where('g.endsOn', '<', rigaDate(new Date()))
        .select(db.raw('count(*)::int AS missing')) as { missing: number }[];
      return { missing };
    },
  };

  /** Starts the offer's follow-up unless one ever ran (one per offer); returns whether it started now. */
  async function startFollowUp(input: OutcomesOverdueInput): Promise<boolean> {
    try {
      await deps.temporal.workflow.start('outcomesOverdue', {
        workflowId: outcomesOverdueId(input.offerId), taskQueue: Context.current().info.taskQueue, args: [input],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
      return true;
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
      throw err;
    }
  }
}
