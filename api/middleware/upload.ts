import Busboy from 'busboy';
import type { Context, Next } from 'koa';
import { MAX_UPLOAD_BYTES } from '../../domain/uploads';
import { RETRY_AFTER_SECONDS } from '../../lib/dependency-errors';
import { translate, type PageLanguage } from '../../web/render';
import { brokenTextRule, decodeUtf8, invalidInput, textProblem } from '../text-input';
import { HttpError } from '../errors';
import { bodyTooLarge, isMultipart, MAX_BODY_BYTES, mediaType } from './body';
import { FileBytes } from './file-bytes';

/**
 * One uploaded file, read into memory as it streams in, at most MAX_UPLOAD_BYTES (one buffer, see FileBytes).
 * `contentType` is the browser's claim.
 */
export interface UploadedFile { field: string; filename: string; contentType: string; content: Buffer; sizeBytes: number }

declare module 'koa' {
  interface Request {
    /** Files of a multipart body (see multipartBody); empty for other bodies. */
    files?: UploadedFile[];
  }
  interface DefaultContext {
    /** The app's count of multipart bodies being read (set on app.context by createApp). */
    uploadSlots?: UploadSlots;
  }
}

/**
 * How many multipart bodies one process reads at once. Each may hold up to MAX_UPLOAD_BYTES in memory until it
 * ends, and a client can send most of one and then go quiet (until the server's requestTimeout): without a cap, 40
 * such clients held 380 MB. Beyond the cap an upload is answered 503 at once, before its body is read.
 */
export const DEFAULT_MAX_UPLOADS_IN_PROGRESS = 8;

/** The multipart bodies being read at once in this app, and the most it reads. */
export class UploadSlots {
  private taken = 0;
  constructor(readonly max: number) {}

  /** Takes a slot, or returns false when all are taken. */
  take(): boolean {
    if (this.taken >= this.max) return false;
    this.taken += 1;
    return true;
  }

  release(): void {
    this.taken -= 1;
  }
}

/**
 * Reads a multipart/form-data body on an upload route: text fields into ctx.request.body (64 KiB in all, like any
 * other body) and files into ctx.request.files, at most one per named file field and MAX_UPLOAD_BYTES each. A file
 * over the limit is not kept beyond the limit: the rest is read and dropped so the client gets our 413, and a body
 * far past every limit ends the connection. JSON and form bodies pass through with no files.
 *
 * With `keepFields`, a refused upload does not throw: the error goes to ctx.state.uploadFailure and the fields read
 * so far to ctx.request.body, so a page can show the form again with the message next to the file field.
 */
export function multipartBody(opts: { fileFields: readonly string[]; keepFields?: boolean }) {
  return async (ctx: Context, next: Next) => {
    if (isMultipart(ctx) && mediaType(ctx) !== 'multipart/form-data') {
      throw new HttpError(415, 'unsupported_media_type', `Send the body as multipart/form-data (this route takes ${opts.fileFields.map((f) => `the file "${f}"`).join(', ')} with its form fields), not ${mediaType(ctx)}`);
    }
    if (!isMultipart(ctx)) {
      ctx.request.files = [];
      return next();
    }
    const slots = ctx.uploadSlots;
    if (slots && !slots.take()) throw tooManyUploads(ctx);
    let read: Awaited<ReturnType<typeof readMultipart>>;
    try {
      read = await readMultipart(ctx, opts.fileFields);
    } finally {
      slots?.release();
    }
    const { fields, files, failure } = read;
    if (failure && !opts.keepFields) throw failure;
    ctx.request.body = fields;
    ctx.request.files = failure ? [] : files;
    if (failure) ctx.state.uploadFailure = failure;
    return next();
  };
}

/** The refusal multipartBody kept for the page (keepFields), or null. */
export function uploadFailure(ctx: Context): HttpError | null {
  return (ctx.state.uploadFailure as HttpError | undefined) ?? null;
}

const MB = 1024 * 1024;

/**
 * The one place busboy is used, with every way it can fail handled: busboy's own 'error' (a malformed or cut-off
 * body), each file stream's 'error' (busboy destroys the stream of a file cut off before its boundary), every
 * limit, a part without a name, and the client going away mid-body. It settles exactly once.
 */
