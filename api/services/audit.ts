import type { Knex } from 'knex';
import { writeAudit } from '../../lib/audit';
import type { Session } from '../../lib/sessions';

/** Who an audited action is recorded for: a session, or a user acting through an e-mailed link. */
export type AuditActor = Pick<Session, 'role' | 'subject' | 'name'>;

/**
 * Writes an audit_log row for an action a logged-in user takes in the API (approving a colleague, an administrator's
 * console action, a staff member opening a task, a download, an export, ...).
 */
export async function auditUserAction(db: Knex, session: AuditActor, entry: {
  action: string; purpose: string; result: Record<string, unknown>; idempotencyKey?: string | null;
  /** Whose personal data the action looked at or changed, when it is one person's. */
  subjectPersonCode?: string | null;
  /** The case looked at, when it is one case (so the person's "who viewed my case" finds it). */
  caseId?: string | null;
}): Promise<void> {
  await writeAudit(db, {
    actor: { role: session.role, id: session.subject, name: session.name }, action: entry.action,
    subjectPersonCode: entry.subjectPersonCode ?? null, caseId: entry.caseId ?? null, purpose: entry.purpose, result: entry.result,
    idempotencyKey: entry.idempotencyKey ?? null,
  });
}

/** How a login was tried: username and password, its second step (a code), or the national sign-on. */
export type LoginMethod = 'password' | 'second_factor' | 'sso';

/** The audit actions of logins. */
export const LOGIN_ACTIONS = { succeeded: 'login.succeeded', failed: 'login.failed' } as const;

/**
 * Audits one login attempt: who logged in, or the account name tried and why it failed, and from which address.
 * Never the password or code.
 */
export async function auditLogin(db: Knex, attempt: {
  method: LoginMethod; address: string | null;
  /** The username typed, or the person code the sign-on confirmed. */
  account: string | null;
} & ({ outcome: 'succeeded'; session: AuditActor; personCode?: string | null } | { outcome: 'failed'; reason: string })): Promise<void> {
  const result = { method: attempt.method, account: attempt.account, address: attempt.address };
  if (attempt.outcome === 'succeeded') {
    await writeAudit(db, {
      actor: { role: attempt.session.role, id: attempt.session.subject, name: attempt.session.name }, action: LOGIN_ACTIONS.succeeded,
      subjectPersonCode: attempt.personCode ?? null, caseId: null, purpose: 'login', result, idempotencyKey: null,
    });
    return;
  }
  await writeAudit(db, {
    actor: { role: 'anonymous', id: null, name: attempt.account }, action: LOGIN_ACTIONS.failed,
    subjectPersonCode: null, caseId: null, purpose: 'login', result: { ...result, reason: attempt.reason }, idempotencyKey: null,
  });
}

/** A stored file as the download audit records it (never its bytes). */
export interface DownloadedFile { id: string; kind: string; filename: string; sha256: string; offerId?: string | null; providerId?: string | null }

/** Audits one download of a stored file (a provider's document, an offer's annex). */
export async function auditDownload(db: Knex, session: AuditActor, file: DownloadedFile): Promise<void> {
  await auditUserAction(db, session, {
    action: 'document.download', purpose: 'download of a stored document',
    result: { documentId: file.id, kind: file.kind, filename: file.filename, sha256: file.sha256, offerId: file.offerId ?? null, providerId: file.providerId ?? null },
  });
}
