import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { SendMailOptions, Transporter } from 'nodemailer';
import { Context } from '@temporalio/activity';
import { describeRule } from '../domain/eligibility';
import { SYSTEM_ACTOR } from '../domain/journey';
import { CaseEvent, EmailOutbox } from '../lib/db';
import type { EmailName, EmailTemplates } from '../lib/email-templates';
import type { Logger } from '../lib/logger';
import { permanentRejection } from '../lib/mailer';
import { isOfficialDecision, queueOfficialDelivery } from '../lib/official-deliveries';

/** Input of sendEmail: which e-mail for which case step; recipient and language come from the learner. */
export interface SendEmailInput {
  caseId: string;
  /** Unique within the case: the outbox sends one e-mail per case and step, however often this is retried. */
  step: string;
  template: EmailName;
  data: Record<string, unknown>;
}

/**
 * What became of an e-mail: sent now, sent by an earlier attempt, or refused for good by the recipient's server
 * (an answer, not an error: the workflow goes on; a learner's case records it as an event).
 */
export interface SendEmailResult { status: 'sent' | 'already-sent' | 'rejected' }

/** What the e-mail activities need. */
export interface EmailDeps {
  db: Knex;
  mailer: Pick<Transporter, 'sendMail'>;
  templates: EmailTemplates;
  mailFrom: string;
  publicUrl: string;
  logger: Logger;
  onSent?: (template: string) => void;
  /** Lease timing; tests shorten it. */
  lease?: Partial<LeaseTiming>;
}

/**
 * How an attempt holds an outbox row. The lease is renewed (and the activity heartbeats) while the attempt is
 * alive, so a crashed worker's lease runs out within `leaseMs` and its retry may send; a live attempt is never
 * overtaken. `sendDeadlineMs` caps one SMTP conversation; together with `waitMs` it stays below the e-mail
 * preset's startToCloseTimeout (2 minutes).
 */
export interface LeaseTiming { leaseMs: number; renewEveryMs: number; waitMs: number; pollMs: number; sendDeadlineMs: number }

const LEASE_DEFAULTS: LeaseTiming = { leaseMs: 10_000, renewEveryMs: 2_000, waitMs: 30_000, pollMs: 250, sendDeadlineMs: 60_000 };

interface Recipient { email: string; language: 'lv' | 'en'; firstName: string | null; serviceCaseId: string; funding: string }

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

/** Another attempt holds the outbox row and is still alive; Temporal retries this one later. */
export class OutboxRowLeased extends Error {
  constructor(dedupeKey: string) {
    super(`e-mail ${dedupeKey} is being sent by another attempt`);
    this.name = 'OutboxRowLeased';
  }
}

/**
 * The Message-ID of an e-mail, the same for every attempt: SMTP gives at-least-once (a crash between the
 * server's "250" and the outbox update sends again), and mail servers and clients drop a repeated Message-ID.
 */
export function messageIdFor(dedupeKey: string): string {
  return `<${dedupeKey.replace(/[^A-Za-z0-9.-]/g, '.')}@learning-accounts>`;
}

