import { randomUUID } from 'node:crypto';
import test from 'ava';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { SURVEY_ASPECTS } from '../../domain/applications';
import { formatEuro } from '../../domain/money';
import { insertOffer, insertProvider } from '../helpers/catalogue';
import { httpClient } from '../helpers/http';
import { startTestStack, type TestStack } from '../helpers/stack';

// The statistics pages and the open data, over HTTP on the real stack, from rows written straight into the read model
// (journeys in three programmes, two months and a month's edge in Riga time, three municipalities, three providers,
// applications in every state, survey answers). Each figure is checked against what the test itself inserted; the
// public figures are checked for suppression: no count from 1 to 9 shown, and none recoverable by subtraction.

let stack: TestStack;
let admin: string;
const call = httpClient(() => stack.appUrl);

type State = 'applied' | 'waitlisted' | 'enrolled' | 'completed' | 'dropped_out';
interface Journey {
  programme: string; createdAt: string; municipality: string; viaCoordinator: boolean; approvedAt: string | null;
  app: { provider: 'Alfa' | 'Beta' | 'Gamma'; state: State; createdAt: string; enrolledAt: string | null; endedAt: string | null; earmarked: number; spent: number } | null;
  survey: { kind: 'completion'; ratings: Record<string, number> } | { kind: 'dropout'; reasons: string[] } | null;
}

// 2026-10-31T22:30Z is already 1 November in Riga: it must count in November.
const CREATED = ['2026-10-15T10:00:00Z', '2026-11-10T10:00:00Z', '2026-10-31T22:30:00Z'];
const later = (iso: string, days: number) => new Date(Date.parse(iso) + days * 86_400_000).toISOString();
const ENDED = '2026-12-02T10:00:00Z';

function journeys(): Journey[] {
  const list: Journey[] = [];
  // IMK: 40 journeys, 36 approved, one application each: Alfa 10 studying, 8 completed (7 rated), 6 dropped out (6
  // gave reasons), 2 wait-listed; Beta 2 completed (2 rated), 2 applied; Gamma 6 completed (6 rated).
  const imkApps: [NonNullable<Journey['app']>['provider'], State, number][] = [
    ['Alfa', 'enrolled', 10], ['Alfa', 'completed', 8], ['Alfa', 'dropped_out', 6], ['Alfa', 'waitlisted', 2],
    ['Beta', 'completed', 2], ['Beta', 'applied', 2], ['Gamma', 'completed', 6],
  ];
  const plan = imkApps.flatMap(([provider, state, n]) => Array.from({ length: n }, (_, i) => ({ provider, state, i })));
  for (let i = 0; i < 40; i += 1) {
    const createdAt = CREATED[i % 3]!;
    const approvedAt = i < 36 ? later(createdAt, 1) : null;
    const p = approvedAt ? plan[i]! : null;
    const app = p ? appOf(p.provider, p.state, approvedAt!) : null;
    let survey: Journey['survey'] = null;
    if (p?.state === 'completed' && !(p.provider === 'Alfa' && p.i === 7)) {
      survey = { kind: 'completion', ratings: Object.fromEntries(SURVEY_ASPECTS.map((a, k) => [a, ((p.i + k) % 5) + 1])) };
    }
    if (p?.state === 'dropped_out') survey = { kind: 'dropout', reasons: p.i < 3 ? ['no_time', 'hard_to_learn'] : ['no_time'] };
    list.push({
      programme: 'IMK', createdAt, municipality: i < 25 ? 'Rīga' : i < 37 ? 'Daugavpils' : 'Ludza', viaCoordinator: i % 2 === 0,
      approvedAt, app, survey,
    });
  }
  // DPP: 14 journeys in Riga, 12 approved, 11 completed at Alfa (no survey). MN: 2 in Ludza, 1 approved, no application.
  for (let i = 0; i < 14; i += 1) {
    const approvedAt = i < 12 ? later(CREATED[1]!, 1) : null;
    list.push({
      programme: 'DPP', createdAt: CREATED[1]!, municipality: 'Rīga', viaCoordinator: false, approvedAt,
      app: i < 11 ? appOf('Alfa', 'completed', approvedAt!) : null, survey: null,
    });
  }
  for (let i = 0; i < 2; i += 1) {
    list.push({ programme: 'MN', createdAt: CREATED[0]!, municipality: 'Ludza', viaCoordinator: true, approvedAt: i === 0 ? later(CREATED[0]!, 1) : null, app: null, survey: null });
  }
  return list;
}

