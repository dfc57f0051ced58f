import { workflowInfo } from '@temporalio/workflow';
import { email } from './activity-presets';

/** What the API passes when a user asks for a password-reset link. */
export interface PasswordResetInput {
  userId: string; language: 'lv' | 'en'; validHours: number;
  /** 'setup': the first link of an account an administrator made (its own e-mail); absent: a reset the user asked for. */
  purpose?: 'setup';
}

/**
 * Sends one password-reset e-mail for one request (the workflow id is the request's). Durable like every other
 * e-mail: a worker restart or an SMTP outage delays the link, never loses or doubles it.
 */
export async function passwordReset(input: PasswordResetInput): Promise<{ status: string }> {
  return email.sendPasswordResetEmail({ ...input, workflowId: workflowInfo().workflowId });
}
