import type { Knex } from 'knex';
import type { Transporter } from 'nodemailer';
import { EmailOutbox } from '../lib/db';
import type { EmailName, EmailTemplates } from '../lib/email-templates';
import type { Logger } from '../lib/logger';

/** Input of sendEmail: which e-mail for which case step; recipient and language come from the learner. */
export interface SendEmailInput {
  caseId: string;
  /** Unique within the case: the outbox sends one e-mail per case and step, however often this is retried. */
  step: string;
  template: EmailName;
  data: Record<string, unknown>;
}

/** What the e-mail activities need. */
export interface EmailDeps {
  db: Knex;
  mailer: Pick<Transporter, 'sendMail'>;
  templates: EmailTemplates;
  mailFrom: string;
  publicUrl: string;
  logger: Logger;
  onSent?: (template: string) => void;
}

interface Recipient { email: string; language: 'lv' | 'en'; firstName: string | null; serviceCaseId: string }

/** Activities that send e-mail through the outbox. */
export function createEmailActivities(deps: EmailDeps) {
  const { db, templates } = deps;
  return {
    /**
     * Sends one templated e-mail to the case's learner, exactly once per case and step: the outbox row is written
     * first, a row already marked sent makes this a no-op, and the row is marked sent after SMTP accepts.
     */
    async sendEmail(input: SendEmailInput): Promise<{ status: 'sent' | 'already-sent' }> {
      const recipient = await db('cases').join('learners', 'learners.id', 'cases.learnerId')
        .where('cases.id', input.caseId)
        .first<Recipient>('learners.email', 'learners.language', 'learners.firstName', 'cases.serviceCaseId');
      if (!recipient) throw new Error(`case ${input.caseId} not found for e-mail ${input.step}`);
      const data = {
        firstName: recipient.firstName ?? '', serviceCaseId: recipient.serviceCaseId,
        caseUrl: `${deps.publicUrl}/learner/journeys/${input.caseId}`, ...input.data,
      };
      const email = templates.render(input.template, recipient.language, data);
      await EmailOutbox.query(db)
        .insert({
          caseId: input.caseId, step: input.step, template: input.template, language: recipient.language,
          recipient: recipient.email, subject: email.subject, status: 'pending',
        } as Partial<EmailOutbox>)
        .onConflict(['caseId', 'step']).ignore();
      const row = await EmailOutbox.query(db).findOne({ caseId: input.caseId, step: input.step });
      if (!row) throw new Error(`outbox row for ${input.caseId}/${input.step} vanished`);
      if (row.status === 'sent') return { status: 'already-sent' };
      await EmailOutbox.query(db).patch({ attempts: row.attempts + 1 } as Partial<EmailOutbox>).where('id', row.id);
      // A stable Message-ID lets mail clients fold a duplicate if a crash falls between SMTP and the update below.
      const messageId = `<${input.caseId}.${input.step}@learning-accounts>`;
      await deps.mailer.sendMail({
        from: deps.mailFrom, to: row.recipient, subject: email.subject, html: email.html, text: email.text, messageId,
      });
      await EmailOutbox.query(db).patch({ status: 'sent', sentAt: new Date(), messageId } as Partial<EmailOutbox>)
        .where('id', row.id);
      deps.onSent?.(input.template);
      deps.logger.info('e-mail sent', { caseId: input.caseId, step: input.step, template: input.template });
      return { status: 'sent' };
    },
  };
}
