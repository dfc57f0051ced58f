import commonPasswords from './data/common-passwords.json';

/**
 * The platform's password rule (terms of use, seed 000): at least 9 characters, lower-case Latin letters plus
 * at least one upper-case letter, one digit and one special character, and not one of the most common passwords.
 */

const common = new Set((commonPasswords as string[]).map((p) => p.toLowerCase()));

/** One broken rule, with a stable code and words for the person choosing the password. */
export interface PasswordProblem { code: string; message: { lv: string; en: string } }

/** Lists every rule the password breaks; an empty list means it is acceptable. */
export function checkPassword(password: string): PasswordProblem[] {
  const problems: PasswordProblem[] = [];
  const add = (code: string, lv: string, en: string) => problems.push({ code, message: { lv, en } });
  if (password.length < 9) add('too_short', 'Vismaz 9 rakstzīmes.', 'At least 9 characters.');
  // Letters with diacritics (ā, Ē, ...) count as letters, not special characters: Latvians type them.
  if (!/\p{Ll}/u.test(password)) add('no_lower', 'Vismaz viens mazais burts.', 'At least one lower-case letter.');
  if (!/\p{Lu}/u.test(password)) add('no_upper', 'Vismaz viens lielais burts.', 'At least one upper-case letter.');
  if (!/\p{Nd}/u.test(password)) add('no_digit', 'Vismaz viens cipars.', 'At least one digit.');
  if (!/[^\p{L}\p{N}]/u.test(password)) add('no_special', 'Vismaz viena speciālā rakstzīme.', 'At least one special character.');
  if (common.has(password.toLowerCase())) {
    add('too_common', 'Šī parole ir pārāk izplatīta.', 'This password is one of the most common ones.');
  }
  return problems;
}
