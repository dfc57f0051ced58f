import { AGENCY_TIME_ZONE, rigaDate, rigaEndOfDay, rigaTime } from './dates';

/**
 * A call for offers as the agency edits it (seed 001): its phases in time order, and the rule for changing a call
 * once providers can act on it. Until submission opens everything may change; from then on a change may only move a
 * phase that has not passed yet to a later time (an extension), because providers, offer workflows and learners
 * already rely on the rest.
 */

/** The document kinds an offer may be asked to attach (seed 001, submission step 3). */
export const OFFER_DOCUMENT_KINDS = ['application_form', 'experience_declaration', 'curriculum'] as const;

/** The phases of a call, in the order they happen. */
export const CALL_PHASES = [
  'submissionOpensAt', 'submissionClosesAt', 'evaluationEndsAt', 'publicationAt',
  'applicationsOpenAt', 'applicationsCloseAt', 'groupFormationAt', 'teachingEndsAt',
] as const;

/** One phase of a call. */
export type CallPhase = (typeof CALL_PHASES)[number];

/** A call's phases as instants. */
export type CallPhaseTimes = Record<CallPhase, Date>;

/**
 * Phases that end something: given as a day, they last to that day's end in Riga (the next day's 00:00, exclusive).
 * The others start something: given as a day, they start at its 00:00.
 */
const ENDING_PHASES: ReadonlySet<CallPhase> = new Set(['submissionClosesAt', 'evaluationEndsAt', 'applicationsCloseAt', 'groupFormationAt', 'teachingEndsAt']);

/** The fields of a call besides its phases. */
export const CALL_TERMS = [
  'code', 'titleLv', 'titleEn', 'programme', 'competences', 'digcompMin', 'digcompMax', 'minDigitalSharePercent',
  'maxOffersPerProvider', 'requiredDocuments',
] as const;

/** One problem with a call's input or change: the field and the rule it broke. */
export interface CallProblem { field: string; rule: CallRule }

/** The rules of calls that can refuse a change, each with its words in web/i18n/calls.*.json (calls.rule.<rule>). */
export type CallRule = 'invalid_time' | 'phase_order' | 'call_submission_opened' | 'extension_only' | 'phase_passed';

// `YYYY-MM-DD`, `YYYY-MM-DD HH:MM` or `YYYY-MM-DDTHH:MM[:SS]` (Riga wall time), or the same with Z or ±HH:MM.
const PHASE_TEXT = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(:\d{2}(?:\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/**
 * Reads a phase as the agency writes it: a day (an ending phase lasts to the day's end in Riga, a starting one
 * begins at its 00:00), a Riga wall time, or an instant with an explicit offset. Null when it is none of these.
 */
export function parsePhase(phase: CallPhase, text: string): Date | null {
  const m = PHASE_TEXT.exec(text.trim());
  if (!m) return null;
  const [, day, time, seconds, offset] = m;
  if (Number.isNaN(Date.parse(`${day}T00:00:00Z`)) || new Date(`${day}T00:00:00Z`).toISOString().slice(0, 10) !== day) return null;
  if (!time) return ENDING_PHASES.has(phase) ? rigaEndOfDay(day) : rigaTime(day, '00:00');
  const [hh, mm] = time.split(':').map(Number);
  if (hh > 23 || mm > 59) return null;
  if (offset) {
    const at = new Date(`${day}T${time}${seconds ?? ''}${offset}`);
    return Number.isNaN(at.getTime()) ? null : at;
  }
  return rigaTime(day, `${time}${seconds ?? ''}`);
}

const rigaClock = new Intl.DateTimeFormat('en-GB', { timeZone: AGENCY_TIME_ZONE, hourCycle: 'h23', hour: '2-digit', minute: '2-digit', second: '2-digit' });

/**
 * A phase as the edit form shows it, in the form parsePhase reads back to the same instant: the day alone for a
 * day's end (an ending phase) or a day's start (a starting one), else the day and the Riga time.
 */
export function phaseText(phase: CallPhase, at: Date): string {
  if (ENDING_PHASES.has(phase)) {
    const lastDay = rigaDate(new Date(at.getTime() - 1));
    if (rigaEndOfDay(lastDay).getTime() === at.getTime()) return lastDay;
  } else if (rigaTime(rigaDate(at), '00:00').getTime() === at.getTime()) {
    return rigaDate(at);
  }
  // Seconds (and milliseconds) only when there are any, so that an unchanged field reads back to the same instant.
  const [hhmm, seconds] = [rigaClock.format(at).slice(0, 5), rigaClock.format(at).slice(5)];
  const ms = at.getTime() % 1000;
  const rest = ms !== 0 ? `${seconds}.${String(ms).padStart(3, '0')}` : seconds === ':00' ? '' : seconds;
  return `${rigaDate(at)} ${hhmm}${rest}`;
}

/**
 * The phases must follow each other: submission opens before it closes, evaluation ends no earlier than submission
 * closes, offers are published after evaluation and before (or when) applications open, applications close after
 * they open, groups are formed after that and teaching ends after group formation.
 */
export function phaseOrderProblems(times: CallPhaseTimes): CallProblem[] {
  const problems: CallProblem[] = [];
  for (let i = 1; i < CALL_PHASES.length; i += 1) {
    const before = times[CALL_PHASES[i - 1]!].getTime();
    const phase = CALL_PHASES[i]!;
    const strict = phase === 'submissionClosesAt' || phase === 'applicationsCloseAt' || phase === 'teachingEndsAt';
    if (strict ? times[phase].getTime() <= before : times[phase].getTime() < before) problems.push({ field: phase, rule: 'phase_order' });
  }
  return problems;
}

/**
 * What a change to a call breaks once submission has opened (nothing before that): a term that changed, a phase
 * moved earlier, or a phase that has passed and moved at all. `changedTerms` names the terms whose value differs.
 */
export function changeAfterOpeningProblems(opts: {
  before: CallPhaseTimes; after: CallPhaseTimes; changedTerms: readonly string[]; now: Date;
}): CallProblem[] {
  const { before, after, now } = opts;
  if (now.getTime() < before.submissionOpensAt.getTime()) return [];
  const problems: CallProblem[] = opts.changedTerms.map((field) => ({ field, rule: 'call_submission_opened' }));
  for (const phase of CALL_PHASES) {
    const was = before[phase].getTime();
    const will = after[phase].getTime();
    if (will === was) continue;
    if (was <= now.getTime()) problems.push({ field: phase, rule: 'phase_passed' });
    else if (will < was) problems.push({ field: phase, rule: 'extension_only' });
  }
  return problems;
}
