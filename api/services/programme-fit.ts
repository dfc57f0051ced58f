import type { Knex } from 'knex';
import { ageOn, rigaDate } from '../../domain/dates';
import { birthDateOf } from '../../domain/person-code';
import type { ProgrammeRules } from '../../domain/programmes';
import { rulesOf, versionInEffect } from '../../lib/programme-versions';

// Which programmes a person may fit and what each gives, before they register: the rules of each programme in effect
// now, read from the database. For a signed-in person the age comes from an old-format person code (which carries
// the birth date); no registry is called for this page, so a new-format code gives no age (the registration's
// eligibility check asks the Population Register).

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
  /** Whether the person's age (from their person code) is within the programme's; null when not known. */
  ageFits: boolean | null;
}

/** The programmes with their rules now, and the person's age where their code tells it (null otherwise). */
export async function programmeFits(db: Knex, personCode: string | null, now = new Date()): Promise<{ age: number | null; programmes: ProgrammeFit[] }> {
  const birthDate = personCode ? birthDateOf(personCode) : null;
  const age = birthDate ? ageOn(birthDate, rigaDate(now)) : null;
  const rows = await db('programmes').orderBy('code') as (Parameters<typeof rulesOf>[0] & { code: string; digcompLevels: string })[];
  const programmes = await Promise.all(rows.map(async (row) => {
    // The version in effect now, where the programme has versions (the row may still show an older one until used).
    const inEffect = await versionInEffect(db, row.code, now);
    const rules = rulesOf(inEffect ?? row, inEffect?.version ?? null);
    return {
      code: row.code, name: rules.name, minAge: rules.minAge, maxAge: rules.maxAge, funding: rules.funding,
      balanceCents: rules.funding === 'account' ? rules.balanceCents : 0, copayPercent: rules.copayPercent ?? null,
      socialStatusRule: rules.socialStatusRule, digcompLevels: row.digcompLevels,
      ageFits: age === null ? null : age >= rules.minAge && (rules.maxAge === null || age <= rules.maxAge),
    };
  }));
  return { age, programmes };
}
