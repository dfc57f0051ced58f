import type { Context, Next } from 'koa';
import { HttpError } from '../errors';

declare module 'koa' {
  interface Request {
    /** The parsed JSON or form body (see bodyMiddleware). */
    body?: unknown;
  }
}

/** Largest request body we accept; registration forms and decisions are a few hundred bytes. */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Reads JSON and form bodies into ctx.request.body with a size limit. Written here rather than taken from a
 * package so that every failure (malformed JSON, too large, wrong type) gets our error body and wording.
 */
export function bodyMiddleware() {
  return async (ctx: Context, next: Next) => {
    if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(ctx.method)) return next();
    if (ctx.request.type === 'multipart/form-data') {
      // Uploads are read by multipartBody() on the few routes that take files, with their own limits; any other
      // route that reads this body is told to send JSON or a form instead.
      Object.defineProperty(ctx.request, 'body', {
        configurable: true, enumerable: true,
        get() { throw unsupported(); },
        set(value: unknown) { Object.defineProperty(ctx.request, 'body', { value, writable: true, configurable: true, enumerable: true }); },
      });
      return next();
    }
    const raw = await readBody(ctx);
    if (raw.length === 0) { ctx.request.body = {}; return next(); }
    const type = ctx.request.type;
    if (type === 'application/json') {
      try {
        ctx.request.body = JSON.parse(raw);
      } catch (err) {
        throw new HttpError(400, 'malformed_json', `The request body is not valid JSON: ${(err as Error).message}`);
      }
    } else if (type === 'application/x-www-form-urlencoded') {
      ctx.request.body = Object.fromEntries(new URLSearchParams(raw));
    } else {
      throw unsupported();
    }
    return next();
  };
}

async function readBody(ctx: Context): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  // An oversized body is still read to its end (and dropped) so the client receives our 413 instead of a reset.
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer);
    else if (size > 16 * MAX_BODY_BYTES) { ctx.set('connection', 'close'); throw tooLarge(); }
  }
  if (size > MAX_BODY_BYTES) throw tooLarge();
  return Buffer.concat(chunks).toString('utf8');
}

function unsupported(): HttpError {
  return new HttpError(415, 'unsupported_media_type', 'Send the body as application/json or a form (application/x-www-form-urlencoded)');
}

function tooLarge(): HttpError {
  return new HttpError(413, 'body_too_large', `The request body is larger than ${MAX_BODY_BYTES / 1024} KiB`);
}
