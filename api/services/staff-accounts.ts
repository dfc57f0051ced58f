import { randomBytes, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { ACCOUNT_SETUP_LINK_VALID_HOURS } from '../../lib/password-reset';
import type { Session } from '../../lib/sessions';
import { violatedUniqueConstraint } from '../../lib/unique-violation';
import { passwordResetId } from '../../workflows/ids';
import { passwordReset, type PasswordResetInput } from '../../workflows/password-reset';
import type { ApiDeps } from '../deps';
import { HttpError, type WordedProblem } from '../errors';
import { auditUserAction } from './audit';
import { startWorkflow } from './workflow-start';

/**
 * Agency staff accounts, administered by administrators (issue 15 item 5): create, edit, deactivate, with a role
 * (staff, team lead, administrator) and a validity period. No administrator ever sees or sets a password: a new
 * account gets an unusable password, and its holder sets one through the signed, single-use, expiring link of the
 * password-reset machinery, e-mailed to them. Every change is audited with before, after and the reason.
 */

/** The roles an administrator grants: a team lead is a staff member who may assign inbox tasks (users.team_lead). */
export const ACCOUNT_ROLES = ['staff', 'team_lead', 'admin'] as const;
export type AccountRole = typeof ACCOUNT_ROLES[number];

/** A staff account as the administrator's page and the API show it (never the password hash). */
export interface StaffAccount {
  id: string; username: string; displayName: string; email: string | null; role: AccountRole; active: boolean;
  validFrom: string | null; validUntil: string | null; passwordSet: boolean; createdAt: string;
}

/** A new account; the holder sets the password. */
export interface NewAccount {
  username: string; displayName: string; email: string; role: AccountRole; validFrom: string | null; validUntil: string | null;
  reason: string; language: 'lv' | 'en';
}

/** A change of an account: only the fields given change. */
export interface AccountChange {
  displayName?: string; email?: string; role?: AccountRole; validFrom?: string | null; validUntil?: string | null; active?: boolean; reason: string;
}

// The hash a new account starts with: no password verifies against it (lib/passwords.ts parses only scrypt hashes),
// and the set-password link is bound to it like a reset link to the old hash, so the link works once.
const UNSET_PREFIX = 'unset$';

const COLUMNS = (db: Knex) => [
  'id', 'username', 'displayName', 'email', 'role', 'teamLead', 'active', 'passwordHash', 'createdAt',
  db.raw("to_char(valid_from, 'YYYY-MM-DD') AS valid_from"), db.raw("to_char(valid_until, 'YYYY-MM-DD') AS valid_until"),
];
interface Row {
  id: string; username: string; displayName: string; email: string | null; role: 'staff' | 'admin'; teamLead: boolean; active: boolean;
  passwordHash: string; createdAt: Date; validFrom: string | null; validUntil: string | null;
}

function view(row: Row): StaffAccount {
  return {
    id: row.id, username: row.username, displayName: row.displayName, email: row.email,
    role: row.role === 'admin' ? 'admin' : row.teamLead ? 'team_lead' : 'staff', active: row.active,
    validFrom: row.validFrom, validUntil: row.validUntil, passwordSet: !row.passwordHash.startsWith(UNSET_PREFIX), createdAt: row.createdAt.toISOString(),
  };
}

/** The users columns of a role. */
function roleColumns(role: AccountRole): { role: 'staff' | 'admin'; teamLead: boolean } {
  return role === 'admin' ? { role: 'admin', teamLead: false } : { role: 'staff', teamLead: role === 'team_lead' };
}

/** Every agency staff account (not provider users, whom their provider's administrator approves), by name. */
export async function listStaffAccounts(db: Knex): Promise<StaffAccount[]> {
  const rows: Row[] = await db('users').whereIn('role', ['staff', 'admin']).orderBy('displayName').select(COLUMNS(db));
  return rows.map(view);
}

/** One staff account, or a 404. */
export async function getStaffAccount(db: Knex, id: string): Promise<StaffAccount> {
  return view(await accountRow(db, id));
}

async function accountRow(db: Knex, id: string, lock = false): Promise<Row> {
  const query = db('users').where({ id }).whereIn('role', ['staff', 'admin']).first<Row | undefined>(COLUMNS(db));
  const row = await (lock ? query.forUpdate() : query);
  if (!row) throw new HttpError(404, 'account_not_found', 'There is no staff account with this id');
  return row;
}

/** Creates an account and e-mails its holder the link that sets the password. */
export async function createStaffAccount(deps: ApiDeps, admin: Session, input: NewAccount): Promise<{ account: StaffAccount; linkSent: boolean }> {
  const id = randomUUID();
  await deps.db.transaction(async (trx) => {
    try {
      await trx('users').insert({
        id, username: input.username, displayName: input.displayName, email: input.email, ...roleColumns(input.role), status: 'active', active: true,
        passwordHash: `${UNSET_PREFIX}${randomBytes(24).toString('base64url')}`, validFrom: input.validFrom, validUntil: input.validUntil,
      });
    } catch (err) {
      throw taken(err) ?? err;
    }
    const after = view(await accountRow(trx, id));
    await auditUserAction(trx, admin, {
      action: 'staff_account.created', purpose: 'staff account administration', result: { userId: id, before: null, after: audited(after), reason: input.reason },
    });
  });
  const linkSent = await sendSetPasswordLink(deps, id, input.language);
  return { account: await getStaffAccount(deps.db, id), linkSent };
}

/** Changes an account (role, name, e-mail, validity, active); a change takes effect at the holder's next request. */
export async function changeStaffAccount(deps: ApiDeps, admin: Session, id: string, change: AccountChange): Promise<StaffAccount> {
  return deps.db.transaction(async (trx) => {
    const before = view(await accountRow(trx, id, true));
    // An administrator who demoted or deactivated themselves could lock the agency out of its own administration.
    if (id === admin.subject && ((change.role !== undefined && change.role !== 'admin') || change.active === false)) {
      throw new HttpError(409, 'own_account', 'You cannot take away your own administrator access; ask another administrator',
        [{ field: change.active === false ? 'active' : 'role', rule: 'own_account', message: 'cannot take away your own administrator access',
          words: { lv: 'Savu administratora piekļuvi atņemt nevar; vērsieties pie cita administratora.', en: 'You cannot take away your own administrator access; ask another administrator.' } }]);
    }
    const validFrom = change.validFrom !== undefined ? change.validFrom : before.validFrom;
    const validUntil = change.validUntil !== undefined ? change.validUntil : before.validUntil;
    if (validFrom && validUntil && validUntil < validFrom) throw invalid([VALID_UNTIL_ORDER]);
    const patch: Record<string, unknown> = {
      ...(change.displayName !== undefined ? { displayName: change.displayName } : {}),
      ...(change.email !== undefined ? { email: change.email } : {}),
      ...(change.role !== undefined ? roleColumns(change.role) : {}),
      ...(change.validFrom !== undefined ? { validFrom: change.validFrom } : {}),
      ...(change.validUntil !== undefined ? { validUntil: change.validUntil } : {}),
      ...(change.active !== undefined ? { active: change.active } : {}),
    };
    try {
      if (Object.keys(patch).length > 0) await trx('users').where({ id }).update(patch);
    } catch (err) {
      throw taken(err) ?? err;
    }
    const after = view(await accountRow(trx, id));
    await auditUserAction(trx, admin, {
      action: 'staff_account.changed', purpose: 'staff account administration',
      result: { userId: id, before: audited(before), after: audited(after), reason: change.reason },
    });
    return after;
  });
}

/** Sends (again) the link that sets the password, e.g. when the first one expired; audited, changes nothing. */
export async function resendSetPasswordLink(deps: ApiDeps, admin: Session, id: string, language: 'lv' | 'en'): Promise<{ linkSent: boolean }> {
  const account = await getStaffAccount(deps.db, id);
  if (!account.active || !account.email) {
    throw new HttpError(409, 'account_cannot_receive_link', 'The account is deactivated or has no e-mail address', [{
      words: { lv: 'Konts ir deaktivizēts vai tam nav e-pasta adreses.', en: 'The account is deactivated or has no e-mail address.' },
    }]);
  }
  await auditUserAction(deps.db, admin, { action: 'staff_account.password_link_sent', purpose: 'staff account administration', result: { userId: id } });
  return { linkSent: await sendSetPasswordLink(deps, id, language) };
}

/** Starts the password-reset workflow for the account with the longer validity of a first link. */
async function sendSetPasswordLink(deps: ApiDeps, userId: string, language: 'lv' | 'en'): Promise<boolean> {
  const args: [PasswordResetInput] = [{ userId, language, validHours: ACCOUNT_SETUP_LINK_VALID_HOURS, purpose: 'setup' }];
  const started = await startWorkflow(deps, () => deps.temporal.workflow.start(passwordReset, { taskQueue: deps.taskQueue, workflowId: passwordResetId(randomUUID()), args }));
  if (started.outcome !== 'started') deps.logger.warn('set-password e-mail not started', { userId, outcome: started.outcome });
  return started.outcome === 'started';
}

/** An account as the audit records it: everything the administrator changes, never the hash. */
function audited(account: StaffAccount) {
  const { createdAt: _created, ...rest } = account;
  return rest;
}

const VALID_UNTIL_ORDER: WordedProblem = {
  field: 'validUntil', rule: 'not_before_valid_from', message: 'must not be before validFrom',
  words: { lv: 'Derīguma beigu datums nedrīkst būt pirms sākuma datuma.', en: 'The last valid day must not be before the first.' },
};

/** A 400 naming each field and rule. */
export function invalid(problems: WordedProblem[]): HttpError {
  return new HttpError(400, 'invalid_request', `Invalid body: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`, problems);
}

/** A username or e-mail address another user has: a 409 naming the field. */
function taken(err: unknown): HttpError | null {
  const constraint = violatedUniqueConstraint(err);
  if (constraint === 'users_username_unique') {
    return new HttpError(409, 'username_taken', 'username: another user has this username', [{ field: 'username', rule: 'unique', message: 'another user has this username',
      words: { lv: 'Šāds lietotājvārds jau ir citam lietotājam.', en: 'Another user has this username.' } }]);
  }
  if (constraint === 'users_email_unique') {
    return new HttpError(409, 'email_taken', 'email: another user has this e-mail address', [{ field: 'email', rule: 'unique', message: 'another user has this e-mail address',
      words: { lv: 'Šāda e-pasta adrese jau ir citam lietotājam.', en: 'Another user has this e-mail address.' } }]);
  }
  return null;
}
