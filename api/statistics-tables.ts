import { DROPOUT_REASONS, SURVEY_ASPECTS } from '../domain/applications';
import { formatEuro } from '../domain/money';
import { barChart, type Bar, type BarChart } from '../web/charts';
import { translate, type PageLanguage } from '../web/render';
import {
  COUNT_METRICS, MONEY_METRICS, MONTHLY_METRICS, type FigureRow, type PublicRow, type SurveyRow,
} from './services/statistics';

// The statistics pages' tables, each built once and then shown (with its chart) and downloaded as CSV from the same
// cells, so the file always says what the page says.

/** One table: its caption, column headings, rows of cell texts, and the chart drawn from one of its columns. */
export interface StatTable {
  id: string;
  caption: string;
  columns: { label: string; numeric: boolean }[];
  rows: { header: string; cells: string[] }[];
  chart: BarChart | null;
}

/** The tables an administrator's statistics page has (and may download). */
export const ADMIN_TABLES = ['programmes', 'months', 'municipalities', 'providers', 'surveys', 'reasons'] as const;
/** One of them. */
export type AdminTable = (typeof ADMIN_TABLES)[number];

/** What a suppressed public cell shows (and the open data's CSV writes). */
export const SUPPRESSED = '<10';

const t = (lang: PageLanguage, key: string, vars: Record<string, unknown> = {}) => translate(lang, `statistics.${key}`, vars);
const count = (n: number) => String(n);
const percent = (lang: PageLanguage, n: number) => (lang === 'lv' ? `${n} %` : `${n}%`);
const decimal = (lang: PageLanguage, n: number) => (lang === 'lv' ? n.toFixed(2).replace('.', ',') : n.toFixed(2));

// A chart of one column: a bar per row (the total row left out, it would dwarf the others).
function chartOf(lang: PageLanguage, id: string, table: Omit<StatTable, 'chart'>, column: number, values: (number | null)[]): BarChart {
  const heading = table.columns[column]!.label;
  const bars: Bar[] = table.rows.map((row, i) => ({ label: row.header, value: values[i] ?? null, text: row.cells[column - 1] ?? '' }));
  return barChart(`chart-${id}`, t(lang, 'chart.title', { what: heading, table: table.caption }), bars);
}

function figureColumns(lang: PageLanguage, first: string, metrics: readonly string[]) {
  return [{ label: first, numeric: false }, ...metrics.map((m) => ({ label: t(lang, `metric.${m}`), numeric: true }))];
}

function figureCells(lang: PageLanguage, row: FigureRow, metrics: readonly string[]): string[] {
  return metrics.map((m) => ((MONEY_METRICS as readonly string[]).includes(m)
    ? formatEuro(row.money[m as (typeof MONEY_METRICS)[number]], lang)
    : count(row.counts[m as (typeof COUNT_METRICS)[number]])));
}

const ALL_METRICS = [...COUNT_METRICS, ...MONEY_METRICS] as const;
const PROVIDER_METRICS = ALL_METRICS.filter((m) => m !== 'registrations' && m !== 'approvals');

/**
 * A table of figures split by one dimension, with its total row; the chart draws `charted` (a count) per row.
 * `label` names a row's key for people (a month, a municipality, a provider).
 */
export function figureTable(lang: PageLanguage, id: AdminTable, rows: readonly FigureRow[], total: FigureRow | null, charted: (typeof COUNT_METRICS)[number]): StatTable {
  const metrics: readonly string[] = id === 'months' ? MONTHLY_METRICS : id === 'providers' ? PROVIDER_METRICS : ALL_METRICS;
  const first = t(lang, `dimension.${id}`);
  const label = (row: FigureRow) => (row.key === '' ? t(lang, 'unknownMunicipality') : row.label);
  const table = {
    id, caption: t(lang, `table.${id}`),
    columns: figureColumns(lang, first, metrics),
    rows: rows.map((row) => ({ header: label(row), cells: figureCells(lang, row, metrics) })),
  };
  const chart = chartOf(lang, id, table, metrics.indexOf(charted) + 1, rows.map((r) => r.counts[charted]));
  if (total) table.rows.push({ header: t(lang, 'total'), cells: figureCells(lang, total, metrics) });
  return { ...table, chart };
}

