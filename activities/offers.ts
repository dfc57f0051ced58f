import type { Knex } from 'knex';
import { Call, Offer, Provider, ProviderEvent, StoredDocument } from '../lib/db';
import type { EmailName } from '../lib/email-templates';
import type { Actor } from '../domain/journey';
import { checkOffer, computedCostCents } from '../domain/offer-checks';
import { COUNTED_OFFER_STATES, EDITABLE_OFFER_STATES, type OfferProblem, type OfferState } from '../domain/offers';
import { formatEuro } from '../domain/money';
import { writeAudit } from '../lib/audit';
import type { createEmailActivities, SendEmailResult } from './email';
import { formatTime, noteIfUndeliverable, writeProviderEvent } from './providers';
import type { ViisClient } from './registries/viis';

/** The call's phases an offer's workflow times itself by (ISO instants), read once at its start. */
export interface OfferContext {
  state: OfferState;
  providerId: string;
  call: {
    code: string; submissionClosesAt: string; evaluationEndsAt: string; publicationAt: string; teachingEndsAt: string;
  };
}

/** A provider's action on its offer, numbered by the workflow so each attempt is its own history row. */
export interface OfferActionStep { offerId: string; workflowId: string; step: string; actor: Actor }

/** The answer to a submission attempt. */
export interface SubmitOfferActivityResult { state: OfferState; problems: OfferProblem[]; costCents: number | null }

/** The items an evaluator ticks on the evaluation task (seed 001: provider and programme requirements, ...). */
export const EVALUATION_CHECKLIST = ['provider_requirements', 'programme_requirements', 'documents_complete', 'cost_correct'] as const;

/** What the offer activities need. */
export interface OfferActivityDeps {
  db: Knex;
  viis: ViisClient;
  publicUrl: string;
  email: ReturnType<typeof createEmailActivities>;
}

const SYSTEM: Actor = { role: 'system', id: null, name: null, channel: 'system' };

