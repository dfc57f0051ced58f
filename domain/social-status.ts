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
