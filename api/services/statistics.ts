import type { Knex } from 'knex';
import { DROPOUT_REASONS, SURVEY_ASPECTS, type DropoutReason, type SurveyAspect } from '../../domain/applications';
import { PUBLIC_COUNT_MINIMUM, suppressedCells, type CellRelation } from '../../domain/disclosure';
import { MIN_SURVEY_RESPONDENTS, shownScopes } from '../../domain/small-groups';

// The agency's statistics, counted from the read model (cases, case events, applications, survey answers), never
// from Temporal. A learner's municipality is the declared-address municipality the Population Register gave for the
// case (audited with it), else the coordinator's for an assisted registration, as the SOPA audit export uses it.

/** The counts reported per programme (seed 001: applications, learning now, completed, dropped out; and the rest). */
export const COUNT_METRICS = ['registrations', 'approvals', 'applications', 'waitlisted', 'enrolled', 'studying', 'completed', 'droppedOut'] as const;
/** One count. */
export type CountMetric = (typeof COUNT_METRICS)[number];
/** Money held for open applications and spent on finished ones (integer cents). */
export const MONEY_METRICS = ['earmarkedCents', 'spentCents'] as const;
/** One sum of money. */
export type MoneyMetric = (typeof MONEY_METRICS)[number];

/**
 * The events counted by month (Riga time), each in the month it happened: a registration, an approval, an
 * application, an enrolment, a completion, a dropout, money spent. States of the moment (wait-listed, studying,
 * earmarked) belong to no month and are in the other tables.
 */
export const MONTHLY_METRICS = ['registrations', 'approvals', 'applications', 'enrolled', 'completed', 'droppedOut', 'spentCents'] as const;

/** How a table's rows are split. */
export type Dimension = 'programme' | 'month' | 'municipality' | 'provider';

/** One row of figures: its key, counts and money, and how many applications hold each sum (for suppression). */
export interface FigureRow {
  key: string;
  label: string;
  counts: Record<CountMetric, number>;
  money: Record<MoneyMetric, number>;
  moneyHolders: Record<MoneyMetric, number>;
}

const emptyRow = (key: string, label: string): FigureRow => ({
  key, label,
  counts: Object.fromEntries(COUNT_METRICS.map((m) => [m, 0])) as Record<CountMetric, number>,
  money: { earmarkedCents: 0, spentCents: 0 }, moneyHolders: { earmarkedCents: 0, spentCents: 0 },
});

// The month of an instant, Riga time.
const month = (column: string) => `to_char(${column} AT TIME ZONE 'Europe/Riga', 'YYYY-MM')`;

// The key of a row of a case (c) or of an application (ap), by dimension; the instant is the event's own.
function caseKey(dimension: Dimension, at: string): string | null {
  switch (dimension) {
    case 'programme': return 'c.programme';
    case 'month': return month(at);
    case 'municipality': return "coalesce(c.municipality, '')";
    case 'provider': return null;
  }
}
function applicationKey(dimension: Dimension, at: string): string {
  switch (dimension) {
    case 'programme': return 'ap.programme';
    case 'month': return month(at);
    case 'municipality': return "coalesce(ap.municipality, '')";
    case 'provider': return 'ap.provider_id::text';
  }
}

/**
 * The figures split by one dimension, for one programme or (null) the whole platform. Each count is of rows of the
 * read model: registrations are journeys (cases) started; approvals, cases whose account was approved; applications,
 * applications made (each attempt); waitlisted and studying, applications in that state now; enrolled, applications
 * ever enrolled; completed and droppedOut, applications that ended so. Money: earmarked now, spent in all.
 */
