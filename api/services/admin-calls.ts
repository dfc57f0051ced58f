import { WorkflowNotFoundError } from '@temporalio/client';
import type { Knex } from 'knex';
import {
  CALL_PHASES, CALL_TERMS, changeAfterOpeningProblems, phaseOrderProblems, type CallPhase, type CallPhaseTimes, type CallProblem,
} from '../../domain/calls';
import type { Session } from '../../lib/sessions';
import { translate } from '../../web/render';
import { callDeadlinesExtendedSignal, type CallDeadlines } from '../../workflows/provider-offer';
import type { ApiDeps } from '../deps';
import { HttpError, violatedUniqueConstraint, type WordedProblem } from '../errors';
import { auditUserAction } from './audit';

// Calls for offers as the agency's administrators create and change them (issue 15, item 3). Every change is
// audited with what it was before, what it is after and the administrator's reason. Once submission has opened a
// call may only have its phases extended (domain/calls.ts); each extension reaches the running offer workflows.

/** The terms of a call besides its phases. */
export interface CallTerms {
  code: string; titleLv: string; titleEn: string; programme: string; competences: string[];
  digcompMin: number | null; digcompMax: number | null; minDigitalSharePercent: number; maxOffersPerProvider: number;
  requiredDocuments: string[];
}

/** A call as the administrators' API shows it: its terms and its phases (ISO instants). */
export interface CallView extends CallTerms, Record<CallPhase, string> {
  id: string;
  /** Whether submission has opened, so that only extensions of phases still to come are accepted. */
  submissionOpened: boolean;
}

/** What a change did beyond the row: how many running offer workflows heard the new deadlines. */
export interface CallChangeResult { call: CallView; offersNotified: number; offersNotReached: number }

type CallRow = CallTerms & CallPhaseTimes & { id: string };

/** Every call, newest submission first. */
export async function listCalls(db: Knex, now = new Date()): Promise<CallView[]> {
  const rows = await db('calls').orderBy('submissionOpensAt', 'desc').select<CallRow[]>(['id', ...CALL_TERMS, ...CALL_PHASES]);
  return rows.map((row) => toView(row, now));
}

/** One call, or 404. */
export async function getCall(db: Knex, callId: string, now = new Date()): Promise<CallView> {
  const row = await db('calls').where({ id: callId }).first<CallRow | undefined>(['id', ...CALL_TERMS, ...CALL_PHASES]);
  if (!row) throw new HttpError(404, 'not_found', 'There is no such call for offers');
  return toView(row, now);
}

/** Creates a call (audited). Its phases must follow each other; its code is unique; its programme exists. */
export async function createCall(db: Knex, session: Session, input: CallTerms & CallPhaseTimes, reason: string): Promise<CallView> {
  refuseIfAny(400, phaseOrderProblems(input));
  await requireProgramme(db, input.programme);
  let id: string;
  try {
    [{ id }] = await db('calls').insert({ ...columns(input), code: input.code }).returning<{ id: string }[]>('id');
  } catch (err) {
    if (violatedUniqueConstraint(err) !== 'calls_code_unique') throw err;
    throw new HttpError(409, 'call_code_taken', 'Another call has this code', [worded({ field: 'code', rule: 'call_code_taken' })]);
  }
  const call = await getCall(db, id);
  await auditUserAction(db, session, { action: 'call.created', purpose: 'An administrator created a call for offers', result: { callId: id, code: input.code, after: auditable(call), reason } });
  return call;
}

/**
 * Changes a call (audited). Before submission opens anything may change; from then on only phases still to come,
 * and only to later instants: anything else is a 409 naming each field and its rule, in Latvian and English. The
 * offers' copies of the application window and group-formation deadline follow, and the running offer workflows
 * hear the new deadlines by a signal (they also read the call again when a deadline comes, should one be lost).
 */