/** The running activity's context, or undefined when called outside an activity (tests call deliverOnce directly). */
function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** Activities that send e-mail through the outbox. */
export function createEmailActivities(deps: EmailDeps) {
  const { db, templates } = deps;
  const timing: LeaseTiming = { ...LEASE_DEFAULTS, ...deps.lease };
  const leaseFor = () => db.raw("now() + make_interval(secs => ?)", [timing.leaseMs / 1000]);

  /** Takes the row's lease if it is pending and nobody holds an unexpired lease; returns whether it did. */
  async function claim(id: string, owner: string): Promise<boolean> {
    const taken = await db('emailOutbox')
      .where({ id, status: 'pending' })
      .andWhere((q) => q.whereNull('leasedUntil').orWhere('leasedUntil', '<', db.fn.now()))
      .update({ leaseOwner: owner, leasedUntil: leaseFor(), attempts: db.raw('attempts + 1') });
    return taken === 1;
  }

  /**
   * Waits for the row's lease: returns null once this attempt holds it, or the other attempt's outcome. A
   * holder that stays alive past `waitMs` defers this attempt with a retryable error; it never sends alongside.
   */
  async function acquire(row: EmailOutbox, owner: string, context: Context | undefined, endBy: number): Promise<SendEmailResult | null> {
    const giveUpAt = Math.min(Date.now() + timing.waitMs, endBy);
    for (;;) {
      if (await claim(row.id, owner)) return null;
      const now = await EmailOutbox.query(db).findById(row.id);
      if (!now) throw new Error(`outbox row ${row.dedupeKey} vanished`);
      if (now.status === 'sent') return { status: 'already-sent' };
      if (now.status === 'rejected') return { status: 'rejected' };
      if (Date.now() > giveUpAt) throw new OutboxRowLeased(row.dedupeKey);
      context?.heartbeat();
      if (context?.cancellationSignal.aborted) throw context.cancellationSignal.reason;
      await new Promise((resolve) => setTimeout(resolve, timing.pollMs));
    }
  }

  /**
   * Talks to the SMTP server while holding the lease: renews it and heartbeats every `renewEveryMs`, and hangs up
   * when the lease is lost, the activity is cancelled (e.g. its heartbeat timed out) or the send deadline passes,
   * so no attempt is still sending once another may start.
   */
  async function sendHoldingLease(id: string, owner: string, message: SendMailOptions, context: Context | undefined, endBy: number): Promise<void> {
    const abort = new AbortController();
    const onCancel = () => abort.abort(context?.cancellationSignal.reason);
    context?.cancellationSignal.addEventListener('abort', onCancel, { once: true });
    const deadlineMs = Math.max(0, Math.min(timing.sendDeadlineMs, endBy - Date.now()));
    const deadline = setTimeout(() => abort.abort(new Error(`SMTP send took longer than ${deadlineMs} ms`)), deadlineMs);
    let sending = true;
    const renewal = setInterval(() => {
      db('emailOutbox').where({ id, leaseOwner: owner, status: 'pending' }).update({ leasedUntil: leaseFor() })
        .then((renewed) => {
          if (!sending) return;
          if (renewed === 1) context?.heartbeat();
          else abort.abort(new Error('outbox lease lost'));
        })
        // A database that cannot renew the lease also stops the heartbeat, so Temporal and the lease agree.
        .catch((err: unknown) => abort.abort(err));
    }, timing.renewEveryMs);
    context?.heartbeat();
    try {
      // nodemailer 10 honours `signal` (its types do not know it yet): aborting closes the connection.
      await deps.mailer.sendMail({ ...message, signal: abort.signal } as SendMailOptions);
    } finally {
      sending = false;
      clearInterval(renewal);
      clearTimeout(deadline);
      context?.cancellationSignal.removeEventListener('abort', onCancel);
    }
  }

  /** Marks the row rejected with the server's reply and, for a learner's case, records it in the case's timeline. */
  async function recordRejection(row: EmailOutbox, input: DeliverOnceInput, reply: string): Promise<void> {
    await db.transaction(async (trx) => {
      await trx('emailOutbox').where({ id: row.id, status: 'pending' })
        .update({ status: 'rejected', smtpReply: reply, rejectedAt: trx.fn.now(), leaseOwner: null, leasedUntil: null });
      if (!input.caseId) return;
      const current = await trx('cases').where({ id: input.caseId }).first<{ stage: string } | undefined>('stage');
      await CaseEvent.query(trx).insert({
        caseId: input.caseId, step: `email-undeliverable:${input.step}`, kind: 'email_undeliverable', stage: current?.stage ?? 'registered',
        actorRole: SYSTEM_ACTOR.role, actorId: null, actorName: null, channel: SYSTEM_ACTOR.channel,
        details: { template: input.template, reply },
      } as Partial<CaseEvent>).onConflict(['caseId', 'step']).ignore();
    });
    deps.logger.warn('e-mail refused by the recipient\'s server', { caseId: input.caseId, step: input.step, template: input.template, reply });
  }

  /**
   * Sends one templated e-mail once per dedupe key: the outbox row is written first, an attempt sends only while
   * it holds the row's lease, and the row is marked sent after SMTP accepts (or rejected when the server refuses
   * the address for good). A crash after the server's "250" sends again, with the same Message-ID.
   */
  async function deliverOnce(input: DeliverOnceInput): Promise<SendEmailResult> {
    const context = activityContext();
    // The not-eligible e-mail's condition line comes recorded in English (the decision's rule): said in the reader's language.
    const data = input.template === 'not-eligible' && typeof input.data?.rule === 'string'
      ? { ...input.data, rule: describeRule(input.data.rule, input.language) } : input.data;
    const email = templates.render(input.template, input.language, data);
    // A decision also goes to the person's official e-address (issue 17 item 6), queued before the e-mail is sent.
    if (input.caseId && isOfficialDecision(input.template)) {
      await queueOfficialDelivery(db, { dedupeKey: input.dedupeKey, caseId: input.caseId, template: input.template, language: input.language, subject: email.subject, body: email.text });
    }
    const owner = context
      ? `${context.info.workflowExecution?.workflowId ?? ''}/${context.info.activityId}#${context.info.attempt}/${randomUUID()}`
      : randomUUID();
    // An attempt hangs up before its activity times out (some callers run under a short preset), so it is never
    // still talking to the server when Temporal starts the next one.
    const endBy = context?.info.startToCloseTimeoutMs ? Date.now() + context.info.startToCloseTimeoutMs - 1_000 : Infinity;
    // The first attempt writes the row already leased to itself (one round trip); a row already there (a retry, or
    // an overlapping attempt) is read and its lease waited for.
    const [inserted] = await db('emailOutbox')
      .insert({
        dedupeKey: input.dedupeKey, caseId: input.caseId, step: input.step, template: input.template,
        language: input.language, recipient: input.recipient, subject: email.subject, status: 'pending',
        leaseOwner: owner, leasedUntil: leaseFor(), attempts: 1,
      })
      .onConflict(['dedupeKey']).ignore()
      .returning<EmailOutbox[]>(['id', 'dedupeKey', 'recipient']);
    let row = inserted;
    if (!row) {
      const existing = await EmailOutbox.query(db).findOne({ dedupeKey: input.dedupeKey });
      if (!existing) throw new Error(`outbox row ${input.dedupeKey} vanished`);
      if (existing.status === 'sent') return { status: 'already-sent' };
      if (existing.status === 'rejected') return { status: 'rejected' };
      const settled = await acquire(existing, owner, context, endBy);
      if (settled) return settled;
      row = existing;
    }

    const messageId = messageIdFor(input.dedupeKey);
    try {
      await sendHoldingLease(row.id, owner, {
        from: deps.mailFrom, to: row.recipient, subject: email.subject, html: email.html, text: email.text, messageId,
      }, context, endBy);
    } catch (err) {
      const reply = permanentRejection(err);
      if (reply !== null) {
        await recordRejection(row, input, reply);
        return { status: 'rejected' };
      }
      // The conversation is over (failed or hung up), so the next attempt need not wait for the lease to run out.
      await db('emailOutbox').where({ id: row.id, leaseOwner: owner }).update({ leaseOwner: null, leasedUntil: null });
      throw err;
    }
    await db('emailOutbox').where({ id: row.id, status: 'pending' })
      .update({ status: 'sent', sentAt: db.fn.now(), messageId, leaseOwner: null, leasedUntil: null });
    deps.onSent?.(input.template);
    deps.logger.info('e-mail sent', { caseId: input.caseId, step: input.step, template: input.template });
    return { status: 'sent' };
  }

  return {
    /** Sends one templated e-mail to the case's learner, once per case and step. */
    async sendEmail(input: SendEmailInput): Promise<SendEmailResult> {
      const recipient = await db('cases').join('learners', 'learners.id', 'cases.learnerId')
        .join('programmes', 'programmes.code', 'cases.programme')
        .where('cases.id', input.caseId)
        .first<Recipient>('learners.email', 'learners.language', 'learners.firstName', 'cases.serviceCaseId', 'programmes.funding');
      if (!recipient) throw new Error(`case ${input.caseId} not found for e-mail ${input.step}`);
      return deliverOnce({
        dedupeKey: `case:${input.caseId}:${input.step}`, caseId: input.caseId, step: input.step, template: input.template,
        recipient: recipient.email, language: recipient.language,
        data: {
          firstName: recipient.firstName ?? '', serviceCaseId: recipient.serviceCaseId,
          // A co-payment programme has no balance to pay with: e-mails say what the learner pays instead.
          copay: recipient.funding === 'copay',
          caseUrl: `${deps.publicUrl}/learner/journeys/${input.caseId}`, ...input.data,
        },
      });
    },

    /** Sends one templated e-mail to a provider or to the agency, once per workflow and step. */
    async sendEmailTo(input: SendEmailToInput): Promise<SendEmailResult> {
      return deliverOnce({
        dedupeKey: `${input.workflowId}:${input.step}`, caseId: null, step: input.step, template: input.template,
        recipient: input.recipient, language: input.language, data: { publicUrl: deps.publicUrl, ...input.data },
      });
    },
  };
}
