import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Session } from '../../lib/sessions';
import type { Audience, BannerAnnouncement } from '../../domain/announcements';
import { announcementMailingId } from '../../workflows/ids';
import { announcementMailing } from '../../workflows/announcement-mailing';
import type { ApiDeps } from '../deps';
import { HttpError, type WordedProblem } from '../errors';
import { auditUserAction } from './audit';

/** A new announcement as the administrator gives it. */
export interface NewAnnouncement {
  titleLv: string; titleEn: string; bodyLv: string; bodyEn: string; audience: Audience;
  showsFrom: Date; showsUntil: Date; email: boolean; reason: string;
}

/** An announcement as the admin page and API show it, with its mailing's progress. */
export interface AnnouncementView {
  id: string; titleLv: string; titleEn: string; bodyLv: string; bodyEn: string; audience: Audience;
  showsFrom: string; showsUntil: string; email: boolean; createdByName: string; createdAt: string;
  withdrawnAt: string | null; withdrawnByName: string | null;
  /** Whether the banner shows it now. */
  showing: boolean;
  /** The e-mail's progress: addresses counted at the start, e-mails sent and refused so far, whether it went through. */
  mailing: { total: number | null; sent: number; rejected: number; finished: boolean } | null;
}

interface AnnouncementRow {
  id: string; titleLv: string; titleEn: string; bodyLv: string; bodyEn: string; audience: Audience; showsFrom: Date; showsUntil: Date;
  email: boolean; mailingWorkflowId: string | null; emailTotal: number | null; mailingFinishedAt: Date | null; createdByName: string; createdAt: Date;
  withdrawnAt: Date | null; withdrawnByName: string | null;
}

/** E-mails per second of a mailing (the throttle): the mail catcher in tests, a real relay in production. */
export const MAILING_PER_SECOND = 10;

/** Announcements on the admin page: the newest first, at most this many. */
const LIST_LIMIT = 100;

/** The announcements, newest first, with the progress of their mailings (counted from the outbox). */
export async function listAnnouncements(db: Knex, now = new Date()): Promise<AnnouncementView[]> {
  const rows = await db('announcements').orderBy('createdAt', 'desc').limit(LIST_LIMIT).select<AnnouncementRow[]>('*');
  const counts = new Map<string, { sent: number; rejected: number }>();
  for (const row of rows.filter((r) => r.email)) {
    const [c] = await db('emailOutbox').whereLike('dedupeKey', `announcement:${row.id}:%`)
      .select(db.raw("count(*) FILTER (WHERE status = 'sent')::int AS sent"), db.raw("count(*) FILTER (WHERE status = 'rejected')::int AS rejected")) as { sent: number; rejected: number }[];
    counts.set(row.id, c);
  }
  return rows.map((r) => toView(r, counts.get(r.id) ?? { sent: 0, rejected: 0 }, now));
}

function toView(r: AnnouncementRow, c: { sent: number; rejected: number }, now: Date): AnnouncementView {
  const from = new Date(r.showsFrom);
  const until = new Date(r.showsUntil);
  return {
    id: r.id, titleLv: r.titleLv, titleEn: r.titleEn, bodyLv: r.bodyLv, bodyEn: r.bodyEn, audience: r.audience,
    showsFrom: from.toISOString(), showsUntil: until.toISOString(), email: r.email, createdByName: r.createdByName,
    createdAt: new Date(r.createdAt).toISOString(), withdrawnAt: r.withdrawnAt ? new Date(r.withdrawnAt).toISOString() : null,
    withdrawnByName: r.withdrawnByName,
    showing: !r.withdrawnAt && from.getTime() <= now.getTime() && now.getTime() < until.getTime(),
    mailing: r.email ? { total: r.emailTotal, sent: c.sent, rejected: c.rejected, finished: r.mailingFinishedAt !== null } : null,
  };
}

async function viewOf(db: Knex, id: string): Promise<AnnouncementView> {
  const found = (await listAnnouncements(db)).find((a) => a.id === id);
  if (found) return found;
  const row = await db('announcements').where({ id }).first<AnnouncementRow | undefined>('*');
  if (!row) throw new HttpError(404, 'not_found', 'There is no such announcement');
  return toView(row, { sent: 0, rejected: 0 }, new Date());
}

/** Publishes an announcement (audited with the reason); when it is to be e-mailed, starts the mailing. */
export async function publishAnnouncement(deps: ApiDeps, session: Session, input: NewAnnouncement, banner: BannerCache): Promise<AnnouncementView> {
  const { reason, ...fields } = input;
  const [row] = await deps.db('announcements').insert({ ...fields, createdByName: session.name }).returning('id') as { id: string }[];
  const after = await viewOf(deps.db, row.id);
  await auditUserAction(deps.db, session, {
    action: 'announcement.published', purpose: reason,
    result: { announcementId: row.id, before: null, after: auditedFields(after) },
  });
  banner.invalidate();
  if (input.email) await startMailing(deps, row.id);
  return viewOf(deps.db, row.id);
}

