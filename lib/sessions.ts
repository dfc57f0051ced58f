import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { rigaDate } from '../domain/dates';
import { USER_BLOCKED_SQL } from './account-blocks';

/**
 * Server-side sessions. The browser's cookie and an API client's bearer token carry only a random 256-bit token;
 * the `sessions` row, found by the token's SHA-256, says whose session it is. Every request reads the row together
 * with who the person is now (the `users` row of a password user, the role grant of a coordinator or career
 * consultant), so logout, deactivation, a role change, a grant that ended or was revoked, an account's validity
 * period that ended or a block take effect on the next request.
 */

/** The roles a session can have. */
export type SessionRole = 'learner' | 'coordinator' | 'consultant' | 'staff' | 'admin' | 'provider';

/** Who is logged in: a learner (through the single sign-on) or a user with a password. */
export interface Session {
  role: SessionRole;
  /** The learner's (or coordinator's) person code, or the user's id. */
  subject: string;
  name: string;
  providerId?: string | null;
  /** A provider user's role at their provider: the administrator approves staff and submits offers. */
  providerRole?: 'admin' | 'staff' | null;
  /** A coordinator's (or career consultant's) municipality (name), from their role grant. */
  municipality?: string | null;
  /** The session row's id (the sessions list names sessions by it; the token is never shown). */
  id: string;
  /** The password user behind the session; null for learners and coordinators. */
  userId: string | null;
  /** When this session was confirmed with a second-factor code (or a recovery code); null if not. */
  secondFactorAt: Date | null;
  /** Whether the user has a second factor enrolled. */
  secondFactorEnrolled: boolean;
  /**
   * The version of the terms of use this person must accept before anything else works (learners, coordinators and
   * provider users), or null. Read with the session, so a new version takes effect on the next request.
   */
  termsPending?: string | null;
  /** When the session ends unless used before (moved on at most once a minute), and when it ends regardless. */
  idleExpiresAt: Date;
  expiresAt: Date;
}

/** What starting a session needs: who, as what, and from where (shown in the sessions list). */
export interface NewSession {
  role: SessionRole;
  subject: string;
  name: string;
  userId?: string | null;
  municipality?: string | null;
  /** Set when the login itself checked a second-factor code. */
  secondFactorAt?: Date | null;
  userAgent?: string | null;
  ip?: string | null;
}

/** Every session time limit, in one place. */
export interface SessionTimeouts {
  /** A session unused this long ends. Learners get longer: they fill in long forms and act on their own case only. */
  idleMs: Record<SessionRole, number>;
  /** A session ends this long after login whatever happens (one working day). */
  absoluteMs: number;
  /** The page warns this long before the idle end, with a button that keeps the session alive. */
  warnBeforeMs: number;
  /** last_seen_at (and with it the idle end) is written at most this often per session, not on every request. */
  touchEveryMs: number;
}

const MINUTE = 60_000;

/** The production limits (ApiDeps.sessionTimeouts may replace them, e.g. a test's short idle time). */
export const SESSION_TIMEOUTS: SessionTimeouts = {
  idleMs: { staff: 30 * MINUTE, admin: 30 * MINUTE, provider: 30 * MINUTE, coordinator: 30 * MINUTE, consultant: 30 * MINUTE, learner: 60 * MINUTE },
  absoluteMs: 8 * 60 * MINUTE,
  warnBeforeMs: 5 * MINUTE,
  touchEveryMs: MINUTE,
};

/** Why a session ended (sessions.ended_reason). */
export type EndReason = 'logout' | 'ended_elsewhere' | 'deactivated' | 'role_ended' | 'idle' | 'expired' | 'user_sessions_ended';

