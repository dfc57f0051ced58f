import { createHash, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { SURVEY_ASPECTS, type SurveyAspect } from '../../domain/applications';
import type { OfferState } from '../../domain/offers';

// Rows for catalogue and inbox tests, written straight into the test database (the read model the pages query),
// so a test can set up any mix of offers, groups, completers and provider tasks without running workflows.

/** A group of an offer; capacity and enrolled as the provider's enrolments count them. */
export interface TestGroup { place: string; startsOn: string; endsOn: string; capacity: number; enrolled?: number; schedule?: string | null }

/** What a test offer may set; everything else gets a plausible default. */
export interface TestOffer {
  providerId?: string;
  state?: OfferState;
  programme?: string;
  titleLv?: string; titleEn?: string;
  descriptionLv?: string | null; descriptionEn?: string | null;
  prerequisitesLv?: string | null; prerequisitesEn?: string | null;
  competence?: string | null; language?: string; digcompLevel?: number | null; digitalSharePercent?: number | null;
  hoursTheory?: number | null; hoursPractice?: number | null;
  costCents?: number; statedCostCents?: number | null; places?: string[];
  groups?: TestGroup[];
}

let counter = 0;
const next = () => { counter += 1; return counter; };

/** A provider row (approved unless told otherwise); returns its id. */
export async function insertProvider(db: Knex, fields: { name?: string; status?: string; email?: string; educationRegistrationNumber?: string | null } = {}): Promise<string> {
  const n = next();
  const [row] = await db('providers').insert({
    name: fields.name ?? `Testa mācību centrs ${n} SIA`,
    registrationNumber: `4${String(Date.now()).slice(-7)}${String(n).padStart(3, '0')}`,
    educationRegistrationNumber: fields.educationRegistrationNumber === undefined ? `3${String(Date.now()).slice(-6)}${String(n).padStart(3, '0')}` : fields.educationRegistrationNumber,
    email: fields.email ?? `provider${n}@example.lv`,
    status: fields.status ?? 'approved',
  }).returning('id');
  return (row as { id: string }).id;
}

/** An offer with its groups (published by default); returns the offer's and the groups' ids. */
export async function insertOffer(db: Knex, offer: TestOffer = {}): Promise<{ offerId: string; groupIds: string[]; providerId: string }> {
  const n = next();
  const providerId = offer.providerId ?? await insertProvider(db);
  const state = offer.state ?? 'published';
  const [row] = await db('offers').insert({
    providerId, programme: offer.programme ?? 'IMK', state, published: state === 'published',
    titleLv: offer.titleLv ?? `Testa kurss ${n}`, titleEn: offer.titleEn ?? `Test course ${n}`,
    descriptionLv: offer.descriptionLv ?? null, descriptionEn: offer.descriptionEn ?? null,
    prerequisitesLv: offer.prerequisitesLv ?? null, prerequisitesEn: offer.prerequisitesEn ?? null,
    competence: offer.competence ?? null, language: offer.language ?? 'lv',
    digcompLevel: offer.digcompLevel ?? null, digitalSharePercent: offer.digitalSharePercent ?? null,
    hoursTheory: offer.hoursTheory ?? null, hoursPractice: offer.hoursPractice ?? null,
    costCents: offer.costCents ?? 32_000, statedCostCents: offer.statedCostCents ?? null,
    places: JSON.stringify((offer.places ?? []).map((address) => ({ address }))),
    applicationsOpenAt: new Date(Date.now() - 86_400_000), applicationsCloseAt: new Date(Date.now() + 30 * 86_400_000),
    groupFormationDeadline: new Date(Date.now() + 40 * 86_400_000),
  }).returning('id');
  const offerId = (row as { id: string }).id;
  const groupIds: string[] = [];
  for (const g of offer.groups ?? []) {
    const [group] = await db('offerGroups').insert({
      offerId, place: g.place, startsOn: g.startsOn, endsOn: g.endsOn, capacity: g.capacity, enrolled: g.enrolled ?? 0, schedule: g.schedule ?? null,
    }).returning('id');
    groupIds.push((group as { id: string }).id);
  }
  return { offerId, groupIds, providerId };
}

/**
 * People who completed an offer in a group: a learner, a closed case and a 'completed' application each, and a
 * completion survey with the given stars when `ratings` has an entry for that person (fewer answers than
 * completers, as in life).
 */
export async function insertCompleters(db: Knex, offerId: string, groupId: string, count: number, ratings: Partial<Record<SurveyAspect, number>>[] = []): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    const n = next();
    const [learner] = await db('learners').insert({
      personCode: `32${String(n).padStart(4, '0')}-${String(Math.floor(Math.random() * 100_000)).padStart(5, '0')}`,
      firstName: 'Pabeidzējs', lastName: `Nr${n}`, email: `completer${n}-${randomUUID().slice(0, 6)}@example.lv`,
      language: 'lv', termsVersion: 'test', termsAcceptedAt: new Date(),
    }).returning('id');
    const caseId = randomUUID();
    await db('cases').insert({
      id: caseId, serviceCaseId: `TEST-${caseId.slice(0, 13)}`, workflowId: `test-completer:${caseId}`,
      learnerId: (learner as { id: string }).id, programme: 'IMK', stage: 'closed', channel: 'e-service', closedAt: new Date(),
    });
    const applicationId = randomUUID();
    await db('applications').insert({
      id: applicationId, caseId, attempt: 1, offerId, groupId, state: 'completed', costCents: 32_000, spentCents: 32_000,
      actorRole: 'learner', channel: 'e-service', enrolledAt: new Date(), endedAt: new Date(),
    });
    const stars = ratings[i];
    if (stars) {
      await db('surveyAnswers').insert({
        caseId, applicationId, kind: 'completion', ratings: JSON.stringify(stars), reasons: '[]', actorRole: 'learner', channel: 'e-service',
      });
    }
  }
}

