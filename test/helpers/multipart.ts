import { formTokenOf, type Answer } from './http';

/** A file to send in a multipart body. */
export interface FilePart { field: string; filename: string; content: Buffer; contentType?: string }

/** A small valid PDF (by its first bytes, which is all the upload check reads). */
export const SAMPLE_PDF = Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
/** The start of an ASiC-E (.edoc) container: a ZIP whose first entry, stored, is `mimetype` with the media type. */
export const SAMPLE_EDOC = zipFirstEntry('mimetype', 'application/vnd.etsi.asic-e+zip');

/** A ZIP local file header with one stored entry (the first bytes of a ZIP file), enough for the type check. */
export function zipFirstEntry(name: string, content: string): Buffer {
  const header = Buffer.alloc(30);
  header.writeUInt32LE(0x04034b50, 0); // "PK\x03\x04"
  header.writeUInt16LE(name.length, 26);
  header.writeUInt16LE(0, 28);
  return Buffer.concat([header, Buffer.from(name), Buffer.from(content)]);
}

/** Posts a multipart/form-data body (fields and files) to the app; redirects are returned, not followed. */
export function multipartClient(baseUrl: () => string) {
  return async (path: string, fields: Record<string, string>, files: FilePart[], opts: { token?: string; html?: boolean; formToken?: boolean; headers?: Record<string, string> } = {}): Promise<Answer> => {
    const form = new FormData();
    const headers: Record<string, string> = { accept: opts.html ? 'text/html' : 'application/json', ...opts.headers };
    // A page's form sent without a bearer token carries its token (first, as a page's hidden field comes first).
    if (!opts.token && !path.startsWith('/api/') && opts.formToken !== false && !('_csrf' in fields)) {
      const credentials = await formTokenOf(baseUrl());
      form.append('_csrf', credentials.token);
      headers.cookie = credentials.cookie;
    }
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    for (const f of files) form.append(f.field, new Blob([new Uint8Array(f.content)], { type: f.contentType ?? 'application/pdf' }), f.filename);
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    const res = await fetch(`${baseUrl()}${path}`, { method: 'POST', body: form, headers, redirect: 'manual' });
    const text = await res.text();
    let json: unknown;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: res.status, headers: res.headers, text, json };
  };
}
