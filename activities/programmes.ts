import type { Knex } from 'knex';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../domain/failures';
import type { ProgrammeRules, SocialStatusRule } from '../domain/programmes';
import { refreshCurrentVersion, rulesOf, versionInEffectAndShown } from '../lib/programme-versions';

interface ProgrammeRow {
  code: string; nameLv: string; nameEn: string; minAge: number; maxAge: number | null;
  funding: ProgrammeRules['funding']; balanceCents: number; copayPercent: number | null; socialStatusRule: SocialStatusRule;
  approval: ProgrammeRules['approval'];
}

/** Activities that read programme rules, which the agency keeps as data. */
export function createProgrammeActivities({ db }: { db: Knex }) {
  return {
    /**
     * The rules of a programme as the version in effect now sets them, with that version's number (the journey
     * records it on its case and keeps these rules). A programme without versions is read from its own row (version
     * null). An unknown code is a permanent failure (nothing to retry).
     */
    async loadProgramme(input: { code: string }): Promise<ProgrammeRules> {
      const now = new Date();
      // One query; a second only on the first journey after a new version took effect.
      const version = await versionInEffectAndShown(db, input.code, now);
      if (version) {
        if (version.shownVersion === null || version.shownVersion < version.version) await refreshCurrentVersion(db, input.code, now, version);
        return rulesOf(version, version.version);
      }
      const row = await db('programmes').where({ code: input.code }).first<ProgrammeRow | undefined>();
      if (!row) throw ApplicationFailure.create({ type: FailureType.UnknownProgramme, nonRetryable: true, message: `No programme ${input.code}` });
      return rulesOf(row, null);
    },
  };
}
