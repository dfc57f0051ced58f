import type { Knex } from 'knex';

/**
 * Frees the person's place for a new application in the programme (api/services/journey-reservations.ts): called
 * in the transaction that closes the case, by every path that closes one (a journey's own close, a close from
 * outside, the console's cleanup after a stop).
 */
export async function releaseJourneyReservation(trx: Knex.Transaction, caseId: string): Promise<void> {
  await trx('journeyReservations').where({ caseId }).delete();
}
