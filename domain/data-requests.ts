/**
 * A learner's request about their personal data (GDPR art. 16 and 17): erase it, or correct one field. The agency
 * answers within 5 working days (seeds 000 and 002); the outcome is done, partly done, or refused with a reason.
 */

/** What a person may ask. */
export const DATA_REQUEST_KINDS = ['erasure', 'correction'] as const;
export type DataRequestKind = typeof DATA_REQUEST_KINDS[number];

/** How staff answer a request; anything but done needs a reason the person reads. */
export const DATA_REQUEST_OUTCOMES = ['done', 'partly', 'refused'] as const;
export type DataRequestOutcome = typeof DATA_REQUEST_OUTCOMES[number];

/** The fields a correction may name: what the learner's profile holds, or "other" (explained in the text). */
export const CORRECTABLE_FIELDS = ['first_name', 'last_name', 'email', 'phone', 'language', 'other'] as const;

/** Working days the agency has to answer (seed 002, 3.1.6 and 3.5; the terms of use, seed 000). */
export const DATA_REQUEST_WORKING_DAYS = 5;

/** The task type of a request in the staff inbox. */
export const DATA_REQUEST_TASK_TYPE = 'data-subject-request';

export const DATA_REQUEST_TEXT_MAX = 2000;
export const CORRECT_VALUE_MAX = 500;

/** One field that breaks a rule, with its words in both languages (the API's message is the English one). */
export interface DataRequestProblem { field: string; rule: string; words: { lv: string; en: string } }

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CONTROL = /[\u0000\uD800-\uDFFF]/;

/** A request as filed, after checking. */
export interface DataRequestInput { requestId: string; kind: DataRequestKind; text: string; field: string | null; correctValue: string | null }

const isText = (v: unknown): v is string => typeof v === 'string';

/** Checks a filed request: the problems of each field (empty when it is fine) and the request itself. */
export function checkDataRequest(body: Record<string, unknown>): { problems: DataRequestProblem[]; input: DataRequestInput | null } {
  const problems: DataRequestProblem[] = [];
  const known = new Set(['requestId', 'kind', 'text', 'field', 'correctValue']);
  for (const key of Object.keys(body)) {
    if (!known.has(key) && key !== '_csrf' && key !== 'lang') problems.push({ field: key, rule: 'unrecognized_keys', words: { lv: 'Šāda lauka nav.', en: 'There is no such field.' } });
  }
  const requestId = body.requestId;
  if (!isText(requestId) || !UUID.test(requestId)) {
    problems.push({ field: 'requestId', rule: 'invalid_format', words: { lv: 'Atveriet veidlapu vēlreiz (trūkst pieprasījuma identifikatora).', en: 'Open the form again (the request id is missing).' } });
  }
  const kind = body.kind;
  if (!isText(kind) || !(DATA_REQUEST_KINDS as readonly string[]).includes(kind)) {
    problems.push({ field: 'kind', rule: 'invalid_value', words: { lv: 'Izvēlieties: dzēst vai labot datus.', en: 'Choose: erase or correct data.' } });
  }
  const text = isText(body.text) ? body.text.trim() : '';
  if (text.length === 0) problems.push({ field: 'text', rule: 'required', words: { lv: 'Aprakstiet, ko lūdzat.', en: 'Describe what you ask for.' } });
  else if (text.length > DATA_REQUEST_TEXT_MAX) problems.push({ field: 'text', rule: 'too_big', words: { lv: `Ne vairāk kā ${DATA_REQUEST_TEXT_MAX} rakstzīmes.`, en: `At most ${DATA_REQUEST_TEXT_MAX} characters.` } });
  else if (CONTROL.test(text)) problems.push({ field: 'text', rule: 'invalid_unicode', words: { lv: 'Tekstā ir nederīga rakstzīme.', en: 'The text holds an invalid character.' } });
  let field: string | null = null;
  let correctValue: string | null = null;
  if (kind === 'correction') {
    field = isText(body.field) ? body.field : '';
    if (!(CORRECTABLE_FIELDS as readonly string[]).includes(field)) {
      problems.push({ field: 'field', rule: 'invalid_value', words: { lv: 'Izvēlieties, kuru datu lauku labot.', en: 'Choose which item of data to correct.' } });
    }
    correctValue = isText(body.correctValue) ? body.correctValue.trim() : '';
    if (correctValue.length === 0) problems.push({ field: 'correctValue', rule: 'required', words: { lv: 'Norādiet pareizo vērtību.', en: 'Give the correct value.' } });
    else if (correctValue.length > CORRECT_VALUE_MAX) problems.push({ field: 'correctValue', rule: 'too_big', words: { lv: `Ne vairāk kā ${CORRECT_VALUE_MAX} rakstzīmes.`, en: `At most ${CORRECT_VALUE_MAX} characters.` } });
    else if (CONTROL.test(correctValue)) problems.push({ field: 'correctValue', rule: 'invalid_unicode', words: { lv: 'Vērtībā ir nederīga rakstzīme.', en: 'The value holds an invalid character.' } });
  }
  if (problems.length > 0) return { problems, input: null };
  return { problems, input: { requestId: requestId as string, kind: kind as DataRequestKind, text, field, correctValue } };
}

/** A staff decision on a request, after checking. */
export interface DataRequestDecision { outcome: DataRequestOutcome; reason: string }

/** Checks a staff decision: an outcome, and a reason unless it is done in full. */
export function checkDataRequestDecision(body: Record<string, unknown>): { problems: DataRequestProblem[]; decision: DataRequestDecision | null } {
  const problems: DataRequestProblem[] = [];
  const outcome = body.outcome;
  if (!isText(outcome) || !(DATA_REQUEST_OUTCOMES as readonly string[]).includes(outcome)) {
    problems.push({ field: 'outcome', rule: 'invalid_value', words: { lv: 'Izvēlieties iznākumu: izpildīts, daļēji izpildīts vai atteikts.', en: 'Choose the outcome: done, partly done or refused.' } });
  }
  const reason = isText(body.reason) ? body.reason.trim() : '';
  if (reason.length > DATA_REQUEST_TEXT_MAX) problems.push({ field: 'reason', rule: 'too_big', words: { lv: `Ne vairāk kā ${DATA_REQUEST_TEXT_MAX} rakstzīmes.`, en: `At most ${DATA_REQUEST_TEXT_MAX} characters.` } });
  else if (CONTROL.test(reason)) problems.push({ field: 'reason', rule: 'invalid_unicode', words: { lv: 'Tekstā ir nederīga rakstzīme.', en: 'The text holds an invalid character.' } });
  else if (reason.length === 0 && outcome !== 'done') {
    problems.push({ field: 'reason', rule: 'required', words: { lv: 'Norādiet iemeslu: persona to izlasīs.', en: 'Give the reason: the person will read it.' } });
  }
  if (problems.length > 0) return { problems, decision: null };
  return { problems, decision: { outcome: outcome as DataRequestOutcome, reason } };
}
