// RFC 6266: a plain ASCII fallback name plus the exact name in UTF-8 (Latvian letters in file names are common).

/** The content-disposition header that makes a browser save a stored file under its own name. */
export function attachment(filename: string): string {
  const fallback = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}
