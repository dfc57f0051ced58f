import type { Knex } from 'knex';
import type { Session } from '../../lib/sessions';

/** How long audit rows are kept: the same 24 months as the activities' audit rows (activities/audit.ts). */
const AUDIT_RETENTION_MONTHS = 24;

/**
 * Writes an audit_log row for an action a provider user takes in the API (approving a colleague, ...), with the
 * same columns the activities write. The API may not import activities, hence this small twin of writeAudit.
 */
export async function auditProviderAction(db: Knex, session: Session, entry: {
  action: string; purpose: string; result: Record<string, unknown>; idempotencyKey?: string | null;
}): Promise<void> {
  const keepUntil = new Date();
  keepUntil.setUTCMonth(keepUntil.getUTCMonth() + AUDIT_RETENTION_MONTHS);
  await db('auditLog').insert({
    actorRole: session.role, actorId: session.subject, actorName: session.name, action: entry.action,
    subjectPersonCode: null, caseId: null, purpose: entry.purpose, result: JSON.stringify(entry.result),
    keepUntil: keepUntil.toISOString().slice(0, 10), idempotencyKey: entry.idempotencyKey ?? null,
  }).onConflict('idempotencyKey').ignore();
}
