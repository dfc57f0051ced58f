import { hasTranslation, translate, type PageLanguage } from '../web/render';
import type { HttpError, WordedProblem } from './errors';

/*
 * The one way a refusal or a broken field rule becomes words a person reads (DESIGN.md habit 16). Code raises an
 * error code with details; pages say the catalogue's text (web/i18n/errors.*.json: `error.<code>`, `rule.<name>`,
 * `field.<name>`) in the page's language. The JSON API keeps its English `message`.
 */

/** Both page languages' words for one key, e.g. for a problem's `words`. */
export function bothLanguages(key: string, vars: Record<string, unknown> = {}): { lv: string; en: string } {
  return { lv: translate('lv', key, vars), en: translate('en', key, vars) };
}

/**
 * The human label of a form field (`field.<name>`; a list item such as `places.0.address` is looked up as
 * `field.places.address`), or null when the catalogue has none, so the words go without a name rather than
 * with an internal one.
 */
export function fieldLabel(lang: PageLanguage, field: string): string | null {
  for (const name of [field, field.split('.').filter((part) => !/^\d+$/.test(part)).join('.')]) {
    if (hasTranslation(lang, `field.${name}`)) return translate(lang, `field.${name}`);
  }
  return null;
}

/** A rule's words with the field's label in front ("E-pasts: jāaizpilda."), in both languages. */
export function ruleWords(field: string, rule: string, vars: Record<string, unknown> = {}): { lv: string; en: string } {
  const say = (lang: PageLanguage) => {
    const text = translate(lang, `rule.${rule}`, vars);
    const label = fieldLabel(lang, field);
    return label ? `${label}: ${text}` : capitalise(text);
  };
  return { lv: say('lv'), en: say('en') };
}

/** One field problem in the page's language: its own words, else its rule from the catalogue, else the API's message. */
export function problemText(problem: Partial<WordedProblem>, lang: PageLanguage): string {
  if (problem.words) return problem.words[lang];
  if (problem.rule && hasTranslation(lang, `rule.${problem.rule}`)) return ruleWords(problem.field ?? '', problem.rule)[lang];
  return problem.message ?? '';
}

/** A problem away from its field (an error page, a summary): its words, with the field's label when they lack it. */
export function namedProblemText(problem: Partial<WordedProblem>, lang: PageLanguage): string {
  const text = problemText(problem, lang);
  const field = problem.field ?? '';
  const label = fieldLabel(lang, field);
  return label && text.startsWith(label) ? text : translate(lang, 'input.field', { field: label ?? field, problem: text });
}

/**
 * A refusal in the page's language, by one path for every page: a dependency that is down; a 400 listing its
 * field problems; a refusal carrying its own words (throttling, blocks, terms, worded conflicts); the area's own
 * wording (`<area>.error.<code>`, e.g. `provider.error.already_decided`) when a page has one; else the catalogue's
 * `error.<code>` with its placeholders filled from the details.
 */
export function refusalText(err: HttpError, lang: PageLanguage, options: { area?: string; vars?: Record<string, unknown> } = {}): string {
  const detail = (typeof err.details[0] === 'object' && err.details[0] !== null ? err.details[0] : {}) as Record<string, unknown>;
  if (err.code === 'service_unavailable' && typeof detail.dependency === 'string') return translate(lang, `error.unavailable.${detail.dependency}`);
  const problems = (err.details as Partial<WordedProblem>[]).filter((p) => typeof p === 'object' && p !== null && typeof p.field === 'string');
  if (err.code === 'invalid_request' && problems.length > 0) {
    return translate(lang, 'error.invalid_request', { problems: problems.map((p) => namedProblemText(p, lang)).join(' ') });
  }
  const words = detail.words as Record<PageLanguage, string> | undefined;
  if (words && typeof words[lang] === 'string') return words[lang];
  const vars = { ...detailVars(detail, lang), ...options.vars };
  if (options.area && hasTranslation(lang, `${options.area}.error.${err.code}`)) return translate(lang, `${options.area}.error.${err.code}`, vars);
  if (hasTranslation(lang, `error.${err.code}`)) return translate(lang, `error.${err.code}`, vars);
  // A code the catalogue lacks (test/web/messages.test.ts keeps this from happening for codes in the source).
  return err.message;
}

/** Whether a refusal has a text of its own for a form to show (everything but a missing page). */
export function isFormRefusal(err: HttpError): boolean {
  return err.status >= 400 && err.status < 500 && err.status !== 404;
}

// The placeholders a catalogue text may use, from the refusal's details: who acted (a colleague when unnamed),
// a limit in MB, and any plain value the details carry.
function detailVars(detail: Record<string, unknown>, lang: PageLanguage): Record<string, unknown> {
  const someone = translate(lang, 'error.someone');
  const plain = Object.fromEntries(Object.entries(detail).filter(([, v]) => typeof v === 'string' || typeof v === 'number'));
  return {
    ...plain,
    assigneeName: detail.assigneeName ?? someone, decidedBy: detail.decidedBy ?? someone, reportedBy: detail.reportedBy ?? someone,
    ...(typeof detail.limitBytes === 'number' ? { limitMb: Math.round(detail.limitBytes / 1_048_576) } : {}),
  };
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
