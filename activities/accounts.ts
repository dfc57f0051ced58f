import type { Knex } from 'knex';
import { User } from '../lib/db';
import type { LinkTokens } from '../lib/links';
import { passwordFingerprint, passwordResetUrl } from '../lib/password-reset';
import type { createEmailActivities, SendEmailResult } from './email';
import { formatTime } from './providers';

/** What the account activities need. */
export interface AccountActivityDeps {
  db: Knex;
  links: LinkTokens;
  publicUrl: string;
  email: ReturnType<typeof createEmailActivities>;
}

/** Activities of users with a password: the e-mailed reset link. */
export function createAccountActivities(deps: AccountActivityDeps) {
  return {
    /**
     * Sends a user the link that sets a new password. The token is signed here (never in workflow history), bound
     * to the current password hash (so it works once) and valid for `validHours`; the outbox sends one e-mail per
     * request however often this is retried. A user gone or without an e-mail address meanwhile gets nothing.
     */
    async sendPasswordResetEmail(input: { userId: string; workflowId: string; language: 'lv' | 'en'; validHours: number; purpose?: 'setup' }): Promise<SendEmailResult | { status: 'no-recipient' }> {
      const user = await User.query(deps.db).findById(input.userId);
      if (!user?.email || !user.active) return { status: 'no-recipient' };
      const validUntil = new Date(Date.now() + input.validHours * 3_600_000).toISOString();
      const token = await deps.links.sign('reset-password', user.id, input.validHours, { fp: passwordFingerprint(user.passwordHash) });
      return deps.email.sendEmailTo({
        // The first link of a new account says so; the link and the page that opens it are the reset's.
        workflowId: input.workflowId, step: 'password-reset', template: input.purpose === 'setup' ? 'account-setup' : 'password-reset', recipient: user.email, language: input.language,
        data: { serviceCaseId: user.username, username: user.username, validUntil: formatTime(validUntil, input.language), caseUrl: passwordResetUrl(deps.publicUrl, token) },
      });
    },
  };
}