/** Survey results per provider and in total: answers, response rate, mean stars per aspect (hidden: too few). */
export function surveyTable(lang: PageLanguage, rows: readonly SurveyRow[]): StatTable {
  const hiddenText = t(lang, 'tooFewRespondents');
  const table = {
    id: 'surveys', caption: t(lang, 'table.surveys'),
    columns: [
      { label: t(lang, 'dimension.providers'), numeric: false },
      ...['completed', 'completionAnswers', 'droppedOut', 'dropoutAnswers', 'responseRate'].map((c) => ({ label: t(lang, `survey.${c}`), numeric: true })),
      ...SURVEY_ASPECTS.map((a) => ({ label: t(lang, 'survey.mean', { aspect: translate(lang, `providerSurveys.aspect.${a}`) }), numeric: true })),
    ],
    rows: rows.map((r) => ({
      header: r.key === 'total' ? t(lang, 'total') : r.label,
      cells: [
        count(r.completers), count(r.completionAnswers), count(r.dropouts), count(r.dropoutAnswers),
        r.responseRate === null ? '—' : percent(lang, r.responseRate),
        ...SURVEY_ASPECTS.map((a) => (r.means === null ? (r.completionAnswers > 0 ? hiddenText : '—') : r.means[a] === null ? '—' : decimal(lang, r.means[a]!))),
      ],
    })),
  };
  const providers = rows.filter((r) => r.key !== 'total');
  const chart = chartOf(lang, 'surveys', { ...table, rows: table.rows.slice(0, providers.length) }, 5, providers.map((r) => r.responseRate));
  return { ...table, chart };
}

/** The dropout reasons' shares over all providers in scope (hidden when too few dropouts answered). */
export function reasonTable(lang: PageLanguage, total: SurveyRow): StatTable {
  const shares = total.reasonShares;
  const table = {
    id: 'reasons', caption: t(lang, 'table.reasons'),
    columns: [{ label: t(lang, 'survey.reason'), numeric: false }, { label: t(lang, 'survey.share'), numeric: true }],
    rows: shares === null ? [] : DROPOUT_REASONS.map((reason) => ({ header: translate(lang, `providerSurveys.reason.${reason}`), cells: [percent(lang, shares[reason])] })),
  };
  return { ...table, chart: shares === null ? null : chartOf(lang, 'reasons', table, 1, DROPOUT_REASONS.map((r) => shares[r])) };
}

/** The public table: the programmes' suppressed figures, "<10" in each hidden cell. */
export function publicFigureTable(lang: PageLanguage, rows: readonly PublicRow[], names: ReadonlyMap<string, string>): StatTable {
  const cells = (row: PublicRow) => ALL_METRICS.map((m) => {
    const value = (MONEY_METRICS as readonly string[]).includes(m) ? row.money[m as (typeof MONEY_METRICS)[number]] : row.counts[m as (typeof COUNT_METRICS)[number]];
    if (value === null) return SUPPRESSED;
    return (MONEY_METRICS as readonly string[]).includes(m) ? formatEuro(value, lang) : count(value);
  });
  const table = {
    id: 'open-data', caption: t(lang, 'table.openData'),
    columns: figureColumns(lang, t(lang, 'dimension.programmes'), ALL_METRICS),
    rows: rows.map((row) => ({ header: row.programme === 'total' ? t(lang, 'total') : names.get(row.programme) ?? row.programme, cells: cells(row) })),
  };
  const programmes = rows.filter((r) => r.programme !== 'total');
  const chart = chartOf(lang, 'open-data', { ...table, rows: table.rows.slice(0, programmes.length) }, ALL_METRICS.indexOf('applications') + 1, programmes.map((r) => r.counts.applications));
  return { ...table, chart };
}

/** A table's CSV rows: the heading row, then the cells exactly as the page shows them. */
export function tableCsv(table: StatTable): { header: string[]; rows: string[][] } {
  return { header: table.columns.map((c) => c.label), rows: table.rows.map((r) => [r.header, ...r.cells]) };
}
