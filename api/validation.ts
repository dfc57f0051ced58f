import { z } from 'zod';
import { HttpError, type FieldProblem } from './errors';

/** Lists what is wrong with an input, one entry per field, worded for the person who sent it. */
export function fieldProblems(error: z.ZodError): FieldProblem[] {
  return error.issues.map((issue) => {
    const field = issue.path.length > 0 ? issue.path.join('.') : (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : '(body)');
    return { field, rule: issue.code, message: issue.message };
  });
}

/** Parses input against a schema or throws a 400 naming each field and the rule it broke. */
export function parseOr400<T>(schema: z.ZodType<T>, input: unknown, where: 'body' | 'query' | 'params'): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = fieldProblems(result.error);
  const summary = problems.map((p) => `${p.field}: ${p.message}`).join('; ');
  throw new HttpError(400, 'invalid_request', `Invalid ${where}: ${summary}`, problems);
}
