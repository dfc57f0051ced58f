import type { Knex } from 'knex';
import { formatDeadline, rigaDate, rigaEndOfDay } from '../domain/dates';

/**
 * Blocks and suspensions of a learner, a provider or a provider user (table account_blocks). A block is live from
 * when it is made until it is lifted or its end day (ends_on, a Riga day) has passed: a suspension with an end date
 * ends by itself, with no job to run, because every check reads the day. A blocked provider's users count as
 * blocked too.
 */

/** Whom a block holds. */
export const BLOCK_SUBJECT_KINDS = ['learner', 'provider', 'provider_user'] as const;
export type BlockSubjectKind = typeof BLOCK_SUBJECT_KINDS[number];

/** A block (the agency's decision) or a suspension (e.g. the person asked for it, or a security incident). */
export const BLOCK_KINDS = ['block', 'suspension'] as const;
export type BlockKind = typeof BLOCK_KINDS[number];

/** A live block as the pages and the API show it. */
export interface LiveBlock { id: string; kind: BlockKind; reason: string; endsOn: string | null }

/** The end day as YYYY-MM-DD text (a pg date would become a local-midnight Date). */
const endsOnText = (db: Knex) => db.raw("to_char(ends_on, 'YYYY-MM-DD') as ends_on");

/** Narrows a query of account_blocks to the live ones on `today` (a Riga day). */
export function whereLive(query: Knex.QueryBuilder, today: string): Knex.QueryBuilder {
  return query.whereNull('liftedAt').where((w) => { void w.whereNull('endsOn').orWhere('endsOn', '>=', today); });
}

// A live block on the day bound to `?` (a Riga day): not lifted and not past its end day.
const LIVE_SQL = 'b.lifted_at IS NULL AND (b.ends_on IS NULL OR b.ends_on >= ?::date)';

/** The SQL condition "a live block holds this password user `u` (or their provider)", for resolveSession's one query. */
export const USER_BLOCKED_SQL = `EXISTS (SELECT 1 FROM account_blocks b WHERE ${LIVE_SQL}
  AND (b.user_id = u.id OR (u.provider_id IS NOT NULL AND b.provider_id = u.provider_id)))`;

/** The SQL condition "a live block holds this learner `l`" (one `?`: the Riga day). */
export const LEARNER_BLOCKED_SQL = `EXISTS (SELECT 1 FROM account_blocks b WHERE ${LIVE_SQL} AND b.subject_kind = 'learner' AND b.person_code = l.person_code)`;

/** The SQL condition "a live block holds this provider `p`" (one `?`: the Riga day). */
export const PROVIDER_BLOCKED_SQL = `EXISTS (SELECT 1 FROM account_blocks b WHERE ${LIVE_SQL} AND b.subject_kind = 'provider' AND b.provider_id = p.id)`;

/** The live block of a learner (by person code), or null. */
export async function liveBlockOfLearner(db: Knex, personCode: string, now = new Date()): Promise<LiveBlock | null> {
  return liveBlock(db, (q) => { void q.where({ subjectKind: 'learner', personCode }); }, now);
}

/** The live block that holds a password user: their own, or their provider's; null if none. */
export async function liveBlockOfUser(db: Knex, user: { id: string; providerId: string | null }, now = new Date()): Promise<LiveBlock | null> {
  return liveBlock(db, (q) => {
    void q.where((w) => { void w.where({ subjectKind: 'provider_user', userId: user.id }); if (user.providerId) void w.orWhere({ subjectKind: 'provider', providerId: user.providerId }); });
  }, now);
}

/** The live block of the learner whose case this is, or null. */
export async function liveBlockOfCase(db: Knex, caseId: string, now = new Date()): Promise<LiveBlock | null> {
  const learner = await db('cases').join('learners', 'learners.id', 'cases.learnerId').where('cases.id', caseId).first<{ personCode: string } | undefined>('learners.personCode');
  return learner ? liveBlockOfLearner(db, learner.personCode, now) : null;
}

/** The live block of a provider, or null. */
export async function liveBlockOfProvider(db: Knex, providerId: string, now = new Date()): Promise<LiveBlock | null> {
  return liveBlock(db, (q) => { void q.where({ subjectKind: 'provider', providerId }); }, now);
}

async function liveBlock(db: Knex, scope: (q: Knex.QueryBuilder) => void, now: Date): Promise<LiveBlock | null> {
  const query = db('accountBlocks').select('id', 'kind', 'reason', endsOnText(db));
  scope(query);
  // The open-ended one first (it outlasts any other), then the one ending last.
  const row = await whereLive(query, rigaDate(now)).orderByRaw('ends_on DESC NULLS FIRST').first<LiveBlock | undefined>();
  return row ?? null;
}

/** What a blocked person reads ('own'), or staff and a coordinator about them ('person'): the kind, until when, and why, in both page languages. */
export function blockWords(block: LiveBlock, whose: 'own' | 'person' = 'own'): { lv: string; en: string } {
  // The end day is the last day of the block (whereLive): "until 10 December 2026 (inclusive)", the one deadline wording.
  const until = block.endsOn ? { lv: ` ${formatDeadline(rigaEndOfDay(block.endsOn), 'lv')}`, en: ` ${formatDeadline(rigaEndOfDay(block.endsOn), 'en')}` } : { lv: '', en: '' };
  const lvWhat = block.kind === 'block' ? 'bloķēts' : 'apturēts';
  const enWhat = block.kind === 'block' ? 'blocked' : 'suspended';
  return whose === 'own'
    ? { lv: `Jūsu konts ir ${lvWhat}${until.lv}. Iemesls: ${block.reason}`, en: `Your account is ${enWhat}${until.en}. Reason: ${block.reason}` }
    : { lv: `Šis konts ir ${lvWhat}${until.lv}. Iemesls: ${block.reason}`, en: `This account is ${enWhat}${until.en}. Reason: ${block.reason}` };
}