/** Activities of an offer's workflow: checks and freezing on submission, evaluation, publication, closing. */
export function createOfferActivities(deps: OfferActivityDeps) {
  const { db } = deps;

  async function offerOf(trx: Knex | Knex.Transaction, offerId: string): Promise<Offer> {
    const offer = await Offer.query(trx).findById(offerId);
    if (!offer) throw new Error(`offer ${offerId} not found`);
    return offer;
  }

  /** Moves the offer from one of `from` to `to` (a retry finds it moved and changes nothing) and records the step. */
  async function transition(offerId: string, workflowId: string, step: string, from: OfferState[], to: OfferState,
    patch: Partial<Offer>, actor: Actor, details: Record<string, unknown> = {}): Promise<void> {
    await db.transaction(async (trx) => {
      const offer = await offerOf(trx, offerId);
      await Offer.query(trx).patch({ ...patch, state: to, updatedAt: new Date() } as Partial<Offer>)
        .where({ id: offerId }).whereIn('state', from);
      await writeProviderEvent(trx, { providerId: offer.providerId, offerId, workflowId, step, kind: to, state: to, actor, details });
    });
  }

  return {
    /** The offer's state and its call's phases, so the workflow's timers come from data. */
    async loadOfferContext(input: { offerId: string }): Promise<OfferContext> {
      const offer = await offerOf(db, input.offerId);
      if (!offer.callId) throw new Error(`offer ${input.offerId} belongs to no call`);
      const call = await Call.query(db).findById(offer.callId);
      if (!call) throw new Error(`call ${offer.callId} not found`);
      return {
        state: offer.state, providerId: offer.providerId,
        call: {
          code: call.code, submissionClosesAt: call.submissionClosesAt.toISOString(), evaluationEndsAt: call.evaluationEndsAt.toISOString(),
          publicationAt: call.publicationAt.toISOString(), teachingEndsAt: call.teachingEndsAt.toISOString(),
        },
      };
    },

    /**
     * Runs every automated check and, only if none fails, freezes the offer (state 'submitted', cost computed).
     * VIIS is asked first, outside the transaction; the rest runs in one transaction that locks the provider's row,
     * so two of the provider's offers submitted at once cannot both pass the limit per call. A refused attempt is
     * recorded with its problems. The step names the attempt: a retry answers what the first run decided.
     */
    async submitOffer(input: OfferActionStep): Promise<SubmitOfferActivityResult> {
      const earlier = await ProviderEvent.query(db).findOne({ workflowId: input.workflowId, step: input.step });
      if (earlier) return { state: earlier.state as OfferState, problems: (earlier.details.problems as OfferProblem[] | undefined) ?? [], costCents: (earlier.details.costCents as number | undefined) ?? null };

      const draft = await offerOf(db, input.offerId);
      const provider = await Provider.query(db).findById(draft.providerId);
      if (!provider) throw new Error(`provider ${draft.providerId} not found`);
      const number = provider.educationRegistrationNumber;
      const institution = number ? await deps.viis.getInstitution(number) : null;
      if (number) {
        await writeAudit(db, {
          actor: { role: 'system', id: null, name: 'provider-offer worker' }, action: 'viis.get-institution', subjectPersonCode: null,
          caseId: null, purpose: 'offer submission checks', idempotencyKey: `${input.workflowId}:${input.step}:viis`,
          result: { registrationNumber: number, found: institution !== null },
        });
      }

      return db.transaction(async (trx) => {
        await Provider.query(trx).findById(draft.providerId).forUpdate();
        const offer = await Offer.query(trx).findById(input.offerId).forUpdate();
        if (!offer) throw new Error(`offer ${input.offerId} not found`);
        // The workflow judged the state before asking; anything else means the offer changed under it.
        if (!EDITABLE_OFFER_STATES.includes(offer.state)) return { state: offer.state, problems: [], costCents: offer.costCents };
        const call = await Call.query(trx).findById(offer.callId!);
        if (!call) throw new Error(`call ${offer.callId} not found`);
        const documents = await StoredDocument.query(trx).where({ offerId: offer.id }).select('kind');
        const others = await Offer.query(trx).where({ providerId: offer.providerId, callId: offer.callId })
          .whereIn('state', COUNTED_OFFER_STATES as OfferState[]).whereNot({ id: offer.id }).resultSize();
        const coefficient = offer.coefficientCode
          ? await trx('costCoefficients').where({ code: offer.coefficientCode }).first<{ coefficientThousandths: number } | undefined>()
          : undefined;
        const facts = {
          institution: institution && {
            places: institution.placesOfDelivery.map((p) => p.address),
            licences: institution.licences.map((l) => ({ number: l.number, hours: l.hours })),
          },
          attachedDocuments: documents.map((d) => d.kind), otherOffersInCall: others,
          coefficientThousandths: coefficient?.coefficientThousandths ?? null,
        };
        const problems = checkOffer(offer, call, facts);
        if (problems.length > 0) {
          await writeProviderEvent(trx, {
            providerId: offer.providerId, offerId: offer.id, workflowId: input.workflowId, step: input.step,
            kind: 'submission_refused', state: offer.state, actor: input.actor, details: { problems },
          });
          return { state: offer.state, problems, costCents: null };
        }
        const costCents = computedCostCents(offer, facts.coefficientThousandths)!;
        const now = new Date();
        await Offer.query(trx).patch({ state: 'submitted', submittedAt: now, costCents, updatedAt: now } as Partial<Offer>).where({ id: offer.id });
        await writeProviderEvent(trx, {
          providerId: offer.providerId, offerId: offer.id, workflowId: input.workflowId, step: input.step,
          kind: 'submitted', state: 'submitted', actor: input.actor, details: { costCents, problems: [] },
        });
        return { state: 'submitted' as const, problems: [], costCents };
      });
    },

    /** Withdraws a submitted offer so the provider can edit it again. */
    async withdrawOffer(input: OfferActionStep): Promise<{ state: OfferState }> {
      await transition(input.offerId, input.workflowId, input.step, ['submitted'], 'withdrawn', { submittedAt: null }, input.actor);
      return { state: (await offerOf(db, input.offerId)).state };
    },

    /**
     * At the submission deadline: a submitted offer goes to evaluation (and the facts for the evaluator's task are
     * returned); a draft or withdrawn one was not submitted.
     */
    async closeSubmission(input: { offerId: string; workflowId: string }): Promise<{ state: OfferState; facts: Record<string, unknown>; subject: string }> {
      const offer = await offerOf(db, input.offerId);
      const submitted = offer.state === 'submitted' || offer.state === 'in_evaluation';
      await transition(input.offerId, input.workflowId, 'submission-closed', submitted ? ['submitted'] : ['draft', 'withdrawn'],
        submitted ? 'in_evaluation' : 'not_submitted', {}, SYSTEM);
      const after = await offerOf(db, input.offerId);
      const provider = await Provider.query(db).findById(offer.providerId);
      const documents = await StoredDocument.query(db).where({ offerId: offer.id }).select('kind', 'filename');
      const facts = {
        providerName: provider?.name ?? null, providerRegistrationNumber: provider?.registrationNumber ?? null,
        title: { lv: offer.titleLv, en: offer.titleEn }, competence: offer.competence, licenceNumber: offer.licenceNumber,
        hoursTheory: offer.hoursTheory, hoursPractice: offer.hoursPractice, digcompLevel: offer.digcompLevel,
        digitalSharePercent: offer.digitalSharePercent, places: offer.places,
        documents: documents.map((d) => ({ kind: d.kind, filename: d.filename })),
        // Submission succeeded only because every automated check passed.
        automatedChecks: { passed: true, problems: [], submittedAt: offer.submittedAt?.toISOString() ?? null },
        costCents: offer.costCents, statedCostCents: offer.statedCostCents, coefficientCode: offer.coefficientCode,
        checklist: [...EVALUATION_CHECKLIST],
      };
      return { state: after.state, facts, subject: `${offer.titleLv} (${provider?.name ?? offer.providerId})` };
    },

    /** Records the evaluation: approved, or rejected with the reasons the provider will read. */
    async recordOfferDecision(input: {
      offerId: string; workflowId: string; decision: 'approve' | 'reject'; reasons: string[]; comment: string;
      checklist: Record<string, boolean>; decidedBy: Actor; decidedAt: string;
    }): Promise<void> {
      const approved = input.decision === 'approve';
      await transition(input.offerId, input.workflowId, 'evaluation', ['in_evaluation'], approved ? 'approved' : 'rejected', {
        decidedAt: new Date(input.decidedAt), rejectionReasons: approved ? null : (JSON.stringify(input.reasons) as unknown as string[]),
      }, input.decidedBy, { reasons: input.reasons, checklist: input.checklist, comment: input.comment });
    },

    /** Publishes an approved offer in the catalogue. */
    async publishOffer(input: { offerId: string; workflowId: string }): Promise<void> {
      const now = new Date();
      await transition(input.offerId, input.workflowId, 'published', ['approved'], 'published', { published: true, publishedAt: now }, SYSTEM);
    },

    /** How many of the offer's applications still wait for the provider or are studying. */
    async countActiveApplications(input: { offerId: string }): Promise<{ active: number }> {
      const row = await db('applications').where({ offerId: input.offerId }).whereIn('state', ['applied', 'enrolled'])
        .count<{ count: string }[]>({ count: '*' });
      return { active: Number(row[0]?.count ?? 0) };
    },

    /** Closes an offer whose teaching is over and every learner's outcome is reported. */
    async closeOffer(input: { offerId: string; workflowId: string }): Promise<void> {
      await transition(input.offerId, input.workflowId, 'closed', ['published'], 'closed', {}, SYSTEM);
    },

    /**
     * Sends an e-mail about the offer to the provider's address (read at sending time, so a corrected address is
     * used), once per workflow and step.
     */
    async sendOfferEmail(input: { offerId: string; workflowId: string; step: string; template: EmailName; data?: Record<string, unknown> }): Promise<{ status: SendEmailResult['status'] | 'no-address' }> {
      const offer = await offerOf(db, input.offerId);
      const provider = await Provider.query(db).findById(offer.providerId);
      const call = offer.callId ? await Call.query(db).findById(offer.callId) : undefined;
      if (!provider?.email) return { status: 'no-address' };
      // Providers choose no language; the agency writes to them in Latvian.
      const language = 'lv' as const;
      const sent = await deps.email.sendEmailTo({
        workflowId: input.workflowId, step: input.step, template: input.template, recipient: provider.email, language,
        data: {
          providerName: provider.name, offerTitle: offer.titleLv, callTitle: call?.titleLv ?? '', serviceCaseId: call?.code ?? offer.id,
          cost: formatEuro(offer.costCents, language),
          publicationAt: call ? formatTime(call.publicationAt.toISOString(), language) : '',
          caseUrl: `${deps.publicUrl}/provider/offers/${offer.id}`, ...input.data,
        },
      });
      return noteIfUndeliverable(db, sent, {
        providerId: offer.providerId, offerId: offer.id, workflowId: input.workflowId, step: input.step, template: input.template, state: offer.state,
      });
    },
  };
}
