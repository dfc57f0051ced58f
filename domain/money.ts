/** Money is kept in integer euro cents everywhere; these helpers only format it for people. */

/** A sum of money in euro cents. */
export type Cents = number;

/** Formats cents as "500,00 EUR" (Latvian) or "EUR 500.00" (English). */
export function formatEuro(cents: Cents, language: 'lv' | 'en'): string {
  if (!Number.isInteger(cents)) throw new TypeError(`money must be integer cents, got ${cents}`);
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  const euros = Math.floor(abs / 100).toString();
  const rest = (abs % 100).toString().padStart(2, '0');
  return language === 'lv' ? `${sign}${euros},${rest} EUR` : `EUR ${sign}${euros}.${rest}`;
}
