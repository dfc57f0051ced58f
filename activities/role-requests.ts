import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { rigaDate } from '../domain/dates';
import type { Actor } from '../domain/journey';
import { ROLE_REQUEST_TASK_TYPE } from '../domain/role-requests';
import { writeAudit } from '../lib/audit';

/** Input of recordRoleDecision: the decision the workflow accepted. */
export interface RoleDecisionRecord {
  requestId: string; taskId: string; workflowId: string; decision: 'approve' | 'reject'; validUntil: string | null; reason: string;
  decidedBy: Actor; decidedAt: string;
}

/** Activities of the role request workflow (workflows/role-request.ts). */
export function createRoleRequestActivities({ db }: { db: Knex }) {
  return {
    /** Opens the request's inbox task with its facts read from the request row; a retry changes nothing. */
    async openRoleRequestTask(input: { requestId: string; taskId: string; workflowId: string; dueAt: string }): Promise<void> {
      const row = await db('roleRequests').where({ id: input.requestId })
        .first<{ personCode: string; name: string; role: string; municipality: string; organisation: string | null; reason: string } | undefined>(
          'personCode', 'name', 'role', 'municipality', 'organisation', 'reason');
      if (!row) throw new Error(`role request ${input.requestId} not found`);
      const facts = {
        roleRequestId: input.requestId, subject: row.name, personCode: row.personCode, role: row.role,
        municipality: row.municipality, organisation: row.organisation, reason: row.reason,
      };
      await db('tasks').insert({
        id: input.taskId, caseId: null, providerId: null, offerId: null, workflowId: input.workflowId, step: 'decide',
        type: ROLE_REQUEST_TASK_TYPE, facts, dueAt: new Date(input.dueAt), state: 'open',
      }).onConflict(['workflowId', 'step']).ignore();
    },

    /**
     * Records the decision in one transaction: the request's state, on approval the grant (from today to the end
     * date, Riga calendar), the task closed, and the audit row with before and after. A retry finds the request
     * decided and returns the grant it made.
     */
    async recordRoleDecision(input: RoleDecisionRecord): Promise<{ grantId: string | null }> {
      return db.transaction(async (trx) => {
        const request = await trx('roleRequests').where({ id: input.requestId }).forUpdate().first<{
          personCode: string; role: string; municipality: string; organisation: string | null; state: string; grantId: string | null;
        } | undefined>('personCode', 'role', 'municipality', 'organisation', 'state', 'grantId');
        if (!request) throw new Error(`role request ${input.requestId} not found`);
        if (request.state !== 'open') return { grantId: request.grantId };
        const decidedAt = new Date(input.decidedAt);
        let grantId: string | null = null;
        if (input.decision === 'approve') {
          grantId = randomUUID();
          await trx('roleGrants').insert({
            id: grantId, personCode: request.personCode, role: request.role, municipality: request.municipality, municipalityCode: null,
            organisation: request.organisation, validFrom: rigaDate(decidedAt), validUntil: input.validUntil, grantedBy: input.decidedBy.name,
            roleRequestId: input.requestId,
          });
        }
        const state = input.decision === 'approve' ? 'approved' : 'rejected';
        await trx('roleRequests').where({ id: input.requestId }).update({
          state, validUntil: input.validUntil, decisionReason: input.reason, decidedByName: input.decidedBy.name, decidedAt, grantId,
        });
        await trx('tasks').where({ id: input.taskId, state: 'open' }).update({
          state: 'decided', decision: input.decision, comment: input.reason, decidedById: input.decidedBy.id,
          decidedByName: input.decidedBy.name, decidedAt,
        });
        await writeAudit(trx, {
          actor: { role: input.decidedBy.role, id: input.decidedBy.id, name: input.decidedBy.name }, action: 'role_request.decided',
          subjectPersonCode: request.personCode, caseId: null, purpose: input.reason,
          result: { requestId: input.requestId, before: { state: 'open' }, after: { state, grantId, role: request.role, municipality: request.municipality, validUntil: input.validUntil } },
          idempotencyKey: `${input.workflowId}:decision`,
        });
        return { grantId };
      });
    },
  };
}
