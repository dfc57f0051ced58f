/**
 * Latvian person codes (personas kods): 11 digits shown as DDMMYY-NNNNN.
 * Codes issued since mid-2017 start with "32" and encode no birth date, so age always comes from the
 * Population Register; here we only check the shape (and, for old-format codes, that the date is real).
 */

const SHAPE = /^(\d{6})-?(\d{5})$/;

/** The result of checking a person code: the normalised DDMMYY-NNNNN form, or why it is not valid. */
export type PersonCodeCheck = { valid: true; code: string } | { valid: false; reason: string };

/** Checks the shape of a person code and returns it in the dashed form. */
export function checkPersonCode(input: string): PersonCodeCheck {
  const match = SHAPE.exec(input.trim());
  if (!match) return { valid: false, reason: 'must be 11 digits in the form DDMMYY-NNNNN' };
  const [, first, second] = match;
  const code = `${first}-${second}`;
  if (first.startsWith('32')) return { valid: true, code };
  const day = Number(first.slice(0, 2));
  const month = Number(first.slice(2, 4));
  const century = { '0': 1800, '1': 1900, '2': 2000 }[second[0]];
  if (century === undefined) return { valid: false, reason: 'the first digit after the dash must be 0, 1 or 2' };
  const year = century + Number(first.slice(4, 6));
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return { valid: false, reason: 'the first six digits must be a real date (DDMMYY)' };
  }
  return { valid: true, code };
}
