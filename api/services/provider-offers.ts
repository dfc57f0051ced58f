import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Knex } from 'knex';
import { DROPOUT_REASONS, SURVEY_ASPECTS } from '../../domain/applications';
import { MIN_SURVEY_RESPONDENTS, shownScopes } from '../../domain/small-groups';
import { publiclyRatedOffers } from './catalogue';
import { beforeDeadline, lastRigaDayOf, rigaDate } from '../../domain/dates';
import { FailureType } from '../../domain/failures';
import { computedCostCents } from '../../domain/offer-checks';
import { EDITABLE_OFFER_STATES, GROUP_OFFER_STATES, type OfferProblem, type OfferState } from '../../domain/offers';
import { checkDocument } from '../../domain/uploads';
import type { Session } from '../../lib/sessions';
import { providerOfferId } from '../../workflows/ids';
import { providerOffer, submitOfferUpdate, withdrawOfferUpdate, type ProviderOfferInput } from '../../workflows/provider-offer';
import type { ApiDeps } from '../deps';
import { HttpError, violatedUniqueConstraint } from '../errors';
import type { UploadedFile } from '../middleware/upload';
import type { OfferFields } from '../provider-schemas';
import { providerOf } from './provider';
import { startFailed, startWorkflow } from './workflow-start';
import { documentProblems, failureCode, invalid, requireProviderAdmin, sha256 } from './provider-registration';
import { callRulesOf, coefficientOf, draftRuleProblems, humanOfferProblem } from './offer-form';

/** A call the provider may start a draft in (its submission window is open now). */
export interface OpenCallView { id: string; code: string; title: { lv: string; en: string }; submissionClosesAt: string; requiredDocuments: string[] }

/** One of the provider's offers in the list. */
export interface OfferSummary {
  id: string; state: OfferState; title: { lv: string; en: string }; callId: string | null; callCode: string | null;
  callTitle: { lv: string; en: string } | null; submissionClosesAt: string | null; updatedAt: string;
}

/** A document attached to an offer (its content is not sent back). */
export interface OfferDocumentView { kind: string; filename: string; contentType: string; sizeBytes: number; sha256: string; uploadedAt: string }

/** A group of an offer with its free places. */
export interface OfferGroupView { id: string; place: string; startsOn: string; endsOn: string; schedule: string | null; capacity: number; enrolled: number; freePlaces: number }

/** An offer with everything the edit page shows. */
export interface OfferDetail extends OfferSummary {
  editable: boolean; groupsAllowed: boolean;
  fields: Required<OfferFields>;
  /** The cost per learner by the formula (null until coefficient and hours are filled in). */
  computedCostCents: number | null;
  documents: { kind: string; document: OfferDocumentView | null }[];
  groups: OfferGroupView[];
  rejectionReasons: string[] | null;
  submittedAt: string | null;
  teachingPeriod: { from: string; until: string } | null;
}

const iso = (d: Date | string | null) => (d ? new Date(d).toISOString() : null);

interface OfferRow {
  id: string; providerId: string; state: OfferState; callId: string | null; workflowId: string | null; titleLv: string; titleEn: string;
  competence: string | null; descriptionLv: string | null; descriptionEn: string | null; prerequisitesLv: string | null; prerequisitesEn: string | null;
  language: 'lv' | 'en'; digcompLevel: number | null; digitalSharePercent: number | null; hoursTheory: number | null; hoursPractice: number | null;
  licenceNumber: string | null; coefficientCode: string | null; statedCostCents: number | null; places: { address: string }[];
  rejectionReasons: string[] | null; submittedAt: Date | null; updatedAt: Date;
  callCode: string | null; callTitleLv: string | null; callTitleEn: string | null; submissionClosesAt: Date | null;
  requiredDocuments: string[] | null; groupFormationAt: Date | null; teachingEndsAt: Date | null;
}