export async function figuresBy(db: Knex, dimension: Dimension, programme: string | null): Promise<FigureRow[]> {
  const parts: string[] = [];
  const caseMetric = (metric: string, at: string, where: string) => {
    const key = caseKey(dimension, at);
    if (key) parts.push(`SELECT '${metric}' AS metric, ${key} AS k, 0::bigint AS cents FROM c WHERE ${where}`);
  };
  const appMetric = (metric: string, at: string, where: string, cents = '0') => {
    parts.push(`SELECT '${metric}' AS metric, ${applicationKey(dimension, at)} AS k, (${cents})::bigint AS cents FROM ap WHERE ${where}`);
  };
  caseMetric('registrations', 'c.created_at', 'true');
  caseMetric('approvals', 'c.approved_at', 'c.approved_at IS NOT NULL');
  appMetric('applications', 'ap.created_at', 'true');
  appMetric('waitlisted', 'ap.created_at', "ap.state = 'waitlisted'");
  appMetric('enrolled', 'ap.enrolled_at', 'ap.enrolled_at IS NOT NULL');
  appMetric('studying', 'ap.enrolled_at', "ap.state = 'enrolled'");
  appMetric('completed', 'ap.ended_at', "ap.state = 'completed'");
  appMetric('droppedOut', 'ap.ended_at', "ap.state = 'dropped_out'");
  appMetric('earmarkedCents', 'ap.created_at', 'ap.earmarked_cents > 0', 'ap.earmarked_cents');
  appMetric('spentCents', 'coalesce(ap.ended_at, ap.updated_at)', 'ap.spent_cents > 0', 'ap.spent_cents');
  const { rows } = await db.raw<{ rows: { metric: string; k: string | null; n: number; cents: string }[] }>(`
    WITH c AS (
      SELECT cases.id, cases.programme, cases.created_at,
             coalesce(
               (SELECT a.municipality FROM audit_log a WHERE a.case_id = cases.id AND a.action = 'population-register.get-person'
                  AND a.municipality IS NOT NULL ORDER BY a.at DESC LIMIT 1),
               (SELECT e.details->>'municipality' FROM case_events e WHERE e.case_id = cases.id AND e.details->>'municipality' IS NOT NULL
                  ORDER BY e.occurred_at LIMIT 1)) AS municipality,
             (SELECT min(e.occurred_at) FROM case_events e WHERE e.case_id = cases.id AND e.kind = 'imk_approved') AS approved_at
        FROM cases WHERE (?::text IS NULL OR cases.programme = ?::text)),
    ap AS (
      SELECT applications.*, c.programme, c.municipality, offers.provider_id
        FROM applications JOIN c ON c.id = applications.case_id JOIN offers ON offers.id = applications.offer_id)
    SELECT metric, k, count(*)::int AS n, coalesce(sum(cents), 0)::text AS cents
      FROM (${parts.join('\n      UNION ALL ')}) f
     GROUP BY metric, k`, [programme, programme]);

  const labels = dimension === 'provider' ? await providerNames(db) : dimension === 'programme' ? await programmeNames(db) : new Map<string, string>();
  const byKey = new Map<string, FigureRow>();
  for (const r of rows) {
    const key = r.k ?? '';
    const row = byKey.get(key) ?? emptyRow(key, labels.get(key) ?? key);
    byKey.set(key, row);
    if ((MONEY_METRICS as readonly string[]).includes(r.metric)) {
      row.money[r.metric as MoneyMetric] = Number(r.cents);
      row.moneyHolders[r.metric as MoneyMetric] = r.n;
    } else {
      row.counts[r.metric as CountMetric] = r.n;
    }
  }
  // Every programme has a row on the platform's table, with or without figures yet.
  if (dimension === 'programme' && programme === null) for (const [code, name] of labels) if (!byKey.has(code)) byKey.set(code, emptyRow(code, name));
  return [...byKey.values()].sort((a, b) => a.key.localeCompare(b.key));
}

/** The sum of rows (a table's total). */
export function totalOf(rows: readonly FigureRow[], label: string): FigureRow {
  const total = emptyRow('total', label);
  for (const row of rows) {
    for (const m of COUNT_METRICS) total.counts[m] += row.counts[m];
    for (const m of MONEY_METRICS) { total.money[m] += row.money[m]; total.moneyHolders[m] += row.moneyHolders[m]; }
  }
  return total;
}

async function providerNames(db: Knex): Promise<Map<string, string>> {
  const rows = await db('providers').select<{ id: string; name: string }[]>('id', 'name');
  return new Map(rows.map((r) => [r.id, r.name]));
}

async function programmeNames(db: Knex): Promise<Map<string, string>> {
  const rows = await db('programmes').orderBy('code').select<{ code: string }[]>('code');
  return new Map(rows.map((r) => [r.code, r.code]));
}

/** The programmes (code, names), for the choice of page and the public table. */
export async function programmeList(db: Knex): Promise<{ code: string; nameLv: string; nameEn: string }[]> {
  return db('programmes').orderBy('code').select('code', 'nameLv', 'nameEn');
}

// ---------------------------------------------------------------------------------------------------------------
// Public figures: suppressed

/** A published cell: the number, or null where it is suppressed. */
export type PublicCell = number | null;