/** Withdraws an announcement (audited with before, after and the reason): it leaves the banner and its mailing stops. */
export async function withdrawAnnouncement(deps: ApiDeps, session: Session, id: string, reason: string, banner: BannerCache): Promise<AnnouncementView> {
  const before = await viewOf(deps.db, id);
  if (before.withdrawnAt) throw conflict('already_withdrawn', 'The announcement is already withdrawn', 'Paziņojums jau ir atsaukts.', 'The announcement is already withdrawn.');
  await deps.db('announcements').where({ id }).whereNull('withdrawnAt').update({ withdrawnAt: deps.db.fn.now(), withdrawnByName: session.name });
  const after = await viewOf(deps.db, id);
  await auditUserAction(deps.db, session, {
    action: 'announcement.withdrawn', purpose: reason, result: { announcementId: id, before: auditedFields(before), after: auditedFields(after) },
  });
  banner.invalidate();
  return after;
}

/**
 * Starts the mailing again (audited), e.g. after it was stopped or failed: a new run goes through the same list and
 * sends only to addresses that have no e-mail yet. 409 while a mailing of it is running or when it is withdrawn.
 */
export async function restartMailing(deps: ApiDeps, session: Session, id: string, reason: string): Promise<AnnouncementView> {
  const before = await viewOf(deps.db, id);
  if (before.withdrawnAt) throw conflict('already_withdrawn', 'The announcement is withdrawn: it is not e-mailed any more', 'Paziņojums ir atsaukts, to vairs nesūta.', 'The announcement is withdrawn: it is not e-mailed any more.');
  const row = await deps.db('announcements').where({ id }).first<{ mailingWorkflowId: string | null }>('mailingWorkflowId');
  if (row.mailingWorkflowId && await running(deps, row.mailingWorkflowId)) {
    throw conflict('mailing_running', 'The announcement is being e-mailed now', 'Paziņojums tiek sūtīts pašlaik.', 'The announcement is being e-mailed now.');
  }
  await deps.db('announcements').where({ id }).update({ email: true });
  await startMailing(deps, id);
  const after = await viewOf(deps.db, id);
  await auditUserAction(deps.db, session, {
    action: 'announcement.mailing_started', purpose: reason, result: { announcementId: id, before: auditedFields(before), after: auditedFields(after) },
  });
  return after;
}

async function running(deps: ApiDeps, workflowId: string): Promise<boolean> {
  const described = await deps.temporal.workflow.getHandle(workflowId).describe().catch(() => null);
  return described?.status.name === 'RUNNING';
}

async function startMailing(deps: ApiDeps, id: string): Promise<void> {
  const workflowId = announcementMailingId(id, randomUUID());
  // Recorded before the start, so the page can tell a mailing under way even before its first activity ran.
  await deps.db('announcements').where({ id }).update({ mailingWorkflowId: workflowId, mailingFinishedAt: null });
  try {
    await deps.temporal.workflow.start(announcementMailing, { workflowId, taskQueue: deps.taskQueue, args: [{ announcementId: id, perSecond: MAILING_PER_SECOND }] });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

// What the audit keeps of an announcement: its content and period, not the mailing's counts.
function auditedFields(a: AnnouncementView) {
  return {
    titleLv: a.titleLv, titleEn: a.titleEn, bodyLv: a.bodyLv, bodyEn: a.bodyEn, audience: a.audience,
    showsFrom: a.showsFrom, showsUntil: a.showsUntil, email: a.email, withdrawnAt: a.withdrawnAt,
  };
}

function conflict(code: string, message: string, lv: string, en: string): HttpError {
  return new HttpError(409, code, message, [{ field: 'announcement', rule: code, message, words: { lv, en } } satisfies WordedProblem]);
}

/**
 * The announcements the banner may show, read at most once a minute per process (every page shows the banner, so
 * it must cost nothing per request); a publish or withdrawal in this process refreshes it at once. Holds those not
 * yet over, so one that starts showing within the minute appears on time: the period is judged per request.
 */
export class BannerCache {
  private rows: BannerAnnouncement[] = [];
  private loadedAt = 0;
  private loading: Promise<void> | null = null;
  // Bumped by invalidate(), so a read that began before a publish does not count as fresh after it.
  private generation = 0;

  constructor(private readonly db: Knex, private readonly ttlMs = 60_000) {}

  /** The cached announcements, reloaded when older than the TTL; a failed read keeps the last list (a banner is not worth an error page). */
  async current(): Promise<BannerAnnouncement[]> {
    if (Date.now() - this.loadedAt >= this.ttlMs) {
      this.loading ??= this.load().finally(() => { this.loading = null; });
      await this.loading;
    }
    return this.rows;
  }

  /** Forgets the list so the next page reads it again. */
  invalidate(): void {
    this.generation += 1;
    this.loadedAt = 0;
    this.loading = null;
  }

  private async load(): Promise<void> {
    const generation = this.generation;
    try {
      const rows = await this.db('announcements').whereNull('withdrawnAt').where('showsUntil', '>', new Date())
        .orderBy('showsFrom', 'desc').limit(20)
        .select<BannerAnnouncement[]>('id', 'titleLv', 'titleEn', 'bodyLv', 'bodyEn', 'audience', 'showsFrom', 'showsUntil');
      this.rows = rows.map((r) => ({ ...r, showsFrom: new Date(r.showsFrom), showsUntil: new Date(r.showsUntil) }));
      if (generation === this.generation) this.loadedAt = Date.now();
    } catch {
      // Tried again in a few seconds rather than on every request while the database is away.
      this.loadedAt = Date.now() - this.ttlMs + 5_000;
    }
  }
}
