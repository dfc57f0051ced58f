import type { Knex } from 'knex';
import { lockProgramme, WAITLIST_ORDER } from '../../lib/waitlist';
import type { OverCapRule } from '../../domain/applications';
import type { ProgrammeRules, SocialStatusRule } from '../../domain/programmes';
import type { SocialStatusRecord } from '../../domain/social-status';
import {
  refreshCurrentVersion, versionInEffect, type ProgrammeVersionRow, type ProgrammeWindowRow,
} from '../../lib/programme-versions';
import type { Session } from '../../lib/sessions';
import { HttpError, type WordedProblem } from '../errors';
import { auditUserAction } from './audit';

/** The rules an administrator sets in a version (everything a journey keeps for its whole life). */
export interface ProgrammeRulesInput {
  nameLv: string; nameEn: string; minAge: number; maxAge: number | null; funding: ProgrammeRules['funding'];
  balanceCents: number; copayPercent: number | null; socialStatusRule: SocialStatusRule; approval: ProgrammeRules['approval'];
}

/** A new programme: its code, its first version's rules (in effect at once), what happens past a cap, and why. */
export interface NewProgrammeInput extends ProgrammeRulesInput { code: string; overCap: OverCapRule; reason: string }

/** A new version: its rules, from when (default: now), and why. */
export interface NewVersionInput extends ProgrammeRulesInput { effectiveFrom?: Date; reason: string }

/** A new application window, or the change of one (close it, change its cap or what happens past it). */
export interface WindowInput { opensAt: Date; closesAt: Date | null; cap: number | null; overCap: OverCapRule | null; reason: string }

/** A version as the API shows it. */
export interface VersionView extends ProgrammeRulesInput { version: number; effectiveFrom: string; reason: string; changedBy: string; createdAt: string; inEffect: boolean }

/** A window as the API shows it, with whether it takes applications now. */
export interface WindowView {
  id: string; opensAt: string; closesAt: string | null; cap: number | null; overCap: OverCapRule | null;
  applicationsReceived: number; openNow: boolean;
}

/** A wait-listed application, in the order the programme serves its wait-list. */
export interface WaitlistEntry { position: number; applicationId: string; serviceCaseId: string; since: string; socialStatus: SocialStatusRecord['status'] | null }

/** Everything the administrator's page of one programme shows. */
export interface ProgrammeView {
  code: string; overCap: OverCapRule; applicationCap: number | null; applicationsReceived: number;
  current: VersionView | null; versions: VersionView[]; windows: WindowView[];
  /** True where the social-status rule in effect is 'priority': the wait-list is ordered by status, then time. */
  priorityOrder: boolean; waitlist: WaitlistEntry[];
}

/** The programmes with the rules in effect now and their windows, for the list page. */
export async function listAgencyProgrammes(db: Knex): Promise<ProgrammeView[]> {
  const codes = await db('programmes').orderBy('code').pluck('code') as string[];
  return Promise.all(codes.map((code) => programmeView(db, code)));
}

/** One programme: its versions (newest first), the one in effect, its windows and its wait-list in order; 404 if none. */
export async function programmeView(db: Knex, code: string, now = new Date()): Promise<ProgrammeView> {
  const row = await db('programmes').where({ code }).first<{ code: string; overCap: OverCapRule; applicationCap: number | null; applicationsReceived: number } | undefined>();
  if (!row) throw new HttpError(404, 'not_found', `There is no programme ${code}`, [notFound('code')]);
  const inEffect = await versionInEffect(db, code, now);
  const versions = (await db('programmeVersions').where({ programme: code }).orderBy('version', 'desc') as ProgrammeVersionRow[])
    .map((v) => versionView(v, v.version === inEffect?.version));
  const windows = (await db('programmeWindows').where({ programme: code }).orderBy('opensAt') as ProgrammeWindowRow[]).map((w) => ({
    id: w.id, opensAt: w.opensAt.toISOString(), closesAt: w.closesAt?.toISOString() ?? null, cap: w.cap, overCap: w.overCap,
    applicationsReceived: w.applicationsReceived, openNow: w.opensAt <= now && (w.closesAt === null || now < w.closesAt),
  }));
  const priorityOrder = inEffect?.socialStatusRule === 'priority';
  return {
    code, overCap: row.overCap, applicationCap: row.applicationCap, applicationsReceived: row.applicationsReceived,
    current: versions.find((v) => v.inEffect) ?? null, versions, windows, priorityOrder,
    waitlist: await waitlistOf(db, code),
  };
}

