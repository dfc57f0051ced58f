import type { Knex } from 'knex';
import { Provider, ProviderEvent, User } from '../lib/db';
import type { LinkTokens } from '../lib/links';
import { SYSTEM_ACTOR, type Actor } from '../domain/journey';
import { formatRigaDay, formatRigaTime, rigaDate } from '../domain/dates';
import { writeAudit } from '../lib/audit';
import type { EnterpriseRegisterClient } from './registries/enterprise-register';
import type { ViisClient } from './registries/viis';
import type { createEmailActivities, SendEmailResult } from './email';

/** One row of a provider's or an offer's history, keyed by workflow and step so a retry writes it once. */
export interface ProviderEventInput {
  providerId: string;
  offerId?: string | null;
  workflowId: string;
  step: string;
  kind: string;
  state: string;
  actor: Actor;
  details?: Record<string, unknown>;
}

/** Writes a provider_events row; a row already there for the workflow and step makes this a no-op. */
export async function writeProviderEvent(db: Knex | Knex.Transaction, input: ProviderEventInput): Promise<void> {
  await ProviderEvent.query(db).insert({
    providerId: input.providerId, offerId: input.offerId ?? null, workflowId: input.workflowId, step: input.step,
    kind: input.kind, state: input.state, actorRole: input.actor.role, actorId: input.actor.id, actorName: input.actor.name,
    details: input.details ?? {},
  } as Partial<ProviderEvent>).onConflict(['workflowId', 'step']).ignore();
}

/**
 * Notes in the provider's (or offer's) history that an e-mail to it was refused for good by the recipient's
 * server, so the agency sees why the registrant never followed the link; passes the send's result on.
 */
export async function noteIfUndeliverable(
  db: Knex, sent: SendEmailResult,
  about: { providerId: string; offerId?: string | null; workflowId: string; step: string; template: string; state: string },
): Promise<SendEmailResult> {
  if (sent.status !== 'rejected') return sent;
  await writeProviderEvent(db, {
    providerId: about.providerId, offerId: about.offerId ?? null, workflowId: about.workflowId,
    step: `email-undeliverable:${about.step}`, kind: 'email_undeliverable', state: about.state, actor: SYSTEM_ACTOR,
    details: { template: about.template },
  });
  return sent;
}

/** What the registries say about a registering provider; goes onto the agency's approval task. */
export interface ProviderRegistryFacts {
  company: { registrationNumber: string; found: boolean; name: string | null; status: string | null };
  institution: {
    registrationNumber: string | null; found: boolean; name: string | null; accredited: boolean | null;
    registeredSince: string | null;
    /** Registered in the Register of Educational Institutions at least 3 years before today (seed 001). */
    registeredAtLeastThreeYears: boolean | null;
    placesCount: number;
    licencesCount: number;
  };
}

/** What the provider activities need. */
export interface ProviderActivityDeps {
  db: Knex;
  viis: ViisClient;
  enterpriseRegister: EnterpriseRegisterClient;
  links: LinkTokens;
  publicUrl: string;
  email: ReturnType<typeof createEmailActivities>;
}

const WORKER_ACTOR = { role: 'system', id: null, name: 'provider-registration worker' };

