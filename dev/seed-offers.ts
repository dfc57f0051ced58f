import type { Knex } from 'knex';
import { rigaEndOfDay } from '../domain/dates';

// SAMPLE offers of the demo provider, so a demo learner with an approved account has something to apply for.
// Costs follow the seed's formula: round2(1.56 × 1.28) = 2.00 EUR per hour (the one coefficient the seeds give,
// ICT group "Computer systems, databases and networks"), × hours. Titles and places are made up.

/** The demo offers with fixed ids, so seeding twice changes nothing. */
export const demoOffers = [
  {
    id: '6f1d2a3e-0000-4000-8000-000000000001', programme: 'IMK',
    titleLv: 'Kiberdrošības tehniķa pamati (paraugs)', titleEn: 'Cybersecurity technician basics (sample)',
    costCents: 32_000, hours: 160,
    groups: [
      { id: '6f1d2a3e-0000-4000-8000-000000000101', place: 'Rīga, Brīvības iela 1 (paraugs)', startsOn: '2027-03-20', endsOn: '2027-04-30', capacity: 20 },
      { id: '6f1d2a3e-0000-4000-8000-000000000102', place: 'Valmiera, Rīgas iela 10 (paraugs)', startsOn: '2027-03-22', endsOn: '2027-04-30', capacity: 12 },
    ],
  },
  {
    id: '6f1d2a3e-0000-4000-8000-000000000002', programme: 'IMK',
    titleLv: 'Programmēšanas tehniķis: Python (paraugs)', titleEn: 'Programming technician: Python (sample)',
    costCents: 24_000, hours: 120,
    groups: [
      { id: '6f1d2a3e-0000-4000-8000-000000000201', place: 'Tiešsaistē un Rīgā, Lāčplēša iela 5 (paraugs)', startsOn: '2027-03-25', endsOn: '2027-04-28', capacity: 15 },
    ],
  },
];

/** Adds the demo offers and their groups for the demo provider if they are missing; published, window open. */
export async function seedOffers(db: Knex, providerId: string): Promise<void> {
  for (const offer of demoOffers) {
    await db('offers').insert({
      id: offer.id, providerId, programme: offer.programme, titleLv: offer.titleLv, titleEn: offer.titleEn,
      costCents: offer.costCents, published: true,
      // Days given as deadlines end at the day's end (the next day's 00:00 Riga time, exclusive).
      applicationsOpenAt: '2026-11-01T00:00:00+02:00', applicationsCloseAt: rigaEndOfDay('2027-03-01'),
      groupFormationDeadline: rigaEndOfDay('2027-03-15'),
    }).onConflict('id').ignore();
    for (const group of offer.groups) {
      await db('offerGroups').insert({ ...group, offerId: offer.id }).onConflict('id').ignore();
    }
  }
}