/**
 * The provider's OWN offers with their call. The object-level check is the WHERE on the session's provider: another
 * provider's offer is not found, exactly like one that does not exist.
 */
function ownOffers(db: Knex, providerId: string) {
  return db('offers').leftJoin('calls', 'calls.id', 'offers.callId').where('offers.providerId', providerId).select(
    'offers.*', 'calls.code as callCode', 'calls.titleLv as callTitleLv', 'calls.titleEn as callTitleEn',
    'calls.submissionClosesAt', 'calls.requiredDocuments', 'calls.groupFormationAt', 'calls.teachingEndsAt',
  );
}

function notFound(): HttpError {
  return new HttpError(404, 'offer_not_found', 'You have no offer with this id');
}

async function ownOfferRow(db: Knex, session: Session, offerId: string): Promise<OfferRow> {
  const row = await ownOffers(db, providerOf(session)).where('offers.id', offerId).first() as OfferRow | undefined;
  if (!row) throw notFound();
  return row;
}

function summary(row: OfferRow): OfferSummary {
  return {
    id: row.id, state: row.state, title: { lv: row.titleLv, en: row.titleEn }, callId: row.callId, callCode: row.callCode,
    callTitle: row.callTitleLv ? { lv: row.callTitleLv, en: row.callTitleEn ?? row.callTitleLv } : null,
    submissionClosesAt: iso(row.submissionClosesAt), updatedAt: iso(row.updatedAt)!,
  };
}

/** The provider's offers, newest first. */
export async function listOwnOffers(deps: ApiDeps, session: Session): Promise<OfferSummary[]> {
  const rows = await ownOffers(deps.db, providerOf(session)).orderBy('offers.createdAt', 'desc') as OfferRow[];
  return rows.map(summary);
}

/** Calls whose submission window is open now. */
export async function openCalls(deps: ApiDeps): Promise<OpenCallView[]> {
  const now = new Date();
  const rows = await deps.db('calls').where('submissionOpensAt', '<=', now).where('submissionClosesAt', '>', now).orderBy('submissionClosesAt')
    .select<{ id: string; code: string; titleLv: string; titleEn: string; submissionClosesAt: Date; requiredDocuments: string[] }[]>(
      'id', 'code', 'titleLv', 'titleEn', 'submissionClosesAt', 'requiredDocuments');
  return rows.map((c) => ({ id: c.id, code: c.code, title: { lv: c.titleLv, en: c.titleEn }, submissionClosesAt: iso(c.submissionClosesAt)!, requiredDocuments: c.requiredDocuments }));
}

/**
 * Starts a draft in an open call: the row (state draft, the call's programme and application window), then its
 * workflow (startOfferWorkflow).
 */