function readMultipart(ctx: Context, fileFields: readonly string[]) {
  return new Promise<{ fields: Record<string, string>; files: UploadedFile[]; failure: HttpError | null }>((resolve, reject) => {
    const fields: Record<string, string> = {};
    const files: UploadedFile[] = [];
    let failure: HttpError | null = null;
    let settled = false;
    let bb: Busboy.Busboy;
    const fail = (err: HttpError) => { failure ??= err; };
    // Stops reading: the rest of a body still arriving is drained (so the answer reaches the client), and the
    // connection is not reused. A body that cannot be read is a failure like a refused file (a page shows the form
    // again with what was read); a body far too large or a client gone away ends the request.
    const stop = (err: HttpError, how: 'failure' | 'reject') => {
      if (settled) return;
      settled = true;
      ctx.req.unpipe(bb);
      if (!ctx.req.complete) {
        ctx.set('connection', 'close');
        if (how === 'failure') ctx.req.resume(); else ctx.req.pause();
      }
      if (how === 'reject') reject(err);
      else resolve({ fields, files: [], failure: err });
    };
    try {
      bb = Busboy({
        // Field values and part parameters (name, filename) arrive as latin1, i.e. one character per byte, and are
        // decoded strictly below: busboy's own UTF-8 decoding turns bytes that are not UTF-8 into U+FFFD silently.
        headers: ctx.req.headers, defCharset: 'latin1', defParamCharset: 'latin1',
        limits: { fileSize: MAX_UPLOAD_BYTES, files: fileFields.length + 2, fields: 200, fieldSize: MAX_BODY_BYTES, parts: 250, fieldNameSize: 200 },
      });
    } catch (err) {
      reject(malformed((err as Error).message, '(body)'));
      return;
    }
    let fieldBytes = 0;
    // What the body says its length is (null for a chunked body), and how much of it was read so far (below).
    const declared = Number(ctx.req.headers['content-length']);
    const declaredLength = Number.isSafeInteger(declared) && declared >= 0 ? declared : null;
    let received = 0;
    let reading: string | null = null;
    const seen = new Set<string>();
    const notUtf8 = new Set<string>();
    bb.on('field', (rawName: string | undefined, rawValue: string | undefined, info) => {
      // busboy gives no value for a part declaring a charset it cannot decode (e.g. charset=koi8-r).
      if (typeof rawValue !== 'string') {
        const field = strictText(rawName ?? '(body)').text;
        fail(new HttpError(415, 'unsupported_media_type', `Send the field "${field}" in UTF-8 (its charset is not accepted)`,
          [{ field, rule: 'unsupported_charset', message: 'send the text in UTF-8' }]));
        return;
      }
      fieldBytes += (rawName ?? '').length + rawValue.length;
      if (info.valueTruncated || info.nameTruncated || fieldBytes > MAX_BODY_BYTES) {
        fail(new HttpError(413, 'body_too_large', `The form fields are larger than ${MAX_BODY_BYTES / 1024} KiB`, [bodyTooLarge(MAX_BODY_BYTES)]));
        return;
      }
      if (!rawName) { fail(unnamedPart()); return; }
      const name = strictText(rawName);
      const value = strictText(rawValue);
      if (!name.valid || !value.valid) notUtf8.add(name.text);
      fields[name.text] = value.text;
    });
    bb.on('file', (rawName: string | undefined, stream, info) => {
      let bytes: FileBytes | null = null;
      let size = 0;
      let refused = false;
      // Handled so a file cut off before its boundary is an answer (busboy's own 'error' follows), not a crash.
      stream.on('error', () => { refused = true; });
      const decodedName = rawName ? strictText(rawName) : null;
      const name = decodedName?.text;
      const filename = strictText(info.filename ?? '');
      const filenameRule = filename.valid ? brokenTextRule(filename.text) : 'invalid_utf8';
      if (decodedName && !decodedName.valid) {
        refused = true;
        fail(invalidInput(ctx, 'body', [textProblem(decodedName.text, 'invalid_utf8')]));
      } else if (!name) {
        refused = true;
        fail(unnamedPart());
      } else if (!fileFields.includes(name)) {
        refused = true;
        fail(new HttpError(400, 'unexpected_file', `No file is expected in the field "${name}"; send files only in: ${fileFields.join(', ')}`,
          [{ field: name, rule: 'unexpected_file', message: 'no file is expected here' }]));
      } else if (filenameRule) {
        // The file name is stored and shown: it keeps the text rules like any other text.
        refused = true;
        const problem = textProblem(name, filenameRule);
        fail(new HttpError(400, 'invalid_request', `The file name in "${name}" ${problem.message}`, [problem]));
      } else if (seen.has(name)) {
        refused = true;
        fail(new HttpError(400, 'too_many_files', `Send one file in the field "${name}"`,
          [{ field: name, rule: 'too_many_files', message: 'send one file only' }]));
      }
      if (name) seen.add(name);
      reading = name ?? null;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (refused) return;
        // The file cannot be longer than this chunk plus the part of the body not yet read (Content-Length), and
        // a little more for what busboy holds back while it looks for the boundary.
        bytes ??= new FileBytes(MAX_UPLOAD_BYTES, declaredLength === null ? null : chunk.length + Math.max(0, declaredLength - received) + 1024);
        if (!bytes.push(chunk)) refused = true;
      });
      stream.on('limit', () => {
        refused = true;
        bytes?.drop();
        fail(new HttpError(413, 'file_too_large', `The file in "${name}" is larger than the ${MAX_UPLOAD_BYTES / MB} MB limit`,
          [{ field: name, rule: 'too_large', limitBytes: MAX_UPLOAD_BYTES, message: `larger than ${MAX_UPLOAD_BYTES / MB} MB` }]));
      });
      stream.on('end', () => {
        reading = null;
        // A browser sends an empty part with no file name when no file was chosen: that is no file, not an empty one.
        if (refused || !name || (info.filename === '' && size === 0)) return;
        files.push({ field: name, filename: filename.text || 'document', contentType: info.mimeType, content: bytes?.content() ?? Buffer.alloc(0), sizeBytes: size });
      });
    });
    const tooMany = () => fail(new HttpError(413, 'body_too_large', 'The form has too many parts'));
    bb.on('filesLimit', () => fail(new HttpError(400, 'too_many_files', `Send at most one file in each of: ${fileFields.join(', ')}`)));
    bb.on('fieldsLimit', tooMany);
    bb.on('partsLimit', tooMany);
    bb.on('error', (err: Error) => stop(malformed(err.message, reading ?? '(body)'), 'failure'));
    bb.on('close', () => {
      if (settled) return;
      settled = true;
      if (notUtf8.size > 0) fail(invalidInput(ctx, 'body', [...notUtf8].map((field) => textProblem(field, 'invalid_utf8'))));
      resolve({ fields, files, failure });
    });

    // Reading on past a too-large file lets the client receive the 413; a body far beyond every limit is cut off.
    const hardLimit = (fileFields.length + 1) * MAX_UPLOAD_BYTES + 16 * MAX_BODY_BYTES;
    ctx.req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > hardLimit) stop(new HttpError(413, 'body_too_large', `The request body is larger than ${Math.floor(hardLimit / MB)} MB`, [bodyTooLarge(hardLimit)]), 'reject');
    });
    // The client went away mid-body: nobody reads the answer, but the request ends here, not in a hang or a crash.
    const aborted = () => stop(new HttpError(400, 'request_aborted', 'The request body ended before it was complete'), 'reject');
    ctx.req.on('error', aborted);
    ctx.req.on('close', () => { if (!ctx.req.complete) aborted(); });
    ctx.req.pipe(bb);
  });
}

