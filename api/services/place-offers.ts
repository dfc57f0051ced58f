import type { Knex } from 'knex';
import type { Session } from '../../lib/sessions';
import { declinePlaceOffer } from '../../lib/waitlist';
import type { ApiDeps } from '../deps';
import { HttpError, type WordedProblem } from '../errors';

/** A place freed for a wait-listed learner, as their page and API show it (lib/waitlist.ts). */
export interface PlaceOfferView {
  state: 'offered' | 'accepted' | 'declined' | 'expired';
  offeredAt: string;
  /** Until when the learner may accept it by applying. */
  dueAt: string;
  /** The course the learner was wait-listed for, to apply for again in one click. */
  offerId: string; groupId: string; title: { lv: string; en: string };
}

/** The case's latest place offer (an open one past its deadline reads as expired), or null. */
export async function placeOfferView(db: Knex, caseId: string, now = new Date()): Promise<PlaceOfferView | null> {
  const row = await db('placeOffers').join('applications', 'applications.id', 'placeOffers.applicationId')
    .join('offers', 'offers.id', 'applications.offerId').where('placeOffers.caseId', caseId)
    .orderBy('placeOffers.offeredAt', 'desc')
    .first<{ state: PlaceOfferView['state']; offeredAt: Date; dueAt: Date; offerId: string; groupId: string; titleLv: string; titleEn: string } | undefined>(
      'placeOffers.state', 'placeOffers.offeredAt', 'placeOffers.dueAt', 'applications.offerId', 'applications.groupId', 'offers.titleLv', 'offers.titleEn',
    );
  if (!row) return null;
  // The sweep may not have run yet; the learner must not be told they can still accept.
  const state = row.state === 'offered' && row.dueAt.getTime() <= now.getTime() ? 'expired' : row.state;
  return {
    state, offeredAt: row.offeredAt.toISOString(), dueAt: row.dueAt.toISOString(),
    offerId: row.offerId, groupId: row.groupId, title: { lv: row.titleLv, en: row.titleEn },
  };
}

/** The learner declines the place offered to them: it passes to the next wait-listed learner at once. */
export async function declineOwnPlaceOffer(deps: ApiDeps, learner: Session, caseId: string): Promise<{ state: 'declined' }> {
  const own = await deps.db('cases').join('learners', 'learners.id', 'cases.learnerId')
    .where({ 'learners.personCode': learner.subject, 'cases.id': caseId }).first('cases.id');
  if (!own) throw new HttpError(404, 'journey_not_found', 'You have no journey with this id');
  const declined = await declinePlaceOffer(deps.db, caseId);
  if (!declined) {
    throw new HttpError(409, 'no_place_offer', 'placeOffer: there is no open place offer to decline (already decided or past its deadline)', [{
      field: 'placeOffer', rule: 'open_offer_required', message: 'there is no open place offer to decline',
      words: {
        lv: 'Jums nav atvērta vietas piedāvājuma, ko atteikt (tas jau ir izlemts vai tā termiņš ir beidzies).',
        en: 'You have no open place offer to decline (it was already decided or its deadline has passed).',
      },
    } satisfies WordedProblem]);
  }
  return { state: 'declined' };
}