export async function createDraft(deps: ApiDeps, session: Session, input: { callId: string; titleLv: string; titleEn: string; requestId?: string }): Promise<OfferDetail> {
  const providerId = providerOf(session);
  const earlier = input.requestId ? await deps.db('offers').where({ providerId, requestId: input.requestId }).first<{ id: string; callId: string } | undefined>('id', 'callId') : undefined;
  if (earlier) {
    // The same request again (a double click, or a retry after a 503): its workflow is made sure of, too.
    await startOfferWorkflow(deps, { offerId: earlier.id, providerId, callId: earlier.callId }, { newDraft: false });
    return getOwnOffer(deps, session, earlier.id);
  }
  const call = await deps.db('calls').where({ id: input.callId }).first<{
    id: string; programme: string; submissionOpensAt: Date; submissionClosesAt: Date; applicationsOpenAt: Date; applicationsCloseAt: Date; groupFormationAt: Date;
  } | undefined>();
  if (!call) throw invalid([{ field: 'callId', rule: 'unknown_call', message: 'no call for offers has this id' }]);
  const now = new Date();
  if (new Date(call.submissionOpensAt) > now || !beforeDeadline(call.submissionClosesAt, now)) {
    throw new HttpError(409, 'submission_closed', 'This call is not taking offers now', [{ field: 'callId', submissionClosesAt: iso(call.submissionClosesAt) }]);
  }
  const offerId = randomUUID();
  const workflowId = providerOfferId(offerId);
  try {
    await deps.db.transaction(async (trx) => {
      await trx('offers').insert({
        id: offerId, providerId, callId: call.id, programme: call.programme, titleLv: input.titleLv, titleEn: input.titleEn,
        costCents: 0, published: false, state: 'draft', workflowId, requestId: input.requestId ?? null,
        applicationsOpenAt: call.applicationsOpenAt, applicationsCloseAt: call.applicationsCloseAt, groupFormationDeadline: call.groupFormationAt,
      });
    });
  } catch (err) {
    // The same request a moment ago (a double click) committed first: answer with its draft.
    if (violatedUniqueConstraint(err) !== 'offers_provider_request_unique') throw err;
    const first = await deps.db('offers').where({ providerId, requestId: input.requestId }).first<{ id: string }>('id');
    return getOwnOffer(deps, session, first.id);
  }
  await startOfferWorkflow(deps, { offerId, providerId, callId: call.id }, { newDraft: true });
  deps.logger.info('offer draft created', { offerId, providerId, callId: call.id });
  return getOwnOffer(deps, session, offerId);
}

/**
 * Starts (or joins) the draft's workflow, once its row is committed: a workflow started inside the transaction
 * outlived a failed commit and retried "offer not found" for ever. A start that surely did not happen takes a new
 * draft away again; one nobody can confirm keeps it, and the same request again (its request id) starts it.
 */
async function startOfferWorkflow(deps: ApiDeps, input: ProviderOfferInput, opts: { newDraft: boolean }): Promise<void> {
  const started = await startWorkflow(deps, () => deps.temporal.workflow.start(providerOffer, {
    taskQueue: deps.taskQueue, workflowId: providerOfferId(input.offerId), args: [input], workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
  }));
  if (started.outcome === 'not_started' && opts.newDraft) {
    await deps.db('offers').where({ id: input.offerId, state: 'draft' }).delete().catch(() => undefined);
  }
  if (started.outcome === 'not_started' || started.outcome === 'unknown') throw startFailed(started, 'the offer draft');
}

/** One of the provider's offers with its documents, groups and the computed cost. */
export async function getOwnOffer(deps: ApiDeps, session: Session, offerId: string): Promise<OfferDetail> {
  const row = await ownOfferRow(deps.db, session, offerId);
  const [documents, groups, coef] = await Promise.all([
    deps.db('documents').where({ offerId }).select<(OfferDocumentView & { uploadedAt: Date })[]>('kind', 'filename', 'contentType', 'sizeBytes', 'sha256', 'uploadedAt'),
    listGroups(deps.db, offerId),
    coefficientOf(deps.db, row.coefficientCode),
  ]);
  const kinds = [...new Set([...(row.requiredDocuments ?? []), ...documents.map((d) => d.kind)])];
  return {
    ...summary(row),
    editable: EDITABLE_OFFER_STATES.includes(row.state), groupsAllowed: GROUP_OFFER_STATES.includes(row.state),
    fields: {
      titleLv: row.titleLv, titleEn: row.titleEn, competence: row.competence, descriptionLv: row.descriptionLv, descriptionEn: row.descriptionEn,
      prerequisitesLv: row.prerequisitesLv, prerequisitesEn: row.prerequisitesEn, language: row.language, digcompLevel: row.digcompLevel,
      digitalSharePercent: row.digitalSharePercent, hoursTheory: row.hoursTheory, hoursPractice: row.hoursPractice, licenceNumber: row.licenceNumber,
      coefficientCode: row.coefficientCode, statedCostCents: row.statedCostCents, places: row.places ?? [],
    },
    computedCostCents: computedCostCents(row, coef),
    documents: kinds.map((kind) => {
      const d = documents.find((x) => x.kind === kind);
      return { kind, document: d ? { kind, filename: d.filename, contentType: d.contentType, sizeBytes: d.sizeBytes, sha256: d.sha256, uploadedAt: iso(d.uploadedAt)! } : null };
    }),
    groups, rejectionReasons: row.rejectionReasons, submittedAt: iso(row.submittedAt),
    teachingPeriod: row.groupFormationAt && row.teachingEndsAt ? { from: rigaDate(new Date(row.groupFormationAt)), until: lastRigaDayOf(new Date(row.teachingEndsAt)) } : null,
  };
}