/** The token's form in the table: its SHA-256, so a copy of the table gives no usable token. */
export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Starts a session: writes the row and returns the token for the cookie or the bearer header (shown only now). */
export async function createSession(db: Knex, timeouts: SessionTimeouts, input: NewSession, now = new Date()): Promise<{ token: string; id: string }> {
  const token = randomBytes(32).toString('base64url');
  const [row] = await db('sessions').insert({
    tokenHash: hashSessionToken(token), role: input.role, subject: input.subject, name: input.name, userId: input.userId ?? null,
    municipality: input.municipality ?? null, createdAt: now, lastSeenAt: now,
    idleExpiresAt: new Date(now.getTime() + timeouts.idleMs[input.role]), expiresAt: new Date(now.getTime() + timeouts.absoluteMs),
    secondFactorAt: input.secondFactorAt ?? null, userAgent: input.userAgent?.slice(0, 300) ?? null, ip: input.ip ?? null,
  }).returning<{ id: string }[]>('id');
  return { token, id: row!.id };
}

/** What a token stands for: a live session, a session that has ended (and why), or nothing we know. */
export type Resolved = { session: Session } | { ended: EndReason } | null;

interface SessionRow {
  id: string; role: SessionRole; subject: string; name: string; userId: string | null; municipality: string | null;
  lastSeenAt: Date; idleExpiresAt: Date; expiresAt: Date; secondFactorAt: Date | null; endedAt: Date | null; endedReason: EndReason | null;
  userActive: boolean | null; userStatus: string | null; userRole: SessionRole | null; providerId: string | null;
  providerRole: 'admin' | 'staff' | null; displayName: string | null; totpEnrolledAt: Date | null; grantLive: boolean;
  /** A password user outside their account's validity period, or held by a live block (their own or their provider's). */
  userBarred: boolean;
  termsPending: string | null;
}

/** The roles that accept the terms of use (agency staff and administrators are bound by their employment instead). */
export const TERMS_ROLES: readonly SessionRole[] = ['learner', 'coordinator', 'provider'];

// The current terms version (the latest whose effective date has come) when this person has not accepted it: a
// learner or coordinator by person code, a provider user by user id. The initial version is never pending: it
// binds everyone with no recorded acceptance (migrations/20261207030000_terms_and_profiles.ts).
const TERMS_PENDING_SQL = `(SELECT v.version FROM terms_versions v
  WHERE COALESCE(u.role, s.role) IN (${TERMS_ROLES.map(() => '?').join(', ')}) AND NOT v.initial
    AND v.effective_from = (SELECT max(effective_from) FROM terms_versions WHERE effective_from <= ?)
    AND NOT EXISTS (SELECT 1 FROM terms_acceptances a WHERE a.version = v.version
      AND (CASE WHEN s.user_id IS NULL THEN a.person_code = s.subject ELSE a.user_id = s.user_id END))) AS terms_pending`;

/**
 * The session behind a token, read in one query with the user's row (or the coordinator's grant); a session found
 * expired, idle, or whose person lost the right to it, is ended here. Moves the idle end on when the session was
 * last seen more than touchEveryMs ago.
 */
