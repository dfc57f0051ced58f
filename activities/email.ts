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

/** An e-mail to one recipient, sent once per dedupe key. */
export interface DeliverOnceInput {
  /** Unique per e-mail: `case:<caseId>:<step>` or `<workflowId>:<step>`. */
  dedupeKey: string;
  caseId: string | null;
  step: string;
  template: EmailName;
  recipient: string;
  language: 'lv' | 'en';
  data: Record<string, unknown>;
}

/** Input of sendEmailTo: an e-mail to a provider or to the agency, keyed by the sending workflow and step. */
export interface SendEmailToInput {
  workflowId: string;
  step: string;
  template: EmailName;
  recipient: string;
  language: 'lv' | 'en';
  data: Record<string, unknown>;
}

/** Activities that send e-mail through the outbox. */
export function createEmailActivities(deps: EmailDeps) {
  const { db, templates } = deps;

  /**
   * Sends one templated e-mail exactly once per dedupe key: the outbox row is written first, a row already marked
   * sent makes this a no-op, and the row is marked sent after SMTP accepts.
   */
  async function deliverOnce(input: DeliverOnceInput): Promise<{ status: 'sent' | 'already-sent' }> {
    const email = templates.render(input.template, input.language, input.data);
    await EmailOutbox.query(db)
      .insert({
        dedupeKey: input.dedupeKey, caseId: input.caseId, step: input.step, template: input.template,
        language: input.language, recipient: input.recipient, subject: email.subject, status: 'pending',
      } as Partial<EmailOutbox>)
      .onConflict(['dedupeKey']).ignore();
    const row = await EmailOutbox.query(db).findOne({ dedupeKey: input.dedupeKey });
    if (!row) throw new Error(`outbox row ${input.dedupeKey} vanished`);
    if (row.status === 'sent') return { status: 'already-sent' };
    await EmailOutbox.query(db).patch({ attempts: row.attempts + 1 } as Partial<EmailOutbox>).where('id', row.id);
    // A stable Message-ID lets mail clients fold a duplicate if a crash falls between SMTP and the update below.
    const messageId = `<${input.dedupeKey.replace(/[^A-Za-z0-9.-]/g, '.')}@learning-accounts>`;
    await deps.mailer.sendMail({
      from: deps.mailFrom, to: row.recipient, subject: email.subject, html: email.html, text: email.text, messageId,
    });
    await EmailOutbox.query(db).patch({ status: 'sent', sentAt: new Date(), messageId } as Partial<EmailOutbox>)
      .where('id', row.id);
    deps.onSent?.(input.template);
    deps.logger.info('e-mail sent', { caseId: input.caseId, step: input.step, template: input.template });
    return { status: 'sent' };
  }

  return {
    /** Sends one templated e-mail to the case's learner, exactly once per case and step. */
    async sendEmail(input: SendEmailInput): Promise<{ status: 'sent' | 'already-sent' }> {
      const recipient = await db('cases').join('learners', 'learners.id', 'cases.learnerId')
        .where('cases.id', input.caseId)
        .first<Recipient>('learners.email', 'learners.language', 'learners.firstName', 'cases.serviceCaseId');
      if (!recipient) throw new Error(`case ${input.caseId} not found for e-mail ${input.step}`);
      return deliverOnce({
        dedupeKey: `case:${input.caseId}:${input.step}`, caseId: input.caseId, step: input.step, template: input.template,
        recipient: recipient.email, language: recipient.language,
        data: {
          firstName: recipient.firstName ?? '', serviceCaseId: recipient.serviceCaseId,
          caseUrl: `${deps.publicUrl}/learner/journeys/${input.caseId}`, ...input.data,
        },
      });
    },

    /** Sends one templated e-mail to a provider or to the agency, exactly once per workflow and step. */
    async sendEmailTo(input: SendEmailToInput): Promise<{ status: 'sent' | 'already-sent' }> {
      return deliverOnce({
        dedupeKey: `${input.workflowId}:${input.step}`, caseId: null, step: input.step, template: input.template,
        recipient: input.recipient, language: input.language, data: { publicUrl: deps.publicUrl, ...input.data },
      });
    },
  };
}
