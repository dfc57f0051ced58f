import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { rigaDate } from '../../domain/dates';
import { whereLive, type BlockKind, type BlockSubjectKind } from '../../lib/account-blocks';
import { endSessionsOfUser, type Session } from '../../lib/sessions';
import { HttpError } from '../errors';
import { auditUserAction } from './audit';
import { invalid } from './staff-accounts';

/**
 * Blocking, suspending and reinstating a learner, a provider or a provider user (issue 15 item 7). A block closes
 * nothing: a blocked learner's journeys wait (applying is refused, staff decisions on their tasks are held), a
 * blocked provider user (or every user of a blocked provider) is refused at the next request and at login. Each
 * block and each reinstatement is audited with before, after and the reason.
 */

/** A block as the administrator's page and the API show it. */
export interface BlockView {
  id: string; subjectKind: BlockSubjectKind; subject: string; subjectName: string | null; kind: BlockKind; reason: string; endsOn: string | null;
  createdAt: string; createdByName: string | null; liftedAt: string | null; liftedByName: string | null; liftReason: string | null; live: boolean;
}

/** What blocking needs: whom (a person code, a provider id or a provider user's id), how, why and until when. */
export interface NewBlock { subjectKind: BlockSubjectKind; subject: string; kind: BlockKind; reason: string; endsOn: string | null }

interface Row {
  id: string; subjectKind: BlockSubjectKind; personCode: string | null; providerId: string | null; userId: string | null; kind: BlockKind; reason: string;
  endsOn: string | null; createdAt: Date; createdByName: string | null; liftedAt: Date | null; liftedByName: string | null; liftReason: string | null;
  learnerName: string | null; providerName: string | null; userName: string | null;
}

function baseQuery(db: Knex) {
  return db('accountBlocks as b').leftJoin('learners as l', 'l.personCode', 'b.personCode').leftJoin('providers as p', 'p.id', 'b.providerId')
    .leftJoin('users as u', 'u.id', 'b.userId')
    .select('b.id', 'b.subjectKind', 'b.personCode', 'b.providerId', 'b.userId', 'b.kind', 'b.reason', db.raw("to_char(b.ends_on, 'YYYY-MM-DD') AS ends_on"),
      'b.createdAt', 'b.createdByName', 'b.liftedAt', 'b.liftedByName', 'b.liftReason', db.raw("nullif(concat_ws(' ', l.first_name, l.last_name), '') AS learner_name"),
      'p.name as providerName', 'u.displayName as userName');
}

function view(row: Row, today: string): BlockView {
  return {
    id: row.id, subjectKind: row.subjectKind, subject: (row.personCode ?? row.providerId ?? row.userId)!,
    subjectName: row.learnerName ?? row.providerName ?? row.userName, kind: row.kind, reason: row.reason, endsOn: row.endsOn,
    createdAt: row.createdAt.toISOString(), createdByName: row.createdByName, liftedAt: row.liftedAt?.toISOString() ?? null,
    liftedByName: row.liftedByName, liftReason: row.liftReason, live: row.liftedAt === null && (row.endsOn === null || row.endsOn >= today),
  };
}

/** The live blocks, then the latest 50 that were lifted or ended by themselves. */
export async function listBlocks(db: Knex, now = new Date()): Promise<{ live: BlockView[]; past: BlockView[] }> {
  const today = rigaDate(now);
  const live: Row[] = await whereLive(baseQuery(db), today).orderBy('b.createdAt', 'desc');
  const past: Row[] = await baseQuery(db).where((w) => { void w.whereNotNull('b.liftedAt').orWhere('b.endsOn', '<', today); })
    .orderBy('b.createdAt', 'desc').limit(50);
  return { live: live.map((r) => view(r, today)), past: past.map((r) => view(r, today)) };
}

/** One block, or a 404. */
export async function getBlock(db: Knex, id: string, now = new Date()): Promise<BlockView> {
  const row: Row | undefined = await baseQuery(db).where('b.id', id).first();
  if (!row) throw new HttpError(404, 'block_not_found', 'There is no block with this id');
  return view(row, rigaDate(now));
}