/** One programme's (or the total's) published figures. */
export interface PublicRow { programme: string; counts: Record<CountMetric, PublicCell>; money: Record<MoneyMetric, PublicCell> }

// The sums a reader of one row can form: each part published here is contained in its parent; what the row does not
// publish (applications refused, declined, withdrawn, ...) makes these relations inexact.
const ROW_RELATIONS: readonly [parent: CountMetric, children: CountMetric[]][] = [
  ['registrations', ['approvals']],
  ['applications', ['waitlisted', 'enrolled']],
  ['enrolled', ['studying', 'completed', 'droppedOut']],
];

/**
 * The programmes' figures for the public, each count from 1 to 9 suppressed, and more cells where a total or a
 * containing count would give a hidden one away (domain/disclosure.ts). A money cell is treated as the count of the
 * applications behind it: hidden when that count is, so a sum never tells how few people spent it, and hidden with the
 * counts it pays for.
 */
export function publicTable(rows: readonly FigureRow[], total: FigureRow): PublicRow[] {
  const all = [...rows, total];
  const values = new Map<string, number>();
  const cell = (row: FigureRow, metric: string) => `${row.key}\u0000${metric}`;
  for (const row of all) {
    for (const m of COUNT_METRICS) values.set(cell(row, m), row.counts[m]);
    for (const m of MONEY_METRICS) values.set(cell(row, m), row.moneyHolders[m]);
  }
  const relations: CellRelation[] = [];
  for (const m of [...COUNT_METRICS, ...MONEY_METRICS]) {
    relations.push({ parent: cell(total, m), children: rows.map((r) => cell(r, m)), exhaustive: true });
  }
  for (const row of all) {
    for (const [parent, children] of ROW_RELATIONS) {
      relations.push({ parent: cell(row, parent), children: children.map((c) => cell(row, c)), exhaustive: false });
    }
  }
  // Prices are alike (cost per learner from one formula), so money divided by a price counts people: money spent is
  // hidden with the completed or dropped-out count it pays for, money earmarked with the studying count.
  const hiddenWith = new Map<string, string[]>();
  for (const row of all) {
    hiddenWith.set(cell(row, 'spentCents'), [cell(row, 'completed'), cell(row, 'droppedOut')]);
    hiddenWith.set(cell(row, 'earmarkedCents'), [cell(row, 'studying')]);
  }
  const hidden = suppressedCells(values, relations, PUBLIC_COUNT_MINIMUM, hiddenWith);
  return all.map((row) => ({
    programme: row.key,
    counts: Object.fromEntries(COUNT_METRICS.map((m) => [m, hidden.has(cell(row, m)) ? null : row.counts[m]])) as Record<CountMetric, PublicCell>,
    money: Object.fromEntries(MONEY_METRICS.map((m) => [m, hidden.has(cell(row, m)) ? null : row.money[m]])) as Record<MoneyMetric, PublicCell>,
  }));
}

// ---------------------------------------------------------------------------------------------------------------
// Surveys across providers

/** One provider's (or the total's) survey results; results of too few respondents are null (small-groups.ts). */
export interface SurveyRow {
  key: string;
  label: string;
  completers: number;
  completionAnswers: number;
  dropouts: number;
  dropoutAnswers: number;
  /** Percent of completers and dropouts who answered (rounded), null when nobody finished. */
  responseRate: number | null;
  /** Mean stars per aspect (two decimals), null when hidden or nobody rated. */
  means: Record<SurveyAspect, number | null> | null;
  /** Percent of dropout respondents who gave each reason (several allowed), null when hidden. */
  reasonShares: Record<DropoutReason, number> | null;
}

/**
 * Survey results per provider and in total, for one programme or the whole platform: response rate, mean stars per
 * aspect and dropout reasons' shares. Ratings and reasons are shown only from MIN_SURVEY_RESPONDENTS respondents on,
 * with the same complementary rule as the provider's own page (the total minus the shown providers must be none or
 * enough).
 */