/**
 * The programme's wait-listed applications in the order they are served (lib/waitlist.ts WAITLIST_ORDER: by the
 * priority recorded when each was wait-listed, then by time), with the social status the journey's eligibility
 * check recorded.
 */
export async function waitlistOf(db: Knex, code: string): Promise<WaitlistEntry[]> {
  const rows = await db('applications as a').join('cases as c', 'c.id', 'a.caseId')
    .leftJoin('caseEvents as e', (j) => j.on('e.caseId', '=', 'c.id').andOnVal('e.step', '=', 'eligibility'))
    .where({ 'c.programme': code, 'a.state': 'waitlisted' })
    .orderByRaw(WAITLIST_ORDER)
    .select<{ id: string; serviceCaseId: string; createdAt: Date; socialStatus: SocialStatusRecord['status'] | null }[]>(
      'a.id', 'c.serviceCaseId', 'a.createdAt', db.raw("e.details->'facts'->>'socialStatus' AS social_status"));
  return rows.map((r, i) => ({
    position: i + 1, applicationId: r.id, serviceCaseId: r.serviceCaseId, since: r.createdAt.toISOString(), socialStatus: r.socialStatus ?? null,
  }));
}

/** Creates a programme with its first version, in effect at once (audited). 409 when the code is taken. */
export async function createProgramme(db: Knex, session: Session, input: NewProgrammeInput): Promise<ProgrammeView> {
  const { code, overCap, reason, ...rules } = input;
  await db.transaction(async (trx) => {
    const inserted = await trx('programmes').insert({ code, ...rules, overCap, digcompLevels: 'any', currentVersion: 1 })
      .onConflict('code').ignore().returning('code');
    if (inserted.length === 0) {
      throw new HttpError(409, 'programme_exists', `There is already a programme ${code}`, [{
        field: 'code', rule: 'unique', message: 'is taken by another programme',
        words: { lv: 'Programma ar šo kodu jau ir.', en: 'There is already a programme with this code.' },
      } satisfies WordedProblem]);
    }
    await trx('programmeVersions').insert({ programme: code, version: 1, effectiveFrom: new Date(), ...rules, reason, changedBy: changedBy(session) });
    await auditUserAction(trx, session, {
      action: 'programme.created', purpose: reason, result: { programme: code, before: null, after: { version: 1, ...rules, overCap } },
    });
  });
  return programmeView(db, code);
}

/**
 * Adds a version of a programme's rules from a moment on (now by default; audited with the version in effect before).
 * Journeys already started keep their version, and nothing granted or earmarked changes. The moment must be after
 * the newest version's (versions follow each other; 409 otherwise) and not in the past.
 */
export async function addProgrammeVersion(db: Knex, session: Session, code: string, input: NewVersionInput): Promise<ProgrammeView> {
  const { effectiveFrom: asked, reason, ...rules } = input;
  await db.transaction(async (trx) => {
    if (!(await lockProgramme(trx, code))) throw new HttpError(404, 'not_found', `There is no programme ${code}`, [notFound('code')]);
    const now = new Date();
    const effectiveFrom = asked && asked > now ? asked : now;
    const newest = await trx('programmeVersions').where({ programme: code }).orderBy('version', 'desc').first<ProgrammeVersionRow | undefined>();
    if (newest && newest.effectiveFrom >= effectiveFrom) {
      throw new HttpError(409, 'effective_before_latest', `Version ${newest.version} takes effect ${newest.effectiveFrom.toISOString()}; a new version must take effect after it`, [{
        field: 'effectiveFrom', rule: 'after_latest_version', message: `must be after ${newest.effectiveFrom.toISOString()}`,
        words: {
          lv: `Jaunākā versija (${newest.version}) stājas spēkā vēlāk; jaunai versijai jāstājas spēkā pēc tās.`,
          en: `The newest version (${newest.version}) takes effect later; a new version must take effect after it.`,
        },
      } satisfies WordedProblem]);
    }
    const before = await versionInEffect(trx, code, now);
    const version = (newest?.version ?? 0) + 1;
    await trx('programmeVersions').insert({ programme: code, version, effectiveFrom, ...rules, reason, changedBy: changedBy(session) });
    await refreshCurrentVersion(trx, code, now);
    await auditUserAction(trx, session, {
      action: 'programme.version_added', purpose: reason,
      result: { programme: code, before: before ? versionView(before, true) : null, after: { version, effectiveFrom: effectiveFrom.toISOString(), ...rules } },
    });
  });
  return programmeView(db, code);
}

