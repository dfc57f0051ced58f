import type { Cents } from './money';

/** The rules of one funded programme that the eligibility check needs. */
export interface ProgrammeRules {
  code: string;
  name: { lv: string; en: string };
  minAge: number;
  maxAge: number | null;
  /** The learning-account balance granted when the account is approved. */
  balanceCents: Cents;
}

/**
 * The individual learning account programme (RRF 2.3.1.4.i): adults 18+, up to EUR 500 each.
 * Programmes become rows in the database with the full journey; the thin slice knows this one.
 */
export const IMK: ProgrammeRules = {
  code: 'IMK',
  name: { lv: 'Individuālais mācību konts', en: 'Individual learning account' },
  minAge: 18,
  maxAge: null,
  balanceCents: 50_000,
};
