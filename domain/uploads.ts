/**
 * Rules for uploaded documents (the provider's e-signed declaration, an offer's annexes). The type is decided by
 * the content's first bytes, never by the browser's claim or the file name: a renamed .docx must not pass as a PDF.
 */

/** Largest document we accept: 10 MB (a scanned annex; the agency's own upload limit). */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

/** A document format we accept. */
export type DocumentFormat = 'pdf' | 'edoc';

/** What each accepted format looks like and the content type it is stored and served with. */
export const ACCEPTED_DOCUMENT_FORMATS: Record<DocumentFormat, { contentType: string; label: { lv: string; en: string } }> = {
  pdf: { contentType: 'application/pdf', label: { lv: 'PDF', en: 'PDF' } },
  // Latvian e-signed documents (eParaksts .edoc) are ASiC-E containers: ZIP files.
  edoc: {
    contentType: 'application/vnd.etsi.asic-e+zip',
    label: { lv: 'e-parakstīts dokuments (.edoc, .asice)', en: 'e-signed document (.edoc, .asice)' },
  },
};

const PDF_MAGIC = [0x25, 0x50, 0x44, 0x46, 0x2d]; // "%PDF-"
const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04]; // "PK\x03\x04"

function startsWith(content: Uint8Array, magic: number[]): boolean {
  return content.length >= magic.length && magic.every((byte, i) => content[i] === byte);
}

/**
 * Whether a ZIP file is an ASiC signature container (.edoc / .asice / .asics): by the standard (ETSI EN 319 162)
 * its first entry is named `mimetype`, stored uncompressed, holding the container's media type. Any other ZIP
 * (a .docx, a plain archive) is not a signed document.
 */
function isAsicContainer(content: Uint8Array): boolean {
  if (!startsWith(content, ZIP_MAGIC) || content.length < 30) return false;
  const nameLength = content[26] | (content[27] << 8);
  const extraLength = content[28] | (content[29] << 8);
  const text = (from: number, length: number) => String.fromCharCode(...content.subarray(from, from + length));
  if (text(30, nameLength) !== 'mimetype') return false;
  return /^application\/vnd\.etsi\.asic-[es]\+zip/.test(text(30 + nameLength + extraLength, 31));
}

/** The format the content really has, or null when it is none we accept. */
export function detectDocumentFormat(content: Uint8Array): DocumentFormat | null {
  if (startsWith(content, PDF_MAGIC)) return 'pdf';
  if (isAsicContainer(content)) return 'edoc';
  return null;
}

/** Why a document was refused, with words for the person who uploaded it. */
export interface DocumentProblem { rule: 'empty' | 'wrong_type' | 'too_large'; message: { lv: string; en: string } }

const acceptedWords = (lang: 'lv' | 'en') => Object.values(ACCEPTED_DOCUMENT_FORMATS).map((f) => f.label[lang]).join(lang === 'lv' ? ' vai ' : ' or ');

/** The words for a file over the size limit (the upload parser refuses it before it is read whole). */
export function tooLargeProblem(): DocumentProblem {
  const mb = MAX_UPLOAD_BYTES / (1024 * 1024);
  return { rule: 'too_large', message: { lv: `Fails ir lielāks par ${mb} MB.`, en: `The file is larger than ${mb} MB.` } };
}

/** Checks an uploaded document; returns its format and stored content type, or the problem. */
export function checkDocument(content: Uint8Array): { format: DocumentFormat; contentType: string } | { problem: DocumentProblem } {
  if (content.length === 0) return { problem: { rule: 'empty', message: { lv: 'Fails ir tukšs.', en: 'The file is empty.' } } };
  if (content.length > MAX_UPLOAD_BYTES) return { problem: tooLargeProblem() };
  const format = detectDocumentFormat(content);
  if (!format) {
    return { problem: { rule: 'wrong_type', message: {
      lv: `Šāda veida failu nevar pieņemt. Pievienojiet ${acceptedWords('lv')}.`,
      en: `This kind of file cannot be accepted. Attach a ${acceptedWords('en')}.`,
    } } };
  }
  return { format, contentType: ACCEPTED_DOCUMENT_FORMATS[format].contentType };
}