/** The same stars for every aspect, for a ratings list. */
export function allAspects(stars: number): Record<SurveyAspect, number> {
  return Object.fromEntries(SURVEY_ASPECTS.map((a) => [a, stars])) as Record<SurveyAspect, number>;
}

/** A provider-level document (the declaration by default); returns its id and checksum. */
export async function insertDocument(db: Knex, providerId: string, fields: { kind?: string; filename?: string; contentType?: string; content?: Buffer; offerId?: string | null } = {}) {
  const content = fields.content ?? Buffer.from('%PDF-1.4\n% test declaration\n');
  const sha256 = createHash('sha256').update(content).digest('hex');
  const [row] = await db('documents').insert({
    providerId, offerId: fields.offerId ?? null, kind: fields.kind ?? 'declaration', filename: fields.filename ?? 'apliecinājums.pdf',
    contentType: fields.contentType ?? 'application/pdf', sizeBytes: content.length, sha256, content,
  }).returning('id');
  return { documentId: (row as { id: string }).id, sha256, content };
}

/** An open inbox task about a provider or an offer, as a workflow's activity would open it; returns its id. */
export async function insertProviderTask(db: Knex, fields: {
  type: 'approve-provider' | 'evaluate-offer'; providerId: string; offerId?: string | null; facts?: Record<string, unknown>;
  dueAt?: Date; escalatedAt?: Date | null; workflowId?: string;
}): Promise<string> {
  const id = randomUUID();
  await db('tasks').insert({
    id, caseId: null, providerId: fields.providerId, offerId: fields.offerId ?? null,
    workflowId: fields.workflowId ?? `test-${fields.type}:${id}`, step: fields.type, type: fields.type, state: 'open',
    facts: JSON.stringify(fields.facts ?? {}), dueAt: fields.dueAt ?? new Date(Date.now() + 86_400_000), escalatedAt: fields.escalatedAt ?? null,
  });
  return id;
}

/** A step in a provider's or an offer's history. */
export async function insertProviderEvent(db: Knex, fields: { providerId: string; offerId?: string | null; kind: string; state: string; workflowId?: string }) {
  await db('providerEvents').insert({
    providerId: fields.providerId, offerId: fields.offerId ?? null, workflowId: fields.workflowId ?? `test-events:${fields.providerId}`,
    step: `${fields.kind}-${next()}`, kind: fields.kind, state: fields.state, actorRole: 'system', details: '{}',
  });
}
