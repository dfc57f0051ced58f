import type { Knex } from 'knex';
import { rigaDate } from '../domain/dates';
import type { Audience } from '../domain/announcements';
import { LEARNER_BLOCKED_SQL, PROVIDER_BLOCKED_SQL, USER_BLOCKED_SQL } from '../lib/account-blocks';
import type { SendEmailResult, SendEmailToInput } from './email';

/** What the announcement activities need: the database, the outbox's sendEmailTo and the site's address. */
export interface AnnouncementActivityDeps {
  db: Knex;
  email: { sendEmailTo(input: SendEmailToInput): Promise<SendEmailResult> };
  publicUrl: string;
}

/** One address an announcement goes to; `key` (the address in lower case) orders the mailing and makes it once per person. */
interface Recipient { key: string; email: string; language: 'lv' | 'en' }

interface AnnouncementRow {
  id: string; titleLv: string; titleEn: string; bodyLv: string; bodyEn: string; audience: Audience; withdrawnAt: Date | null;
}

/**
 * The people of an audience with an address, one row per address (a person who is both a learner and a provider's
 * user gets one e-mail; a learner's own language wins). Learners: active and not pseudonymised; providers: their
 * active users and the approved providers' contact addresses; staff: active staff and administrators. Whoever a
 * live block holds today (lib/account-blocks.ts) is left out: a blocked person's account is on hold.
 */
function recipientsSql(db: Knex, audience: Audience): Knex.QueryBuilder {
  const parts: string[] = [];
  const bindings: string[] = [];
  const today = rigaDate(new Date());
  if (audience === 'everyone' || audience === 'learners') {
    parts.push(`SELECT email, language, 0 AS rank FROM learners l WHERE active AND pseudonymised_at IS NULL AND NOT ${LEARNER_BLOCKED_SQL}`);
    bindings.push(today);
  }
  if (audience === 'everyone' || audience === 'providers') {
    parts.push(`SELECT email, 'lv' AS language, 1 AS rank FROM users u WHERE role = 'provider' AND status = 'active' AND active AND email IS NOT NULL AND NOT ${USER_BLOCKED_SQL}`);
    parts.push(`SELECT email, 'lv' AS language, 1 AS rank FROM providers p WHERE status = 'approved' AND email IS NOT NULL AND NOT ${PROVIDER_BLOCKED_SQL}`);
    bindings.push(today, today);
  }
  if (audience === 'everyone' || audience === 'staff') {
    parts.push("SELECT email, 'lv' AS language, 2 AS rank FROM users WHERE role IN ('staff', 'admin') AND status = 'active' AND active AND email IS NOT NULL");
  }
  return db.queryBuilder()
    .from(db.raw(`(${parts.join(' UNION ALL ')}) AS r`, bindings))
    .whereRaw("trim(email) <> ''")
    .groupByRaw('lower(email)');
}

/** The "workflow" part of an announcement's outbox keys: each e-mail is `announcement:<id>:<address>`. */
export function announcementMailKey(announcementId: string): string {
  return `announcement:${announcementId}`;
}

/** Activities of an announcement's mailing (workflows/announcement-mailing.ts). */
export function createAnnouncementActivities(deps: AnnouncementActivityDeps) {
  const { db } = deps;

  async function announcementOf(id: string): Promise<AnnouncementRow> {
    const row = await db('announcements').where({ id }).first<AnnouncementRow | undefined>('id', 'titleLv', 'titleEn', 'bodyLv', 'bodyEn', 'audience', 'withdrawnAt');
    if (!row) throw new Error(`announcement ${id} not found`);
    return row;
  }

  return {
    /** Counts the audience's addresses and records the count and the mailing's workflow (the page's "of N"). */
    async prepareAnnouncementMailing(input: { announcementId: string; workflowId: string }): Promise<{ total: number; withdrawn: boolean }> {
      const announcement = await announcementOf(input.announcementId);
      const [{ count }] = await db.queryBuilder().count<{ count: string }[]>('* AS count')
        .from(recipientsSql(db, announcement.audience).select(db.raw('lower(email)')).as('addresses'));
      const total = Number(count);
      await db('announcements').where({ id: input.announcementId })
        .update({ emailTotal: total, mailingWorkflowId: input.workflowId, mailingFinishedAt: null });
      return { total, withdrawn: announcement.withdrawnAt !== null };
    },

    /**
     * Sends the next `limit` addresses after `after` (in address order), each through the outbox under the key
     * `announcement:<id>:<address>`, so a retried batch or a restarted mailing skips whoever already has it. Stops
     * (done) once the list is through or the announcement was withdrawn.
     */
    async sendAnnouncementBatch(input: { announcementId: string; after: string | null; limit: number }): Promise<{ last: string | null; done: boolean; sent: number }> {
      const announcement = await announcementOf(input.announcementId);
      if (announcement.withdrawnAt) return { last: input.after, done: true, sent: 0 };
      const query = recipientsSql(db, announcement.audience)
        .select(db.raw('lower(email) AS key'), db.raw('(array_agg(email ORDER BY rank))[1] AS email'), db.raw('(array_agg(language ORDER BY rank))[1] AS language'))
        .orderBy('key').limit(input.limit);
      if (input.after !== null) query.havingRaw('lower(email) > ?', [input.after]);
      const recipients = await query as Recipient[];
      let sent = 0;
      for (const r of recipients) {
        const language = r.language === 'en' ? 'en' : 'lv';
        const result = await deps.email.sendEmailTo({
          workflowId: announcementMailKey(announcement.id), step: r.key, template: 'announcement', recipient: r.email, language,
          data: {
            title: language === 'en' ? announcement.titleEn : announcement.titleLv, body: language === 'en' ? announcement.bodyEn : announcement.bodyLv,
            serviceCaseId: `PAZ-${announcement.id.slice(0, 8).toUpperCase()}`, caseUrl: `${deps.publicUrl}/`,
          },
        });
        if (result.status === 'sent') sent += 1;
      }
      return { last: recipients.length > 0 ? recipients[recipients.length - 1].key : input.after, done: recipients.length < input.limit, sent };
    },

    /** Records that the mailing went through its list. */
    async finishAnnouncementMailing(input: { announcementId: string }): Promise<void> {
      await db('announcements').where({ id: input.announcementId }).update({ mailingFinishedAt: db.fn.now() });
    },
  };
}
