import { db } from './activity-presets';
import type { CloseStoppedResult } from '../activities/workflow-stop';

/** What the console passes after it terminated a workflow. */
export interface WorkflowCleanupInput { workflowId: string }

/**
 * Closes the read model of a workflow the console terminated. Terminate runs no workflow code, so this small
 * workflow runs the same cleanup activity a cancelled workflow runs in its own cancellation scope; durable, so a
 * worker restart or a database blip delays the cleanup but never loses it.
 */
export async function workflowCleanup(input: WorkflowCleanupInput): Promise<CloseStoppedResult> {
  return db.closeStoppedWorkflow({ workflowId: input.workflowId });
}