/** Adds an application window (audited). Windows of a programme may not overlap: 409 naming the one in the way. */
export async function addProgrammeWindow(db: Knex, session: Session, code: string, input: WindowInput): Promise<ProgrammeView> {
  const { reason, ...window } = input;
  await db.transaction(async (trx) => {
    if (!(await lockProgramme(trx, code))) throw new HttpError(404, 'not_found', `There is no programme ${code}`, [notFound('code')]);
    await refuseOverlap(trx, code, window, null);
    const [row] = await trx('programmeWindows').insert({ programme: code, ...window }).returning<{ id: string }[]>('id');
    await auditUserAction(trx, session, {
      action: 'programme.window_added', purpose: reason, result: { programme: code, before: null, after: { id: row!.id, ...windowFacts(window) } },
    });
  });
  return programmeView(db, code);
}

/**
 * Changes a window: its dates (e.g. closes it now so the next one can open), its cap (never below the applications it
 * already counted: 409) or what happens past the cap; audited with before and after.
 */
export async function changeProgrammeWindow(db: Knex, session: Session, code: string, id: string, input: WindowInput): Promise<ProgrammeView> {
  const { reason, ...window } = input;
  await db.transaction(async (trx) => {
    if (!(await lockProgramme(trx, code))) throw new HttpError(404, 'not_found', `There is no programme ${code}`, [notFound('code')]);
    const before = await trx('programmeWindows').where({ id, programme: code }).forUpdate().first<ProgrammeWindowRow | undefined>();
    if (!before) throw new HttpError(404, 'not_found', 'There is no such window in this programme', [notFound('id')]);
    if (window.cap !== null && window.cap < before.applicationsReceived) {
      throw new HttpError(409, 'cap_below_received', `The window has counted ${before.applicationsReceived} applications already`, [{
        field: 'cap', rule: 'at_least_received', message: `must be at least ${before.applicationsReceived}, the applications already counted`,
        words: {
          lv: `Logā jau ir ${before.applicationsReceived} pieteikumi; limits nevar būt mazāks.`,
          en: `The window already holds ${before.applicationsReceived} applications; the cap cannot be lower.`,
        },
      } satisfies WordedProblem]);
    }
    await refuseOverlap(trx, code, window, id);
    await trx('programmeWindows').where({ id }).update(window);
    await auditUserAction(trx, session, {
      action: 'programme.window_changed', purpose: reason,
      result: { programme: code, before: { id, ...windowFacts(before) }, after: { id, ...windowFacts(window) } },
    });
  });
  return programmeView(db, code);
}

async function refuseOverlap(trx: Knex.Transaction, code: string, w: Pick<WindowInput, 'opensAt' | 'closesAt'>, except: string | null): Promise<void> {
  const others = (await trx('programmeWindows').where({ programme: code }) as ProgrammeWindowRow[]).filter((o) => o.id !== except);
  const far = new Date(8.64e15);
  const clash = others.find((o) => o.opensAt < (w.closesAt ?? far) && w.opensAt < (o.closesAt ?? far));
  if (!clash) return;
  const until = clash.closesAt ? clash.closesAt.toISOString() : 'no end';
  throw new HttpError(409, 'window_overlaps', `The window overlaps the window from ${clash.opensAt.toISOString()} (until ${until}); close that one first`, [{
    field: 'opensAt', rule: 'no_overlap', message: `overlaps the window ${clash.id}`,
    words: {
      lv: 'Logs pārklājas ar citu šīs programmas pieteikšanās logu; vispirms slēdziet to.',
      en: 'The window overlaps another application window of this programme; close that one first.',
    },
  } satisfies WordedProblem]);
}

function versionView(v: ProgrammeVersionRow, inEffect: boolean): VersionView {
  return {
    version: v.version, effectiveFrom: v.effectiveFrom.toISOString(),
    nameLv: v.nameLv, nameEn: v.nameEn, minAge: v.minAge, maxAge: v.maxAge, funding: v.funding, balanceCents: v.balanceCents,
    copayPercent: v.copayPercent, socialStatusRule: v.socialStatusRule, approval: v.approval, reason: v.reason, changedBy: v.changedBy,
    createdAt: v.createdAt.toISOString(), inEffect,
  };
}

function windowFacts(w: Pick<ProgrammeWindowRow, 'opensAt' | 'closesAt' | 'cap' | 'overCap'>) {
  return { opensAt: w.opensAt.toISOString(), closesAt: w.closesAt?.toISOString() ?? null, cap: w.cap, overCap: w.overCap };
}

function changedBy(session: Session): string {
  return session.name ?? session.subject;
}

function notFound(field: string): WordedProblem {
  return { field, rule: 'exists', message: 'no such programme or window', words: { lv: 'Tādas programmas vai loga nav.', en: 'There is no such programme or window.' } };
}
