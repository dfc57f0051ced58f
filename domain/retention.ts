/** The retention rules the platform knows; each is a row of retention_rules (its period and mode are data). */
export const RETENTION_RULES = ['closed_case_pseudonymise', 'documents_delete'] as const;

/** One retention rule's code. */
export type RetentionRuleCode = typeof RETENTION_RULES[number];

/** The instant `months` calendar months before `at` (UTC; the 31st of a short month falls back to its last day). */
export function monthsBefore(at: Date, months: number): Date {
  const d = new Date(at.getTime());
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() - months);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return d;
}
