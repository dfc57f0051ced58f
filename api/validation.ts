import { z } from 'zod';
import { HttpError, type WordedProblem } from './errors';
import { isTextRule, textProblem } from './text-input';

/**
 * Lists what is wrong with an input, one entry per field, worded for the person who sent it. A broken text rule
 * (see text-input.ts) keeps its own rule name and carries the words of both page languages.
 */
export function fieldProblems(error: z.ZodError): WordedProblem[] {
  return error.issues.map((issue) => {
    const field = issue.path.length > 0 ? issue.path.join('.') : (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : '(body)');
    const rule = issue.code === 'custom' ? (issue.params as { rule?: unknown } | undefined)?.rule : undefined;
    if (typeof rule === 'string' && isTextRule(rule)) return textProblem(field, rule);
    return { field, rule: issue.code, message: issue.message };
  });
}

// The problems each errorsByField answer was worded from, so a failed form's problems can be kept and worded again
// in the other language (api/form-state.ts) without every page handing them over twice.
const wordedFrom = new WeakMap<object, WordedProblem[]>();

/** Field → message in the page's language (where the problem has words), first problem of each field first, several joined. */
export function errorsByField(problems: WordedProblem[], lang: 'lv' | 'en'): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const p of problems) {
    const words = p.words?.[lang] ?? p.message;
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
