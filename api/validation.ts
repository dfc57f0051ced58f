import { z } from 'zod';
import { HttpError, type WordedProblem } from './errors';
import { isTextRule, textProblem } from './text-input';
import { problemText, ruleWords } from './messages';
import { hasTranslation } from '../web/render';

/**
 * Lists what is wrong with an input, one entry per field, worded for the person who sent it: the API's English
 * `message` (zod's, or the schema's own) and `words` in both page languages from the catalogue (`rule.<name>`,
 * the field named by its `field.<name>` label; api/messages.ts). A broken text rule (see text-input.ts) keeps its
 * own rule name and words.
 */
export function fieldProblems(error: z.ZodError): WordedProblem[] {
  return error.issues.map((issue) => {
    const field = issue.path.length > 0 ? issue.path.join('.') : (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : '(body)');
    const custom = issue.code === 'custom' ? (issue.params as { rule?: unknown } | undefined)?.rule : undefined;
    if (typeof custom === 'string' && isTextRule(custom)) return textProblem(field, custom);
    const [general, vars] = typeof custom === 'string' && hasTranslation('en', `rule.${custom}`) ? [custom, (issue as { params?: Record<string, unknown> }).params ?? {}] : catalogueRule(issue);
    // A pattern says what it wants per field where the catalogue has it (rule.format.phone: "8 to 20 digits").
    const rule = general === 'format' && hasTranslation('en', `rule.format.${field}`) ? `format.${field}` : general;
    return { field, rule: typeof custom === 'string' ? custom : issue.code, message: issue.message, words: ruleWords(field, rule, vars) };
  });
}

// The catalogue's rule (rule.<name>) for a zod issue and the values its text names.
function catalogueRule(issue: z.core.$ZodIssue): [string, Record<string, unknown>] {
  switch (issue.code) {
    case 'invalid_type':
      // zod says "received undefined" for a missing field (text() says "is required"), unless a schema words it; a
      // form sends every value as text, so a field that is not a string there was left out.
      if (/received undefined|is required/.test(issue.message) || issue.expected === 'string') return ['required', {}];
      if (issue.expected === 'date') return ['invalid_date', {}];
      if (issue.expected === 'int') return ['whole_number', {}];
      if (issue.expected === 'number' || issue.expected === 'bigint') return ['number', {}];
      if (issue.expected === 'boolean') return ['boolean', {}];
      return ['invalid_type', {}];
    case 'too_small': {
      const minimum = limit(issue.minimum);
      if (issue.origin === 'string') return issue.minimum === 1 ? ['required', {}] : [issue.exact ? 'string_length' : 'string_min', { minimum }];
      if (issue.origin === 'array' || issue.origin === 'set') return [issue.minimum === 1 ? 'required' : 'array_min', { minimum }];
      if (issue.origin === 'date') return ['date_min', { minimum }];
      return [issue.inclusive === false ? 'number_above' : 'number_min', { minimum }];
    }
    case 'too_big': {
      const maximum = limit(issue.maximum);
      if (issue.origin === 'string') return [issue.exact ? 'string_length' : 'string_max', { maximum, minimum: maximum }];
      if (issue.origin === 'array' || issue.origin === 'set') return ['array_max', { maximum }];
      if (issue.origin === 'date') return ['date_max', { maximum }];
      return [issue.inclusive === false ? 'number_below' : 'number_max', { maximum }];
    }
    case 'invalid_format':
      if (issue.format === 'email' || issue.format === 'uuid' || issue.format === 'url') return [issue.format, {}];
      if (issue.format === 'date' || issue.format === 'datetime' || issue.format === 'time') return ['invalid_date', {}];
      return ['format', {}];
    // A checkbox that must be ticked is a literal true.
    case 'invalid_value': return issue.values.length === 1 && issue.values[0] === true ? ['must_accept', {}] : ['one_of', {}];
    case 'not_multiple_of': return ['multiple_of', { divisor: limit(issue.divisor) }];
    case 'unrecognized_keys': return ['unknown_field', {}];
    default: return ['invalid', {}];
  }
}

// A limit as a person writes it (a date limit as its ISO day).
function limit(value: unknown): string {
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  return String(value);
}

// The problems each errorsByField answer was worded from, so a failed form's problems can be kept and worded again
// in the other language (api/form-state.ts) without every page handing them over twice.
const wordedFrom = new WeakMap<object, WordedProblem[]>();

/** Field → message in the page's language (api/messages.ts problemText), first problem of each field first, several joined. */
export function errorsByField(problems: WordedProblem[], lang: 'lv' | 'en'): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const p of problems) {
    const words = problemText(p, lang);
    errors[p.field] = errors[p.field] ? `${errors[p.field]} ${words}` : words;
  }
  wordedFrom.set(errors, problems);
  return errors;
}

/** The problems an errorsByField answer was worded from, or undefined for any other object. */
export function problemsBehind(errors: object): WordedProblem[] | undefined {
  return wordedFrom.get(errors);
}

/** The named text fields of a page's form body (which also carries the language switch, the form token and such). */
export function formFields(body: unknown, fields: readonly string[]): Record<string, string> {
  const form = (body ?? {}) as Record<string, unknown>;
  return Object.fromEntries(fields.filter((f) => typeof form[f] === 'string').map((f) => [f, form[f] as string]));
}

/** Parses input against a schema or throws a 400 naming each field and the rule it broke. */
export function parseOr400<T>(schema: z.ZodType<T>, input: unknown, where: 'body' | 'query' | 'params'): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = fieldProblems(result.error);
  const summary = problems.map((p) => `${p.field}: ${p.message}`).join('; ');
  throw new HttpError(400, 'invalid_request', `Invalid ${where}: ${summary}`, problems);
}