/**
 * Text busboy gave as latin1 (one character per byte), decoded strictly as UTF-8: the text (U+FFFD where bytes were
 * not UTF-8) and whether all of it was. A value holding characters beyond latin1 was already decoded by busboy from
 * a charset its part declared (an RFC 5987 filename*=UTF-8''..., or a field's Content-Type charset): it is kept,
 * and U+FFFD in it means bytes that were not valid in that charset. (The one case this cannot tell apart: an
 * explicit charset whose text is all within latin1, such as filename*=UTF-8''caf%C3%A9, is read as bytes again.)
 */
function strictText(value: string): { text: string; valid: boolean } {
  if (/[^\u0000-\u00ff]/.test(value)) return { text: value, valid: !value.includes('\uFFFD') };
  return decodeUtf8(Buffer.from(value, 'latin1'));
}

/** The 503 for an upload beyond the cap: in English for the JSON API, in the page's language for a page. */
function tooManyUploads(ctx: Context): HttpError {
  // Nothing of the body is read: the connection is closed after the answer, so the rest is not awaited.
  ctx.set('connection', 'close');
  const lang: PageLanguage = ctx.path.startsWith('/api/') ? 'en' : ((ctx.state.lang ?? 'lv') as PageLanguage);
  return new HttpError(503, 'too_many_uploads', translate(lang, 'input.too_many_uploads'), [{
    field: '(body)', rule: 'too_many_uploads', message: translate('en', 'input.too_many_uploads'), retryAfterSeconds: RETRY_AFTER_SECONDS,
    words: { lv: translate('lv', 'input.too_many_uploads'), en: translate('en', 'input.too_many_uploads') },
  }]);
}

/** A body busboy cannot read (malformed, or cut off before its closing boundary), naming the file field it was in. */
function malformed(reason: string, field: string): HttpError {
  return new HttpError(400, 'malformed_multipart', `The multipart body cannot be read: ${reason}`, [{
    field, rule: 'malformed_multipart', message: 'the upload did not arrive whole; send it again',
    words: { lv: translate('lv', 'input.upload_incomplete'), en: translate('en', 'input.upload_incomplete') },
  }]);
}

function unnamedPart(): HttpError {
  return new HttpError(400, 'malformed_multipart', 'A part of the multipart body has no name', [{
    field: '(body)', rule: 'unnamed_part', message: 'a part has no name',
    words: { lv: translate('lv', 'input.unnamed_part'), en: translate('en', 'input.unnamed_part') },
  }]);
}
