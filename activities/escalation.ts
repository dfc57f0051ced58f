import type { Knex } from 'knex';
import { Task } from '../lib/db';
import type { createEmailActivities } from './email';
import { formatTime } from './providers';

/** What escalation needs: the database, the agency's shared mailbox and the e-mail activities. */
export interface EscalationDeps {
  db: Knex;
  agencyInboxEmail: string;
  publicUrl: string;
  email: ReturnType<typeof createEmailActivities>;
}

/** Activities for tasks the agency has not decided in time. */
export function createEscalationActivities(deps: EscalationDeps) {
  return {
    /**
     * Flags an overdue task in the inbox and tells the agency's shared mailbox, once: the flag is set only when
     * unset, and the e-mail goes through the outbox keyed by the workflow and the task.
     */
    async escalateOverdueTask(input: { taskId: string; workflowId: string; subject: string }): Promise<{ escalated: boolean }> {
      const task = await Task.query(deps.db).findById(input.taskId);
      if (!task) throw new Error(`task ${input.taskId} not found`);
      if (task.state !== 'open') return { escalated: false };
      await Task.query(deps.db).patch({ escalatedAt: new Date() } as Partial<Task>)
        .where({ id: input.taskId, state: 'open' }).whereNull('escalatedAt');
      await deps.email.sendEmailTo({
        workflowId: input.workflowId, step: `task-overdue:${input.taskId}`, template: 'task-overdue',
        recipient: deps.agencyInboxEmail, language: 'lv',
        data: {
          taskType: task.type, subject: input.subject, dueAt: formatTime(task.dueAt.toISOString(), 'lv'),
          serviceCaseId: input.taskId, caseUrl: `${deps.publicUrl}/staff/tasks/${input.taskId}`,
        },
      });
      return { escalated: true };
    },
  };
}