function frozen(state: string): HttpError {
  return new HttpError(409, 'offer_frozen', `Submitted offers cannot be edited; withdraw it first (the offer is ${state})`, [{ state }]);
}

/**
 * Saves the draft's fields. The UPDATE itself carries the rule "only while draft or withdrawn" and the provider
 * check, so a submission racing with an edit cannot leave a submitted offer changed.
 */
export async function updateDraft(deps: ApiDeps, session: Session, offerId: string, fields: OfferFields): Promise<OfferDetail> {
  const providerId = providerOf(session);
  const row = await ownOfferRow(deps.db, session, offerId);
  const problems = await draftRuleProblems(deps.db, await callRulesOf(deps.db, row.callId), fields);
  if (problems.length > 0) throw invalid(problems);
  const changes: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    changes[key] = key === 'places' ? JSON.stringify(value) : value;
  }
  // The system's cost follows the formula from the fields as they will be after this save.
  const next = { ...row, ...fields };
  changes.costCents = computedCostCents({ hoursTheory: next.hoursTheory ?? null, hoursPractice: next.hoursPractice ?? null }, await coefficientOf(deps.db, next.coefficientCode)) ?? 0;
  changes.updatedAt = new Date();
  const updated = await deps.db('offers').where({ id: offerId, providerId }).whereIn('state', EDITABLE_OFFER_STATES as OfferState[]).update(changes);
  if (updated === 0) {
    const fresh = await ownOfferRow(deps.db, session, offerId);
    throw frozen(fresh.state);
  }
  return getOwnOffer(deps, session, offerId);
}

/**
 * Attaches (or replaces) the offer's document of one kind. Checked before the transaction; in it the offer row is
 * locked while editable, so the document cannot change under a submission.
 */
export async function uploadOfferDocument(deps: ApiDeps, session: Session, offerId: string, kind: string, file: UploadedFile | undefined): Promise<OfferDocumentView> {
  const providerId = providerOf(session);
  const row = await ownOfferRow(deps.db, session, offerId);
  const kinds = row.requiredDocuments ?? [];
  if (!kinds.includes(kind)) {
    throw new HttpError(404, 'document_kind_not_found', `This call asks for no document "${kind}"; it asks for: ${kinds.join(', ')}`, [{ field: 'kind', kinds }]);
  }
  const problems = documentProblems('file', file);
  if (problems.length > 0) throw invalid(problems);
  const checked = checkDocument(file!.content) as { contentType: string };
  const hash = sha256(file!.content);
  await deps.db.transaction(async (trx) => {
    const locked = await trx('offers').where({ id: offerId, providerId }).whereIn('state', EDITABLE_OFFER_STATES as OfferState[]).forUpdate().first('id');
    if (!locked) throw frozen((await ownOfferRow(trx, session, offerId)).state);
    await trx('documents').where({ offerId, kind }).delete();
    await trx('documents').insert({
      providerId, offerId, kind, filename: file!.filename, contentType: checked.contentType, sizeBytes: file!.sizeBytes, sha256: hash,
      content: file!.content, uploadedBy: session.subject,
    });
    await trx('offers').where({ id: offerId }).update({ updatedAt: new Date() });
  });
  deps.logger.info('offer document uploaded', { offerId, kind, sizeBytes: file!.sizeBytes });
  const d = await deps.db('documents').where({ offerId, kind }).first<OfferDocumentView & { uploadedAt: Date }>('kind', 'filename', 'contentType', 'sizeBytes', 'sha256', 'uploadedAt');
  return { ...d, uploadedAt: iso(d.uploadedAt)! };
}

