import type { Knex } from 'knex';
import { isUuid } from '../../domain/uuid';
import { rigaDate } from '../../domain/dates';
import { checkConsultationRequest, checkNote } from '../../domain/role-requests';
import type { Session } from '../../lib/sessions';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { auditUserAction } from './audit';
import { invalidRequest } from './data-requests';
import { journeysOfPerson, type JourneyView } from './journeys';

// Career consultations: a learner picks a career consultant (a person with a live career_consultant grant) and asks
// for a consultation; the consultant's workspace lists the learners who asked them, shows those learners' journeys
// read-only (each look audited) and keeps the consultant's own notes. The object-level check is in the queries: a
// consultant reaches only consultations asked of a live grant of theirs in the session's municipality.

/** A consultant a learner may ask. */
export interface ConsultantChoice { id: string; name: string; municipality: string; organisation: string | null }

/** A consultation as the learner sees it. */
export interface MyConsultation { id: string; consultantName: string; municipality: string; organisation: string | null; message: string; createdAt: string }

/** A consultation as the consultant's list shows it. */
export interface ConsultationListing { id: string; learnerName: string; personCode: string; message: string; createdAt: string; notes: number }

/** One consultation as the consultant opens it: the learner's journeys (read-only) and the notes. */
export interface ConsultationDetail {
  id: string; learnerName: string; personCode: string; message: string; createdAt: string; journeys: JourneyView[]; notes: NoteView[];
}

/** A note of the consultant's. */
export interface NoteView { id: string; authorName: string; text: string; createdAt: string }

const CONSULTANT_NAME = "coalesce(r.name, nullif(trim(concat_ws(' ', l.first_name, l.last_name)), ''), g.organisation, g.municipality)";

// Grants that count today: in their period and not revoked.
function liveGrants(db: Knex, today: string) {
  return db('roleGrants as g').where('g.role', 'career_consultant').whereNull('g.revokedAt')
    .where('g.validFrom', '<=', today).where('g.validUntil', '>=', today);
}

/** The career consultants a learner may ask today, by municipality and name. */
export async function listConsultants(db: Knex, at = new Date()): Promise<ConsultantChoice[]> {
  return liveGrants(db, rigaDate(at)).leftJoin('roleRequests as r', 'r.id', 'g.roleRequestId').leftJoin('learners as l', 'l.personCode', 'g.personCode')
    .orderBy('g.municipality').orderByRaw(CONSULTANT_NAME)
    .select('g.id', 'g.municipality', 'g.organisation', db.raw(`${CONSULTANT_NAME} AS name`));
}

/** The learner's consultation requests, newest first. */
export async function listMyConsultations(db: Knex, personCode: string): Promise<MyConsultation[]> {
  const rows = await db('consultations as c').join('roleGrants as g', 'g.id', 'c.grantId')
    .leftJoin('roleRequests as r', 'r.id', 'g.roleRequestId').leftJoin('learners as l', 'l.personCode', 'g.personCode')
    .where('c.personCode', personCode).orderBy('c.createdAt', 'desc')
    .select('c.id', 'g.municipality', 'g.organisation', 'c.message', 'c.createdAt', db.raw(`${CONSULTANT_NAME} AS consultant_name`));
  return rows.map((r: MyConsultation & { createdAt: Date | string }) => ({ ...r, createdAt: new Date(r.createdAt).toISOString() }));
}

/**
 * A learner asks a consultant for a consultation. The consultant must have a live grant; asking oneself is refused;
 * asking the same consultant again returns the first request (created: false).
 */
export async function requestConsultation(db: Knex, learner: Session, body: Record<string, unknown>): Promise<{ consultation: MyConsultation; created: boolean }> {
  const { problems, input } = checkConsultationRequest(body);
  if (!input) throw invalidRequest(problems);
  const grant = await liveGrants(db, rigaDate(new Date())).where('g.id', input.consultantId).first<{ id: string; personCode: string } | undefined>('g.id', 'g.personCode');
  if (!grant) {
    throw invalidRequest([{ field: 'consultantId', rule: 'live_consultant', words: { lv: 'Šāda karjeras konsultanta nav (vai viņa loma ir beigusies): izvēlieties no saraksta.', en: 'There is no such career consultant (or their role has ended): choose from the list.' } }]);
  }
  if (grant.personCode === learner.subject) {
    throw invalidRequest([{ field: 'consultantId', rule: 'not_self', words: { lv: 'Jūs nevarat pieteikties konsultācijai pie sevis.', en: 'You cannot ask yourself for a consultation.' } }]);
  }
  const inserted = await db('consultations').insert({
    personCode: learner.subject, learnerName: learner.name, grantId: grant.id, consultantPersonCode: grant.personCode, message: input.message,
  }).onConflict(['personCode', 'grantId']).ignore().returning<{ id: string }[]>('id');
  const mine = await listMyConsultations(db, learner.subject);
  const id = inserted[0]?.id ?? (await db('consultations').where({ personCode: learner.subject, grantId: grant.id }).first<{ id: string }>('id')).id;
  return { consultation: mine.find((c) => c.id === id)!, created: inserted.length > 0 };
}

