import type { Knex } from 'knex';
import type { SendEmailInput, SendEmailResult } from './email';
import { formatTime } from './providers';

/** What the place-offer e-mails need: the database and the outbox's learner e-mail. */
export interface PlaceOfferNoticeDeps {
  db: Knex;
  email: { sendEmail(input: SendEmailInput): Promise<SendEmailResult> };
}

/** How many open offers one sweep e-mails; the sweep runs every few minutes, so a backlog is worked off. */
export const PLACE_OFFER_MAIL_LIMIT = 200;

/** The case step of an offer's e-mail: the outbox sends one e-mail per case and step. */
export const placeOfferStep = (offerId: string) => `place-offer-${offerId}`;

/**
 * The e-mail that tells a wait-listed learner a place is theirs until a deadline (lib/waitlist.ts). Offers are made
 * inside the transactions of releases, declines and expiries, where no e-mail can be sent; the wait-list sweep
 * (workflows/waitlist-sweep.ts) e-mails each open offer once, after it, through the outbox.
 */
export function createPlaceOfferNoticeActivities(deps: PlaceOfferNoticeDeps) {
  const { db } = deps;
  return {
    /** E-mails every open place offer not yet e-mailed (one sent or refused for good is not sent again). */
    async notifyPlaceOffers(_input: Record<string, never>): Promise<{ sent: number }> {
      const rows = await db('placeOffers AS p')
        .join('cases AS c', 'c.id', 'p.caseId').join('learners AS l', 'l.id', 'c.learnerId')
        .join('applications AS a', 'a.id', 'p.applicationId').join('offers AS o', 'o.id', 'a.offerId')
        .where('p.state', 'offered').where('p.dueAt', '>', new Date()).whereNull('c.closedAt')
        .whereRaw(`NOT EXISTS (SELECT 1 FROM email_outbox e WHERE e.dedupe_key = 'case:' || p.case_id || ':place-offer-' || p.id
          AND e.status IN ('sent', 'rejected'))`)
        .orderBy('p.offeredAt').limit(PLACE_OFFER_MAIL_LIMIT)
        .select<{ id: string; caseId: string; dueAt: Date; language: 'lv' | 'en'; titleLv: string; titleEn: string }[]>(
          'p.id', 'p.caseId', 'p.dueAt', 'l.language', 'o.titleLv', 'o.titleEn');
      let sent = 0;
      for (const offer of rows) {
        const result = await deps.email.sendEmail({
          caseId: offer.caseId, step: placeOfferStep(offer.id), template: 'place-offered',
          data: { offerTitle: offer.language === 'en' ? offer.titleEn : offer.titleLv, due: formatTime(new Date(offer.dueAt).toISOString(), offer.language) },
        });
        if (result.status === 'sent') sent += 1;
      }
      return { sent };
    },
  };
}