/** One stored document of the provider's own offer, with its bytes. */
export interface OfferDocumentFile { id: string; kind: string; offerId: string; filename: string; contentType: string; sha256: string; content: Buffer }

/**
 * The document of one kind attached to one of the provider's OWN offers, or a 404: the provider check is in the
 * query, so another provider's document is not found exactly like a missing one.
 */
export async function getOwnOfferDocument(deps: ApiDeps, session: Session, offerId: string, kind: string): Promise<OfferDocumentFile> {
  const row = await deps.db('documents as d').join('offers as o', 'o.id', 'd.offerId')
    .where({ 'o.providerId': providerOf(session), 'd.offerId': offerId, 'd.kind': kind })
    .first<OfferDocumentFile | undefined>('d.id', 'd.kind', 'd.offerId', 'd.filename', 'd.contentType', 'd.sha256', 'd.content');
  if (!row) throw new HttpError(404, 'document_not_found', 'You have no document of this kind on this offer');
  return row;
}

function actorOf(session: Session) {
  return { role: 'provider' as const, id: session.subject, name: session.name, channel: 'e-service' as const };
}

/** A refused submission: each problem names the form field it belongs to. */
export class OfferChecksFailed extends HttpError {
  constructor(readonly problems: OfferProblem[]) {
    super(422, 'offer_checks_failed', `The offer was not submitted: ${problems.map((p) => `${p.field}: ${p.message.en}`).join('; ')}`, problems);
  }
}

function mapOfferUpdateError(err: unknown): unknown {
  const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
  if (cause instanceof ApplicationFailure) {
    if (cause.type === FailureType.Busy) return new HttpError(409, 'busy', cause.message || 'Another request on this offer is being processed; try again in a moment');
    // The checks need VIIS; when it is down the provider should try again later, not read it as a refusal.
    if (cause.type === FailureType.RegistryUnavailable) return new HttpError(503, 'registry_unavailable', cause.message);
    if (cause.type === FailureType.NotAllowed) return new HttpError(403, 'not_allowed', cause.message);
    return new HttpError(409, failureCode(cause.type), cause.message);
  }
  if (err instanceof WorkflowNotFoundError) return new HttpError(409, 'offer_closed', 'This offer no longer takes requests');
  return err;
}

