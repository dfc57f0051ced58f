import type { Knex } from 'knex';
import { writeAudit } from '../../lib/audit';
import type { Session } from '../../lib/sessions';

/** Who an audited action is recorded for: a session, or a user acting through an e-mailed link. */
export type AuditActor = Pick<Session, 'role' | 'subject' | 'name'>;

/** Writes an audit_log row for an action a logged-in user takes in the API (approving a colleague, an administrator's console action, ...). */
export async function auditUserAction(db: Knex, session: AuditActor, entry: {
  action: string; purpose: string; result: Record<string, unknown>; idempotencyKey?: string | null;
  /** Whose personal data the action looked at or changed, when it is one person's. */
  subjectPersonCode?: string | null;
}): Promise<void> {
  await writeAudit(db, {
    actor: { role: session.role, id: session.subject, name: session.name }, action: entry.action,
    subjectPersonCode: entry.subjectPersonCode ?? null, caseId: null, purpose: entry.purpose, result: entry.result,
    idempotencyKey: entry.idempotencyKey ?? null,
  });
}
