import type { Knex } from 'knex';
import { rigaDate } from '../domain/dates';
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
  /**
   * For a registry query about a person: their declared-address municipality (or the coordinator's), so a
   * municipality can be given the audit of its SOPA queries (seed 002 § 3.3).
   */
  municipality?: string | null;
}

/**
 * How long audit rows are kept, in months, by action. Registry queries are kept 24 months (SOPA data-sharing
 * agreement, seed 002 § 3.2.7); every other look at personal data (a case, a task, a document, an export, a
 * search) is kept as long, so "who looked at my data" covers the same period as the queries made about a person.
 * Logins hold addresses and names tried, not anyone's case: 12 months covers an incident found late.
 */
export const AUDIT_RETENTION_MONTHS = 24;
const RETENTION_BY_ACTION_PREFIX: readonly [prefix: string, months: number][] = [
  ['login.', 12],
];

/** The months an action's rows are kept. */
export function retentionMonths(action: string): number {
  return RETENTION_BY_ACTION_PREFIX.find(([prefix]) => action.startsWith(prefix))?.[1] ?? AUDIT_RETENTION_MONTHS;
}

/** The last Riga day a row written on `day` (YYYY-MM-DD) is kept; the 31st falls back to the month's last day. */
export function keepUntilFor(action: string, day: string): string {
  const [y, m, d] = day.split('-').map(Number);
  const target = new Date(Date.UTC(y, m - 1 + retentionMonths(action), 1));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(d, lastDay));
  return target.toISOString().slice(0, 10);
}

/** Writes an audit row (one insert); a repeated idempotency key writes nothing. */
export async function writeAudit(db: Knex, record: AuditRecord): Promise<void> {
  await AuditEntry.query(db)
    .insert({
      actorRole: record.actor.role, actorId: record.actor.id, actorName: record.actor.name,
      action: record.action, subjectPersonCode: record.subjectPersonCode, caseId: record.caseId,
      purpose: record.purpose, result: record.result, keepUntil: keepUntilFor(record.action, rigaDate(new Date())),
      idempotencyKey: record.idempotencyKey, municipality: record.municipality ?? null,
    } as Partial<AuditEntry>)
    .onConflict('idempotencyKey')
    .ignore();
}
