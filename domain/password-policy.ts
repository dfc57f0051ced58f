import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as zxcvbnCommon from '@zxcvbn-ts/language-common';
import * as zxcvbnEnglish from '@zxcvbn-ts/language-en';
import commonPasswords from './data/common-passwords.json';

/**
 * The platform's password rule (terms of use, seed 000): at least 9 characters, lower-case Latin letters plus
 * at least one upper-case letter, one digit and one special character, and not one of the most common passwords.
 * On top of those, zxcvbn's estimate (its common-password and English dictionaries, plus the person's own words:
 * name, e-mail, institution) refuses trivial variants of common passwords that the exact list lets through
 * ("Password1!!", "Password#1").
 */

/**
 * The lowest zxcvbn score we accept: 3 ("safely unguessable: moderate protection from offline slow-hash
 * scenario", about 10^8 guesses). Score 2 still lets "Password12!"-like variants through.
 */
export const MIN_ZXCVBN_SCORE = 3;

let estimator: ZxcvbnFactory | undefined;
// Building the dictionaries takes about 0.2 s, so it happens at the first check, not at import.
function strength(): ZxcvbnFactory {
  estimator ??= new ZxcvbnFactory({
    dictionary: { ...zxcvbnCommon.dictionary, ...zxcvbnEnglish.dictionary },
    graphs: zxcvbnCommon.adjacencyGraphs,
  });
  return estimator;
}

/**
 * The person's own words as zxcvbn takes them: each word of their name, e-mail (local part and domain words) and
 * institution, lower-cased, also without Latvian diacritics (people type "Berzina" for "Bērziņa").
 */
export function userWords(inputs: readonly (string | null | undefined)[]): string[] {
  const words = new Set<string>();
  for (const input of inputs) {
    for (const word of (input ?? '').toLowerCase().split(/[^\p{L}\p{N}]+/u)) {
      if (word.length < 3) continue;
      words.add(word);
      words.add(word.normalize('NFD').replace(/\p{M}/gu, ''));
    }
  }
  return [...words];
}

const common = new Set((commonPasswords as string[]).map((p) => p.toLowerCase()));

/** One broken rule, with a stable code and words for the person choosing the password. */
export interface PasswordProblem { code: string; message: { lv: string; en: string } }

/**
 * Lists every rule the password breaks; an empty list means it is acceptable. `personal` holds the person's name,
 * e-mail and institution: a password built from them is too easy to guess.
 */
export function checkPassword(password: string, personal: readonly (string | null | undefined)[] = []): PasswordProblem[] {
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
  } else if (problems.length === 0 && strength().check(password, userWords(personal)).score < MIN_ZXCVBN_SCORE) {
    // Only a password that keeps every other rule is estimated (zxcvbn takes up to ~0.1 s of CPU).
    add('too_guessable', 'Parole ir pārāk viegli uzminama: tā ir līdzīga bieži lietotai parolei, vārdam vai Jūsu vārdam, e-pastam vai iestādei.',
      'The password is too easy to guess: it is close to a common password, a word, or your name, e-mail or institution.');
  }
  return problems;
}
