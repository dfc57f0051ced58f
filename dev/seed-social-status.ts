/** A social-assistance status record the SOPA stub serves: status 1 = poor (trūcīga), 2 = low-income (maznodrošināta). */
export interface SeedSocialStatus {
  /** Dashed `DDMMYY-NNNNN`, matching a person in seed-people.ts. */
  personCode: string;
  status: 1 | 2;
  /** YYYY-MM-DD, first day the status is valid. */
  validFrom: string;
  /** YYYY-MM-DD, last day the status is valid (inclusive). */
  validTo: string;
  /** Registration number of the municipality that granted the status. SAMPLE values, not real municipalities' numbers. */
  municipality: string;
}

/** SAMPLE municipality registration numbers: realistic shape (11 digits, public bodies start with 9000), invented digits. */
export const sampleMunicipalities = {
  /** Stands in for the municipality of Valmiera (Jānis Kalniņš's declared address); sample number. */
  valmiera: '90000012345',
  /** Stands in for the municipality of Daugavpils (Marta Zariņa's declared address); sample number. */
  daugavpils: '90000067890',
} as const;

/**
 * The demo SOPA records for the people in seed-people.ts. Anna Bērziņa (321178-40215) has none on purpose,
 * so the stub answers status 0 (not found) for her.
 */
export const seedSocialStatuses: SeedSocialStatus[] = [
  // Jānis Kalniņš: low-income for the whole of 2026, so a check "today" in the demo finds a valid status.
  { personCode: '150690-11223', status: 2, validFrom: '2026-01-01', validTo: '2026-12-31', municipality: sampleMunicipalities.valmiera },
  // Marta Zariņa: was poor in the first half of 2025; expired, so a current check finds nothing.
  { personCode: '220288-10458', status: 1, validFrom: '2025-01-01', validTo: '2025-06-30', municipality: sampleMunicipalities.daugavpils },
];
