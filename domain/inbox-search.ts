import { checkPersonCode } from './person-code';

/**
 * What an officer typed into the inbox's one search field, understood: a person code (DDMMYY-NNNNN, with or
 * without the dash), a case number (anything else with a digit in it, e.g. IMK-2026-000123), or a learner's name
 * (words, each the start of the first or the last name; case and Latvian diacritics do not matter).
 */
export type InboxSearch =
  | { kind: 'personCode'; value: string }
  | { kind: 'caseNumber'; value: string }
  | { kind: 'name'; value: string; words: string[] };

/** At most this many words of a name are matched (a first and a last name, with room for double names). */
export const NAME_WORDS_MAX = 4;

const PERSON_CODE_SHAPE = /^\d{6}-?\d{5}$/;

/** A name folded as the database folds it (learner_name_key, migration 20261209020000): lower case, no diacritics. */
export function nameKey(name: string): string {
  return name.toLowerCase().replace(/[āčēģīķļņšūž]/g, (c) => 'acegiklnsuz'['āčēģīķļņšūž'.indexOf(c)]);
}

/**
 * Reads the search text; null when empty. A text shaped like a person code but not a valid one is a problem the
 * officer is told about (rather than a name search that finds nothing).
 */
export function parseInboxSearch(input: string | undefined): { ok: true; search: InboxSearch | null } | { ok: false; reason: string } {
  const text = (input ?? '').trim().replace(/\s+/g, ' ');
  if (text === '') return { ok: true, search: null };
  if (PERSON_CODE_SHAPE.test(text)) {
    const check = checkPersonCode(text);
    return check.valid ? { ok: true, search: { kind: 'personCode', value: check.code } } : { ok: false, reason: check.reason };
  }
  if (/\d/.test(text)) return { ok: true, search: { kind: 'caseNumber', value: text.toUpperCase().replace(/\s/g, '') } };
  const words = text.split(' ').slice(0, NAME_WORDS_MAX).map(nameKey);
  return { ok: true, search: { kind: 'name', value: text, words } };
}
