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
 * Where a programme's social-status rule is 'priority', the status orders people (issue 15): poor first, then
 * low-income, then everyone else; within each group, who came first. Under any other rule only time counts.
 */
export function priorityRank(status: SocialStatusRecord['status'] | null | undefined): number {
  return status === 'poor' ? 0 : status === 'low_income' ? 1 : 2;
}

/** Sorts entries into the order they are served in (a wait-list, an approval queue), per the programme's rule. */
export function inPriorityOrder<T extends { socialStatus: SocialStatusRecord['status'] | null; since: Date }>(
  entries: readonly T[], rule: 'not_used' | 'priority' | 'required',
): T[] {
  const byRank = (e: T) => (rule === 'priority' ? priorityRank(e.socialStatus) : 0);
  return [...entries].sort((a, b) => byRank(a) - byRank(b) || a.since.getTime() - b.since.getTime());
}
