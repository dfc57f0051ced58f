import { createHash, randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Knex } from 'knex';
import type { z } from 'zod';
import { FailureType } from '../../domain/failures';
import { checkPassword } from '../../domain/password-policy';
import { checkDocument, tooLargeProblem } from '../../domain/uploads';
import { hashPassword } from '../../lib/passwords';
import type { Session } from '../../lib/sessions';
import { providerRegistrationId } from '../../workflows/ids';
import { confirmProviderEmailUpdate, providerRegistration, type ProviderRegistrationInput, type ProviderRegistrationStage } from '../../workflows/provider-registration';
import type { ApiDeps } from '../deps';
import { HttpError, violatedUniqueConstraint, type WordedProblem } from '../errors';
import type { UploadedFile } from '../middleware/upload';
import type { providerRegistrationSchema, providerStaffRegistrationSchema } from '../provider-schemas';
import { throttleOf } from '../throttle';
import { fieldProblems } from '../validation';
import { auditUserAction } from './audit';
import { startFailed, startWorkflow } from './workflow-start';
import { providerOf } from './provider';

export type { WordedProblem } from '../errors';

/** The registration input after its schema. */
export type ProviderRegistration = z.output<typeof providerRegistrationSchema>;
/** The staff registration input after its schema. */
export type ProviderStaffRegistration = z.output<typeof providerStaffRegistrationSchema>;

/**
 * The password rules and the repeat, as one list of problems of `field` (and `repeatField`). `personal` holds the
 * person's name, e-mail and institution, which the password must not be built from.
 */
export function passwordProblems(
  password: string, repeat: string | undefined, personal: readonly (string | null | undefined)[] = [],
  fields: { field: string; repeatField: string } = { field: 'password', repeatField: 'passwordRepeat' },
): WordedProblem[] {
  const problems: WordedProblem[] = checkPassword(password, personal).map((p) => ({ field: fields.field, rule: p.code, message: p.message.en, words: p.message }));
  if (repeat !== undefined && repeat !== password) {
    problems.push({ field: fields.repeatField, rule: 'mismatch', message: 'must be the same as the password',
      words: { lv: 'Paroles nesakrīt.', en: 'The passwords do not match.' } });
  }
  return problems;
}

/** Problems of an uploaded document in a file field (missing, empty, wrong type). */
export function documentProblems(field: string, file: UploadedFile | undefined): WordedProblem[] {
  if (!file) return [{ field, rule: 'required', message: 'attach the document', words: { lv: 'Pievienojiet dokumentu.', en: 'Attach the document.' } }];
  const checked = checkDocument(file.content);
  if ('problem' in checked) return [{ field, rule: checked.problem.rule, message: checked.problem.message.en, words: checked.problem.message }];
  return [];
}

/** A 400 naming each field and broken rule. */
export function invalid(problems: WordedProblem[]): HttpError {
  return new HttpError(400, 'invalid_request', `Invalid body: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`, problems);
}

/** Turns a refused upload (413 or 400 from the multipart parser) into a field problem for the form. */
export function uploadProblem(err: HttpError): WordedProblem {
  const detail = (err.details[0] ?? {}) as { field?: string; rule?: string; words?: WordedProblem['words'] };
  const words = detail.rule === 'too_large' ? tooLargeProblem().message : detail.words;
  return { field: detail.field ?? '(body)', rule: detail.rule ?? err.code, message: err.message, ...(words ? { words } : {}) };
}

/** Validates the whole registration at once (fields, password rules, the declaration), so the form shows everything. */
export function registrationProblems(
  schema: typeof providerRegistrationSchema, body: unknown, file: UploadedFile | undefined,
): { data: ProviderRegistration | null; problems: WordedProblem[] } {
  const parsed = schema.safeParse(body);
  const raw = (body ?? {}) as Record<string, unknown>;
  const problems: WordedProblem[] = parsed.success ? [] : fieldProblems(parsed.error);
  if (typeof raw.password === 'string' && raw.password.length > 0) {
    const personal = [raw.firstName, raw.lastName, raw.email, raw.institutionName].map((v) => (typeof v === 'string' ? v : null));
    problems.push(...passwordProblems(raw.password, typeof raw.passwordRepeat === 'string' ? raw.passwordRepeat : '', personal).filter((p) => !problems.some((q) => q.field === p.field && q.rule === p.rule)));
  }
  problems.push(...documentProblems('declaration', file));
  return { data: parsed.success && problems.length === 0 ? parsed.data : null, problems };
}