function appOf(provider: 'Alfa' | 'Beta' | 'Gamma', state: State, approvedAt: string): NonNullable<Journey['app']> {
  const enrolled = ['enrolled', 'completed', 'dropped_out'].includes(state);
  const ended = state === 'completed' || state === 'dropped_out';
  return {
    provider, state, createdAt: later(approvedAt, 1), enrolledAt: enrolled ? later(approvedAt, 2) : null, endedAt: ended ? ENDED : null,
    earmarked: state === 'applied' || state === 'enrolled' ? 32_000 : 0, spent: state === 'completed' ? 32_000 : state === 'dropped_out' ? 16_000 : 0,
  };
}

const JOURNEYS = journeys();

test.before(async () => {
  stack = await startTestStack();
  admin = await stack.adminToken();
  const db = stack.db;
  const offers: Record<string, { offerId: string; groupId: string }> = {};
  for (const provider of ['Alfa', 'Beta', 'Gamma']) {
    const providerId = await insertProvider(db, { name: `${provider} mācību centrs` });
    for (const programme of ['IMK', 'DPP']) {
      const { offerId, groupIds } = await insertOffer(db, { providerId, programme, groups: [{ place: 'Rīga', startsOn: '2026-11-20', endsOn: '2026-12-01', capacity: 100 }] });
      offers[`${provider}/${programme}`] = { offerId, groupId: groupIds[0]! };
    }
  }
  let n = 0;
  for (const j of JOURNEYS) {
    n += 1;
    const personCode = `32${String(n).padStart(4, '0')}-${String(10_000 + n).padStart(5, '0')}`;
    const [learner] = await db('learners').insert({
      personCode, firstName: 'Stat', lastName: `Nr${n}`, email: `stat${n}@example.lv`, language: 'lv', termsVersion: 'test', termsAcceptedAt: new Date(),
    }).returning<{ id: string }[]>('id');
    const caseId = randomUUID();
    await db('cases').insert({
      id: caseId, serviceCaseId: `STAT-${caseId.slice(0, 13)}`, workflowId: `test-stat:${caseId}`, learnerId: learner!.id, programme: j.programme,
      stage: 'registered', channel: j.viaCoordinator ? 'assisted' : 'e-service', createdAt: j.createdAt,
    });
    // The municipality as life records it: the coordinator's on an assisted registration, else the Population Register's.
    if (j.viaCoordinator) {
      await db('caseEvents').insert({ caseId, step: 'registered', kind: 'registered', stage: 'registered', actorRole: 'coordinator', channel: 'assisted', details: JSON.stringify({ municipality: j.municipality }), occurredAt: j.createdAt });
    } else {
      await db('auditLog').insert({ at: j.createdAt, actorRole: 'system', action: 'population-register.get-person', subjectPersonCode: personCode, caseId, purpose: 'test', result: '{}', keepUntil: '2099-01-01', municipality: j.municipality });
    }
    if (j.approvedAt) {
      await db('caseEvents').insert({ caseId, step: 'approval', kind: 'imk_approved', stage: 'imk_approved', actorRole: 'system', channel: 'system', details: '{}', occurredAt: j.approvedAt });
    }
    if (j.app) {
      const applicationId = randomUUID();
      const { offerId, groupId } = offers[`${j.app.provider}/${j.programme}`]!;
      await db('applications').insert({
        id: applicationId, caseId, attempt: 1, offerId, groupId, state: j.app.state, costCents: 32_000, earmarkedCents: j.app.earmarked, spentCents: j.app.spent,
        actorRole: 'learner', channel: 'e-service', createdAt: j.app.createdAt, enrolledAt: j.app.enrolledAt, endedAt: j.app.endedAt,
      });
      if (j.survey) {
        await db('surveyAnswers').insert({
          caseId, applicationId, kind: j.survey.kind, actorRole: 'learner', channel: 'e-service',
          ratings: JSON.stringify(j.survey.kind === 'completion' ? j.survey.ratings : {}), reasons: JSON.stringify(j.survey.kind === 'dropout' ? j.survey.reasons : []),
        });
      }
    }
  }
});
test.after.always(async () => { await stack?.stop(); });

