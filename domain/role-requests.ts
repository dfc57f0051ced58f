/**
 * Roles the agency grants to people who already sign in as learners (seed 000, points 30 and 31): a municipal
 * adult-education coordinator or a career consultant asks for the role, agency staff approve it with an end date,
 * an administrator may revoke it. A career consultant's learners are those who asked them for a consultation.
 */

/** The roles a person may ask for (the values of role_grants.role). */
export const REQUESTABLE_ROLES = ['coordinator', 'career_consultant'] as const;
export type RequestableRole = typeof REQUESTABLE_ROLES[number];

/** The task type of a role request in the staff inbox. */
export const ROLE_REQUEST_TASK_TYPE = 'role-request';

/** The longest grant staff may give: three years, then the person asks again. */
export const GRANT_MAX_DAYS = 3 * 366;

export const ROLE_TEXT_MAX = 2000;
export const ROLE_NAME_MAX = 200;

/** One field that breaks a rule, with its words in both languages (the API's message is the English one). */
export interface RoleProblem { field: string; rule: string; words: { lv: string; en: string } }

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\uD800-\uDFFF]/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const isText = (v: unknown): v is string => typeof v === 'string';

const FORM_KEYS = new Set(['_csrf', 'lang']);

function unknownKeys(body: Record<string, unknown>, known: string[], problems: RoleProblem[]): void {
  for (const key of Object.keys(body)) {
    if (!known.includes(key) && !FORM_KEYS.has(key)) problems.push({ field: key, rule: 'unrecognized_keys', words: { lv: 'Šāda lauka nav.', en: 'There is no such field.' } });
  }
}

/** A required free text up to `max` characters; pushes its problem and returns the trimmed text (or null). */
function requiredText(body: Record<string, unknown>, field: string, max: number, missing: { lv: string; en: string }, problems: RoleProblem[]): string | null {
  const value = isText(body[field]) ? (body[field] as string).trim() : '';
  if (value.length === 0) problems.push({ field, rule: 'required', words: missing });
  else if (value.length > max) problems.push({ field, rule: 'too_big', words: { lv: `Ne vairāk kā ${max} rakstzīmes.`, en: `At most ${max} characters.` } });
  else if (CONTROL.test(value)) problems.push({ field, rule: 'invalid_unicode', words: { lv: 'Tekstā ir nederīga rakstzīme.', en: 'The text holds an invalid character.' } });
  else return value;
  return null;
}

/** A role request as filed, after checking. */
export interface RoleRequestInput { requestId: string; role: RequestableRole; municipality: string; organisation: string | null; reason: string }

/** Checks a filed role request: the problems of each field (empty when it is fine) and the request itself. */
export function checkRoleRequest(body: Record<string, unknown>): { problems: RoleProblem[]; input: RoleRequestInput | null } {
  const problems: RoleProblem[] = [];
  unknownKeys(body, ['requestId', 'role', 'municipality', 'organisation', 'reason'], problems);
  const requestId = body.requestId;
  if (!isText(requestId) || !UUID.test(requestId)) {
    problems.push({ field: 'requestId', rule: 'invalid_format', words: { lv: 'Atveriet veidlapu vēlreiz (trūkst pieprasījuma identifikatora).', en: 'Open the form again (the request id is missing).' } });
  }
  const role = body.role;
  if (!isText(role) || !(REQUESTABLE_ROLES as readonly string[]).includes(role)) {
    problems.push({ field: 'role', rule: 'invalid_value', words: { lv: 'Izvēlieties lomu: koordinators vai karjeras konsultants.', en: 'Choose the role: coordinator or career consultant.' } });
  }
  const municipality = requiredText(body, 'municipality', ROLE_NAME_MAX, { lv: 'Norādiet pašvaldību, kurā strādāsiet.', en: 'Give the municipality you will work in.' }, problems);
  // The organisation is optional for a coordinator (the municipality says it) and required for a career consultant.
  const organisationWords = { lv: 'Norādiet organizāciju, kurā strādājat par karjeras konsultantu.', en: 'Give the organisation you work for as a career consultant.' };
  const organisationGiven = isText(body.organisation) && body.organisation.trim() !== '';
  const organisation = organisationGiven || role === 'career_consultant'
    ? requiredText(body, 'organisation', ROLE_NAME_MAX, organisationWords, problems) : null;
  const reason = requiredText(body, 'reason', ROLE_TEXT_MAX, { lv: 'Norādiet, kāpēc lūdzat šo lomu.', en: 'Say why you ask for this role.' }, problems);
  if (problems.length > 0) return { problems, input: null };
  return { problems, input: { requestId: requestId as string, role: role as RequestableRole, municipality: municipality!, organisation, reason: reason! } };
}

