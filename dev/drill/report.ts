/** The drill's table of figures, as text for the terminal and as Markdown for the README, and its verdict. */
import { phaseProblems, type PhaseFigures } from './answers';
import type { MailCount } from './emails';
import type { ConsistencyOutcome } from '../services/consistency';
import { platformProblems, type PlatformCount } from './platform';


/** The totals under the per-fault rows. */
export interface DrillTotals {
  journeys: number;
  atExpectedStage: number;
  /** Journeys not at their expected stage: "index scenario: stage (expected …)". */
  offStage: string[];
  mail: MailCount;
  consistency: ConsistencyOutcome;
  workerRestarts: number;
  /** Provider registrations and offers driven alongside, at their expected stage / all. */
  providerFlows: { atExpected: number; total: number; off: string[] };
  /** The national service platform's statuses and e-address deliveries against our outboxes (issue 17 item 6). */
  platform: PlatformCount;
  totalMs: number;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;

/** One row per phase: the figures the issue asks for. */
export function phaseRows(phases: readonly PhaseFigures[]): string[][] {
  const header = ['phase', 'duration', 'requests', '503 (uniform)', 'other non-2xx', '5xx other than 503', 'max answer', 'journeys started'];
  const rows = phases.map((p) => {
    const otherNon2xx = p.byKind['client-error'] + p.byKind['bad-503'] + p.byKind.timeout + p.byKind['no-connection'];
    return [
      p.name, seconds(p.durationMs), String(p.requests), String(p.byKind.unavailable), String(otherNon2xx),
      String(p.byKind['server-error'] + p.byKind['bad-503']), `${(p.maxAnswerMs / 1000).toFixed(1)} s`, String(p.journeysStarted),
    ];
  });
  return [header, ...rows];
}

/** The totals as label/value pairs. */
export function totalRows(totals: DrillTotals): [string, string][] {
  const { mail } = totals;
  const percent = totals.journeys === 0 ? 0 : (100 * totals.atExpectedStage) / totals.journeys;
  return [
    ['journeys at their expected stage', `${totals.atExpectedStage}/${totals.journeys} = ${percent.toFixed(percent === 100 ? 0 : 1)} %`],
    ['provider registrations and offers at their expected stage', `${totals.providerFlows.atExpected}/${totals.providerFlows.total}`],
    ['e-mails sent (distinct) / duplicates', `${mail.sent} / ${mail.duplicates} (${mail.explainedDuplicates} in the at-least-once window)`],
    ['e-mails missing / unexpected / outbox disagreeing', `${mail.missing.length} / ${mail.unexpected.length} / ${mail.outboxMismatches.length}`],
    ['refused address: rows rejected, nothing sent', String(mail.rejected)],
    ['national platform: cases whose statuses it holds as sent / statuses / repeats recognised',
      `${totals.platform.casesMatching}/${totals.platform.cases} / ${totals.platform.statuses} / ${totals.platform.counters.duplicates}`],
    ['e-address: decisions delivered / no e-address (e-mail only) / waiting',
      `${totals.platform.decisions.delivered} / ${totals.platform.decisions.noEAddress} / ${totals.platform.decisions.pending}`],
    ['consistency check', totals.consistency.lastLine],
    ['worker restarts', String(totals.workerRestarts)],
    ['drill time', seconds(totals.totalMs)],
  ];
}

/** Every target the drill missed (empty: all met); the drill exits non-zero when there is any. */
export function missedTargets(phases: readonly PhaseFigures[], totals: DrillTotals): string[] {
  const missed: string[] = [];
  for (const phase of phases) for (const problem of phaseProblems(phase)) missed.push(`${phase.name}: ${problem}`);
  if (totals.atExpectedStage !== totals.journeys) missed.push(`${totals.journeys - totals.atExpectedStage} journeys not at their expected stage`);
  if (totals.providerFlows.atExpected !== totals.providerFlows.total) missed.push(`${totals.providerFlows.total - totals.providerFlows.atExpected} provider flows not at their expected stage`);
  const unexplained = totals.mail.duplicates - totals.mail.explainedDuplicates;
  if (unexplained > 0) missed.push(`${unexplained} duplicate e-mails outside the at-least-once window`);
  if (totals.mail.missing.length > 0) missed.push(`${totals.mail.missing.length} e-mails missing`);
  if (totals.mail.unexpected.length > 0) missed.push(`${totals.mail.unexpected.length} unexpected e-mails`);
  if (totals.mail.outboxMismatches.length > 0) missed.push(`${totals.mail.outboxMismatches.length} outbox rows disagree with what arrived`);
  missed.push(...platformProblems(totals.platform));
  if (totals.consistency.exitCode !== 0) missed.push(`consistency check: ${totals.consistency.lastLine}`);
  return missed;
}

/** The table as aligned plain text. */
export function textTable(rows: readonly string[][]): string {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
  return rows.map((row) => row.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join('  ')).join('\n');
}

/** The table as Markdown. */
export function markdownTable(rows: readonly string[][]): string {
  const line = (row: readonly string[]) => `| ${row.join(' | ')} |`;
  return [line(rows[0]!), line(rows[0]!.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.slice(1).map(line)].join('\n');
}

/** The whole report: per-phase table, totals, verdict; as text and as Markdown. */
export function renderReport(title: string, phases: readonly PhaseFigures[], totals: DrillTotals): { text: string; markdown: string; missed: string[] } {
  const rows = phaseRows(phases);
  const totals2 = totalRows(totals);
  const missed = missedTargets(phases, totals);
  const verdict = missed.length === 0 ? 'every target met' : `targets missed:\n${missed.map((m) => `  - ${m}`).join('\n')}`;
  const text = [title, '', textTable(rows), '', textTable([['total', ''], ...totals2]), '', verdict].join('\n');
  const markdown = [
    `### ${title}`, '', markdownTable(rows), '', markdownTable([['total', 'value'], ...totals2]), '',
    missed.length === 0 ? 'Every target met.' : `Targets missed:\n\n${missed.map((m) => `- ${m}`).join('\n')}`, '',
  ].join('\n');
  return { text, markdown, missed };
}
