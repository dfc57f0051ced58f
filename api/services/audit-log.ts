import type { Knex } from 'knex';
import { rigaEndOfDay, rigaTime } from '../../domain/dates';
import { SOPA_QUERY_ACTION } from '../../activities/registries/sopa';

/**
 * Reading the audit (administrators only): a search by person, operator, municipality and period, newest first,
 * one page at a time; the SOPA queries of one municipality in a period (for its audit request, seed 002 § 3.3);
 * and the purge's recent runs.
 */

/** The search's filters; the period is Riga calendar days, both included. */
export interface AuditFilter {
  /** Rows about this person: the queries and accesses naming them, and the views of their cases. */
  personCode?: string;
  /** The actor: their id exactly (a user id, an operator's person code) or part of their name. */
  operator?: string;
  /** The municipality a registry query was about (case does not matter). */
  municipality?: string;
  from?: string;
  to?: string;
}

/** One audit row as the page and the API show it. */
export interface AuditEntryView {
  id: string; at: string; actorRole: string; actorId: string | null; actorName: string | null; action: string;
  subjectPersonCode: string | null; caseId: string | null; municipality: string | null; purpose: string;
  result: Record<string, unknown>; keepUntil: string;
}

/** One page of the search. */
export interface AuditPage { entries: AuditEntryView[]; page: number; pageSize: number; hasNext: boolean }

/** Rows per page of the search. */
export const AUDIT_PAGE_SIZE = 50;

/** A page of audit rows matching every filter given, newest first. */
export async function searchAudit(db: Knex, filter: AuditFilter, page: number, pageSize = AUDIT_PAGE_SIZE): Promise<AuditPage> {
  const query = db('auditLog as a');
  applyFilter(db, query, filter);
  // One row more than a page tells whether there is a next page, without counting the whole (large) table.
  const rows = await query.orderBy([{ column: 'a.at', order: 'desc' }, { column: 'a.id', order: 'desc' }])
    .offset((page - 1) * pageSize).limit(pageSize + 1)
    .select<AuditRow[]>('a.id', 'a.at', 'a.actorRole', 'a.actorId', 'a.actorName', 'a.action', 'a.subjectPersonCode', 'a.caseId',
      'a.municipality', 'a.purpose', 'a.result', db.raw(`to_char(a.keep_until, 'YYYY-MM-DD') AS keep_until`));
  return { entries: rows.slice(0, pageSize).map(toView), page, pageSize, hasNext: rows.length > pageSize };
}

/** One SOPA query as a municipality's audit export lists it. */
export interface SopaQueryRow extends AuditEntryView { serviceCaseId: string | null }

/** Every SOPA query audited under the municipality in the period (Riga days, both included), oldest first. */
export async function sopaQueriesOf(db: Knex, filter: { municipality: string; from: string; to: string }): Promise<SopaQueryRow[]> {
  const query = db('auditLog as a').leftJoin('cases as c', 'c.id', 'a.caseId').where('a.action', SOPA_QUERY_ACTION);
  applyFilter(db, query, filter);
  const rows = await query.orderBy([{ column: 'a.at', order: 'asc' }, { column: 'a.id', order: 'asc' }])
    .select<(AuditRow & { serviceCaseId: string | null })[]>('a.id', 'a.at', 'a.actorRole', 'a.actorId', 'a.actorName', 'a.action',
      'a.subjectPersonCode', 'a.caseId', 'a.municipality', 'a.purpose', 'a.result', 'c.serviceCaseId',
      db.raw(`to_char(a.keep_until, 'YYYY-MM-DD') AS keep_until`));
  return rows.map((r) => ({ ...toView(r), serviceCaseId: r.serviceCaseId }));
}

/** One run of the audit purge (purge_runs). */
export interface PurgeRunView { finishedAt: string; expiredBefore: string; auditRemoved: number; registryStatsRemoved: number }

/** The purge's most recent runs, newest first. */
export async function recentPurgeRuns(db: Knex, limit = 10): Promise<PurgeRunView[]> {
  const rows = await db('purgeRuns').orderBy('finishedAt', 'desc').limit(limit)
    .select<{ finishedAt: Date; expiredBefore: string; auditRemoved: number; registryStatsRemoved: number }[]>(
      'finishedAt', db.raw(`to_char(expired_before, 'YYYY-MM-DD') AS expired_before`), 'auditRemoved', 'registryStatsRemoved');
  return rows.map((r) => ({ ...r, finishedAt: r.finishedAt.toISOString() }));
}

interface AuditRow extends Omit<AuditEntryView, 'at'> { at: Date }

function toView(row: AuditRow): AuditEntryView {
  return {
    id: String(row.id), at: row.at.toISOString(), actorRole: row.actorRole, actorId: row.actorId, actorName: row.actorName, action: row.action,
    subjectPersonCode: row.subjectPersonCode, caseId: row.caseId, municipality: row.municipality, purpose: row.purpose,
    result: row.result, keepUntil: row.keepUntil,
  };
}

// The filters as SQL on audit_log a: each one given narrows the rows.
function applyFilter(db: Knex, query: Knex.QueryBuilder, filter: AuditFilter): void {
  if (filter.personCode) {
    const code = filter.personCode;
    // A staff member's view of a task or case names the case, not the person: their cases are found through it.
    query.where((q) => q.where('a.subjectPersonCode', code)
      .orWhereIn('a.caseId', db('cases').join('learners', 'learners.id', 'cases.learnerId').where('learners.personCode', code).select('cases.id')));
  }
  if (filter.operator) {
    const operator = filter.operator;
    query.where((q) => q.where('a.actorId', operator).orWhereRaw('a.actor_name ILIKE ?', [`%${likeEscaped(operator)}%`]));
  }
  // Written as the index on lower(municipality) (partial: rows with one) is, so the planner uses it.
  if (filter.municipality) query.whereNotNull('a.municipality').whereRaw('lower(a.municipality) = lower(?)', [filter.municipality]);
  if (filter.from) query.where('a.at', '>=', rigaTime(filter.from, '00:00'));
  if (filter.to) query.where('a.at', '<', rigaEndOfDay(filter.to));
}

// A LIKE pattern matches the text literally: its own wildcards and the escape character are escaped.
function likeEscaped(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
