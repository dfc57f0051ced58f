import type { Knex } from 'knex';

/**
 * Wait-list promotion (issue 15, item 11). A capped place of a programme (programmes.applications_received) that
 * frees up is offered to the first wait-listed learner, in (priority desc, wait-listed since) order, with a deadline
 * to accept; a declined or expired offer passes to the next learner; each learner is offered at most once. While an
 * offer is open the place stays counted, so a new applicant finds the programme full and is wait-listed behind the
 * others: a freed place never goes to a newcomer ahead of the wait-list, and never to two people.
 *
 * Race-freedom: every function here runs inside a transaction that holds the programme's lock (lockProgramme),
 * which every application, release, decline, expiry and administrator's edit of the programme takes first, so they
 * happen one after the other. An offered place stays counted in the application window it was freed from, and the
 * learner who accepts it holds it in that window.
 */

/** The order the wait-list is served in, over applications `a` (domain/social-status.ts queuePriority). */
export const WAITLIST_ORDER = 'a.waitlist_priority DESC, a.created_at, a.id';

/** How long a wait-listed learner has to accept a freed place (apply for a course) before it passes on. */
export const PLACE_OFFER_MS = 3 * 86_400_000;

/** A place offer as the learner's page and API show it. */
export interface PlaceOffer {
  id: string; caseId: string; applicationId: string; programme: string; windowId: string | null;
  state: 'offered' | 'accepted' | 'declined' | 'expired'; offeredAt: Date; dueAt: Date; decidedAt: Date | null;
}

/**
 * Takes the programme's lock for the rest of the transaction (see the module comment): its application windows in
 * id order, then its row. Always in this order, whoever takes it, so two transactions never wait on each other
 * crosswise. False when there is no such programme.
 */
export async function lockProgramme(trx: Knex.Transaction, programme: string): Promise<boolean> {
  await trx('programmeWindows').where({ programme }).orderBy('id').forUpdate().select('id');
  return (await trx('programmes').where({ code: programme }).forUpdate().first('code')) !== undefined;
}

/**
 * A capped place of the programme is free: it is offered to the first wait-listed learner who has not been offered
 * one before, whose case is open and who holds no open application; when nobody waits, the counters (the
 * programme's, and the window's the place was counted in) go down. The caller holds the programme's lock. Returns
 * the new offer, or null when the place went back to the counters.
 */
export async function handOnPlace(trx: Knex.Transaction, programme: string, now: Date, windowId: string | null): Promise<PlaceOffer | null> {
  const { rows } = await trx.raw<{ rows: { id: string; case_id: string }[] }>(`
    SELECT a.id, a.case_id FROM applications a JOIN cases c ON c.id = a.case_id
    WHERE c.programme = ? AND c.closed_at IS NULL AND a.state = 'waitlisted'
      AND NOT EXISTS (SELECT 1 FROM place_offers p WHERE p.case_id = a.case_id)
      AND NOT EXISTS (SELECT 1 FROM applications b WHERE b.case_id = a.case_id AND b.state IN ('applied', 'enrolled'))
    ORDER BY ${WAITLIST_ORDER}
    LIMIT 1`, [programme]);
  const next = rows[0];
  if (!next) {
    await trx('programmes').where({ code: programme }).where('applicationsReceived', '>', 0)
      .update({ applicationsReceived: trx.raw('applications_received - 1') });
    if (windowId) {
      await trx('programmeWindows').where({ id: windowId }).where('applicationsReceived', '>', 0)
        .update({ applicationsReceived: trx.raw('applications_received - 1') });
    }
    return null;
  }
  const [offer] = await trx('placeOffers').insert({
    programme, caseId: next.case_id, applicationId: next.id, windowId, state: 'offered', offeredAt: now, dueAt: new Date(now.getTime() + PLACE_OFFER_MS),
  }).returning('*');
  return offer as PlaceOffer;
}

/**
 * Ends the programme's open offers that are past their deadline or whose case has closed, and passes each place
 * on. The caller holds the programme's lock. Returns how many offers expired.
 */
export async function expireOverdueOffers(trx: Knex.Transaction, programme: string, now = new Date()): Promise<number> {
  const { rows } = await trx.raw<{ rows: { id: string; window_id: string | null }[] }>(`
    UPDATE place_offers p SET state = 'expired', decided_at = ?
    WHERE p.programme = ? AND p.state = 'offered'
      AND (p.due_at <= ? OR EXISTS (SELECT 1 FROM cases c WHERE c.id = p.case_id AND c.closed_at IS NOT NULL))
    RETURNING p.id, p.window_id`, [now, programme, now]);
  for (const expired of rows) await handOnPlace(trx, programme, now, expired.window_id);
  return rows.length;
}

/**
 * Takes the case's open, unexpired offer as accepted (the learner applies): the place it kept counted becomes the
 * application's, in the window it was counted in. The caller holds the programme's lock and has expired overdue
 * offers. The offer's window when there was one, null when not.
 */
export async function acceptPlaceOffer(trx: Knex.Transaction, caseId: string, now = new Date()): Promise<{ windowId: string | null } | null> {
  const [taken] = await trx('placeOffers').where({ caseId, state: 'offered' }).where('dueAt', '>', now)
    .update({ state: 'accepted', decidedAt: now }).returning<{ windowId: string | null }[]>(['windowId']);
  return taken ?? null;
}

/**
 * The learner declines the place offered: it passes to the next learner at once. Null when the case has no open
 * offer (already decided or expired).
 */
export async function declinePlaceOffer(db: Knex, caseId: string, now = new Date()): Promise<PlaceOffer | null> {
  return db.transaction(async (trx) => {
    const open = await trx('placeOffers').where({ caseId, state: 'offered' }).first<PlaceOffer | undefined>();
    if (!open) return null;
    await lockProgramme(trx, open.programme);
    await expireOverdueOffers(trx, open.programme, now);
    const [declined] = await trx('placeOffers').where({ id: open.id, state: 'offered' })
      .update({ state: 'declined', decidedAt: now }).returning('*');
    if (!declined) return null;
    await handOnPlace(trx, open.programme, now, open.windowId);
    return declined as PlaceOffer;
  });
}

/** Expires the overdue offers of every programme that has open ones (the periodic sweep). */
export async function sweepPlaceOffers(db: Knex, now = new Date()): Promise<number> {
  const programmes = (await db('placeOffers').where({ state: 'offered' }).distinct<{ programme: string }[]>('programme')).map((r) => r.programme);
  let expired = 0;
  for (const programme of programmes) {
    expired += await db.transaction(async (trx) => {
      await lockProgramme(trx, programme);
      return expireOverdueOffers(trx, programme, now);
    });
  }
  return expired;
}

/** The case's latest place offer, for the learner's page and API. */
export async function placeOfferOf(db: Knex, caseId: string): Promise<PlaceOffer | null> {
  return (await db('placeOffers').where({ caseId }).orderBy('offeredAt', 'desc').first<PlaceOffer | undefined>()) ?? null;
}
