import type { Knex } from 'knex';
import type { ProgrammeRules } from '../../domain/programmes';
import { rulesOf, versionInEffect } from '../../lib/programme-versions';

// Which programmes a person may fit and what each gives, before they register: the rules of each programme in effect
// now, read from the database. The page tells no one their age: age comes only from the Population Register, at
// the registration's eligibility check (a person code is not a source of age, DOMAIN.md).

/** One programme as the programme-fit page and GET /api/programmes show it. */
export interface ProgrammeFit {
  code: string; name: { lv: string; en: string }; minAge: number; maxAge: number | null; funding: ProgrammeRules['funding'];
  /** What the account receives when approved (account programmes), integer cents. */
  balanceCents: number;
  /** The learner's share in per cent where the programme sets one; null where each offer sets it (or none applies). */
  copayPercent: number | null;
  socialStatusRule: ProgrammeRules['socialStatusRule'];
  /** DigComp levels the programme's training is at, as the agency wrote them ("4-6", "1-3", "any"). */
  digcompLevels: string;
}

/** The programmes with their rules now. */
export async function programmeFits(db: Knex, now = new Date()): Promise<{ programmes: ProgrammeFit[] }> {
  const rows = await db('programmes').orderBy('code') as (Parameters<typeof rulesOf>[0] & { code: string; digcompLevels: string })[];
  const programmes = await Promise.all(rows.map(async (row) => {
    // The version in effect now, where the programme has versions (the row may still show an older one until used).
    const inEffect = await versionInEffect(db, row.code, now);
    const rules = rulesOf(inEffect ?? row, inEffect?.version ?? null);
    return {
      code: row.code, name: rules.name, minAge: rules.minAge, maxAge: rules.maxAge, funding: rules.funding,
      balanceCents: rules.funding === 'account' ? rules.balanceCents : 0, copayPercent: rules.copayPercent ?? null,
      socialStatusRule: rules.socialStatusRule, digcompLevels: row.digcompLevels,
    };
  }));
  return { programmes };
}