export async function surveyResults(db: Knex, programme: string | null, totalLabel: string): Promise<SurveyRow[]> {
  const aspectSums = SURVEY_ASPECTS.map((a) => `coalesce(sum((s.ratings->>'${a}')::numeric) FILTER (WHERE s.kind = 'completion'), 0)::text AS "sum_${a}"`).join(', ');
  const { rows } = await db.raw<{ rows: Record<string, string | number>[] }>(`
    SELECT o.provider_id::text AS k,
           count(*) FILTER (WHERE ap.state = 'completed')::int AS completers,
           count(*) FILTER (WHERE ap.state = 'dropped_out')::int AS dropouts,
           count(s.case_id) FILTER (WHERE s.kind = 'completion')::int AS "completionAnswers",
           count(s.case_id) FILTER (WHERE s.kind = 'dropout')::int AS "dropoutAnswers",
           ${aspectSums}
      FROM applications ap JOIN cases c ON c.id = ap.case_id JOIN offers o ON o.id = ap.offer_id
      LEFT JOIN survey_answers s ON s.application_id = ap.id
     WHERE ap.state IN ('completed', 'dropped_out') AND (?::text IS NULL OR c.programme = ?::text)
     GROUP BY o.provider_id`, [programme, programme]);
  const reasons = await db.raw<{ rows: { k: string; reason: string; n: number }[] }>(`
    SELECT o.provider_id::text AS k, r.reason, count(*)::int AS n
      FROM survey_answers s JOIN applications ap ON ap.id = s.application_id JOIN cases c ON c.id = ap.case_id
      JOIN offers o ON o.id = ap.offer_id, jsonb_array_elements_text(s.reasons) AS r(reason)
     WHERE s.kind = 'dropout' AND (?::text IS NULL OR c.programme = ?::text)
     GROUP BY o.provider_id, r.reason`, [programme, programme]);
  const names = await providerNames(db);

  interface Raw { key: string; label: string; completers: number; dropouts: number; completionAnswers: number; dropoutAnswers: number; sums: Record<string, number>; reasons: Record<string, number> }
  const raw: Raw[] = rows.map((r) => ({
    // A raw query's rows keep the names the SQL gives them (the snake_case mapping of lib/db.ts is not applied to them).
    key: String(r.k), label: names.get(String(r.k)) ?? String(r.k),
    completers: Number(r.completers), dropouts: Number(r.dropouts),
    completionAnswers: Number(r.completionAnswers), dropoutAnswers: Number(r.dropoutAnswers),
    sums: Object.fromEntries(SURVEY_ASPECTS.map((a) => [a, Number(r[`sum_${a}`] ?? 0)])),
    reasons: {},
  }));
  for (const r of reasons.rows) {
    const row = raw.find((x) => x.key === r.k);
    if (row) row.reasons[r.reason] = r.n;
  }
  raw.sort((a, b) => a.label.localeCompare(b.label));
  const total: Raw = { key: 'total', label: totalLabel, completers: 0, dropouts: 0, completionAnswers: 0, dropoutAnswers: 0, sums: {}, reasons: {} };
  for (const r of raw) {
    total.completers += r.completers; total.dropouts += r.dropouts;
    total.completionAnswers += r.completionAnswers; total.dropoutAnswers += r.dropoutAnswers;
    for (const [k, v] of Object.entries(r.sums)) total.sums[k] = (total.sums[k] ?? 0) + v;
    for (const [k, v] of Object.entries(r.reasons)) total.reasons[k] = (total.reasons[k] ?? 0) + v;
  }
  const all = [...raw, total];
  const scopes = (answers: (r: Raw) => number) => shownScopes(all.map((r) => ({ key: r.key, parent: r === total ? null : 'total', respondents: answers(r) })));
  const ratingsShown = scopes((r) => r.completionAnswers);
  const reasonsShown = scopes((r) => r.dropoutAnswers);
  return all.map((r) => {
    const finished = r.completers + r.dropouts;
    return {
      key: r.key, label: r.label, completers: r.completers, completionAnswers: r.completionAnswers, dropouts: r.dropouts, dropoutAnswers: r.dropoutAnswers,
      responseRate: finished === 0 ? null : Math.round((100 * (r.completionAnswers + r.dropoutAnswers)) / finished),
      means: ratingsShown.has(r.key) && r.completionAnswers > 0
        ? Object.fromEntries(SURVEY_ASPECTS.map((a) => [a, Math.round((100 * (r.sums[a] ?? 0)) / r.completionAnswers) / 100])) as Record<SurveyAspect, number>
        : null,
      reasonShares: reasonsShown.has(r.key) && r.dropoutAnswers > 0
        ? Object.fromEntries(DROPOUT_REASONS.map((reason) => [reason, Math.round((100 * (r.reasons[reason] ?? 0)) / r.dropoutAnswers)])) as Record<DropoutReason, number>
        : null,
    };
  });
}

/** The survey rule's threshold, for the page's explanation. */
export const SURVEY_MINIMUM = MIN_SURVEY_RESPONDENTS;
