import type { Actor } from './journey';

/** A municipal social-assistance status (SOPA): status 1 = poor, 2 = low-income, valid for a date range. */
export interface SocialStatusRecord {
  status: 'poor' | 'low_income';
  validFrom: string;
  validTo: string;
  municipality: string;
}

/** The status that counts on a day: only a record whose validity covers that day; poor outranks low-income. */
export function statusOn(records: readonly SocialStatusRecord[], onDate: string): SocialStatusRecord['status'] | null {
  const valid = records.filter((r) => r.validFrom <= onDate && onDate <= r.validTo);
  if (valid.some((r) => r.status === 'poor')) return 'poor';
  return valid.length > 0 ? 'low_income' : null;
}

/**
 * Where a programme's social-status rule is 'priority', the status orders the wait-list (issue 15): poor households
 * first, then low-income, then everyone else; within each, who came first. Under any other rule only time counts.
 * The number is stored on a wait-listed application (applications.waitlist_priority) under the rule in force when
 * it was wait-listed; the wait-list is served, and shown, highest first, then by time (lib/waitlist.ts WAITLIST_ORDER).
 */
export function queuePriority(status: SocialStatusRecord['status'] | null | undefined, rule: 'not_used' | 'priority' | 'required'): number {
  if (rule !== 'priority') return 0;
  return status === 'poor' ? 2 : status === 'low_income' ? 1 : 0;
}

/**
 * The employee on whose behalf a journey's SOPA query runs, when an employee started it (issue 17): a coordinator
 * registering a person, whose sign-on gave their person code and name. Undefined for anyone else: the worker then
 * asks in the name of the agency's designated operator (SOPA_OPERATOR_*). SOPA wants first name and surname apart,
 * and the session keeps "given names surname" (lib/sso.ts): Latvian surnames carry no space (a double surname is
 * hyphenated), so the last word is the surname. A missing name is sent empty, which SOPA refuses (staff then
 * decide), rather than putting the query under someone else's name.
 */
export function actingSopaOperator(actor: Actor): { role: 'coordinator'; firstName: string; lastName: string; personCode: string } | undefined {
  if (actor.role !== 'coordinator' || !actor.id) return undefined;
  const words = (actor.name ?? '').trim().split(/\s+/).filter(Boolean);
  return { role: 'coordinator', firstName: words.slice(0, -1).join(' '), lastName: words.at(-1) ?? '', personCode: actor.id };
}