/** Activities of a provider's registration: e-mail confirmation, registry checks, the agency's decision. */
export function createProviderActivities(deps: ProviderActivityDeps) {
  const { db } = deps;
  return {
    /** Records one step of a provider's or offer's history (idempotent per workflow and step). */
    async recordProviderEvent(input: ProviderEventInput): Promise<void> {
      await writeProviderEvent(db, input);
    },

    /**
     * Sends the registrant the confirmation link. The token is signed here, so it never enters workflow history;
     * a retry re-signs but the outbox sends only the first e-mail.
     */
    async sendProviderConfirmationEmail(input: {
      providerId: string; workflowId: string; email: string; language: 'lv' | 'en'; validHours: number; validUntil: string;
    }): Promise<SendEmailResult> {
      const provider = await Provider.query(db).findById(input.providerId);
      if (!provider) throw new Error(`provider ${input.providerId} not found`);
      const token = await deps.links.sign('confirm-provider-email', input.providerId, input.validHours);
      const sent = await deps.email.sendEmailTo({
        workflowId: input.workflowId, step: 'confirm-email', template: 'provider-confirm-email',
        recipient: input.email, language: input.language,
        data: {
          providerName: provider.name, serviceCaseId: provider.registrationNumber, validUntil: formatTime(input.validUntil, input.language),
          caseUrl: `${deps.publicUrl}/providers/confirm?token=${encodeURIComponent(token)}`,
        },
      });
      return noteIfUndeliverable(db, sent, {
        providerId: input.providerId, workflowId: input.workflowId, step: 'confirm-email', template: 'provider-confirm-email', state: provider.status,
      });
    },

    /** Tells the registrant the agency's decision (approved, or rejected with the reason). */
    async sendProviderDecisionEmail(input: {
      providerId: string; workflowId: string; email: string; language: 'lv' | 'en'; decision: 'approve' | 'reject'; reason: string; decidedAt: string;
    }): Promise<SendEmailResult> {
      const provider = await Provider.query(db).findById(input.providerId);
      if (!provider) throw new Error(`provider ${input.providerId} not found`);
      const common = { providerName: provider.name, serviceCaseId: provider.registrationNumber, caseUrl: `${deps.publicUrl}/provider` };
      const template = input.decision === 'approve' ? 'provider-approved' : 'provider-rejected';
      const sent = await deps.email.sendEmailTo({
        workflowId: input.workflowId, step: template, template, recipient: input.email, language: input.language,
        data: input.decision === 'approve'
          ? { ...common, approvedAt: formatDay(input.decidedAt, input.language) }
          : { ...common, reason: input.reason },
      });
      return noteIfUndeliverable(db, sent, { providerId: input.providerId, workflowId: input.workflowId, step: template, template, state: provider.status });
    },

    /** The registrant confirmed the address: provider and user now wait for the agency. */
    async confirmProviderEmail(input: { providerId: string; userId: string; workflowId: string; confirmedAt: string }): Promise<void> {
      const at = new Date(input.confirmedAt);
      await db.transaction(async (trx) => {
        await Provider.query(trx).patch({ status: 'awaiting_approval', emailConfirmedAt: at } as Partial<Provider>)
          .where({ id: input.providerId, status: 'awaiting_email' });
        await User.query(trx).patch({ status: 'awaiting_approval', emailConfirmedAt: at } as Partial<User>)
          .where({ id: input.userId, status: 'awaiting_email' });
        await writeProviderEvent(trx, {
          providerId: input.providerId, workflowId: input.workflowId, step: 'email-confirmed', kind: 'email_confirmed',
          state: 'awaiting_approval', actor: { role: 'provider', id: input.userId, name: null, channel: 'e-service' },
        });
      });
    },

    /** The link was not followed in time: the registration expires (the registrant may register again). */
    async expireProviderRegistration(input: { providerId: string; userId: string; workflowId: string }): Promise<void> {
      await db.transaction(async (trx) => {
        await Provider.query(trx).patch({ status: 'expired' } as Partial<Provider>).where({ id: input.providerId, status: 'awaiting_email' });
        await User.query(trx).patch({ active: false } as Partial<User>).where({ id: input.userId, status: 'awaiting_email' });
        await writeProviderEvent(trx, {
          providerId: input.providerId, workflowId: input.workflowId, step: 'expired', kind: 'expired', state: 'expired',
          actor: { role: 'system', id: null, name: null, channel: 'system' },
        });
      });
    },

    /**
     * Looks the company up in the Enterprise Register and the institution in VIIS, audits both queries, and returns
     * the facts the agency decides on. Transport errors are thrown so Temporal retries (an outage delays, never loses).
     */
    async checkProviderRegistries(input: { providerId: string; workflowId: string }): Promise<ProviderRegistryFacts> {
      const provider = await Provider.query(db).findById(input.providerId);
      if (!provider) throw new Error(`provider ${input.providerId} not found`);
      const company = await deps.enterpriseRegister.getCompany(provider.registrationNumber);
      await writeAudit(db, {
        actor: WORKER_ACTOR, action: 'enterprise-register.get-company', subjectPersonCode: null, caseId: null,
        purpose: 'provider registration', idempotencyKey: `${input.workflowId}:enterprise-register`,
        result: company ? { registrationNumber: provider.registrationNumber, found: true, status: company.status } : { registrationNumber: provider.registrationNumber, found: false },
      });
      const number = provider.educationRegistrationNumber;
      const institution = number ? await deps.viis.getInstitution(number) : null;
      if (number) {
        await writeAudit(db, {
          actor: WORKER_ACTOR, action: 'viis.get-institution', subjectPersonCode: null, caseId: null,
          purpose: 'provider registration', idempotencyKey: `${input.workflowId}:viis`,
          result: institution ? { registrationNumber: number, found: true, accredited: institution.accredited } : { registrationNumber: number, found: false },
        });
      }
      // "At least 3 years before applying" (seed 001), judged on the Riga calendar day of the check.
      const today = rigaDate(new Date());
      const threeYearsAgo = `${Number(today.slice(0, 4)) - 3}${today.slice(4)}`;
      const facts: ProviderRegistryFacts = {
        company: {
          registrationNumber: provider.registrationNumber, found: company !== null, name: company?.name ?? null, status: company?.status ?? null,
        },
        institution: {
          registrationNumber: number, found: institution !== null, name: institution?.name ?? null,
          accredited: institution?.accredited ?? null, registeredSince: institution?.registeredSince ?? null,
          registeredAtLeastThreeYears: institution ? institution.registeredSince <= threeYearsAgo : null,
          placesCount: institution?.placesOfDelivery.length ?? 0, licencesCount: institution?.licences.length ?? 0,
        },
      };
      await writeProviderEvent(db, {
        providerId: input.providerId, workflowId: input.workflowId, step: 'registries-checked', kind: 'registries_checked',
        state: 'awaiting_approval', actor: { role: 'system', id: null, name: null, channel: 'system' }, details: { ...facts },
      });
      return facts;
    },

    /**
     * Records the agency's decision: approved makes the registrant the provider's active administrator; rejected
     * keeps the reason. Only a provider still awaiting approval changes, so a retry cannot overwrite the decision.
     */
    async recordProviderDecision(input: {
      providerId: string; userId: string; workflowId: string; decision: 'approve' | 'reject'; comment: string; decidedBy: Actor; decidedAt: string;
    }): Promise<void> {
      const approved = input.decision === 'approve';
      const at = new Date(input.decidedAt);
      await db.transaction(async (trx) => {
        await Provider.query(trx).patch({
          status: approved ? 'approved' : 'rejected', rejectionReason: approved ? null : input.comment, decidedAt: at,
        } as Partial<Provider>).where({ id: input.providerId, status: 'awaiting_approval' });
        await User.query(trx).patch(
          (approved ? { status: 'active', active: true, providerRole: 'admin' } : { status: 'rejected', active: false }) as Partial<User>,
        ).where({ id: input.userId, status: 'awaiting_approval' });
        await writeProviderEvent(trx, {
          providerId: input.providerId, workflowId: input.workflowId, step: 'decision', kind: approved ? 'approved' : 'rejected',
          state: approved ? 'approved' : 'rejected', actor: input.decidedBy, details: { comment: input.comment },
        });
      });
    },
  };
}

/** A calendar day as people in Riga read it. */
export function formatDay(iso: string, language: 'lv' | 'en'): string {
  return formatRigaDay(new Date(iso), language);
}

/** A date and time as people in Riga read it. */
export function formatTime(iso: string, language: 'lv' | 'en'): string {
  // A deadline at a day's end (00:00 Riga) reads as 24:00 of its last day.
  return formatRigaTime(iso, language);
}