// ---------------------------------------------------------------------------------------------------------------
// The expected figures, counted here from the journeys above

const rigaMonth = (iso: string) => new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Riga', year: 'numeric', month: '2-digit' }).format(new Date(iso));
const METRICS = ['registrations', 'approvals', 'applications', 'waitlisted', 'enrolled', 'studying', 'completed', 'droppedOut', 'earmarkedCents', 'spentCents'] as const;
type Metric = (typeof METRICS)[number];
type Figures = Record<Metric, number>;

/** The figures of the journeys `keep` selects; with `monthOf`, only the events (of each metric's instant) in that month. */
function expected(keep: (j: Journey) => boolean, inMonth?: string): Figures {
  const f = Object.fromEntries(METRICS.map((m) => [m, 0])) as Figures;
  const at = (iso: string | null) => iso !== null && (inMonth === undefined || rigaMonth(iso) === inMonth);
  for (const j of JOURNEYS.filter(keep)) {
    if (at(j.createdAt)) f.registrations += 1;
    if (at(j.approvedAt)) f.approvals += 1;
    const a = j.app;
    if (!a) continue;
    if (at(a.createdAt)) f.applications += 1;
    if (at(a.enrolledAt)) f.enrolled += 1;
    if (a.state === 'waitlisted' && at(a.createdAt)) f.waitlisted += 1;
    if (a.state === 'enrolled' && at(a.enrolledAt)) f.studying += 1;
    if (a.state === 'completed' && at(a.endedAt)) f.completed += 1;
    if (a.state === 'dropped_out' && at(a.endedAt)) f.droppedOut += 1;
    if (a.earmarked > 0 && at(a.createdAt)) f.earmarkedCents += a.earmarked;
    if (a.spent > 0 && at(a.endedAt)) f.spentCents += a.spent;
  }
  return f;
}

const cellText = (metric: Metric, value: number, lang: 'lv' | 'en') => (metric.endsWith('Cents') ? formatEuro(value, lang) : String(value));

// ---------------------------------------------------------------------------------------------------------------
// Reading the page's tables and the CSV files

