import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { User } from '../../lib/db';
import { hashPassword, verifyPassword } from '../../lib/passwords';
import { passwordFingerprint, PASSWORD_RESET_VALID_HOURS } from '../../lib/password-reset';
import { endSessionsOfUser, type Session } from '../../lib/sessions';
import { passwordResetId } from '../../workflows/ids';
import { passwordReset, type PasswordResetInput } from '../../workflows/password-reset';
import type { ApiDeps } from '../deps';
import { HttpError, type WordedProblem } from '../errors';
import { throttleOf } from '../throttle';
import { auditUserAction, type AuditActor } from './audit';
import { invalid, passwordProblems } from './provider-registration';
import { startWorkflow } from './workflow-start';

/**
 * Passwords of users who log in with one (agency staff, administrators, provider users): change with the current
 * password, and reset through a signed, expiring, single-use e-mailed link.
 */

/** Who changed a password, for the audit log; a reset replaces only the hash its link was made for. */
type ChangedBy = { how: 'change'; session: Session } | { how: 'reset'; replacing: string };

/**
 * THE place where a user's password changes: stores the new hash and audits it. Whatever must follow a changed
 * password (ending the user's other sessions, ...) belongs here, so the change and the reset both get it.
 */
export async function passwordChanged(db: Knex, user: Pick<User, 'id' | 'role' | 'displayName'>, passwordHash: string, by: ChangedBy): Promise<void> {
  await db.transaction(async (trx) => {
    const changed = await trx('users').where({ id: user.id, ...(by.how === 'reset' ? { passwordHash: by.replacing } : {}) }).update({ passwordHash });
    // Two submissions of one reset link at once: the second finds the hash already replaced.
    if (changed === 0) throw LINK_SPENT;
    const actor: AuditActor = by.how === 'change' ? by.session : { role: user.role, subject: user.id, name: user.displayName };
    await auditUserAction(trx, actor, { action: by.how === 'change' ? 'password_changed' : 'password_reset', purpose: 'account security', result: { userId: user.id } });
    // Whoever knew the old password is out: every other session of the user ends (a change keeps the one it came from).
    await endSessionsOfUser(trx, user.id, 'user_sessions_ended', by.how === 'change' ? by.session.id : null);
  });
}

/** The personal words a new password must not be built from: the user's name, username, e-mail and institution. */
async function personalWords(db: Knex, user: User): Promise<string[]> {
  const provider = user.providerId ? await db('providers').where({ id: user.providerId }).first<{ name: string } | undefined>('name') : undefined;
  return [user.displayName, user.username, user.email ?? '', provider?.name ?? ''];
}

/** The rules of a new password, named by the form's fields. */
async function newPasswordProblems(db: Knex, user: User, password: string, repeat: string, fields: { field: string; repeatField: string }): Promise<WordedProblem[]> {
  return passwordProblems(password, repeat, await personalWords(db, user), fields);
}

/** The new-password fields of the change form (API and page). */
const CHANGE_FIELDS = { field: 'newPassword', repeatField: 'newPasswordRepeat' };
/** The new-password fields of the reset form (API and page). */
const RESET_FIELDS = { field: 'password', repeatField: 'passwordRepeat' };

const WRONG_CURRENT: WordedProblem = {
  field: 'currentPassword', rule: 'wrong_password', message: 'is not your current password',
  words: { lv: 'Pašreizējā parole nav pareiza.', en: 'The current password is not right.' },
};

/**
 * A logged-in user changes their password: the current one must be right (wrong ones count like wrong logins from
 * this address, so the form cannot be used to guess), the new one must keep the rules.
 */
