import { createHash, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { OFFER_DOCUMENT_KINDS, type CallPhases } from '../../dev/seed-calls';
import { SAMPLE_COMPANIES, SAMPLE_INSTITUTIONS } from '../../dev/seed-institutions';
import { providerOfferId, providerRegistrationId } from '../../workflows/ids';

/** Which sample institution a test provider is (dev/seed-institutions.ts). */
export type SampleKey = Exclude<keyof typeof SAMPLE_INSTITUTIONS, 'unknown'>;

/**
 * Stores a provider as the API does on registration (status 'awaiting_email'), its first user (the registrant,
 * 'admin', inactive) and the declaration document; returns the ids the workflow needs.
 */
export async function insertRegisteredProvider(db: Knex, sample: SampleKey, opts: { email?: string } = {}) {
  const providerId = randomUUID();
  const email = opts.email ?? `registrant-${providerId.slice(0, 8)}@provider.test`;
  await db('providers').insert({
    id: providerId, name: `Test provider ${sample} (paraugs)`, registrationNumber: SAMPLE_COMPANIES[sample],
    educationRegistrationNumber: SAMPLE_INSTITUTIONS[sample], email, status: 'awaiting_email',
    workflowId: providerRegistrationId(providerId),
  });
  const [user] = await db('users').insert({
    username: email, passwordHash: 'not-a-real-hash', displayName: 'Dace Vītola', role: 'provider', providerId,
    active: false, email, providerRole: 'admin', status: 'awaiting_email',
  }).returning<{ id: string }[]>('id');
  await insertDocument(db, providerId, null, 'declaration');
  return { providerId, userId: user!.id, email };
}

/** The approved provider of a sample institution: the seeded demo provider, or `second` added on first use. */
export async function approvedProvider(db: Knex, sample: 'demo' | 'second'): Promise<string> {
  // Tests run concurrently: the first insert wins, the others find its row.
  await db('providers').insert({
    name: 'Kurzemes digitālo prasmju skola (paraugs)', registrationNumber: SAMPLE_COMPANIES[sample],
    educationRegistrationNumber: SAMPLE_INSTITUTIONS[sample], email: `info-${sample}@provider.test`, status: 'approved',
  }).onConflict('registrationNumber').ignore();
  const row = await db('providers').where({ registrationNumber: SAMPLE_COMPANIES[sample] }).first<{ id: string }>('id');
  return row.id;
}

/** A valid offer's fields for each sample provider: places and licence as VIIS has them, 1.28 × 160 h. */
const VALID: Record<'demo' | 'second', Record<string, unknown>> = {
  demo: { licenceNumber: 'P-00001 (paraugs)', places: [{ address: 'Rīga, Brīvības iela 1 (paraugs)' }, { address: 'Valmiera, Rīgas iela 10 (paraugs)' }] },
  second: { licenceNumber: 'P-00011 (paraugs)', places: [{ address: 'Liepāja, Graudu iela 20 (paraugs)' }] },
};

/**
 * Stores a draft offer as the API does (state 'draft', its workflow id) with every field valid and every required
 * document attached, so a test can break exactly one thing through `overrides` or `documents`.
 */
export async function insertDraftOffer(db: Knex, opts: {
  providerId: string; sample: 'demo' | 'second'; callId: string; phases: CallPhases;
  overrides?: Record<string, unknown>; documents?: readonly string[];
}) {
  const offerId = randomUUID();
  const fields: Record<string, unknown> = {
    titleLv: 'Kiberdrošības tehniķa pamati (paraugs)', titleEn: 'Cybersecurity technician basics (sample)',
    descriptionLv: 'Tīklu drošība, incidentu apstrāde (paraugs)', descriptionEn: 'Network security, incident handling (sample)',
    prerequisitesLv: 'Datora lietošanas pamati; Windows vai Linux', prerequisitesEn: 'Basic computer use; Windows or Linux',
    competence: 'Kiberdrošības tehniķis', language: 'lv', digcompLevel: 5, digitalSharePercent: 80,
    hoursTheory: 60, hoursPractice: 100, coefficientCode: 'ICT-DB-NET', statedCostCents: 32_000,
    ...VALID[opts.sample], ...opts.overrides,
  };
  await db('offers').insert({
    id: offerId, providerId: opts.providerId, callId: opts.callId, workflowId: providerOfferId(offerId), state: 'draft',
    programme: 'IMK', costCents: 0, published: false,
    applicationsOpenAt: opts.phases.applicationsOpenAt, applicationsCloseAt: opts.phases.applicationsCloseAt,
    groupFormationDeadline: opts.phases.groupFormationAt,
    ...fields, places: JSON.stringify(fields.places),
  });
  for (const kind of opts.documents ?? OFFER_DOCUMENT_KINDS) await insertDocument(db, opts.providerId, offerId, kind);
  return { offerId, workflowId: providerOfferId(offerId) };
}

/** Attaches a small document of a kind, as an upload would. */
export async function insertDocument(db: Knex, providerId: string, offerId: string | null, kind: string): Promise<void> {
  const content = Buffer.from(`%PDF-1.4 sample ${kind}`);
  await db('documents').insert({
    providerId, offerId, kind, filename: `${kind}.pdf`, contentType: 'application/pdf', sizeBytes: content.length,
    sha256: createHash('sha256').update(content).digest('hex'), content,
  });
}
