import type { Cents } from './money';

/** How a programme uses the municipal social-assistance status (SOPA). */
export type SocialStatusRule = 'not_used' | 'priority' | 'required';

/** The rules of one funded programme, as the agency keeps them in the programmes table. */
export interface ProgrammeRules {
  code: string;
  name: { lv: string; en: string };
  minAge: number;
  maxAge: number | null;
  funding: 'account' | 'free' | 'copay';
  /** The learning-account balance granted when the account is approved. */
  balanceCents: Cents;
  socialStatusRule: SocialStatusRule;
  /** 'automatic': approved when every check passes; 'manual': agency staff always decide. */
  approval: 'automatic' | 'manual';
  /**
   * The version of the rules (programme_versions) a journey read; null for a programme without versions, absent in
   * journeys from before programmes were versioned.
   */
  version?: number | null;
  /** The learner's share in a co-paid programme (5-50 %), where the programme sets one rather than each offer. */
  copayPercent?: number | null;
}

/**
 * The individual learning account programme (RRF 2.3.1.4.i) as journeys started before programmes became data
 * knew it. Kept so those journeys replay unchanged; new journeys read their programme from the database.
 */
export const IMK: ProgrammeRules = {
  code: 'IMK',
  name: { lv: 'Individuālais mācību konts', en: 'Individual learning account' },
  minAge: 18,
  maxAge: null,
  funding: 'account',
  balanceCents: 50_000,
  socialStatusRule: 'not_used',
  approval: 'manual',
};