/** Blocks or suspends someone: one live block per subject (a second is a 409); audited. */
export async function createBlock(db: Knex, admin: Session, input: NewBlock, now = new Date()): Promise<BlockView> {
  const today = rigaDate(now);
  if (input.endsOn !== null && input.endsOn < today) {
    throw invalid([{ field: 'endsOn', rule: 'not_in_past', message: 'must be today or later',
      words: { lv: 'Beigu datumam jābūt šodien vai vēlāk.', en: 'The end date must be today or later.' } }]);
  }
  const column = { learner: 'personCode', provider: 'providerId', provider_user: 'userId' }[input.subjectKind];
  const id = randomUUID();
  await db.transaction(async (trx) => {
    const subject = await subjectOf(trx, input.subjectKind, input.subject);
    // Serialises blocks of one subject, so two administrators at once make one live block.
    await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`account-block:${input.subjectKind}:${input.subject}`]);
    const existing = await whereLive(trx('accountBlocks').where({ subjectKind: input.subjectKind, [column]: input.subject }), today).first('id');
    if (existing) {
      throw new HttpError(409, 'already_blocked', 'subject: already blocked or suspended; reinstate first to change it', [{
        field: 'subject', rule: 'already_blocked', message: 'already blocked or suspended', blockId: existing.id,
        words: { lv: 'Šis konts jau ir bloķēts vai apturēts; lai to mainītu, vispirms atjaunojiet piekļuvi.', en: 'This account is already blocked or suspended; reinstate it first to change it.' },
      }]);
    }
    await trx('accountBlocks').insert({
      id, subjectKind: input.subjectKind, [column]: input.subject, kind: input.kind, reason: input.reason, endsOn: input.endsOn,
      createdById: admin.subject, createdByName: admin.name,
    });
    const after = await getBlock(trx, id, now);
    await auditUserAction(trx, admin, {
      action: `account_block.created`, purpose: 'access administration', subjectPersonCode: subject.personCode,
      result: { blockId: id, subjectKind: input.subjectKind, subject: input.subject, before: null, after: audited(after), reason: input.reason },
    });
    // A provider user (or every user of a provider) loses the sessions they have now, not only at the next request.
    for (const userId of subject.userIds) await endSessionsOfUser(trx, userId, 'deactivated');
  });
  return getBlock(db, id, now);
}

/** Reinstates: lifts a live block with a reason (audited); the person's waiting journeys go on. */
export async function liftBlock(db: Knex, admin: Session, id: string, reason: string, now = new Date()): Promise<BlockView> {
  return db.transaction(async (trx) => {
    const before = await getBlock(trx, id, now);
    const lifted = await trx('accountBlocks').where({ id }).whereNull('liftedAt').where((w) => { void w.whereNull('endsOn').orWhere('endsOn', '>=', rigaDate(now)); })
      .update({ liftedAt: now, liftedById: admin.subject, liftedByName: admin.name, liftReason: reason });
    if (lifted === 0) {
      throw new HttpError(409, 'block_not_live', 'This block was already lifted or has ended', [{
        words: { lv: 'Šī bloķēšana jau ir atcelta vai beigusies.', en: 'This block was already lifted or has ended.' },
      }]);
    }
    const after = await getBlock(trx, id, now);
    await auditUserAction(trx, admin, {
      action: 'account_block.lifted', purpose: 'access administration', subjectPersonCode: before.subjectKind === 'learner' ? before.subject : null,
      result: { blockId: id, subjectKind: before.subjectKind, subject: before.subject, before: audited(before), after: audited(after), reason },
    });
    return after;
  });
}

/** Checks the subject exists; returns the learner's person code (for the audit) and the users whose sessions end. */
async function subjectOf(db: Knex, kind: BlockSubjectKind, subject: string): Promise<{ personCode: string | null; userIds: string[] }> {
  const unknown = () => invalid([{ field: 'subject', rule: 'exists', message: `there is no ${kind.replace('_', ' ')} ${subject}`,
    words: { lv: `Nav atrasts: ${subject}.`, en: `Not found: ${subject}.` } }]);
  if (kind === 'learner') {
    if (!(await db('learners').where({ personCode: subject }).first('id'))) throw unknown();
    return { personCode: subject, userIds: [] };
  }
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(subject);
  if (kind === 'provider') {
    if (!uuid || !(await db('providers').where({ id: subject }).first('id'))) throw unknown();
    return { personCode: null, userIds: (await db('users').where({ providerId: subject }).select('id')).map((u: { id: string }) => u.id) };
  }
  if (!uuid || !(await db('users').where({ id: subject, role: 'provider' }).first('id'))) throw unknown();
  return { personCode: null, userIds: [subject] };
}

function audited(block: BlockView) {
  return { kind: block.kind, reason: block.reason, endsOn: block.endsOn, live: block.live, liftedAt: block.liftedAt, liftReason: block.liftReason };
}
