import type { Knex } from 'knex';
import { Task } from '../lib/db';
import type { Actor } from '../domain/journey';

/** Input of openTask: a human task the workflow will wait for. */
export interface OpenTaskInput {
  taskId: string;
  /** The learner's case; tasks about a provider or an offer have none. */
  caseId?: string | null;
  /** The provider the task is about (registration approval, offer evaluation). */
  providerId?: string | null;
  /** The offer the task is about (offer evaluation). */
  offerId?: string | null;
  workflowId: string;
  step: string;
  type: string;
  facts: Record<string, unknown>;
  dueAt: string;
}

/** Input of closeTask: the decision the workflow accepted. */
export interface CloseTaskInput {
  taskId: string;
  decision: string;
  comment: string;
  decidedBy: Actor;
  decidedAt: string;
}

/** Activities that keep the staff inbox current. */
export function createTaskActivities({ db }: { db: Knex }) {
  return {
    /** Opens a task row in the inbox; a retry finds the row already there and changes nothing. */
    async openTask(input: OpenTaskInput): Promise<void> {
      const { taskId, caseId = null, providerId = null, offerId = null, ...task } = input;
      await Task.query(db)
        .insert({ ...task, caseId, providerId, offerId, id: taskId, dueAt: new Date(input.dueAt), state: 'open' } as Partial<Task>)
        .onConflict(['workflowId', 'step'])
        .ignore();
    },

    /** Marks the task decided; only an open task changes, so a retry cannot overwrite the first decision. */
    async closeTask(input: CloseTaskInput): Promise<void> {
      await Task.query(db)
        .patch({
          state: 'decided', decision: input.decision, comment: input.comment,
          decidedById: input.decidedBy.id, decidedByName: input.decidedBy.name, decidedAt: new Date(input.decidedAt),
        } as Partial<Task>)
        .where({ id: input.taskId, state: 'open' });
    },

    /** Withdraws an open task from the inbox because its case closed for another reason. */
    async cancelTask(input: { taskId: string }): Promise<void> {
      await Task.query(db).patch({ state: 'cancelled' } as Partial<Task>).where({ id: input.taskId, state: 'open' });
    },

    /** Flags an open task as overdue so the inbox shows it first. */
    async escalateTask(input: { taskId: string }): Promise<void> {
      await Task.query(db).patch({ escalatedAt: new Date() } as Partial<Task>)
        .where({ id: input.taskId, state: 'open' }).whereNull('escalatedAt');
    },
  };
}
