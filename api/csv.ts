// CSV for people who open it in Excel: UTF-8 with a byte order mark (without it Excel reads Latvian letters as
// Windows-1257 mojibake), semicolons between cells (the list separator of Latvian regional settings, so Excel
// splits the columns), CRLF between rows, every cell quoted.

/** The byte order mark that tells Excel the file is UTF-8. */
const BOM = '\uFEFF';

/**
 * One cell, safe to open in a spreadsheet: text starting with = + - @ (or a tab or carriage return, which some
 * spreadsheets skip before reading a formula) is prefixed with an apostrophe, so it is shown, never run as a
 * formula (CSV injection); quotes are doubled inside the quoted cell.
 */
export function csvCell(value: unknown): string {
  let text = value === null || value === undefined ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return `"${text.replace(/"/g, '""')}"`;
}

/** A whole CSV document: the header row, then one row per record. */
export function toCsv(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return BOM + [header, ...rows].map((row) => row.map(csvCell).join(';')).join('\r\n') + '\r\n';
}