export async function resolveSession(db: Knex, timeouts: SessionTimeouts, token: string, opts: { now?: Date } = {}): Promise<Resolved> {
  const now = opts.now ?? new Date();
  const today = rigaDate(now);
  const row = await db('sessions as s').leftJoin('users as u', 'u.id', 's.userId').where('s.tokenHash', hashSessionToken(token))
    .first<SessionRow | undefined>(
      's.id', 's.role', 's.subject', 's.name', 's.userId', 's.municipality', 's.lastSeenAt', 's.idleExpiresAt', 's.expiresAt',
      's.secondFactorAt', 's.endedAt', 's.endedReason', 'u.active as userActive', 'u.status as userStatus', 'u.role as userRole',
      'u.providerId', 'u.providerRole', 'u.displayName', 'u.totpEnrolledAt',
      // A coordinator's or career consultant's session lives only while a grant of that role, in that municipality, is
      // valid today and not revoked.
      db.raw(`(s.role NOT IN ('coordinator', 'consultant') OR EXISTS (SELECT 1 FROM role_grants g WHERE g.person_code = s.subject
        AND g.role = (CASE s.role WHEN 'consultant' THEN 'career_consultant' ELSE 'coordinator' END)
        AND g.municipality = s.municipality AND g.valid_from <= ? AND g.valid_until >= ? AND g.revoked_at IS NULL)) AS grant_live`, [today, today]),
      db.raw(`(s.user_id IS NOT NULL AND (u.valid_from > ?::date OR u.valid_until < ?::date OR ${USER_BLOCKED_SQL})) AS user_barred`, [today, today, today]),
      db.raw(TERMS_PENDING_SQL, [...TERMS_ROLES, today]),
    );
  if (!row) return null;
  if (row.endedAt) return { ended: row.endedReason ?? 'logout' };
  const gone: EndReason | null = row.expiresAt <= now ? 'expired'
    : row.idleExpiresAt <= now ? 'idle'
      : row.userId && (!row.userActive || row.userStatus !== 'active' || row.userBarred) ? 'deactivated'
        : !row.grantLive ? 'role_ended' : null;
  if (gone) {
    await endSession(db, row.id, gone, now);
    return { ended: gone };
  }
  // A password user's role, name and provider are read from the user row now, not from when they logged in.
  const role = row.userId ? row.userRole! : row.role;
  const idleExpiresAt = now.getTime() - row.lastSeenAt.getTime() >= timeouts.touchEveryMs
    ? await touchSession(db, timeouts, { id: row.id, role, expiresAt: row.expiresAt }, now) : row.idleExpiresAt;
  return {
    session: {
      id: row.id, role, subject: row.subject, name: row.userId ? row.displayName! : row.name, userId: row.userId,
      providerId: row.userId ? row.providerId : null, providerRole: row.userId ? row.providerRole : null, municipality: row.municipality,
      secondFactorAt: row.secondFactorAt, secondFactorEnrolled: row.totpEnrolledAt !== null, idleExpiresAt, expiresAt: row.expiresAt,
      termsPending: row.termsPending,
    },
  };
}

/** Moves a live session's idle end on from now (never past its absolute end); returns the new idle end. */
export async function touchSession(db: Knex, timeouts: SessionTimeouts, session: Pick<Session, 'id' | 'role' | 'expiresAt'>, now = new Date()): Promise<Date> {
  const idleExpiresAt = new Date(Math.min(now.getTime() + timeouts.idleMs[session.role], session.expiresAt.getTime()));
  await db('sessions').where({ id: session.id }).whereNull('endedAt').update({ lastSeenAt: now, idleExpiresAt });
  return idleExpiresAt;
}

/** Ends one session (no-op when it has ended already); returns whether it was live. */
export async function endSession(db: Knex, id: string, reason: EndReason, now = new Date()): Promise<boolean> {
  return (await db('sessions').where({ id }).whereNull('endedAt').update({ endedAt: now, endedReason: reason })) > 0;
}

/**
 * Ends every live session of a password user except `keep` (the one the user is using): the hook for a password
 * change or reset, and for an administrator taking a user's access away at once.
 */
export async function endSessionsOfUser(db: Knex, userId: string, reason: EndReason, keep: string | null = null): Promise<number> {
  return db('sessions').where({ userId }).whereNull('endedAt').modify((q) => { if (keep) q.whereNot({ id: keep }); })
    .update({ endedAt: new Date(), endedReason: reason });
}

/** Records that this session was confirmed with a second-factor code. */
export async function markSecondFactor(db: Knex, id: string, now = new Date()): Promise<void> {
  await db('sessions').where({ id }).update({ secondFactorAt: now });
}

/** One of a user's live sessions, as the sessions list shows it. */
export interface SessionListing { id: string; createdAt: Date; lastSeenAt: Date; userAgent: string | null; ip: string | null; current: boolean }

/** A password user's live sessions, most recently used first. */
export async function liveSessionsOf(db: Knex, userId: string, currentId: string, now = new Date()): Promise<SessionListing[]> {
  const rows: Omit<SessionListing, 'current'>[] = await db('sessions').where({ userId }).whereNull('endedAt')
    .where('expiresAt', '>', now).where('idleExpiresAt', '>', now).orderBy('lastSeenAt', 'desc')
    .select('id', 'createdAt', 'lastSeenAt', 'userAgent', 'ip');
  return rows.map((r) => ({ ...r, current: r.id === currentId }));
}
