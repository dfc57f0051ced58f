import { createHmac } from 'node:crypto';

/**
 * Stable pseudonyms for retention (activities/retention.ts): the same person code always gives the same pseudonym,
 * so statistics can still count people, but without the key nobody can turn one back into a person code (person
 * codes are few enough to try them all, so a plain hash would not do).
 */

/**
 * The pseudonym key, derived from the server's own key (SESSION_SECRET) under a label of its own. Rotating
 * SESSION_SECRET changes the pseudonyms given from then on; those already given stay as they are.
 */
export function derivePseudonymKey(serverSecret: string): string {
  return createHmac('sha256', serverSecret).update('learning-accounts:pseudonym-key:v1').digest('hex');
}

/** The pseudonym of a person code: `PSN-` and 24 hexadecimal digits (96 bits of an HMAC-SHA-256). */
export function pseudonymOf(key: string, personCode: string): string {
  return `PSN-${createHmac('sha256', key).update(personCode).digest('hex').slice(0, 24)}`;
}

/** Whether a person code has been replaced by a pseudonym already. */
export function isPseudonym(value: string): boolean {
  return /^PSN-[0-9a-f]{24}$/.test(value);
}