/** A staff decision on a role request, after checking. */
export type RoleDecision = { decision: 'approve'; validUntil: string; reason: string } | { decision: 'reject'; reason: string };

/** Checks a staff decision: approve with an end date (after today, at most three years on), or reject with a reason. */
export function checkRoleDecision(body: Record<string, unknown>, today: string): { problems: RoleProblem[]; decision: RoleDecision | null } {
  const problems: RoleProblem[] = [];
  unknownKeys(body, ['decision', 'validUntil', 'reason'], problems);
  const decision = body.decision;
  if (decision !== 'approve' && decision !== 'reject') {
    problems.push({ field: 'decision', rule: 'invalid_value', words: { lv: 'Izvēlieties: piešķirt vai noraidīt.', en: 'Choose: approve or reject.' } });
  }
  const reason = isText(body.reason) ? body.reason.trim() : '';
  if (reason.length > ROLE_TEXT_MAX) problems.push({ field: 'reason', rule: 'too_big', words: { lv: `Ne vairāk kā ${ROLE_TEXT_MAX} rakstzīmes.`, en: `At most ${ROLE_TEXT_MAX} characters.` } });
  else if (CONTROL.test(reason)) problems.push({ field: 'reason', rule: 'invalid_unicode', words: { lv: 'Tekstā ir nederīga rakstzīme.', en: 'The text holds an invalid character.' } });
  else if (reason.length === 0) problems.push({ field: 'reason', rule: 'required', words: { lv: 'Norādiet lēmuma pamatojumu.', en: 'Give the reason for the decision.' } });
  let validUntil = '';
  if (decision === 'approve') {
    validUntil = isText(body.validUntil) ? body.validUntil.trim() : '';
    const latest = addDays(today, GRANT_MAX_DAYS);
    if (!DAY.test(validUntil) || Number.isNaN(Date.parse(`${validUntil}T00:00:00Z`)) || new Date(`${validUntil}T00:00:00Z`).toISOString().slice(0, 10) !== validUntil) {
      problems.push({ field: 'validUntil', rule: 'invalid_date', words: { lv: 'Norādiet beigu datumu formā GGGG-MM-DD.', en: 'Give the end date as YYYY-MM-DD.' } });
    } else if (validUntil <= today) {
      problems.push({ field: 'validUntil', rule: 'after_today', words: { lv: 'Beigu datumam jābūt pēc šodienas.', en: 'The end date must be after today.' } });
    } else if (validUntil > latest) {
      problems.push({ field: 'validUntil', rule: 'at_most_three_years', words: { lv: `Ne vēlāk kā ${latest} (trīs gadi).`, en: `No later than ${latest} (three years).` } });
    }
  }
  if (problems.length > 0) return { problems, decision: null };
  return { problems, decision: decision === 'approve' ? { decision, validUntil, reason } : { decision: 'reject', reason } };
}

/** Checks an administrator's revocation: a reason is required. */
export function checkRevocation(body: Record<string, unknown>): { problems: RoleProblem[]; reason: string | null } {
  const problems: RoleProblem[] = [];
  unknownKeys(body, ['reason'], problems);
  const reason = requiredText(body, 'reason', ROLE_TEXT_MAX, { lv: 'Norādiet, kāpēc loma tiek atsaukta.', en: 'Give the reason for revoking the role.' }, problems);
  return { problems, reason: problems.length > 0 ? null : reason };
}

/** Checks a learner's consultation request: which consultant (their grant's id) and what they would like to talk about. */
export function checkConsultationRequest(body: Record<string, unknown>): { problems: RoleProblem[]; input: { consultantId: string; message: string } | null } {
  const problems: RoleProblem[] = [];
  unknownKeys(body, ['consultantId', 'message'], problems);
  const consultantId = body.consultantId;
  if (!isText(consultantId) || !UUID.test(consultantId)) {
    problems.push({ field: 'consultantId', rule: 'invalid_value', words: { lv: 'Izvēlieties karjeras konsultantu no saraksta.', en: 'Choose a career consultant from the list.' } });
  }
  const message = requiredText(body, 'message', ROLE_TEXT_MAX, { lv: 'Aprakstiet, par ko vēlaties konsultēties.', en: 'Describe what you would like to talk about.' }, problems);
  if (problems.length > 0) return { problems, input: null };
  return { problems, input: { consultantId: consultantId as string, message: message! } };
}

/** Checks a consultant's note: a required text. */
export function checkNote(body: Record<string, unknown>): { problems: RoleProblem[]; text: string | null } {
  const problems: RoleProblem[] = [];
  unknownKeys(body, ['text'], problems);
  const text = requiredText(body, 'text', ROLE_TEXT_MAX, { lv: 'Ierakstiet piezīmes tekstu.', en: 'Write the note.' }, problems);
  return { problems, text: problems.length > 0 ? null : text };
}

function addDays(day: string, days: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}
