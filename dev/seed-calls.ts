import type { Knex } from 'knex';
import { OFFER_DOCUMENT_KINDS } from '../domain/calls';
import { rigaEndOfDay, rigaTime } from '../domain/dates';

// A SAMPLE call for offers, shaped like the agency's 4th call (seed 001) but with dates around the demo's "now":
// the same competences, limits and documents. A phase that ends on a day ends at that day's end (the next day's
// 00:00 Riga time, exclusive), so its whole last day counts.

/** The document kinds an offer in a call must attach (seed 001, submission step 3). */
export { OFFER_DOCUMENT_KINDS };

/** The competences the 4th call funds (seed 001). */
export const CALL_COMPETENCES = ['Datorsistēmu tehniķis', 'Programmēšanas tehniķis', 'Kiberdrošības tehniķis'];

/** The phases of a call, as instants. */
export interface CallPhases {
  submissionOpensAt: Date; submissionClosesAt: Date; evaluationEndsAt: Date; publicationAt: Date;
  applicationsOpenAt: Date; applicationsCloseAt: Date; groupFormationAt: Date; teachingEndsAt: Date;
}

/** Inserts a call with the 4th call's rules and the given phases; returns its id. Safe to repeat for one code. */
export async function insertCall(db: Knex, code: string, phases: CallPhases, titles = { lv: `Piedāvājumu atlase ${code} (paraugs)`, en: `Call for offers ${code} (sample)` }): Promise<string> {
  await db('calls').insert({
    code, titleLv: titles.lv, titleEn: titles.en, programme: 'IMK',
    competences: JSON.stringify(CALL_COMPETENCES), digcompMin: 4, digcompMax: 6, minDigitalSharePercent: 70,
    maxOffersPerProvider: 3, requiredDocuments: JSON.stringify(OFFER_DOCUMENT_KINDS), ...phases,
  }).onConflict('code').ignore();
  const row = await db('calls').where({ code }).first<{ id: string }>('id');
  return row.id;
}

/** The demo call's phases: submissions open until the end of 10 December 2026 (Riga time). */
export const DEMO_CALL_PHASES: CallPhases = {
  submissionOpensAt: rigaTime('2026-11-01', '00:00'), submissionClosesAt: rigaEndOfDay('2026-12-10'),
  evaluationEndsAt: rigaEndOfDay('2026-12-15'), publicationAt: rigaTime('2027-01-05', '09:00'),
  applicationsOpenAt: rigaTime('2027-01-07', '00:00'), applicationsCloseAt: rigaEndOfDay('2027-03-01'),
  groupFormationAt: rigaEndOfDay('2027-03-09'), teachingEndsAt: rigaEndOfDay('2027-06-30'),
};

/** The demo call. */
export async function seedCalls(db: Knex): Promise<void> {
  await insertCall(db, 'IMK-2026-5', DEMO_CALL_PHASES, { lv: '5. piedāvājumu atlases kārta (paraugs)', en: '5th call for offers (sample)' });
}
