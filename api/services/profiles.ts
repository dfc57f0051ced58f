import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Session } from '../../lib/sessions';
import { HttpError } from '../errors';
import { auditUserAction } from './audit';
import { providerOf } from './provider';
import { requireProviderAdmin } from './provider-registration';

/** The contact data a learner keeps current: where e-mails go, a phone, the language of e-mails and pages. */
export interface LearnerProfile { email: string; phone: string | null; language: 'lv' | 'en' }

/** The contact data a provider keeps current: where the agency's e-mails about it and its offers go, and a phone. */
export interface ProviderContact { email: string | null; phone: string | null }

/** The learner's contact data; 404 before their first registration (the row is made then). */
export async function learnerProfile(db: Knex, session: Session): Promise<LearnerProfile> {
  const row = await db('learners').where({ personCode: session.subject }).first<LearnerProfile | undefined>('email', 'phone', 'language');
  if (!row) throw noProfile();
  return row;
}

/**
 * Changes the learner's contact data. Each change is noted in the history of their open cases (or of their latest
 * case when none is open), naming the fields, and audited with the values before and after: the history is read
 * for years and by staff, the audit only as long as it is kept, so old addresses live only there. E-mails read the
 * address when they are sent (activities/email.ts), so the next one goes to the new address.
 */
export async function changeLearnerProfile(db: Knex, session: Session, change: Partial<LearnerProfile>): Promise<LearnerProfile> {
  return db.transaction(async (trx) => {
    const before = await trx('learners').where({ personCode: session.subject }).forUpdate()
      .first<(LearnerProfile & { id: string }) | undefined>('id', 'email', 'phone', 'language');
    if (!before) throw noProfile();
    const fields = (Object.keys(change) as (keyof LearnerProfile)[]).filter((f) => change[f] !== undefined && change[f] !== before[f]);
    const after: LearnerProfile = { email: change.email ?? before.email, phone: change.phone !== undefined ? change.phone : before.phone, language: change.language ?? before.language };
    if (fields.length === 0) return after;
    await trx('learners').where({ id: before.id }).update({ ...pick(after, fields), updatedAt: trx.fn.now() });
    const open = await trx('cases').where({ learnerId: before.id }).whereNull('closedAt').select<{ id: string; stage: string }[]>('id', 'stage');
    const cases = open.length > 0 ? open
      : await trx('cases').where({ learnerId: before.id }).orderBy('createdAt', 'desc').limit(1).select<{ id: string; stage: string }[]>('id', 'stage');
    const step = `profile-changed:${randomUUID()}`;
    if (cases.length > 0) {
      await trx('caseEvents').insert(cases.map((c) => ({
        caseId: c.id, step, kind: 'profile_changed', stage: c.stage, actorRole: session.role, actorId: session.subject, actorName: session.name,
        channel: 'e-service', details: JSON.stringify({ fields }),
      })));
    }
    await auditUserAction(trx, session, {
      action: 'profile.changed', purpose: 'The learner changed their contact data', subjectPersonCode: session.subject,
      result: { fields, before: pick(before, fields), after: pick(after, fields), cases: cases.map((c) => c.id) },
    });
    return after;
  });
}

/** The provider's contact data (any user of the provider may read it). */
export async function providerContact(db: Knex, session: Session): Promise<ProviderContact> {
  const row = await db('providers').where({ id: providerOf(session) }).first<ProviderContact | undefined>('email', 'phone');
  if (!row) throw noProvider();
  return row;
}

/**
 * The provider's administrator changes its contact data: noted in the provider's history (provider_events) naming
 * the fields, and audited with the values before and after. E-mails about offers read the address when they are sent.
 */
export async function changeProviderContact(db: Knex, session: Session, change: Partial<ProviderContact>): Promise<ProviderContact> {
  requireProviderAdmin(session);
  const providerId = providerOf(session);
  return db.transaction(async (trx) => {
    const before = await trx('providers').where({ id: providerId }).forUpdate()
      .first<(ProviderContact & { id: string; status: string; workflowId: string | null }) | undefined>('id', 'email', 'phone', 'status', 'workflowId');
    if (!before) throw noProvider();
    const fields = (Object.keys(change) as (keyof ProviderContact)[]).filter((f) => change[f] !== undefined && change[f] !== before[f]);
    const after: ProviderContact = { email: change.email !== undefined ? change.email : before.email, phone: change.phone !== undefined ? change.phone : before.phone };
    if (fields.length === 0) return after;
    await trx('providers').where({ id: before.id }).update(pick(after, fields));
    // provider_events is keyed by workflow and step; a provider seeded without a registration workflow gets a key of its own.
    await trx('providerEvents').insert({
      providerId: before.id, workflowId: before.workflowId ?? `provider-contact:${before.id}`, step: `contact-changed:${randomUUID()}`,
      kind: 'contact_changed', state: before.status, actorRole: session.role, actorId: session.userId, actorName: session.name,
      details: JSON.stringify({ fields }),
    });
    await auditUserAction(trx, session, {
      action: 'provider.contact_changed', purpose: 'The provider\'s administrator changed its contact data',
      result: { providerId: before.id, fields, before: pick(before, fields), after: pick(after, fields) },
    });
    return after;
  });
}

function pick<T extends object, K extends keyof T>(row: T, fields: K[]): Pick<T, K> {
  return Object.fromEntries(fields.map((f) => [f, row[f]])) as Pick<T, K>;
}

function noProvider(): HttpError {
  return new HttpError(404, 'provider_not_found', 'Your user\'s education provider is not known');
}

function noProfile(): HttpError {
  return new HttpError(404, 'profile_not_found', 'You have no profile yet: it is made when you first register for an account', [{
    words: { lv: 'Jums vēl nav profila: tas tiek izveidots, kad pirmoreiz reģistrējaties kontam.', en: 'You have no profile yet: it is made when you first register for an account.' },
  }]);
}