const DUPLICATE_WORDS = {
  companyRegistrationNumber: { lv: 'Iestāde ar šo uzņēmuma reģistrācijas numuru jau ir reģistrēta.', en: 'An institution with this company registration number is already registered.' },
  educationRegistrationNumber: { lv: 'Iestāde ar šo izglītības iestādes reģistrācijas numuru jau ir reģistrēta.', en: 'An institution with this education-institution registration number is already registered.' },
  email: { lv: 'Lietotājs ar šo e-pasta adresi jau ir reģistrēts.', en: 'A user with this e-mail address is already registered.' },
} as const;

function duplicate(fields: (keyof typeof DUPLICATE_WORDS)[]): HttpError {
  const problems: WordedProblem[] = fields.map((field) => ({ field, rule: 'duplicate', message: DUPLICATE_WORDS[field].en, words: DUPLICATE_WORDS[field] }));
  return new HttpError(409, 'already_registered', problems.map((p) => p.message).join(' '), problems);
}

// Postgres unique constraints → the form field they protect (a race between two registrations lands here).
const CONSTRAINT_FIELDS: Record<string, keyof typeof DUPLICATE_WORDS> = {
  providers_registration_number_unique: 'companyRegistrationNumber',
  providers_education_registration_number_unique: 'educationRegistrationNumber',
  users_email_unique: 'email', users_username_unique: 'email',
};

function mapUniqueViolation(err: unknown): unknown {
  const constraint = violatedUniqueConstraint(err);
  return constraint && CONSTRAINT_FIELDS[constraint] ? duplicate([CONSTRAINT_FIELDS[constraint]]) : err;
}

/**
 * Registrations that hold nothing any more: expired (the e-mailed link was never followed) or cancelled from the
 * workflow console. Their users never became active (awaiting e-mail or approval).
 */
const RELEASED_STATUSES = ['expired', 'cancelled'];
const RELEASED_USER_STATUSES = ['awaiting_email', 'awaiting_approval'];

/** Which of the registration's unique values someone already holds (an expired or cancelled registration holds nothing). */
async function takenFields(db: Knex, input: { companyRegistrationNumber?: string; educationRegistrationNumber?: string; email: string }) {
  const taken: (keyof typeof DUPLICATE_WORDS)[] = [];
  if (input.companyRegistrationNumber
    && await db('providers').where({ registrationNumber: input.companyRegistrationNumber }).whereNotIn('status', RELEASED_STATUSES).first()) {
    taken.push('companyRegistrationNumber');
  }
  if (input.educationRegistrationNumber
    && await db('providers').where({ educationRegistrationNumber: input.educationRegistrationNumber }).whereNotIn('status', RELEASED_STATUSES).first()) {
    taken.push('educationRegistrationNumber');
  }
  const user = await db('users').leftJoin('providers', 'providers.id', 'users.providerId')
    .where((q) => q.whereRaw('lower(users.email) = ?', [input.email]).orWhere('users.username', input.email))
    .where((q) => q.whereNull('providers.status').orWhereNotIn('providers.status', RELEASED_STATUSES).orWhereNotIn('users.status', RELEASED_USER_STATUSES))
    .first('users.id');
  if (user) taken.push('email');
  return taken;
}

/**
 * An expired or cancelled registration still holds the institution's numbers and the e-mail address, which are
 * unique. Registering again moves them aside on the old rows, which stay as history.
 */
