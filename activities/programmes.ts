import type { Knex } from 'knex';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../domain/failures';
import type { ProgrammeRules, SocialStatusRule } from '../domain/programmes';

interface ProgrammeRow {
  code: string; nameLv: string; nameEn: string; minAge: number; maxAge: number | null;
  funding: ProgrammeRules['funding']; balanceCents: number; socialStatusRule: SocialStatusRule;
  approval: ProgrammeRules['approval'];
}

/** Activities that read programme rules, which the agency keeps as data. */
export function createProgrammeActivities({ db }: { db: Knex }) {
  return {
    /** The rules of a programme; an unknown code is a permanent failure (nothing to retry). */
    async loadProgramme(input: { code: string }): Promise<ProgrammeRules> {
      const row = await db('programmes').where({ code: input.code }).first<ProgrammeRow | undefined>();
      if (!row) throw ApplicationFailure.create({ type: FailureType.UnknownProgramme, nonRetryable: true, message: `No programme ${input.code}` });
      return {
        code: row.code, name: { lv: row.nameLv, en: row.nameEn }, minAge: row.minAge, maxAge: row.maxAge,
        funding: row.funding, balanceCents: row.balanceCents, socialStatusRule: row.socialStatusRule,
        approval: row.approval,
      };
    },
  };
}
