import type { Answer } from './http';

/** A file to send in a multipart body. */
export interface FilePart { field: string; filename: string; content: Buffer; contentType?: string }

/** A small valid PDF (by its first bytes, which is all the upload check reads). */
export const SAMPLE_PDF = Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
/** The start of an ASiC-E (.edoc) container: a ZIP file. */
export const SAMPLE_EDOC = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.from('mimetypeapplication/vnd.etsi.asic-e+zip')]);

/** Posts a multipart/form-data body (fields and files) to the app; redirects are returned, not followed. */
export function multipartClient(baseUrl: () => string) {
  return async (path: string, fields: Record<string, string>, files: FilePart[], opts: { token?: string; html?: boolean } = {}): Promise<Answer> => {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    for (const f of files) form.append(f.field, new Blob([new Uint8Array(f.content)], { type: f.contentType ?? 'application/pdf' }), f.filename);
    const headers: Record<string, string> = { accept: opts.html ? 'text/html' : 'application/json' };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    const res = await fetch(`${baseUrl()}${path}`, { method: 'POST', body: form, headers, redirect: 'manual' });
    const text = await res.text();
    let json: unknown;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: res.status, headers: res.headers, text, json };
  };
}