export async function changeCall(deps: ApiDeps, session: Session, callId: string, change: Partial<CallTerms & CallPhaseTimes>, reason: string): Promise<CallChangeResult> {
  const now = new Date();
  const { before, after } = await deps.db.transaction(async (trx) => {
    const row = await trx('calls').where({ id: callId }).forUpdate().first<CallRow | undefined>(['id', ...CALL_TERMS, ...CALL_PHASES]);
    if (!row) throw new HttpError(404, 'not_found', 'There is no such call for offers');
    const next: CallRow = { ...row, ...Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined)) };
    const changedTerms = CALL_TERMS.filter((term) => JSON.stringify(next[term]) !== JSON.stringify(row[term]));
    refuseIfAny(409, changeAfterOpeningProblems({ before: row, after: next, changedTerms, now }));
    refuseIfAny(400, phaseOrderProblems(next));
    if (next.programme !== row.programme) await requireProgramme(trx, next.programme);
    try {
      await trx('calls').where({ id: callId }).update(columns(next));
    } catch (err) {
      if (violatedUniqueConstraint(err) !== 'calls_code_unique') throw err;
      throw new HttpError(409, 'call_code_taken', 'Another call has this code', [worded({ field: 'code', rule: 'call_code_taken' })]);
    }
    // Offers keep their own copy of the learners' window (the catalogue and applications read it there).
    await trx('offers').where({ callId }).update({
      applicationsOpenAt: next.applicationsOpenAt, applicationsCloseAt: next.applicationsCloseAt, groupFormationDeadline: next.groupFormationAt,
    });
    // An open evaluation is due at the call's new end of evaluation (its workflow hears it by the signal below).
    if (next.evaluationEndsAt.getTime() !== row.evaluationEndsAt.getTime()) {
      await trx('tasks').where({ type: 'evaluate-offer', state: 'open' }).whereIn('offerId', trx('offers').where({ callId }).select('id'))
        .update({ dueAt: next.evaluationEndsAt });
    }
    return { before: toView(row, now), after: toView(next, now) };
  });
  const changed = (Object.keys(after) as (keyof CallView)[]).filter((k) => JSON.stringify(after[k]) !== JSON.stringify(before[k]));
  if (changed.length === 0) return { call: after, offersNotified: 0, offersNotReached: 0 };
  await auditUserAction(deps.db, session, {
    action: 'call.changed', purpose: 'An administrator changed a call for offers',
    result: { callId, code: after.code, before: pick(before, changed), after: pick(after, changed), reason },
  });
  const deadlines: CallDeadlines = {
    submissionClosesAt: after.submissionClosesAt, evaluationEndsAt: after.evaluationEndsAt, publicationAt: after.publicationAt, teachingEndsAt: after.teachingEndsAt,
  };
  const heard = changed.some((k) => k in deadlines) ? await tellOfferWorkflows(deps, callId, deadlines) : { notified: 0, notReached: 0 };
  return { call: after, offersNotified: heard.notified, offersNotReached: heard.notReached };
}

/**
 * Signals the new deadlines to every offer of the call whose workflow may still wait for one. A workflow that has
 * ended needs nothing; one Temporal does not reach now is logged and reads the call itself when its deadline comes.
 */
async function tellOfferWorkflows(deps: ApiDeps, callId: string, deadlines: CallDeadlines): Promise<{ notified: number; notReached: number }> {
  const workflowIds = (await deps.db('offers').where({ callId }).whereNotNull('workflowId')
    .whereNotIn('state', ['not_submitted', 'rejected', 'closed']).select<{ workflowId: string }[]>('workflowId')).map((o) => o.workflowId);
  let notified = 0;
  let notReached = 0;
  await Promise.all(workflowIds.map(async (workflowId) => {
    try {
      await deps.temporal.workflow.getHandle(workflowId).signal(callDeadlinesExtendedSignal, deadlines);
      notified += 1;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return;
      notReached += 1;
      deps.logger.warn('call deadline extension not signalled; the offer reads the call at its deadline', { callId, workflowId, err: String(err), cause: String((err as { cause?: unknown }).cause ?? '') });
    }
  }));
  return { notified, notReached };
}

async function requireProgramme(db: Knex, programme: string): Promise<void> {
  if (!(await db('programmes').where({ code: programme }).first('code'))) {
    throw new HttpError(400, 'invalid_request', `Invalid body: programme: no programme has the code ${programme}`, [worded({ field: 'programme', rule: 'unknown_programme' })]);
  }
}

/** A problem with its words in both languages (calls.rule.<rule>); the API's message is the English words. */
function worded(problem: { field: string; rule: string }): WordedProblem {
  const key = `calls.rule.${problem.rule}`;
  return { ...problem, message: translate('en', key), words: { lv: translate('lv', key), en: translate('en', key) } };
}

const REFUSAL_CODES: Record<number, string> = { 400: 'invalid_request', 409: 'call_change_refused' };

function refuseIfAny(status: 400 | 409, problems: CallProblem[]): void {
  if (problems.length === 0) return;
  const details = problems.map(worded);
  throw new HttpError(status, REFUSAL_CODES[status]!, details.map((p) => `${p.field}: ${p.message}`).join('; '), details);
}

function columns(row: CallTerms & CallPhaseTimes) {
  return {
    code: row.code, titleLv: row.titleLv, titleEn: row.titleEn, programme: row.programme, competences: JSON.stringify(row.competences),
    digcompMin: row.digcompMin, digcompMax: row.digcompMax, minDigitalSharePercent: row.minDigitalSharePercent,
    maxOffersPerProvider: row.maxOffersPerProvider, requiredDocuments: JSON.stringify(row.requiredDocuments),
    ...Object.fromEntries(CALL_PHASES.map((phase) => [phase, row[phase]])),
  };
}

function toView(row: CallRow, now: Date): CallView {
  return {
    id: row.id, code: row.code, titleLv: row.titleLv, titleEn: row.titleEn, programme: row.programme, competences: row.competences,
    digcompMin: row.digcompMin, digcompMax: row.digcompMax, minDigitalSharePercent: row.minDigitalSharePercent,
    maxOffersPerProvider: row.maxOffersPerProvider, requiredDocuments: row.requiredDocuments,
    ...(Object.fromEntries(CALL_PHASES.map((phase) => [phase, new Date(row[phase]).toISOString()])) as Record<CallPhase, string>),
    submissionOpened: new Date(row.submissionOpensAt).getTime() <= now.getTime(),
  };
}

function auditable(call: CallView): Record<string, unknown> {
  const { submissionOpened: _opened, ...rest } = call;
  return rest;
}

function pick(view: CallView, keys: readonly (keyof CallView)[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => k !== 'submissionOpened').map((k) => [k, view[k]]));
}