const decode = (s: string) => s.replace(/<[^>]+>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#x27;/g, "'")
  .replace(/&#x3D;/g, '=').replace(/&amp;/g, '&').trim();

/** A table of the page by id: its heading row and its rows (row heading first), as text. */
function tableOf(html: string, id: string): string[][] {
  const table = new RegExp(`<table class="stat-table" id="${id}-table">([\\s\\S]*?)</table>`).exec(html)?.[1];
  if (!table) return [];
  return [...table.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((row) => [...row[1]!.matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((c) => decode(c[1]!)));
}

/** A CSV file as rows of cells (BOM, semicolons, every cell quoted, CRLF). */
function csvRows(text: string): string[][] {
  return text.replace(/^\uFEFF/, '').split('\r\n').filter(Boolean).map((line) => [...line.matchAll(/"((?:[^"]|"")*)"/g)].map((m) => m[1]!.replace(/""/g, '"')));
}

/** Rows of a table by their heading, as metric → cell text, for the columns whose headings are given. */
function byRow(rows: string[][], columns: Record<string, Metric>): Map<string, Partial<Record<Metric, string>>> {
  const [head, ...body] = rows;
  const out = new Map<string, Partial<Record<Metric, string>>>();
  for (const row of body) {
    const cells: Partial<Record<Metric, string>> = {};
    head!.forEach((heading, i) => { if (columns[heading]) cells[columns[heading]] = row[i]; });
    out.set(row[0]!, cells);
  }
  return out;
}

const LV_COLUMNS: Record<string, Metric> = {
  Reģistrācijas: 'registrations', Apstiprināti: 'approvals', Pieteikumi: 'applications', 'Gaidīšanas sarakstā': 'waitlisted', Uzņemti: 'enrolled',
  'Tagad mācās': 'studying', Pabeiguši: 'completed', Pārtraukuši: 'droppedOut', Iezīmēts: 'earmarkedCents', Izlietots: 'spentCents',
};
const EN_COLUMNS: Record<string, Metric> = {
  Registrations: 'registrations', Approvals: 'approvals', Applications: 'applications', 'Wait-listed': 'waitlisted', Enrolled: 'enrolled',
  'Studying now': 'studying', Completed: 'completed', 'Dropped out': 'droppedOut', Earmarked: 'earmarkedCents', Spent: 'spentCents',
};

/** Asserts that each row's cells equal the expected figures, for the metrics the table has. */
function assertRows(t: import('ava').ExecutionContext, rows: Map<string, Partial<Record<Metric, string>>>, want: Record<string, Figures>, lang: 'lv' | 'en', what: string) {
  t.deepEqual([...rows.keys()].sort(), Object.keys(want).sort(), `${what}: the rows`);
  for (const [row, figures] of Object.entries(want)) {
    const cells = rows.get(row) ?? {};
    for (const metric of Object.keys(cells) as Metric[]) t.is(cells[metric], cellText(metric, figures[metric], lang), `${what}: ${row}, ${metric}`);
  }
}

test('the platform page\'s figures by programme, month, municipality and provider are the counts of the rows, and each CSV is its table', async (t) => {
  const page = await call('GET', '/admin/statistics?lang=lv', { token: admin, html: true });
  t.is(page.status, 200);
  t.regex(page.text, /<h1>Statistika: visa platforma<\/h1>/);
  // Every chart is an image with its text alternative, and its table is on the page.
  for (const id of ['programmes', 'months', 'municipalities', 'providers', 'surveys', 'reasons']) {
    t.regex(page.text, new RegExp(`<svg role="img" aria-labelledby="chart-${id}-title chart-${id}-desc"`), `${id}: chart`);
    t.true(tableOf(page.text, id).length > 1, `${id}: table`);
  }
  t.notRegex(/<main[\s\S]*<\/main>/.exec(page.text)![0], /<script/, 'no client JavaScript draws the charts (the layout\'s session timer aside)');

  const programmes = byRow(tableOf(page.text, 'programmes'), LV_COLUMNS);
  // Programmes the seed has beyond these three show zeros.
  const others = [...programmes.keys()].filter((k) => !['IMK', 'DPP', 'MN', 'Kopā'].includes(k));
  assertRows(t, programmes, {
    IMK: expected((j) => j.programme === 'IMK'), DPP: expected((j) => j.programme === 'DPP'), MN: expected((j) => j.programme === 'MN'),
    ...Object.fromEntries(others.map((k) => [k, expected(() => false)])), Kopā: expected(() => true),
  }, 'lv', 'by programme');

  const months = byRow(tableOf(page.text, 'months'), LV_COLUMNS);
  const monthKeys = [...new Set(JOURNEYS.flatMap((j) => [j.createdAt, j.approvedAt, j.app?.createdAt, j.app?.enrolledAt, j.app?.endedAt]).filter((x): x is string => !!x).map(rigaMonth))];
  t.deepEqual(monthKeys.sort(), ['2026-10', '2026-11', '2026-12']);
  assertRows(t, months, { ...Object.fromEntries(monthKeys.map((m) => [m, expected(() => true, m)])), Kopā: expected(() => true) }, 'lv', 'by month');
  t.is(months.get('2026-11')?.registrations, String(JOURNEYS.filter((j) => rigaMonth(j.createdAt) === '2026-11').length), 'the Riga month, not UTC');

  const municipalities = byRow(tableOf(page.text, 'municipalities'), LV_COLUMNS);
  assertRows(t, municipalities, {
    Rīga: expected((j) => j.municipality === 'Rīga'), Daugavpils: expected((j) => j.municipality === 'Daugavpils'),
    Ludza: expected((j) => j.municipality === 'Ludza'), Kopā: expected(() => true),
  }, 'lv', 'by municipality');

  const providers = byRow(tableOf(page.text, 'providers'), LV_COLUMNS);
  const ofProvider = (p: string) => (j: Journey) => j.app?.provider === p;
  const withApps = (f: Figures): Figures => ({ ...f, registrations: 0, approvals: 0 });
  assertRows(t, providers, {
    'Alfa mācību centrs': withApps(expected(ofProvider('Alfa'))), 'Beta mācību centrs': withApps(expected(ofProvider('Beta'))),
    'Gamma mācību centrs': withApps(expected(ofProvider('Gamma'))), Kopā: withApps(expected((j) => j.app !== null)),
  }, 'lv', 'by provider');

  // The CSV of each table says exactly what the table says.
  for (const table of ['programmes', 'months', 'municipalities', 'providers', 'surveys', 'reasons']) {
    const csv = await call('GET', `/admin/statistics/export?table=${table}&lang=lv`, { token: admin, html: true });
    t.is(csv.status, 200);
    t.regex(csv.headers.get('content-type') ?? '', /^text\/csv/);
    t.deepEqual(csvRows(csv.text), tableOf(page.text, table), `${table}: the CSV is the table`);
  }

  // One programme's page counts that programme only.
  const imk = await call('GET', '/admin/statistics?programme=IMK&lang=en', { token: admin, html: true });
  t.is(imk.status, 200);
  t.regex(imk.text, /<h1>Statistics: Digital skills for professionals/);
  const imkMonths = byRow(tableOf(imk.text, 'months'), EN_COLUMNS);
  assertRows(t, imkMonths, {
    ...Object.fromEntries(monthKeys.map((m) => [m, expected((j) => j.programme === 'IMK', m)])), Total: expected((j) => j.programme === 'IMK'),
  }, 'en', 'IMK by month');
  t.is((await call('GET', '/admin/statistics?programme=NOPE', { token: admin, html: true })).status, 404);
});

test('survey results across providers: response rates and means from the answers, small groups hidden as on the provider\'s page', async (t) => {
  const page = await call('GET', '/admin/statistics?programme=IMK&lang=en', { token: admin, html: true });
  const [head, ...rows] = tableOf(page.text, 'surveys');
  const row = (name: string) => Object.fromEntries(head!.map((h, i) => [h, rows.find((r) => r[0] === name)![i]]));
  const answered = (p: string) => JOURNEYS.filter((j) => j.programme === 'IMK' && j.app?.provider === p && j.survey?.kind === 'completion');
  const mean = (list: Journey[], aspect: string) => (list.reduce((s, j) => s + (j.survey as { ratings: Record<string, number> }).ratings[aspect]!, 0) / list.length).toFixed(2);
  // Alfa: 7 rated of 8 completers, 6 of 6 dropouts answered.
  const alfa = row('Alfa mācību centrs');
  t.is(alfa['Completers who answered'], '7');
  t.is(alfa['Response rate'], `${Math.round((100 * 13) / 14)}%`);
  for (const aspect of SURVEY_ASPECTS) t.is(alfa[head!.find((h) => h.startsWith('Mean') && h.includes(aspectName(aspect)))!], mean(answered('Alfa'), aspect), aspect);
  // Beta: 2 rated, below the rule of 5; Gamma: 6 rated, but the total minus Alfa and Gamma would be Beta's 2, so hidden too.
  for (const name of ['Beta mācību centrs', 'Gamma mācību centrs']) {
    const r = row(name);
    t.true(head!.filter((h) => h.startsWith('Mean')).every((h) => r[h] === 'too few answers'), `${name}: hidden`);
  }
  const all = [...answered('Alfa'), ...answered('Beta'), ...answered('Gamma')];
  const total = row('Total');
  for (const aspect of SURVEY_ASPECTS) t.is(total[head!.find((h) => h.startsWith('Mean') && h.includes(aspectName(aspect)))!], mean(all, aspect));
  // Dropout reasons: every one of the 6 said "no time", 3 also "hard to learn".
  const reasons = Object.fromEntries(tableOf(page.text, 'reasons').slice(1).map((r) => [r[0], r[1]]));
  t.is(reasons['No time'], '100%');
  t.is(reasons['Hard to learn'], '50%');
  t.is(reasons['Teachers'], '0%');
});

const aspectName = (aspect: string) => ({ knowledge_and_skills: 'Knowledge', organisation_of_learning: 'Organisation', teachers: 'Teachers' } as Record<string, string>)[aspect]!;

interface OpenRow { programme: string; nameLv: string; nameEn: string; [metric: string]: string | number | null }

test('open data: the public figures are the counts, every count below 10 is hidden, and no hidden one can be worked out; JSON, CSV and page agree', async (t) => {
  const answer = await call('GET', '/api/open-data/v1/programme-statistics.json');
  t.is(answer.status, 200);
  const body = answer.json as { version: number; programmes: OpenRow[]; total: OpenRow; suppression: { minimum: number } };
  t.is(body.version, 1);
  t.is(body.suppression.minimum, 10);
  const rows = [...body.programmes, body.total];
  const truth = (row: OpenRow) => (row.programme === 'total' ? expected(() => true) : expected((j) => j.programme === row.programme));
  // A money cell is as small as the number of applications behind it.
  const people = (row: OpenRow, metric: Metric): number => {
    const keep = (j: Journey) => row.programme === 'total' || j.programme === row.programme;
    if (metric === 'earmarkedCents') return JOURNEYS.filter((j) => keep(j) && (j.app?.earmarked ?? 0) > 0).length;
    if (metric === 'spentCents') return JOURNEYS.filter((j) => keep(j) && (j.app?.spent ?? 0) > 0).length;
    return truth(row)[metric];
  };
  for (const row of rows) {
    for (const metric of METRICS) {
      const shown = row[metric];
      if (shown !== null) t.is(shown, truth(row)[metric], `${row.programme} ${metric}`);
      if (people(row, metric) > 0 && people(row, metric) < 10) t.is(shown, null, `${row.programme} ${metric} (${people(row, metric)}) is suppressed`);
    }
  }
  // IMK's 2 wait-listed and 6 dropouts are hidden; its 32 enrolled too, or applications (36) minus enrolled would
  // leave the wait-listed's 2 (and enrolled minus studying and completed the dropouts' 6).
  const imk = body.programmes.find((r) => r.programme === 'IMK')!;
  t.deepEqual([imk.waitlisted, imk.droppedOut, imk.enrolled], [null, null, null]);
  // Money spent at one price per learner would count the dropouts: it is hidden with them.
  t.is(imk.spentCents, null);
  t.is(imk.registrations, 40);
  // MN's 2 registrations are hidden, and so is a second programme's, or the total would give them away.
  const mn = body.programmes.find((r) => r.programme === 'MN')!;
  t.is(mn.registrations, null);
  t.true(body.programmes.filter((r) => r.programme !== 'MN' && r.registrations === null).length >= 1 || body.total.registrations === null);

  // A reader's subtraction: any sum with exactly one unknown gives it; solve until nothing changes. None is found.
  const known = new Map<string, number>();
  for (const row of rows) for (const m of METRICS) if (row[m] !== null) known.set(`${row.programme}/${m}`, row[m] as number);
  for (let solved = true; solved;) {
    solved = false;
    for (const m of METRICS) {
      const cells = [...body.programmes.map((r) => `${r.programme}/${m}`)];
      const unknown = [...cells, `total/${m}`].filter((c) => !known.has(c));
      if (unknown.length !== 1) continue;
      const sumOfShown = cells.filter((c) => known.has(c)).reduce((s, c) => s + known.get(c)!, 0);
      known.set(unknown[0]!, unknown[0] === `total/${m}` ? sumOfShown : known.get(`total/${m}`)! - sumOfShown);
      solved = true;
      t.fail(`${unknown[0]} can be worked out from the published cells`);
    }
  }
  // Money is never shown beside a hidden count it pays for.
  for (const row of rows) {
    if (row.completed === null || row.droppedOut === null) t.is(row.spentCents, null, `${row.programme}: spent hidden with its counts`);
    if (row.studying === null) t.is(row.earmarkedCents, null, `${row.programme}: earmarked hidden with studying`);
  }
  // Within a row, a containing count minus its shown parts never narrows hidden ones below 10.
  for (const row of rows) {
    for (const [parent, children] of [['registrations', ['approvals']], ['applications', ['waitlisted', 'enrolled']], ['enrolled', ['studying', 'completed', 'droppedOut']]] as const) {
      if (row[parent] === null || children.every((c) => row[c] !== null)) continue;
      const rest = (row[parent] as number) - children.reduce((s, c) => s + ((row[c] as number | null) ?? 0), 0);
      t.true(rest >= 10, `${row.programme}: ${parent} minus the shown parts is ${rest}`);
    }
  }

  // The CSV is the JSON, "<10" where the JSON has null.
  const csv = await call('GET', '/api/open-data/v1/programme-statistics.csv');
  t.is(csv.status, 200);
  const [head, ...lines] = csvRows(csv.text);
  t.deepEqual(head, ['programme', 'nameLv', 'nameEn', ...METRICS]);
  t.deepEqual(lines, rows.map((r) => [r.programme, r.nameLv, r.nameEn, ...METRICS.map((m) => (r[m] === null ? '<10' : String(r[m])))]));

  // The public page shows the same cells, in English too.
  const page = await call('GET', '/open-data?lang=en', { html: true });
  t.is(page.status, 200);
  const table = byRow(tableOf(page.text, 'open-data'), EN_COLUMNS);
  for (const row of rows) {
    const name = row.programme === 'total' ? 'Total' : row.nameEn;
    for (const m of METRICS) t.is(table.get(name)?.[m], row[m] === null ? '<10' : cellText(m, row[m] as number, 'en'), `page: ${name} ${m}`);
  }

  // The OpenAPI document describes both files, as public operations, and the JSON answer is what its schema says.
  type Op = { security?: unknown; responses: Record<string, { content?: Record<string, { schema?: object }> }> };
  const doc = (await call('GET', '/api/openapi.json')).json as { paths: Record<string, { get?: Op }> };
  for (const path of ['/api/open-data/v1/programme-statistics.json', '/api/open-data/v1/programme-statistics.csv']) {
    t.truthy(doc.paths[path]?.get?.responses['200'], path);
    t.is(doc.paths[path]?.get?.security, undefined, `${path} needs no login`);
  }
  const ajv = new Ajv2020({ strict: false });
  addFormats(ajv);
  const validate = ajv.compile(doc.paths['/api/open-data/v1/programme-statistics.json']!.get!.responses['200']!.content!['application/json']!.schema!);
  t.true(validate(body), ajv.errorsText(validate.errors));
});
