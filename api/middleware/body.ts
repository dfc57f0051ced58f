import type { Context, Next } from 'koa';
import { HttpError } from '../errors';
import { decodeForm, decodeUtf8, invalidInput, replacementCharacterFields, textProblem } from '../text-input';

declare module 'koa' {
  interface Request {
    /** The parsed JSON or form body (see bodyMiddleware). */
    body?: unknown;
  }
}

/** Largest request body we accept; registration forms and decisions are a few hundred bytes. */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Reads JSON and form bodies into ctx.request.body with a size limit. The JSON API (/api/...) takes only
 * application/json (upload routes also multipart/form-data); pages take forms too. Every failure gets our error
 * body and wording: 413 too large, 415 another type, compression or charset, 400 malformed JSON or bytes that are
 * not UTF-8 (naming the fields), 400 a body cut off by the client.
 *
 * Kept here rather than taken from @koa/bodyparser, which is not installed: the few lines below are all of it,
 * and the strict UTF-8 check (which names the field) needs the raw bytes anyway.
 */
export function bodyMiddleware() {
  return async (ctx: Context, next: Next) => {
    if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(ctx.method)) return next();
    const api = ctx.path.startsWith('/api/');
    if (isMultipart(ctx)) {
      // Uploads are read by multipartBody() on the few routes that take files, with their own limits (and it tells
      // a multipart type other than form-data what it takes); any other route that reads this body is told to send
      // JSON (or, for a page, a form) instead.
      Object.defineProperty(ctx.request, 'body', {
        configurable: true, enumerable: true,
        get() { throw unsupported(api); },
        set(value: unknown) { Object.defineProperty(ctx.request, 'body', { value, writable: true, configurable: true, enumerable: true }); },
      });
      return next();
    }
    const type = mediaType(ctx);
    const accepted = type === 'application/json' || (!api && type === 'application/x-www-form-urlencoded');
    // A form's type is refused by the JSON API even with an empty body: a cross-site form without fields sends one.
    if (api && type !== '' && !accepted) throw unsupported(api);
    const bytes = await readBody(ctx);
    if (bytes.length === 0) { ctx.request.body = {}; return next(); }
    if (!accepted) throw unsupported(api);
    const encoding = ctx.get('content-encoding').toLowerCase();
    if (encoding !== '' && encoding !== 'identity') {
      throw new HttpError(415, 'unsupported_media_type', `Send the body uncompressed (Content-Encoding "${encoding}" is not accepted)`);
    }
    const charset = ctx.request.charset.toLowerCase();
    if (charset !== '' && charset !== 'utf-8' && charset !== 'utf8') {
      throw new HttpError(415, 'unsupported_media_type', `Send the body in UTF-8 (charset "${charset}" is not accepted)`);
    }
    const { text, valid } = decodeUtf8(bytes);
    if (type === 'application/json') {
      try {
        ctx.request.body = JSON.parse(text);
      } catch (err) {
        throw new HttpError(400, 'malformed_json', `The request body is not valid JSON: ${(err as Error).message}`);
      }
      if (deeperThan(ctx.request.body, MAX_JSON_DEPTH)) {
        throw new HttpError(400, 'malformed_json', `The JSON body is nested more than ${MAX_JSON_DEPTH} levels deep`);
      }
    } else {
      const form = decodeForm(text);
      ctx.request.body = form.fields;
      if (form.notUtf8.length > 0) throw invalidInput(ctx, 'body', form.notUtf8.map((field) => textProblem(field, 'invalid_utf8')));
    }
    if (!valid) {
      // The fields where the bytes that were not UTF-8 ended up (as U+FFFD), or the body as a whole.
      const fields = replacementCharacterFields(ctx.request.body);
      throw invalidInput(ctx, 'body', (fields.length > 0 ? fields : ['(body)']).map((field) => textProblem(field, 'invalid_utf8')));
    }
    return next();
  };
}

/** The body's media type, lower-cased: media types are case-insensitive (RFC 9110 8.3.1), Koa's request.type is not. */
export function mediaType(ctx: Context): string {
  return ctx.request.type.trim().toLowerCase();
}

/** Whether the body is multipart of any kind: read (or refused) only by multipartBody() on upload routes. */
export function isMultipart(ctx: Context): boolean {
  return mediaType(ctx).startsWith('multipart/');
}

// No request of ours nests deeper than a few levels; a body of 60 000 brackets would otherwise overflow the stack
// of every recursive walk over it (the text rules, the schemas).
const MAX_JSON_DEPTH = 32;

function deeperThan(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  while (pending.length > 0) {
    const [item, depth] = pending.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return false;
}

async function readBody(ctx: Context): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    // An oversized body is still read to its end (and dropped) so the client receives our 413 instead of a reset.
    for await (const chunk of ctx.req) {
      size += (chunk as Buffer).length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer);
      else if (size > 16 * MAX_BODY_BYTES) { ctx.set('connection', 'close'); throw tooLarge(); }
    }
  } catch (err) {
    if (err instanceof HttpError) throw err;
    // The client went away mid-body: nobody reads this answer, but it must not count as our failure.
    throw new HttpError(400, 'request_aborted', 'The request body ended before it was complete');
  }
  if (size > MAX_BODY_BYTES) throw tooLarge();
  return Buffer.concat(chunks);
}

/**
 * On a JSON route (not an upload route), refuses a multipart body even when the route reads no body, so a plain
 * cross-site form (enctype multipart/form-data) cannot reach an action such as a claim.
 */
export async function refuseMultipart(ctx: Context, next: Next) {
  if (isMultipart(ctx)) throw unsupported(true);
  return next();
}

/** The 415 for a body the route does not take: the JSON API takes only JSON. */
export function unsupported(api: boolean): HttpError {
  return new HttpError(415, 'unsupported_media_type', api
    ? 'Send the body as application/json (the JSON API accepts no other type here)'
    : 'Send the body as application/json or a form (application/x-www-form-urlencoded)');
}

function tooLarge(): HttpError {
  return new HttpError(413, 'body_too_large', `The request body is larger than ${MAX_BODY_BYTES / 1024} KiB`, [bodyTooLarge(MAX_BODY_BYTES)]);
}

/** The problem of a whole body over its limit: no one field is to blame, so it names the body. */
export function bodyTooLarge(limitBytes: number) {
  return { field: '(body)', rule: 'too_large', limitBytes, message: `the request body is larger than ${limitBytes} bytes` };
}
