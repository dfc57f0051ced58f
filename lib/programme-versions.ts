import type { Knex } from 'knex';
import type { ProgrammeRules, SocialStatusRule } from '../domain/programmes';

/** A programme_versions row (camelCase), the rules of one version with the moment it takes effect. */
export interface ProgrammeVersionRow {
  programme: string; version: number; effectiveFrom: Date; nameLv: string; nameEn: string; minAge: number; maxAge: number | null;
  funding: ProgrammeRules['funding']; balanceCents: number; copayPercent: number | null; socialStatusRule: SocialStatusRule;
  approval: ProgrammeRules['approval']; reason: string; changedBy: string; createdAt: Date;
}

/** The rules a version (or, for a programme without versions, its own row) sets. */
export function rulesOf(row: Omit<ProgrammeVersionRow, 'version' | 'effectiveFrom' | 'reason' | 'changedBy' | 'createdAt' | 'programme'> & { code?: string; programme?: string }, version: number | null): ProgrammeRules {
  return {
    code: (row.programme ?? row.code)!, version, name: { lv: row.nameLv, en: row.nameEn }, minAge: row.minAge, maxAge: row.maxAge,
    funding: row.funding, balanceCents: row.balanceCents, copayPercent: row.copayPercent ?? null,
    socialStatusRule: row.socialStatusRule, approval: row.approval,
  };
}

/** The version of a programme in effect at a moment (the newest whose effective date has come), or undefined. */
export async function versionInEffect(db: Knex | Knex.Transaction, code: string, at: Date): Promise<ProgrammeVersionRow | undefined> {
  return db('programmeVersions').where({ programme: code }).where('effectiveFrom', '<=', at)
    .orderBy('effectiveFrom', 'desc').first<ProgrammeVersionRow | undefined>();
}

/**
 * Copies the version in effect now onto the programmes row (names and rules that lists, the catalogue and the inbox
 * show), when the row still shows an older one. Called when an administrator saves and whenever a journey starts, so
 * a version dated ahead shows from its first use. A caller that has just read the version in effect passes it.
 */
export async function refreshCurrentVersion(
  db: Knex | Knex.Transaction, code: string, now = new Date(), known?: ProgrammeVersionRow,
): Promise<void> {
  const inEffect = known ?? await versionInEffect(db, code, now);
  if (!inEffect) return;
  await db('programmes').where({ code }).where((q) => q.whereNull('currentVersion').orWhere('currentVersion', '<', inEffect.version)).update({
    currentVersion: inEffect.version, nameLv: inEffect.nameLv, nameEn: inEffect.nameEn, minAge: inEffect.minAge, maxAge: inEffect.maxAge,
    funding: inEffect.funding, balanceCents: inEffect.balanceCents, copayPercent: inEffect.copayPercent,
    socialStatusRule: inEffect.socialStatusRule, approval: inEffect.approval,
  });
}

/**
 * The version in effect at a moment with the version the programmes row shows (`shownVersion`), in one query: a
 * journey's start then writes to the programmes row only on the first start after a new version took effect.
 */
export async function versionInEffectAndShown(db: Knex, code: string, at: Date): Promise<(ProgrammeVersionRow & { shownVersion: number | null }) | undefined> {
  return db('programmeVersions').join('programmes', 'programmes.code', 'programmeVersions.programme')
    .where('programmeVersions.programme', code).where('programmeVersions.effectiveFrom', '<=', at)
    .orderBy('programmeVersions.effectiveFrom', 'desc')
    .first<(ProgrammeVersionRow & { shownVersion: number | null }) | undefined>('programmeVersions.*', 'programmes.currentVersion as shownVersion');
}

/** A programme_windows row: when applications are taken and how many (null cap: no limit). */
export interface ProgrammeWindowRow {
  id: string; programme: string; opensAt: Date; closesAt: Date | null; cap: number | null; overCap: 'waitlist' | 'refuse' | null;
  applicationsReceived: number; createdAt: Date;
}

/**
 * The window an application made now is judged by: the one open now; else the next to open (the learner is early);
 * else the last that closed (the learner is late). Undefined when the programme has no windows at all.
 */
export async function windowFor(db: Knex | Knex.Transaction, code: string, now: Date): Promise<ProgrammeWindowRow | undefined> {
  const windows = await db('programmeWindows').where({ programme: code }).orderBy('opensAt', 'asc') as ProgrammeWindowRow[];
  const open = windows.filter((w) => w.opensAt <= now && (w.closesAt === null || now < w.closesAt));
  if (open.length > 0) return open[open.length - 1];
  return windows.find((w) => w.opensAt > now) ?? windows[windows.length - 1];
}