export async function changePassword(
  deps: ApiDeps, session: Session, address: string, input: { currentPassword: string; newPassword: string; newPasswordRepeat: string },
): Promise<void> {
  const user = await User.query(deps.db).findById(session.subject);
  if (!user || !user.active || user.status !== 'active') throw new HttpError(401, 'not_logged_in', 'Log in again');
  const throttle = throttleOf(deps.db);
  const pair = `${user.username.toLowerCase()}|${address}`;
  await throttle.check('loginAccountAddress', pair, 'currentPassword');
  if (!(await verifyPassword(input.currentPassword, user.passwordHash))) {
    await throttle.fail('loginAccountAddress', pair);
    throw invalid([WRONG_CURRENT]);
  }
  const problems = await newPasswordProblems(deps.db, user, input.newPassword, input.newPasswordRepeat, CHANGE_FIELDS);
  if (input.newPassword === input.currentPassword) {
    problems.push({ field: 'newPassword', rule: 'same_as_current', message: 'must differ from the current password',
      words: { lv: 'Jaunajai parolei jāatšķiras no pašreizējās.', en: 'The new password must differ from the current one.' } });
  }
  if (problems.length > 0) throw invalid(problems);
  await passwordChanged(deps.db, user, await hashPassword(input.newPassword), { how: 'change', session });
}

/**
 * Someone asks for a reset link for a username or e-mail address. The answer is the same whether or not such an
 * account exists (and whether an e-mail went out): only the per-address limit is told, since it does not depend on
 * the account. An active user with an e-mail address gets one e-mail per request, through a workflow (durable,
 * once), at most LIMITS.resetMailTarget per hour.
 */
export async function requestPasswordReset(deps: ApiDeps, address: string, login: string, language: 'lv' | 'en'): Promise<void> {
  const throttle = throttleOf(deps.db);
  await throttle.consume('resetMailAddress', address, 'login');
  const wanted = login.trim().toLowerCase();
  const user = await User.query(deps.db).where('active', true).where('status', 'active').whereNotNull('email')
    .where((q) => q.whereRaw('lower(username) = ?', [wanted]).orWhereRaw('lower(email) = ?', [wanted])).orderByRaw('lower(username) = ? desc', [wanted]).first();
  if (!user) return;
  try {
    await throttle.consume('resetMailTarget', user.id, 'login');
  } catch (err) {
    if (err instanceof HttpError && err.status === 429) {
      deps.logger.warn('password reset e-mails to one account throttled', { userId: user.id });
      return;
    }
    throw err;
  }
  const args: [PasswordResetInput] = [{ userId: user.id, language, validHours: deps.passwordResetValidHours ?? PASSWORD_RESET_VALID_HOURS }];
  const workflowId = passwordResetId(randomUUID());
  const started = await startWorkflow(deps, () => deps.temporal.workflow.start(passwordReset, { taskQueue: deps.taskQueue, workflowId, args }));
  // Saying that Temporal is down would tell that the account exists: the person asks again if no e-mail comes.
  if (started.outcome !== 'started') deps.logger.warn('password reset e-mail not started', { userId: user.id, outcome: started.outcome });
}

const LINK_INVALID = new HttpError(400, 'invalid_link', 'This password reset link is not valid. Copy the whole link from the e-mail, or ask for a new one.');
const LINK_SPENT = new HttpError(410, 'link_expired', 'This password reset link has expired or was already used. Ask for a new one.');

/** The user a reset link is for, if the link is genuine, not expired and not used (the password is still the one it was made for). */
export async function userOfResetLink(deps: ApiDeps, token: string): Promise<User> {
  const verified = await deps.links.verify('reset-password', token);
  if (verified === 'expired') throw LINK_SPENT;
  if (!verified) throw LINK_INVALID;
  const user = await User.query(deps.db).findById(verified.subject);
  if (!user || !user.active || user.status !== 'active') throw LINK_INVALID;
  if (verified.claims.fp !== passwordFingerprint(user.passwordHash)) throw LINK_SPENT;
  return user;
}

/** Sets a new password through an e-mailed link; the link then stops working (the hash it was bound to is gone). */
export async function resetPassword(deps: ApiDeps, input: { token: string; password: string; passwordRepeat: string }): Promise<void> {
  const user = await userOfResetLink(deps, input.token);
  const problems = await newPasswordProblems(deps.db, user, input.password, input.passwordRepeat, RESET_FIELDS);
  if (problems.length > 0) throw invalid(problems);
  await passwordChanged(deps.db, user, await hashPassword(input.password), { how: 'reset', replacing: user.passwordHash });
}