async function releaseExpired(trx: Knex.Transaction, input: ProviderRegistration): Promise<void> {
  const expired = await trx('providers').whereIn('status', RELEASED_STATUSES)
    .where((q) => q.where({ registrationNumber: input.companyRegistrationNumber }).orWhere({ educationRegistrationNumber: input.educationRegistrationNumber }))
    .forUpdate().select<{ id: string }[]>('id');
  const expiredUsers = trx('users').join('providers', 'providers.id', 'users.providerId')
    .whereIn('providers.status', RELEASED_STATUSES).whereIn('users.status', RELEASED_USER_STATUSES)
    .where((q) => q.whereRaw('lower(users.email) = ?', [input.email]).orWhere('users.username', input.email)).select('users.id');
  await trx('users').whereIn('id', expiredUsers).update({
    username: trx.raw("username || ':expired:' || id"), email: trx.raw("email || ':expired:' || id"),
  });
  if (expired.length === 0) return;
  await trx('providers').whereIn('id', expired.map((p) => p.id)).update({
    registrationNumber: trx.raw("registration_number || ':expired:' || id"),
    educationRegistrationNumber: trx.raw("education_registration_number || ':expired:' || id"),
  });
}

/**
 * Registers an education provider: provider, its first user (the future administrator) and the e-signed
 * declaration in one transaction, then the registration workflow; a start that fails expires the registration.
 * Everything is validated before the transaction. `address` is the client's (ctx.ip): a registration that would
 * hold the numbers and send the confirmation e-mail is throttled per address, per e-mail address and per company.
 */
export async function registerProvider(
  deps: ApiDeps, input: ProviderRegistration, declaration: UploadedFile, address: string,
): Promise<{ providerId: string; userId: string; workflowId: string }> {
  const taken = await takenFields(deps.db, input);
  if (taken.length > 0) throw duplicate(taken);
  const checked = checkDocument(declaration.content);
  if ('problem' in checked) throw invalid(documentProblems('declaration', declaration));
  // Counted only for a registration that holds something and sends an e-mail: a form with mistakes costs nothing.
  const throttle = throttleOf(deps.db);
  await throttle.consume('providerRegistrationAddress', address, '(form)');
  await throttle.consume('confirmationMailTarget', input.email, 'email');
  await throttle.consume('registrationNumberHolds', input.companyRegistrationNumber, 'companyRegistrationNumber');
  const passwordHash = await hashPassword(input.password);
  const providerId = randomUUID();
  const userId = randomUUID();
  const workflowId = providerRegistrationId(providerId);
  try {
    await deps.db.transaction(async (trx) => {
      await releaseExpired(trx, input);
      await trx('providers').insert({
        id: providerId, name: input.institutionName, registrationNumber: input.companyRegistrationNumber,
        educationRegistrationNumber: input.educationRegistrationNumber, email: input.email, status: 'awaiting_email', workflowId,
      });
      await trx('users').insert({
        id: userId, username: input.email, email: input.email, passwordHash, displayName: `${input.firstName} ${input.lastName}`,
        role: 'provider', providerId, providerRole: 'admin', status: 'awaiting_email', active: false,
      });
      await trx('documents').insert({
        providerId, offerId: null, kind: 'declaration', filename: declaration.filename, contentType: checked.contentType,
        sizeBytes: declaration.sizeBytes, sha256: sha256(declaration.content), content: declaration.content, uploadedBy: userId,
      });
    });
  } catch (err) {
    throw mapUniqueViolation(err);
  }
  // Started only once the rows are committed: a workflow started inside the transaction outlived a failed commit
  // and retried "provider not found" for ever.
  const args: [ProviderRegistrationInput] = [{ providerId, userId, email: input.email, language: input.language, timing: deps.providerRegistrationTiming }];
  const started = await startWorkflow(deps, () => deps.temporal.workflow.start(providerRegistration, {
    taskQueue: deps.taskQueue, workflowId, args, workflowIdConflictPolicy: 'USE_EXISTING', workflowIdReusePolicy: 'REJECT_DUPLICATE',
  }));
  if (started.outcome === 'not_started' || started.outcome === 'unknown') {
    // Nothing waits for this registration: it is expired at once, which frees its numbers and e-mail address for
    // the next attempt (releaseExpired). Should the start have happened after all, its workflow finds its rows, its
    // link answers "expired", and it ends at its own deadline.
    await deps.db('providers').where({ id: providerId }).update({ status: 'expired' }).catch(() => undefined);
    throw startFailed(started, 'the registration');
  }
  deps.logger.info('provider registered', { providerId, workflowId });
  return { providerId, userId, workflowId };
}

