import type { Knex } from 'knex';
import { rigaDate } from '../../domain/dates';
import type { Session } from '../../lib/sessions';
import { HttpError, type WordedProblem } from '../errors';
import { auditUserAction } from './audit';

/** One version of the terms of use. */
export interface TermsVersion {
  version: string; textLv: string; textEn: string; effectiveFrom: string; initial: boolean;
  createdByName: string | null; reason: string; createdAt: string;
}

/** What an administrator gives for a new version. */
export interface NewTermsVersion { version: string; textLv: string; textEn: string; effectiveFrom: string; reason: string }

/** How an acceptance came about (terms_acceptances.how). */
export type AcceptanceWay = 'acceptance_page' | 'registration' | 'assisted_registration';

interface VersionRow { version: string; textLv: string; textEn: string; effectiveFrom: string | Date; initial: boolean; createdByName: string | null; reason: string; createdAt: Date }

function view(row: VersionRow): TermsVersion {
  return {
    version: row.version, textLv: row.textLv, textEn: row.textEn, initial: row.initial, createdByName: row.createdByName, reason: row.reason,
    effectiveFrom: typeof row.effectiveFrom === 'string' ? row.effectiveFrom : rigaDate(row.effectiveFrom), createdAt: row.createdAt.toISOString(),
  };
}

// effective_from is a date column: read it as text, so no time zone shifts the day.
const COLUMNS = ['version', 'textLv', 'textEn', 'initial', 'createdByName', 'reason', 'createdAt'] as const;
function selectVersions(db: Knex) {
  return db('termsVersions').select(...COLUMNS, db.raw("to_char(effective_from, 'YYYY-MM-DD') AS effective_from"));
}

/** The version in force now: the latest whose effective date (Riga time) has come. */
export async function currentTerms(db: Knex, now = new Date()): Promise<TermsVersion> {
  const row = await selectVersions(db).where('effectiveFrom', '<=', rigaDate(now)).orderBy('effectiveFrom', 'desc').first<VersionRow | undefined>();
  // The migration writes the first version, effective long ago: there is always one.
  if (!row) throw new Error('no terms of use version is in force');
  return view(row);
}

/** Every version, the latest effective date first (future ones included). */
export async function listTerms(db: Knex): Promise<TermsVersion[]> {
  return (await selectVersions(db).orderBy('effectiveFrom', 'desc')).map((r: VersionRow) => view(r));
}

/**
 * Records that a person accepted a version (idempotent: a second acceptance of the same version keeps the first
 * time). A learner's own row keeps the version they accepted last (learners.terms_version), as registration does.
 */
export async function recordAcceptance(db: Knex, who: { personCode: string | null; userId: string | null; role: string }, version: string, how: AcceptanceWay): Promise<void> {
  await db.transaction(async (trx) => {
    const inserted = await trx('termsAcceptances').insert({ version, personCode: who.userId ? null : who.personCode, userId: who.userId, role: who.role, how })
      .onConflict(trx.raw(who.userId ? '(user_id, version) WHERE user_id IS NOT NULL' : '(person_code, version) WHERE person_code IS NOT NULL')).ignore()
      .returning<{ acceptedAt: Date }[]>('acceptedAt');
    if (inserted.length > 0 && !who.userId && who.personCode) {
      await trx('learners').where({ personCode: who.personCode }).update({ termsVersion: version, termsAcceptedAt: inserted[0]!.acceptedAt });
    }
  });
}

/**
 * The signed-in person accepts the version in force: it must be the one they were asked (a version that changed
 * meanwhile is refused with 409, so nobody accepts a text they did not see). Audited.
 */
export async function acceptCurrentTerms(db: Knex, session: Session, version: string): Promise<{ version: string }> {
  const current = await currentTerms(db);
  if (version !== current.version) {
    throw new HttpError(409, 'terms_version_changed', `Version ${version} is not the terms of use in force; read version ${current.version} and accept it`, [{
      field: 'version', rule: 'current_version', message: `must be the version in force, ${current.version}`,
      words: { lv: `Spēkā ir cita noteikumu versija (${current.version}): izlasiet to un pieņemiet.`, en: `Another version (${current.version}) is in force: read it and accept it.` },
    } satisfies WordedProblem]);
  }
  await recordAcceptance(db, { personCode: session.userId ? null : session.subject, userId: session.userId, role: session.role }, version, 'acceptance_page');
  await auditUserAction(db, session, {
    action: 'terms.accepted', purpose: 'The person accepted the terms of use', subjectPersonCode: session.userId ? null : session.subject,
    result: { version },
  });
  return { version };
}

/** A registration's terms version must be the one in force (the form carries the version the person read). */
export async function assertCurrentTermsVersion(db: Knex, version: string): Promise<void> {
  const current = await currentTerms(db);
  if (version === current.version) return;
  throw new HttpError(400, 'invalid_request', `Invalid body: termsVersion: must be the current terms version ${current.version}; reload the page`, [{
    field: 'termsVersion', rule: 'current_version', message: `must be the current terms version ${current.version}; reload the page`,
    words: { lv: `Spēkā ir noteikumu versija ${current.version}: pārlādējiet lapu un izlasiet to.`, en: `Version ${current.version} of the terms is in force: reload the page and read it.` },
  } satisfies WordedProblem]);
}

/**
 * An administrator publishes a new version (audited with the reason). Its effective date is today or later and no
 * other version has it; from that day everyone who has not accepted it is asked to at their next request.
 */
export async function createTermsVersion(db: Knex, session: Session, input: NewTermsVersion, now = new Date()): Promise<TermsVersion> {
  const problems: WordedProblem[] = [];
  if (input.effectiveFrom < rigaDate(now)) {
    problems.push({ field: 'effectiveFrom', rule: 'not_in_past', message: `must be today (${rigaDate(now)}) or later`,
      words: { lv: 'Spēkā stāšanās dienai jābūt šodienai vai vēlākai dienai.', en: 'The effective date must be today or later.' } });
  }
  const clash = await db('termsVersions').where({ version: input.version }).orWhere({ effectiveFrom: input.effectiveFrom }).first<{ version: string } | undefined>('version');
  if (clash) {
    const field = clash.version === input.version ? 'version' : 'effectiveFrom';
    throw new HttpError(409, 'terms_version_exists', field === 'version' ? `Version ${input.version} exists already` : `Version ${clash.version} takes effect on ${input.effectiveFrom} already`, [
      field === 'version'
        ? { field, rule: 'unique', message: `version ${input.version} exists already`, words: { lv: `Versija ${input.version} jau ir.`, en: `Version ${input.version} exists already.` } }
        : { field, rule: 'unique', message: `version ${clash.version} takes effect on that day already`, words: { lv: `Šajā dienā jau stājas spēkā versija ${clash.version}.`, en: `Version ${clash.version} takes effect on that day already.` } },
    ] satisfies WordedProblem[]);
  }
  if (problems.length > 0) throw new HttpError(400, 'invalid_request', `Invalid body: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`, problems);
  const before = await currentTerms(db, now);
  await db('termsVersions').insert({ ...input, createdByName: session.name });
  await auditUserAction(db, session, {
    action: 'terms.version_created', purpose: `An administrator published a new version of the terms of use: ${input.reason}`,
    result: {
      reason: input.reason,
      before: { currentVersion: before.version },
      after: { version: input.version, effectiveFrom: input.effectiveFrom, textLvChars: input.textLv.length, textEnChars: input.textEn.length },
    },
  });
  return (await listTerms(db)).find((v) => v.version === input.version)!;
}
