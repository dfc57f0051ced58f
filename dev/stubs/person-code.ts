/** Normalizes a person code to the dashed `DDMMYY-NNNNN` form, or returns undefined when it is not 11 digits. */
export function normalizePersonCode(raw: string): string | undefined {
  const match = /^(\d{6})-?(\d{5})$/.exec(raw.trim());
  return match ? `${match[1]}-${match[2]}` : undefined;
}