/** The hex SHA-256 of a document, stored with it so a later reader can tell it is the file that was sent. */
export function sha256(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** What following the e-mailed link did. */
export type ConfirmOutcome = { outcome: 'confirmed' | 'already_confirmed'; stage: ProviderRegistrationStage };

/**
 * Confirms a registrant's e-mail address from the e-mailed link. A forged link is 400, an expired link (or an
 * expired registration) 410; a second click after the confirmation answers like the first.
 */
export async function confirmProviderEmail(deps: ApiDeps, token: string): Promise<ConfirmOutcome> {
  const provider = await providerOfConfirmLink(deps, token);
  if (provider.status !== 'awaiting_email') return { outcome: 'already_confirmed', stage: provider.status as ProviderRegistrationStage };
  try {
    const result = await deps.temporal.workflow.getHandle(provider.workflowId).executeUpdate(confirmProviderEmailUpdate, {
      args: [{ confirmedAt: new Date().toISOString() }], updateId: `confirm:${provider.id}`,
    });
    return { outcome: 'confirmed', stage: result.stage };
  } catch (err) {
    const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
    if (cause instanceof ApplicationFailure && cause.type === FailureType.RegistrationExpired) throw linkExpired();
    if (cause instanceof ApplicationFailure) throw new HttpError(409, failureCode(cause.type), cause.message);
    if (err instanceof WorkflowNotFoundError) {
      const fresh = await deps.db('providers').where({ id: provider.id }).first<{ status: string }>('status');
      if (fresh.status === 'expired') throw linkExpired();
      if (fresh.status !== 'awaiting_email') return { outcome: 'already_confirmed', stage: fresh.status as ProviderRegistrationStage };
      throw new HttpError(409, 'registration_closed', 'This registration is no longer waiting for a confirmation');
    }
    throw err;
  }
}

/**
 * The registration an e-mailed confirmation link names, checked without acting on it (the link's page only shows a
 * button, because e-mail scanners open links): 400 for a link that is not ours, 410 for one that has expired or
 * whose registration was released.
 */
export async function providerOfConfirmLink(deps: ApiDeps, token: string): Promise<{ id: string; status: string; workflowId: string }> {
  const verified = await deps.links.verify('confirm-provider-email', token);
  if (verified === 'expired') throw linkExpired();
  if (!verified) throw new HttpError(400, 'invalid_link', 'This confirmation link is not valid. Copy the whole link from the e-mail, or register again.');
  const provider = await deps.db('providers').where({ id: verified.subject }).first<{ id: string; status: string; workflowId: string | null } | undefined>();
  if (!provider?.workflowId) throw new HttpError(400, 'invalid_link', 'This confirmation link is not valid. Copy the whole link from the e-mail, or register again.');
  if (RELEASED_STATUSES.includes(provider.status)) throw linkExpired();
  return { ...provider, workflowId: provider.workflowId };
}

function linkExpired(): HttpError {
  return new HttpError(410, 'link_expired', 'This confirmation link has expired and the registration was cancelled. Please register again.');
}

/** A failure type as an error code: 'SubmissionClosed' → 'submission_closed'. */
export function failureCode(type: string | undefined | null): string {
  return (type ?? 'refused').replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/**
 * A staff member of an approved provider asks to join it: an inactive user the provider's administrator approves.
 * Throttled per client address (`address`, ctx.ip).
 */
export async function registerProviderStaff(deps: ApiDeps, input: ProviderStaffRegistration, address: string): Promise<{ userId: string; providerName: string }> {
  const provider = await deps.db('providers').where({ registrationNumber: input.companyRegistrationNumber, status: 'approved' })
    .first<{ id: string; name: string } | undefined>('id', 'name');
  if (!provider) {
    throw invalid([{ field: 'companyRegistrationNumber', rule: 'unknown_provider', message: 'no approved education provider has this registration number',
      words: { lv: 'Nav apstiprinātas izglītības iestādes ar šo reģistrācijas numuru.', en: 'No approved education provider has this registration number.' } }]);
  }
  if ((await takenFields(deps.db, { email: input.email })).length > 0) throw duplicate(['email']);
  await throttleOf(deps.db).consume('staffRegistrationAddress', address, '(form)');
  const passwordHash = await hashPassword(input.password);
  const userId = randomUUID();
  try {
    await deps.db('users').insert({
      id: userId, username: input.email, email: input.email, passwordHash, displayName: `${input.firstName} ${input.lastName}`,
      role: 'provider', providerId: provider.id, providerRole: 'staff', status: 'awaiting_approval', active: false,
    });
  } catch (err) {
    throw mapUniqueViolation(err);
  }
  deps.logger.info('provider staff registered', { providerId: provider.id, userId });
  return { userId, providerName: provider.name };
}

/** A provider user as the administrator's staff list shows them. */
export interface ProviderStaffView { id: string; name: string; email: string | null; providerRole: string | null; status: string; createdAt: string }

/** The users of the session's provider, those waiting for approval first. */
export async function listProviderStaff(deps: ApiDeps, session: Session): Promise<ProviderStaffView[]> {
  const rows = await deps.db('users').where({ providerId: providerOf(session), role: 'provider' })
    .orderByRaw("status = 'awaiting_approval' desc").orderBy('createdAt', 'asc')
    .select<{ id: string; displayName: string; email: string | null; providerRole: string | null; status: string; createdAt: Date }[]>(
      'id', 'displayName', 'email', 'providerRole', 'status', 'createdAt');
  return rows.map((r) => ({ id: r.id, name: r.displayName, email: r.email, providerRole: r.providerRole, status: r.status, createdAt: new Date(r.createdAt).toISOString() }));
}

/** Only the provider's administrator may approve staff (and submit or withdraw offers). */
export function requireProviderAdmin(session: Session): void {
  if (session.providerRole !== 'admin') {
    throw new HttpError(403, 'admin_only', "Only your institution's administrator may do this");
  }
}

/**
 * The administrator approves or rejects a colleague's request; one decision wins (a conditional UPDATE), and the
 * decision is audited in the same transaction.
 */
export async function decideProviderStaff(deps: ApiDeps, session: Session, userId: string, decision: 'approve' | 'reject'): Promise<ProviderStaffView> {
  requireProviderAdmin(session);
  const providerId = providerOf(session);
  await deps.db.transaction(async (trx) => {
    const changed = await trx('users').where({ id: userId, providerId, role: 'provider', status: 'awaiting_approval' })
      .update(decision === 'approve' ? { status: 'active', active: true } : { status: 'rejected', active: false });
    if (changed === 0) {
      const user = await trx('users').where({ id: userId, providerId, role: 'provider' }).first<{ status: string } | undefined>('status');
      if (!user) throw new HttpError(404, 'user_not_found', 'Your institution has no user with this id');
      throw new HttpError(409, 'already_decided', `This request was already decided (${user.status})`, [{ status: user.status }]);
    }
    await auditUserAction(trx, session, {
      action: decision === 'approve' ? 'provider_staff_approved' : 'provider_staff_rejected',
      purpose: 'provider staff access', result: { providerId, userId, decision },
    });
  });
  deps.logger.info('provider staff decided', { providerId, userId, decision });
  return (await listProviderStaff(deps, session)).find((u) => u.id === userId)!;
}