/** The read model follows the workflow a moment later; wait briefly so the next page (or edit) sees the new state. */
async function untilRowState(db: Knex, offerId: string, state: OfferState): Promise<void> {
  const until = Date.now() + 3_000;
  while (Date.now() < until) {
    const row = await db('offers').where({ id: offerId }).first<{ state: string }>('state');
    if (row.state === state) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Submits the offer (the administrator only): 422 with the problems the automated checks found, else submitted. */
export async function submitOffer(deps: ApiDeps, session: Session, offerId: string, requestId?: string): Promise<{ state: OfferState }> {
  const row = await ownOfferRow(deps.db, session, offerId);
  requireProviderAdmin(session);
  if (!row.workflowId) throw new HttpError(409, 'offer_closed', 'This offer was not made in a call and cannot be submitted');
  let result;
  try {
    result = await deps.temporal.workflow.getHandle(row.workflowId).executeUpdate(submitOfferUpdate, {
      args: [{ actor: actorOf(session) }], updateId: `submit:${offerId}:${requestId ?? randomUUID()}`,
    });
  } catch (err) {
    throw mapOfferUpdateError(err);
  }
  if (result.problems.length > 0) throw new OfferChecksFailed(result.problems.map(humanOfferProblem));
  await untilRowState(deps.db, offerId, result.state);
  deps.logger.info('offer submitted', { offerId, state: result.state });
  return { state: result.state };
}

/** Withdraws a submitted offer (the administrator only) so it can be edited and submitted again before the deadline. */
export async function withdrawOffer(deps: ApiDeps, session: Session, offerId: string, requestId?: string): Promise<{ state: OfferState }> {
  const row = await ownOfferRow(deps.db, session, offerId);
  requireProviderAdmin(session);
  if (!row.workflowId) throw new HttpError(409, 'offer_closed', 'This offer was not made in a call and cannot be withdrawn');
  let result;
  try {
    result = await deps.temporal.workflow.getHandle(row.workflowId).executeUpdate(withdrawOfferUpdate, {
      args: [{ actor: actorOf(session) }], updateId: `withdraw:${offerId}:${requestId ?? randomUUID()}`,
    });
  } catch (err) {
    throw mapOfferUpdateError(err);
  }
  await untilRowState(deps.db, offerId, result.state);
  deps.logger.info('offer withdrawn', { offerId, state: result.state });
  return { state: result.state };
}

async function listGroups(db: Knex, offerId: string): Promise<OfferGroupView[]> {
  const rows = await db('offerGroups').where({ offerId }).orderBy([{ column: 'startsOn' }, { column: 'place' }])
    .select<{ id: string; place: string; startsOn: Date | string; endsOn: Date | string; schedule: string | null; capacity: number; enrolled: number }[]>(
      'id', 'place', 'startsOn', 'endsOn', 'schedule', 'capacity', 'enrolled');
  return rows.map((g) => ({ id: g.id, place: g.place, startsOn: day(g.startsOn), endsOn: day(g.endsOn), schedule: g.schedule, capacity: g.capacity, enrolled: g.enrolled, freePlaces: g.capacity - g.enrolled }));
}

/**
 * Adds a group to an approved or published offer: at one of the offer's places, within the call's teaching period
 * (from group formation to the end of teaching, Riga calendar days), 1-100 places.
 */
export async function addGroup(deps: ApiDeps, session: Session, offerId: string, input: { place: string; startsOn: string; endsOn: string; schedule: string; capacity: number; requestId?: string }): Promise<OfferGroupView> {
  const offer = await getOwnOffer(deps, session, offerId);
  const sameRequest = async () => input.requestId ? deps.db('offerGroups').where({ offerId, requestId: input.requestId }).first<{ id: string } | undefined>('id') : undefined;
  const earlier = await sameRequest();
  if (earlier) return (await listGroups(deps.db, offerId)).find((g) => g.id === earlier.id)!;
  const notApproved = (state: string) => new HttpError(409, 'offer_not_approved', `Groups can be added once the offer is approved (the offer is ${state})`, [{ state }]);
  if (!offer.groupsAllowed) throw notApproved(offer.state);
  const problems = [];
  if (!offer.fields.places.some((p) => p.address === input.place)) {
    problems.push({ field: 'place', rule: 'not_a_place', message: `must be one of the offer's places: ${offer.fields.places.map((p) => p.address).join('; ')}` });
  }
  const period = offer.teachingPeriod;
  if (period && input.startsOn < period.from) problems.push({ field: 'startsOn', rule: 'too_early', message: `must be on or after ${period.from}, when groups are formed` });
  if (period && input.endsOn > period.until) problems.push({ field: 'endsOn', rule: 'too_late', message: `must be on or before ${period.until}, when teaching ends` });
  if (input.endsOn < input.startsOn) problems.push({ field: 'endsOn', rule: 'before_start', message: 'must not be before the first day' });
  if (problems.length > 0) throw invalid(problems);
  // The state is judged again under a lock on the offer, so a group cannot be added to an offer closing meanwhile.
  const group = await deps.db.transaction(async (trx) => {
    const locked = await trx('offers').where({ id: offerId, providerId: providerOf(session) })
      .whereIn('state', GROUP_OFFER_STATES as OfferState[]).forUpdate().first('id');
    if (!locked) throw notApproved((await ownOfferRow(trx, session, offerId)).state);
    // Under the offer's lock, a second request with the same id finds the group the first one added.
    const again = await sameRequest();
    if (again) return again;
    const [row] = await trx('offerGroups').insert({
      offerId, place: input.place, startsOn: input.startsOn, endsOn: input.endsOn, schedule: input.schedule, capacity: input.capacity,
      requestId: input.requestId ?? null,
    }).returning<{ id: string }[]>('id');
    return row;
  });
  deps.logger.info('offer group added', { offerId, groupId: group!.id });
  return (await listGroups(deps.db, offerId)).find((g) => g.id === group!.id)!;
}

/**
 * Survey results of one scope: answer counts, average rating per aspect, and how often each dropout reason was
 * chosen. Ratings (from completers) and reasons (from dropouts) are each left out, with `ratingsSuppressed` or
 * `reasonsSuppressed` set, while fewer than `minRespondents` gave them (domain/small-groups.ts).
 */
export interface SurveySummary {
  completionAnswers: number; dropoutAnswers: number; minRespondents: number;
  ratingsSuppressed: boolean; averages?: Record<string, number | null>; ratingCounts?: Record<string, number>;
  reasonsSuppressed: boolean; reasons?: Record<string, number>;
}

/** The counts of one scope as aggregated, before small groups are left out. */
interface SurveyCounts {
  completionAnswers: number; dropoutAnswers: number;
  averages: Record<string, number | null>; ratingCounts: Record<string, number>; reasons: Record<string, number>;
}

function emptyCounts(): SurveyCounts {
  return {
    completionAnswers: 0, dropoutAnswers: 0,
    averages: Object.fromEntries(SURVEY_ASPECTS.map((a) => [a, null])), ratingCounts: Object.fromEntries(SURVEY_ASPECTS.map((a) => [a, 0])),
    reasons: Object.fromEntries(DROPOUT_REASONS.map((r) => [r, 0])),
  };
}

/** What a provider may see of one scope: the answer counts always, ratings and reasons only where shownScopes allows. */
function summaryOf(c: SurveyCounts, ratingsShown: boolean, reasonsShown: boolean): SurveySummary {
  return {
    completionAnswers: c.completionAnswers, dropoutAnswers: c.dropoutAnswers, minRespondents: MIN_SURVEY_RESPONDENTS,
    ratingsSuppressed: !ratingsShown, ...(ratingsShown ? { averages: c.averages, ratingCounts: c.ratingCounts } : {}),
    reasonsSuppressed: !reasonsShown, ...(reasonsShown ? { reasons: c.reasons } : {}),
  };
}

/**
 * The provider's survey results for the institution as a whole, per offer (programme) and per group. Aggregated in
 * Postgres with grouping sets: one pass per measure, whatever the number of answers.
 */
export async function surveyResults(deps: ApiDeps, session: Session) {
  const providerId = providerOf(session);
  const scoped = () => deps.db('surveyAnswers as sa')
    .join('applications as a', 'a.id', 'sa.applicationId')
    .join('offers as o', (j) => { j.on('o.id', 'a.offerId').andOnVal('o.providerId', providerId); })
    .join('offerGroups as g', 'g.id', 'a.groupId');
  const [kinds, ratings, reasons, offers, groups] = await Promise.all([
    scoped().select(deps.db.raw('o.id as offer_id, g.id as group_id, sa.kind, count(*)::int as n'))
      .groupByRaw(`GROUPING SETS ((sa.kind), (o.id, sa.kind), (o.id, g.id, sa.kind))`),
    scoped().crossJoin(deps.db.raw('jsonb_each_text(sa.ratings) as r(aspect, value)'))
      .select(deps.db.raw('o.id as offer_id, g.id as group_id, r.aspect, round(avg(r.value::numeric), 2)::float as average, count(*)::int as n'))
      .groupByRaw(`GROUPING SETS ((r.aspect), (o.id, r.aspect), (o.id, g.id, r.aspect))`),
    scoped().crossJoin(deps.db.raw('jsonb_array_elements_text(sa.reasons) as x(reason)'))
      .select(deps.db.raw('o.id as offer_id, g.id as group_id, x.reason, count(*)::int as n'))
      .groupByRaw(`GROUPING SETS ((x.reason), (o.id, x.reason), (o.id, g.id, x.reason))`),
    scoped().select(deps.db.raw('o.id, o.title_lv, o.title_en')).groupByRaw('o.id, o.title_lv, o.title_en'),
    scoped().select(deps.db.raw('g.id, g.offer_id, g.place, g.starts_on, g.ends_on')).groupByRaw('g.id'),
  ]);
  type Keyed = { offerId: string | null; groupId: string | null };
  const key = (r: Keyed) => (r.groupId ? `g:${r.groupId}` : r.offerId ? `o:${r.offerId}` : 'all');
  const summaries = new Map<string, SurveyCounts>();
  const of = (r: Keyed) => { const k = key(r); if (!summaries.has(k)) summaries.set(k, emptyCounts()); return summaries.get(k)!; };
  for (const r of kinds as (Keyed & { kind: string; n: number })[]) {
    if (r.kind === 'completion') of(r).completionAnswers = r.n; else of(r).dropoutAnswers = r.n;
  }
  for (const r of ratings as (Keyed & { aspect: string; average: number; n: number })[]) { of(r).averages[r.aspect] = r.average; of(r).ratingCounts[r.aspect] = r.n; }
  for (const r of reasons as (Keyed & { reason: string; n: number })[]) of(r).reasons[r.reason] = r.n;
  const offerRows = offers as { id: string; titleLv: string; titleEn: string }[];
  const groupRows = groups as { id: string; offerId: string; place: string; startsOn: Date | string; endsOn: Date | string }[];
  // Which scopes may show ratings (completers) and reasons (dropouts): the institution, its offers, their groups.
  // An offer's rating in the public catalogue is shown whatever the provider's page does, so it counts as shown here.
  const counts = (k: string) => summaries.get(k) ?? emptyCounts();
  const tree = (measure: (c: SurveyCounts) => number, published: ReadonlySet<string>) => shownScopes([
    { key: 'all', parent: null, respondents: measure(counts('all')) },
    ...offerRows.map((o) => ({ key: `o:${o.id}`, parent: 'all', respondents: measure(counts(`o:${o.id}`)) })),
    ...groupRows.map((g) => ({ key: `g:${g.id}`, parent: `o:${g.offerId}`, respondents: measure(counts(`g:${g.id}`)) })),
  ], published);
  const publiclyRated = await publiclyRatedOffers(deps.db, offerRows.map((o) => o.id));
  const ratingsShown = tree((c) => c.completionAnswers, new Set([...publiclyRated].map((id) => `o:${id}`)));
  const reasonsShown = tree((c) => c.dropoutAnswers, new Set());
  const get = (k: string) => summaryOf(counts(k), ratingsShown.has(k), reasonsShown.has(k));
  return {
    institution: get('all'),
    offers: offerRows.map((o) => ({ offerId: o.id, title: { lv: o.titleLv, en: o.titleEn }, summary: get(`o:${o.id}`) })),
    groups: groupRows.map((g) => ({ groupId: g.id, offerId: g.offerId, place: g.place, startsOn: day(g.startsOn), endsOn: day(g.endsOn), summary: get(`g:${g.id}`) })),
  };
}

// pg returns DATE columns as Date objects at local midnight; keep the calendar day.
function day(value: string | Date): string {
  if (typeof value === 'string') return value.slice(0, 10);
  return `${value.getFullYear()}-${String(value.getMonth() + 1).padStart(2, '0')}-${String(value.getDate()).padStart(2, '0')}`;
}
