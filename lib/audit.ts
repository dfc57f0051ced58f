import type { Knex } from 'knex';
import { AuditEntry } from './db';

/** One audited access to personal data or admin action. */
export interface AuditRecord {
  actor: { role: string; id: string | null; name: string | null };
  action: string;
  subjectPersonCode: string | null;
  caseId: string | null;
  purpose: string;
  result: Record<string, unknown>;
  /** Retried activities pass the same key so one access is audited once. */
  idempotencyKey: string | null;
}

/** How long audit rows are kept: registry queries 24 months (SOPA data-sharing agreement, seed 002). */
export const AUDIT_RETENTION_MONTHS = 24;

/** Writes an audit row; a repeated idempotency key writes nothing. */
export async function writeAudit(db: Knex, record: AuditRecord): Promise<void> {
  const keepUntil = new Date();
  keepUntil.setUTCMonth(keepUntil.getUTCMonth() + AUDIT_RETENTION_MONTHS);
  await AuditEntry.query(db)
    .insert({
      actorRole: record.actor.role, actorId: record.actor.id, actorName: record.actor.name,
      action: record.action, subjectPersonCode: record.subjectPersonCode, caseId: record.caseId,
      purpose: record.purpose, result: record.result, keepUntil: keepUntil.toISOString().slice(0, 10),
      idempotencyKey: record.idempotencyKey,
    } as Partial<AuditEntry>)
    .onConflict('idempotencyKey')
    .ignore();
}
