import type { Knex } from 'knex';
import { yearlyOccurrences } from '../../domain/holidays';
import type { Session } from '../../lib/sessions';
import { translate } from '../../web/render';
import { HttpError, type WordedProblem } from '../errors';
import { auditUserAction } from './audit';

// The agency's reference data next to its calls (issue 15, item 3): public holidays, which every working-day
// deadline skips (lib/holidays.ts), and the cost coefficients of Cabinet Regulation No. 655, annex 3, which an offer's
// cost is computed with when it is submitted. Every change is audited with before/after and the reason.

/** A public holiday row: statutory (by law, seeded), one-off (declared by the government) or yearly (from `day` on). */
export interface HolidayView { day: string; kind: 'statutory' | 'one_off' | 'yearly'; nameLv: string; nameEn: string; addedBy: string | null }

/** A holiday as it falls in one year (a yearly one on its day of that year). */
export interface HolidayInYear extends HolidayView { date: string }

/** A cost coefficient; `coefficient` as decimal text (1.28), stored in thousandths. */
export interface CoefficientView { code: string; nameLv: string; nameEn: string; coefficient: string; sample: boolean }

const HOLIDAY_COLUMNS = ['kind', 'nameLv', 'nameEn', 'addedBy'] as const;

/** The holidays that fall in a year, in date order, each with the row it comes from. */
export async function holidaysOfYear(db: Knex, year: number): Promise<HolidayInYear[]> {
  const from = `${year}-01-01`;
  const to = `${year}-12-31`;
  const rows = await db('publicHolidays').where((q) => q.whereBetween('day', [from, to]).orWhere((y) => y.where({ kind: 'yearly' }).where('day', '<=', to)))
    .select<HolidayView[]>(db.raw("to_char(day, 'YYYY-MM-DD') AS day"), ...HOLIDAY_COLUMNS);
  const list = rows.flatMap((row) => (row.kind === 'yearly' ? yearlyOccurrences(row.day, from, to) : [row.day]).map((date) => ({ ...row, date })));
  return list.sort((a, b) => a.date.localeCompare(b.date));
}

/** Adds a one-off or yearly holiday (audited); a day that already has one is a 409 naming `day`. */
export async function addHoliday(db: Knex, session: Session, input: { day: string; kind: 'one_off' | 'yearly'; nameLv: string; nameEn: string }, reason: string): Promise<HolidayView> {
  const inserted = await db('publicHolidays').insert({ ...input, addedBy: session.name }).onConflict('day').ignore().returning('day');
  if (inserted.length === 0) throw refusal(409, 'holiday_exists', 'day');
  await auditUserAction(db, session, { action: 'holiday.added', purpose: 'An administrator added a public holiday', result: { before: null, after: input, reason } });
  return { ...input, addedBy: session.name };
}

/** Removes a one-off or yearly holiday (audited); statutory ones follow the law and stay (409). */
export async function removeHoliday(db: Knex, session: Session, day: string, reason: string): Promise<void> {
  const row = await db('publicHolidays').where({ day }).first<HolidayView | undefined>(db.raw("to_char(day, 'YYYY-MM-DD') AS day"), ...HOLIDAY_COLUMNS);
  if (!row) throw new HttpError(404, 'not_found', 'There is no holiday on this day');
  if (row.kind === 'statutory') throw refusal(409, 'holiday_statutory', 'day');
  await db('publicHolidays').where({ day }).delete();
  await auditUserAction(db, session, { action: 'holiday.removed', purpose: 'An administrator removed a public holiday', result: { before: row, after: null, reason } });
}

/** Every cost coefficient, by code. */
export async function listCoefficients(db: Knex): Promise<CoefficientView[]> {
  const rows = await db('costCoefficients').orderBy('code').select<{ code: string; nameLv: string; nameEn: string; coefficientThousandths: number; sample: boolean }[]>();
  return rows.map((r) => ({ code: r.code, nameLv: r.nameLv, nameEn: r.nameEn, coefficient: coefficientText(r.coefficientThousandths), sample: r.sample }));
}

/** Thousandths as the decimal people write, with at least two decimals: 1280 → "1.28", 1285 → "1.285". */
export function coefficientText(thousandths: number): string {
  const text = `${Math.floor(thousandths / 1000)}.${String(thousandths % 1000).padStart(3, '0')}`;
  return text.endsWith('0') ? text.slice(0, -1) : text;
}

/** Decimal text (1.28 or 1,28; at most three decimals) as thousandths, without binary floats; null when it is not one. */
export function parseCoefficient(text: string): number | null {
  const m = /^(\d{1,2})(?:[.,](\d{1,3}))?$/.exec(text.trim());
  if (!m) return null;
  const thousandths = Number(m[1]) * 1000 + Number((m[2] ?? '').padEnd(3, '0'));
  return thousandths > 0 ? thousandths : null;
}

/**
 * Creates or changes a coefficient (audited). Offers already submitted keep the cost computed then; drafts are
 * computed with the new value when they are submitted.
 */
export async function saveCoefficient(db: Knex, session: Session, input: { code: string; nameLv: string; nameEn: string; thousandths: number; sample: boolean }, reason: string): Promise<CoefficientView> {
  const before = (await listCoefficients(db)).find((c) => c.code === input.code) ?? null;
  await db('costCoefficients').insert({ code: input.code, nameLv: input.nameLv, nameEn: input.nameEn, coefficientThousandths: input.thousandths, sample: input.sample })
    .onConflict('code').merge();
  const after = (await listCoefficients(db)).find((c) => c.code === input.code)!;
  if (JSON.stringify(before) !== JSON.stringify(after)) {
    await auditUserAction(db, session, { action: before ? 'cost_coefficient.changed' : 'cost_coefficient.added', purpose: 'An administrator changed the cost coefficients', result: { code: input.code, before, after, reason } });
  }
  return after;
}

/** A refusal naming the field and the rule, with the words of both languages (calls.rule.<rule>). */
function refusal(status: number, rule: string, field: string): HttpError {
  const key = `calls.rule.${rule}`;
  const problem: WordedProblem = { field, rule, message: translate('en', key), words: { lv: translate('lv', key), en: translate('en', key) } };
  return new HttpError(status, rule, `${field}: ${problem.message}`, [problem]);
}