// The consultations a consultant's session reaches: asked of a live grant of theirs in the session's municipality.
function ownConsultations(db: Knex, consultant: Session) {
  return db('consultations as c').join('roleGrants as g', 'g.id', 'c.grantId')
    .where('g.personCode', consultant.subject).where('g.municipality', consultant.municipality ?? '').where('g.role', 'career_consultant')
    .whereNull('g.revokedAt').where('g.validFrom', '<=', rigaDate(new Date())).where('g.validUntil', '>=', rigaDate(new Date()));
}

/** The learners who asked this consultant, newest first. */
export async function listConsultations(db: Knex, consultant: Session): Promise<ConsultationListing[]> {
  const rows = await ownConsultations(db, consultant).orderBy('c.createdAt', 'desc')
    .select('c.id', 'c.learnerName', 'c.personCode', 'c.message', 'c.createdAt',
      db.raw('(SELECT count(*)::int FROM consultant_notes n WHERE n.consultation_id = c.id) AS notes'));
  return rows.map((r: ConsultationListing & { createdAt: Date }) => ({ ...r, createdAt: r.createdAt.toISOString() }));
}

/**
 * One consultation with the learner's journeys (read-only) and the consultant's notes; audited as a look at the
 * learner's data. Another consultant's consultation is "not found".
 */
export async function viewConsultation(deps: ApiDeps, consultant: Session, id: string): Promise<ConsultationDetail> {
  const row = await findOwn(deps.db, consultant, id);
  const [journeys, notes] = await Promise.all([journeysOfPerson(deps, row.personCode), notesOf(deps.db, id)]);
  await auditUserAction(deps.db, consultant, {
    action: 'consultation.view', subjectPersonCode: row.personCode, purpose: 'Career consultation: the learner asked this consultant',
    result: { consultationId: id, journeys: journeys.length },
  });
  return { ...row, createdAt: row.createdAt.toISOString(), journeys, notes };
}

/** Adds a note of the consultant's to one of their consultations (audited without its text). */
export async function addNote(db: Knex, consultant: Session, id: string, body: Record<string, unknown>): Promise<NoteView> {
  const { problems, text } = checkNote(body);
  if (text === null) throw invalidRequest(problems);
  const row = await findOwn(db, consultant, id);
  const [note] = await db('consultantNotes').insert({ consultationId: id, authorPersonCode: consultant.subject, authorName: consultant.name, text })
    .returning<{ id: string; authorName: string; text: string; createdAt: Date }[]>(['id', 'authorName', 'text', 'createdAt']);
  await auditUserAction(db, consultant, {
    action: 'consultation.note', subjectPersonCode: row.personCode, purpose: 'Career consultation: the consultant wrote a note',
    result: { consultationId: id, noteId: note!.id, before: null, after: { noteId: note!.id, length: text.length } },
  });
  return { ...note!, createdAt: note!.createdAt.toISOString() };
}

async function findOwn(db: Knex, consultant: Session, id: string) {
  // An id that is no uuid names nothing (and would be a database error, not an answer).
  if (!isUuid(id)) throw new HttpError(404, 'not_found', 'There is no such consultation of yours');
  const row = await ownConsultations(db, consultant).where('c.id', id)
    .first<{ id: string; learnerName: string; personCode: string; message: string; createdAt: Date } | undefined>('c.id', 'c.learnerName', 'c.personCode', 'c.message', 'c.createdAt');
  if (!row) throw new HttpError(404, 'not_found', 'There is no such consultation of yours');
  return row;
}

async function notesOf(db: Knex, consultationId: string): Promise<NoteView[]> {
  const rows = await db('consultantNotes').where({ consultationId }).orderBy('createdAt')
    .select<{ id: string; authorName: string; text: string; createdAt: Date }[]>('id', 'authorName', 'text', 'createdAt');
  return rows.map((r) => ({ ...r, createdAt: r.createdAt.toISOString() }));
}
