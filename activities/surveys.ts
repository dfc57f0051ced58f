import type { Knex } from 'knex';
import type { DropoutReason, SurveyAspect, SurveyKind } from '../domain/applications';
import type { Actor } from '../domain/journey';

/** Input of saveSurveyAnswer: an answer the workflow has already validated. */
export interface SaveSurveyAnswerInput {
  caseId: string;
  applicationId: string;
  kind: SurveyKind;
  ratings: Partial<Record<SurveyAspect, number>>;
  reasons: DropoutReason[];
  otherText: string | null;
  actor: Actor;
}

/** Activities that store survey answers for the providers' and the agency's statistics. */
export function createSurveyActivities({ db }: { db: Knex }) {
  return {
    /** Stores the case's survey answer; one per case, so a retry keeps the first. */
    async saveSurveyAnswer(input: SaveSurveyAnswerInput): Promise<void> {
      await db('surveyAnswers')
        .insert({
          caseId: input.caseId, applicationId: input.applicationId, kind: input.kind,
          ratings: JSON.stringify(input.ratings), reasons: JSON.stringify(input.reasons), otherText: input.otherText,
          actorRole: input.actor.role, channel: input.actor.channel,
        })
        .onConflict('caseId')
        .ignore();
    },
  };
}
