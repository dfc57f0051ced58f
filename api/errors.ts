/** An error with an HTTP status and a message meant for the caller; anything else becomes a plain 500. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown[] = [],
  ) {
    super(message);
  }
}

/** One field that broke a rule, as reported in a 400 answer and shown next to the form field. */
export interface FieldProblem { field: string; rule: string; message: string }

/** A problem with one field, with words in both page languages where we have them (the API's message is English). */
export interface WordedProblem extends FieldProblem { words?: { lv: string; en: string } }

/** The uniform error body every failed request gets. */
export interface ErrorBody { error: { code: string; message: string; details: unknown[] } }

// Activities read unique violations too, so the reader lives in lib/.
export { violatedUniqueConstraint } from '../lib/unique-violation';
