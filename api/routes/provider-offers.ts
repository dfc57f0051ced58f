import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { DROPOUT_REASONS, SURVEY_ASPECTS } from '../../domain/applications';
import type { OfferProblem } from '../../domain/offers';
import type { PageLanguage, Renderer } from '../../web/render';
import { translate } from '../../web/render';
import { attachment } from '../content-disposition';
import type { ApiDeps } from '../deps';
import { brokenTextRule, text, textProblem } from '../text-input';
import { documentDeleted } from '../services/retention';
import { HttpError } from '../errors';
import { currentSession } from '../middleware/auth';
import { uploadFailure } from '../middleware/upload';
import { renderPage } from '../pages';
import {
  createOfferSchema, offerActionSchema, offerDocumentParams, offerDocumentViewSchema, offerFieldsSchema, offerGroupSchema, offerGroupViewSchema,
  offerParams, offerProblemSchema, offerSummarySchema, openCallSchema, surveyResultsSchema, offerChoicesSchema, draftCheckSchema,
} from '../provider-schemas';
import {
  addGroup, createDraft, getOwnOffer, getOwnOfferDocument, listOwnOffers, OfferChecksFailed, openCalls, submitOffer, surveyResults, updateDraft, uploadOfferDocument,
  withdrawOffer, type OfferDetail,
} from '../services/provider-offers';
import { uploadProblem, type WordedProblem } from '../services/provider-registration';
import { errorsByField, fieldProblems, formFields } from '../validation';
import type { ApiRegistry } from './define';
import { auditDownload } from '../services/audit';
import { isUuid } from '../../domain/uuid';
import { formatEuro } from '../../domain/money';
import { sameAddress } from '../../domain/offer-checks';
import { coefficientText } from '../services/admin-reference';
import {
  checkDraft, coefficientOf, costPreview, mergedFields, offerChoices, splitDraftFields, callRulesOf, wordedProblem,
  type CostPreview, type DraftCheck, type OfferChoices,
} from '../services/offer-form';
import { refusalText } from '../messages';
import { keptForm } from '../form-state';

const PROVIDER = ['provider'] as const;
const OFFER_FORM_FIELDS = [
  'titleLv', 'titleEn', 'competence', 'descriptionLv', 'descriptionEn', 'prerequisitesLv', 'prerequisitesEn', 'language',
  'digcompLevel', 'digitalSharePercent', 'hoursTheory', 'hoursPractice', 'licenceNumber', 'coefficientCode',
] as const;
const MAX_PLACES = 20;
const MAX_ADDRESS = 300;
/** The offer form: its text fields, the cost in euros and one input per place of delivery (`place_<n>`). */
const FORM_FIELD_NAMES = [...OFFER_FORM_FIELDS, 'statedCost', ...Array.from({ length: MAX_PLACES }, (_, i) => `place_${i}`)];
const offerForm = z.object(Object.fromEntries(FORM_FIELD_NAMES.map((field) => [field, text().max(10_000).optional()])));
const DONE = ['created', 'saved', 'uploaded', 'submitted', 'withdrawn', 'group_added'] as const;
const stateSchema = z.object({ state: z.string() });

/** The provider's offers in calls: drafts, documents, submission, groups, survey results. */
export function providerOfferRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();

  // --- API ---
  api.add(router, {
    method: 'get', path: '/api/provider/offers', summary: "The provider's offers with their state and call, and the calls taking offers now",
    tag: 'provider offers', roles: [...PROVIDER],
    responses: {
      200: { description: 'Offers, newest first, and open calls', schema: z.object({ offers: z.array(offerSummarySchema), openCalls: z.array(openCallSchema) }) },
    },
  }, async (ctx) => {
    const session = currentSession(ctx);
    const [offers, calls] = await Promise.all([listOwnOffers(deps, session), openCalls(deps)]);
    ctx.body = { offers, openCalls: calls };
  });

  api.add(router, {
    method: 'post', path: '/api/provider/offers', summary: 'Start a draft offer in a call that is taking offers',
    tag: 'provider offers', roles: [...PROVIDER], body: createOfferSchema,
    responses: { 201: { description: 'The draft', schema: offerSummarySchema }, 409: { description: 'The call is not taking offers now' } },
  }, async (ctx, { body }) => {
    ctx.status = 201;
    ctx.body = await createDraft(deps, currentSession(ctx), body);
  });

  api.add(router, {
    method: 'get', path: '/api/provider/offers/:offerId', summary: 'One of your offers: fields, documents, computed cost, groups',
    tag: 'provider offers', roles: [...PROVIDER], params: offerParams,
    responses: { 200: { description: 'The offer', schema: offerSummarySchema }, 404: { description: 'You have no offer with this id' } },
  }, async (ctx, { params }) => {
    ctx.body = await getOwnOffer(deps, currentSession(ctx), params.offerId);
  });

  api.add(router, {
    method: 'post', path: '/api/provider/offers/:offerId', summary: "Save fields of a draft (or withdrawn) offer; only the fields sent change. All or nothing: a field breaking a rule (its type, the call's DigComp levels and competences, the coefficient table) is a 400 naming it and its rule, in both languages",
    tag: 'provider offers', roles: [...PROVIDER], params: offerParams, body: offerFieldsSchema,
    responses: { 200: { description: 'The offer', schema: offerSummarySchema }, 404: { description: 'You have no offer with this id' }, 409: { description: 'offer_frozen: submitted offers cannot be edited; withdraw first' } },
  }, async (ctx, { params, body }) => {
    ctx.body = await updateDraft(deps, currentSession(ctx), params.offerId, body);
  });

  api.add(router, {
    method: 'get', path: '/api/provider/offers/:offerId/choices',
    summary: "What the offer form offers to choose from: cost coefficients (the agency's table), the call's competences and DigComp levels, the institution's licences and places of delivery in VIIS",
    tag: 'provider offers', roles: [...PROVIDER], params: offerParams,
    responses: { 200: { description: "The lists; licences and places are null unless VIIS answered about the institution (viis: 'ok')", schema: offerChoicesSchema }, 404: { description: 'You have no offer with this id' } },
  }, async (ctx, { params }) => {
    const offer = await getOwnOffer(deps, currentSession(ctx), params.offerId);
    ctx.body = await offerChoices(deps, currentSession(ctx), offer);
  });

  api.add(router, {
    method: 'post', path: '/api/provider/offers/:offerId/check',
    summary: "Check without submitting: the draft's rules and the submission's checks over the stored offer with the fields sent over it, and the cost as submission computes it; nothing is saved",
    tag: 'provider offers', roles: [...PROVIDER], params: offerParams, body: offerFieldsSchema,
    responses: {
      200: { description: "Every problem submission would refuse the offer for, each naming its field and rule (code), in both languages; viis 'unavailable': the places and the licence were not checked", schema: draftCheckSchema },
      400: { description: 'A field sent is not of its type: names the field and the rule' }, 404: { description: 'You have no offer with this id' },
    },
  }, async (ctx, { params, body }) => {
    const session = currentSession(ctx);
    ctx.body = await checkDraft(deps, session, await getOwnOffer(deps, session, params.offerId), body);
  });

  api.add(router, {
    method: 'post', path: '/api/provider/offers/:offerId/documents/:kind',
    summary: 'Attach the document of a kind the call asks for (multipart/form-data, file field `file`; PDF or e-signed .edoc/.asice, at most 10 MB); replaces the previous one',
    tag: 'provider offers', roles: [...PROVIDER], params: offerDocumentParams,
    multipart: { files: [{ name: 'file', description: 'The document: PDF or e-signed .edoc/.asice, at most 10 MB' }] },
    responses: {
      201: { description: 'Stored with its SHA-256', schema: offerDocumentViewSchema }, 404: { description: 'No such offer, or the call asks for no such document' },
      409: { description: 'offer_frozen' }, 413: { description: 'Larger than 10 MB' },
    },
  }, async (ctx, { params }) => {
    ctx.status = 201;
    ctx.body = await uploadOfferDocument(deps, currentSession(ctx), params.offerId, params.kind, ctx.request.files?.find((f) => f.field === 'file'));
  });

  api.add(router, {
    method: 'post', path: '/api/provider/offers/:offerId/submit', summary: "Submit the offer (the provider's administrator); the automated checks run first",
    tag: 'provider offers', roles: [...PROVIDER], params: offerParams, body: offerActionSchema,
    responses: {
      200: { description: 'Submitted', schema: stateSchema },
      403: { description: 'Not the administrator' }, 404: { description: 'You have no offer with this id' },
      409: { description: 'Refused: the deadline passed, the offer is not editable, ...' },
      422: { description: 'offer_checks_failed: details list each problem with its field', schema: z.object({ error: z.object({ code: z.literal('offer_checks_failed'), message: z.string(), details: z.array(offerProblemSchema) }) }) },
    },
  }, async (ctx, { params, body }) => {
    ctx.body = await submitOffer(deps, currentSession(ctx), params.offerId, body.requestId);
  });

  api.add(router, {
    method: 'post', path: '/api/provider/offers/:offerId/withdraw', summary: "Withdraw a submitted offer to edit it (the provider's administrator), until the deadline",
    tag: 'provider offers', roles: [...PROVIDER], params: offerParams, body: offerActionSchema,
    responses: { 200: { description: 'Withdrawn; editable again', schema: stateSchema }, 403: { description: 'Not the administrator' }, 409: { description: 'Not submitted, or the deadline passed' } },
  }, async (ctx, { params, body }) => {
    ctx.body = await withdrawOffer(deps, currentSession(ctx), params.offerId, body.requestId);
  });

  api.add(router, {
    method: 'post', path: '/api/provider/offers/:offerId/groups', summary: 'Add a group to an approved or published offer',
    tag: 'provider offers', roles: [...PROVIDER], params: offerParams, body: offerGroupSchema,
    responses: { 201: { description: 'The group with its free places', schema: offerGroupViewSchema }, 409: { description: 'The offer is not approved' } },
  }, async (ctx, { params, body }) => {
    ctx.status = 201;
    ctx.body = await addGroup(deps, currentSession(ctx), params.offerId, body);
  });

  api.add(router, {
    method: 'get', path: '/api/provider/surveys', summary: 'Survey results for the institution, per offer and per group',
    tag: 'provider offers', roles: [...PROVIDER],
    responses: { 200: { description: 'Answer counts, average ratings per aspect, dropout reasons', schema: surveyResultsSchema } },
  }, async (ctx) => {
    ctx.body = await surveyResults(deps, currentSession(ctx));
  });

  // --- Pages ---
  api.page(router, {
    method: 'get', path: '/provider/offers', summary: 'The provider\'s offers and the calls taking offers', tag: 'provider pages', roles: [...PROVIDER],
    responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    await offersPage(ctx, {});
  });

  // These forms check every field they read with their schemas and show each problem next to its field.
  api.page(router, {
    method: 'post', path: '/provider/offers', summary: 'Start a draft offer', tag: 'provider pages', roles: [...PROVIDER],
    form: createOfferSchema, formPage: true,
    responses: { 302: { description: 'To the new draft', redirect: true }, 400: { description: 'The form again, each problem next to its field' }, 409: { description: 'The call is not taking offers: the form again, saying so' } },
  }, async (ctx) => {
    const form = formFields(ctx.request.body, ['callId', 'titleLv', 'titleEn', 'requestId']);
    const parsed = createOfferSchema.safeParse(form);
    if (!parsed.success) {
      ctx.status = 400;
      await offersPage(ctx, { form, errors: errorsByField(fieldProblems(parsed.error), lang(ctx)) });
      return;
    }
    try {
      const offer = await createDraft(deps, currentSession(ctx), parsed.data);
      ctx.redirect(`/provider/offers/${offer.id}?done=created#status`);
    } catch (err) {
      if (!(err instanceof HttpError) || (err.status !== 409 && err.status !== 400)) throw err;
      ctx.status = err.status;
      const problems = err.details as WordedProblem[];
      // A refusal about the call itself (closed) names no words of its own: its message goes next to the call.
      const callProblem = problems.some((p) => p.field === 'callId') ? [] : [{ field: 'callId', rule: err.code, message: err.message, words: { lv: refusalText(err, 'lv', { area: 'providerOffers' }), en: refusalText(err, 'en', { area: 'providerOffers' }) } }];
      await offersPage(ctx, { form, errors: errorsByField([...problems, ...callProblem], lang(ctx)) });
    }
  });

  api.page(router, {
    method: 'get', path: '/provider/offers/:offerId', summary: 'One offer with its form, documents and groups', tag: 'provider pages', roles: [...PROVIDER],
    params: offerParams, query: z.object({ done: text().max(20).optional() }),
    responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    await offerPage(ctx, {});
  });

  // The offer form's three buttons post the same fields: save keeps every good field and names each bad one next to
  // it; "preview the cost" and "check without submitting" show what the values typed would give and save nothing.
  api.page(router, {
    method: 'post', path: '/provider/offers/:offerId', summary: 'Save the fields of a draft offer: every field that keeps its rules is saved, each other one named next to it', tag: 'provider pages', roles: [...PROVIDER],
    params: offerParams, form: offerForm, formPage: true,
    responses: { 302: { description: 'To the offer', redirect: true }, 400: { description: 'The form again: the good fields saved, each bad one named next to its field' }, 409: { description: 'The offer is submitted and cannot be edited: the form again, saying so' } },
  }, async (ctx) => {
    const session = currentSession(ctx);
    const offer = await getOwnOffer(deps, session, offerIdOf(ctx));
    const read = await readOfferForm(offer, ctx.request.body);
    const saving = Object.keys(read.fields).length > 0;
    try {
      if (saving) await updateDraft(deps, session, offer.id, read.fields);
    } catch (err) {
      if (!(err instanceof HttpError) || (err.status !== 409 && err.status !== 400)) throw err;
      ctx.status = err.status;
      await offerPage(ctx, { form: read.form, formError: err.status === 409 ? translate(lang(ctx), 'providerOffers.error.offer_frozen') : null, fieldProblems: err.details as WordedProblem[] });
      return;
    }
    if (read.problems.length > 0) {
      ctx.status = 400;
      await offerPage(ctx, { form: read.form, fieldProblems: read.problems, saved: saving ? 'partly' : 'none' });
      return;
    }
    ctx.redirect(`/provider/offers/${offer.id}?done=saved#status`);
  });

  api.page(router, {
    method: 'post', path: '/provider/offers/:offerId/preview', summary: 'The offer form again with the cost per learner computed from the values typed, as submission computes it; saves nothing', tag: 'provider pages', roles: [...PROVIDER],
    params: offerParams, form: offerForm, formPage: true,
    responses: { 200: { description: 'The form with the values typed and the cost preview; any bad field named next to it' } },
  }, async (ctx) => {
    const session = currentSession(ctx);
    const offer = await getOwnOffer(deps, session, offerIdOf(ctx));
    const read = await readOfferForm(offer, ctx.request.body);
    const bad = new Set(read.problems.map((p) => p.field));
    // A cost field typed wrong is not replaced by its stored value: the preview says it cannot compute yet.
    const merged = mergedFields(offer, read.fields);
    const costFields = ['coefficientCode', 'hoursTheory', 'hoursPractice'] as const;
    const preview = costFields.some((f) => bad.has(f)) ? costPreview({ hoursTheory: null, hoursPractice: null }, null)
      : costPreview(merged, await coefficientOf(deps.db, merged.coefficientCode));
    await offerPage(ctx, { form: read.form, fieldProblems: read.problems, preview });
  });

  api.page(router, {
    method: 'post', path: '/provider/offers/:offerId/check', summary: 'Check without submitting: the submission\'s checks over the values typed, each problem next to its field; saves nothing', tag: 'provider pages', roles: [...PROVIDER],
    params: offerParams, form: offerForm, formPage: true,
    responses: { 200: { description: 'The form with the values typed and the check result, each problem next to its field' } },
  }, async (ctx) => {
    const session = currentSession(ctx);
    const offer = await getOwnOffer(deps, session, offerIdOf(ctx));
    const read = await readOfferForm(offer, ctx.request.body);
    const check = await checkDraft(deps, session, offer, read.fields, read.problems);
    await offerPage(ctx, { form: read.form, check });
  });

  api.page(router, {
    method: 'post', path: '/provider/offers/:offerId/documents/:kind', summary: 'Attach a document to an offer (multipart/form-data, file field `file`)', tag: 'provider pages', roles: [...PROVIDER],
    params: offerDocumentParams, multipart: { files: [{ name: 'file', description: 'PDF or e-signed .edoc/.asice, at most 10 MB' }] },
    responses: { 302: { description: 'To the offer', redirect: true }, 400: { description: 'The offer page again, the problem next to the document' }, 409: { description: 'The offer is submitted: the offer page, saying so' }, 413: { description: 'Larger than 10 MB: the offer page, saying so' }, 415: { description: 'A part in a charset other than UTF-8: the offer page, saying so' } },
  }, async (ctx) => {
    const offerId = offerIdOf(ctx);
    const kind = String(ctx.params.kind);
    const failed = uploadFailure(ctx);
    try {
      if (failed) throw failed;
      await uploadOfferDocument(deps, currentSession(ctx), offerId, kind, ctx.request.files?.find((f) => f.field === 'file'));
    } catch (err) {
      if (!(err instanceof HttpError) || ![400, 409, 413].includes(err.status)) throw err;
      ctx.status = err.status;
      const problem = err.status === 409 ? { field: `documents.${kind}`, rule: err.code, message: err.message, words: { lv: translate('lv', 'providerOffers.error.offer_frozen'), en: translate('en', 'providerOffers.error.offer_frozen') } }
        : { ...uploadProblem(err), ...((err.details[0] as WordedProblem | undefined)?.words ? { words: (err.details[0] as WordedProblem).words } : {}), field: `documents.${kind}` };
      await offerPage(ctx, { errors: errorsByField([problem], lang(ctx)) });
      return;
    }
    ctx.redirect(`/provider/offers/${offerId}?done=uploaded#status`);
  });

  // The provider downloads what it attached to its own offer; the bytes go out as stored, as an attachment, never
  // rendered in the page.
  api.page(router, {
    method: 'get', path: '/provider/offers/:offerId/documents/:kind', summary: 'Download a document of your offer (as an attachment)', tag: 'provider pages', roles: [...PROVIDER],
    params: offerDocumentParams,
    responses: { 200: { description: 'The document as stored', contentType: '*/*' }, 410: { description: 'Deleted under the retention rules: only its tombstone is kept' } },
  }, async (ctx) => {
    const params = offerDocumentParams.safeParse(ctx.params);
    if (!params.success) throw new HttpError(404, 'document_not_found', 'You have no document of this kind on this offer');
    const document = await getOwnOfferDocument(deps, currentSession(ctx), params.data.offerId, params.data.kind);
    if (!document.content) throw documentDeleted();
    await auditDownload(deps.db, currentSession(ctx), document);
    ctx.set('content-disposition', attachment(document.filename));
    ctx.set('cache-control', 'private, no-store');
    ctx.set('x-content-type-options', 'nosniff');
    ctx.set('x-content-sha256', document.sha256);
    ctx.type = document.contentType;
    ctx.body = document.content;
  });

  api.page(router, {
    method: 'post', path: '/provider/offers/:offerId/submit', summary: 'Submit the offer (the automated checks run first)', tag: 'provider pages', roles: [...PROVIDER],
    params: offerParams, form: offerActionSchema,
    responses: { 302: { description: 'To the offer', redirect: true }, 403: { description: 'Not the administrator: the offer page, saying so' }, 409: { description: 'Refused: the offer page, saying why' }, 422: { description: 'The automated checks failed: the offer page, each problem next to its field' } },
  }, async (ctx) => {
    await offerAction(ctx, 'submitted', (id, requestId) => submitOffer(deps, currentSession(ctx), id, requestId));
  });

  api.page(router, {
    method: 'post', path: '/provider/offers/:offerId/withdraw', summary: 'Withdraw the submitted offer to edit it', tag: 'provider pages', roles: [...PROVIDER],
    params: offerParams, form: offerActionSchema,
    responses: { 302: { description: 'To the offer', redirect: true }, 403: { description: 'Not the administrator: the offer page, saying so' }, 409: { description: 'Refused: the offer page, saying why' } },
  }, async (ctx) => {
    await offerAction(ctx, 'withdrawn', (id, requestId) => withdrawOffer(deps, currentSession(ctx), id, requestId));
  });

  api.page(router, {
    method: 'post', path: '/provider/offers/:offerId/groups', summary: 'Add a group to a published offer', tag: 'provider pages', roles: [...PROVIDER],
    params: offerParams, form: offerGroupSchema, formPage: true,
    responses: { 302: { description: 'To the offer', redirect: true }, 400: { description: 'The group form again, each problem next to its field' }, 409: { description: 'The offer is not published: the offer page, saying so' } },
  }, async (ctx) => {
    const offerId = offerIdOf(ctx);
    const groupForm = formFields(ctx.request.body, ['place', 'startsOn', 'endsOn', 'schedule', 'capacity', 'requestId']);
    const parsed = offerGroupSchema.safeParse(groupForm);
    try {
      if (!parsed.success) throw new HttpError(400, 'invalid_request', 'Invalid body', fieldProblems(parsed.error));
      await addGroup(deps, currentSession(ctx), offerId, parsed.data);
    } catch (err) {
      if (!(err instanceof HttpError) || (err.status !== 409 && err.status !== 400)) throw err;
      ctx.status = err.status;
      await offerPage(ctx, {
        groupForm, groupErrors: err.status === 400 ? errorsByField(err.details as WordedProblem[], lang(ctx)) : {},
        formError: err.status === 409 ? pageRefusal(lang(ctx), err) : null,
      });
      return;
    }
    ctx.redirect(`/provider/offers/${offerId}?done=group_added#groups`);
  });

  api.page(router, {
    method: 'get', path: '/provider/surveys', summary: 'Survey results of the institution', tag: 'provider pages', roles: [...PROVIDER],
    responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    const results = await surveyResults(deps, currentSession(ctx));
    const l = lang(ctx);
    // Suppressed ratings or reasons (too few respondents) have no rows; the page says why instead.
    const shape = (s: typeof results.institution) => ({
      ...s, answers: s.completionAnswers + s.dropoutAnswers,
      aspects: s.averages && s.ratingCounts
        ? SURVEY_ASPECTS.map((a) => ({ aspect: a, average: s.averages![a] === null ? null : s.averages![a]!.toFixed(2), count: s.ratingCounts![a] }))
        : [],
      reasonList: DROPOUT_REASONS.map((r) => ({ reason: r, count: s.reasons?.[r] ?? 0 })).filter((r) => r.count > 0),
    });
    renderPage(ctx, renderer, 'provider-surveys', 'providerSurveys.title', {
      institution: shape(results.institution),
      offers: results.offers.map((o) => ({ ...o, titleText: o.title[l], summary: shape(o.summary), groups: results.groups.filter((g) => g.offerId === o.offerId).map((g) => ({ ...g, summary: shape(g.summary) })) })),
    });
  });

  /** Submit or withdraw from the page: a redirect with a status, or the page again with the refusal or the problems. */
  async function offerAction(ctx: Context, done: (typeof DONE)[number], act: (offerId: string, requestId?: string) => Promise<unknown>) {
    const offerId = offerIdOf(ctx);
    const parsed = offerActionSchema.safeParse(formFields(ctx.request.body, ['requestId']));
    try {
      await act(offerId, parsed.success ? parsed.data.requestId : undefined);
    } catch (err) {
      if (err instanceof OfferChecksFailed) {
        ctx.status = 422;
        await offerPage(ctx, { problems: err.problems });
        return;
      }
      if (!(err instanceof HttpError) || (err.status !== 409 && err.status !== 403)) throw err;
      ctx.status = err.status;
      await offerPage(ctx, { formError: pageRefusal(lang(ctx), err) });
      return;
    }
    ctx.redirect(`/provider/offers/${offerId}?done=${done}#status`);
  }

  async function offersPage(ctx: Context, extra: { form?: Record<string, string>; errors?: Record<string, string> }) {
    const session = currentSession(ctx);
    const l = lang(ctx);
    const [offers, calls] = await Promise.all([listOwnOffers(deps, session), openCalls(deps)]);
    renderPage(ctx, renderer, 'provider-offers', 'providerOffers.list.title', {
      offers: offers.map((o) => ({ ...o, titleText: o.title[l], callTitleText: o.callTitle?.[l] ?? '' })),
      calls: calls.map((c) => ({ ...c, titleText: c.title[l], selected: extra.form?.callId === c.id })),
      form: extra.form ?? {}, errors: extra.errors ?? {},
      // A fresh id for the new-draft form: the same form submitted twice creates one draft.
      requestId: extra.form?.requestId && isUuid(extra.form.requestId) ? extra.form.requestId : randomUUID(),
    });
  }

  interface OfferPageExtra {
    form?: Record<string, string>; formError?: string | null;
    /** Problems of fields as read from the form (save, preview, check), worded with their labels. */
    fieldProblems?: WordedProblem[];
    /** Problems of a refused submission. */
    problems?: OfferProblem[];
    /** Other errors by field (a document's upload). */
    errors?: Record<string, string>;
    saved?: 'partly' | 'none'; preview?: CostPreview; check?: DraftCheck;
    groupForm?: Record<string, string>; groupErrors?: Record<string, string>;
  }

  async function offerPage(ctx: Context, given: OfferPageExtra) {
    const extra = keptForm(ctx, 'provider-offer', given);
    const session = currentSession(ctx);
    const l = lang(ctx);
    const offer = await getOwnOffer(deps, session, offerIdOf(ctx));
    // VIIS is asked only while the form is shown (its client's timeout bounds the wait).
    const choices = offer.editable ? await offerChoices(deps, session, offer) : null;
    const form = extra.form ?? formOf(offer);
    const chosenPlaces = extra.form ? placeValues(extra.form) : offer.fields.places.map((p) => p.address);
    const slots = placeSlots(chosenPlaces, choices?.places ?? null);
    // Problems name places by the form's input (place_<n>) or by their position in the list checked (places[<i>]);
    // either way they go next to the input holding that address.
    const checkedPlaces = extra.check?.places ?? offer.fields.places.map((p) => p.address);
    const placeOf = (field: string): string | null => {
      const input = /^place_(\d+)$/.exec(field);
      if (input) return extra.form?.[field]?.trim() ?? null;
      const listed = /^places\[(\d+)\]$/.exec(field);
      return listed ? checkedPlaces[Number(listed[1])] ?? null : null;
    };
    const summary: { field: string; message: string }[] = [
      ...(extra.fieldProblems ?? []).map((p) => ({ field: p.field, message: p.words?.[l] ?? p.message })),
      ...[...(extra.problems ?? []), ...(extra.check?.problems ?? [])].map((p) => ({ field: p.field, message: p.message[l] })),
    ];
    const errors: Record<string, string> = { ...(extra.errors ?? {}) };
    const placeErrors = new Map<string, string>();
    for (const { field, message } of summary) {
      const address = placeOf(field);
      if (address !== null) placeErrors.set(address, placeErrors.has(address) ? `${placeErrors.get(address)} ${message}` : message);
      else errors[field] = errors[field] ? `${errors[field]} ${message}` : message;
    }
    // A problem without a field (a whole-form one, e.g. an empty form) links to the form itself.
    const anchor = (field: string | undefined) => {
      if (!field) return 'offer-form';
      const address = placeOf(field);
      const slot = address === null ? -1 : slots.findIndex((s) => s.value === address);
      return slot >= 0 ? `place-${slot}` : anchorOf(field);
    };
    const stated = offer.fields.statedCostCents;
    renderPage(ctx, renderer, 'provider-offer', 'providerOffers.edit.title', {
      offer, titleText: offer.title[l], callTitleText: offer.callTitle?.[l] ?? '', form, errors,
      isAdmin: session.providerRole === 'admin', requestId: randomUUID(),
      done: DONE.find((d) => d === ctx.query.done) ?? null, formError: extra.formError ?? null,
      saved: extra.saved ?? null,
      problemList: (extra.problems ?? []).map((p) => ({ message: p.message[l], anchor: anchor(p.field) })),
      fieldProblemList: (extra.fieldProblems ?? []).map((p) => ({ message: p.words?.[l] ?? p.message, anchor: anchor(p.field) })),
      check: extra.check ? {
        ok: extra.check.problems.length === 0, viisUnavailable: extra.check.viis === 'unavailable',
        problems: extra.check.problems.map((p) => ({ message: p.message[l], anchor: anchor(p.field) })),
        cost: previewWords(l, extra.check.cost).text,
      } : null,
      preview: extra.preview ? previewWords(l, extra.preview) : null,
      choices: choices && pickLists(l, choices, form),
      places: slots.map((s, i) => ({ ...s, index: i, number: i + 1, error: placeErrors.get(s.value) ?? null })),
      costMismatch: stated !== null && offer.computedCostCents !== null && stated !== offer.computedCostCents,
      documents: offer.documents.map((d) => ({ ...d, kindText: translate(l, `providerOffers.document.${d.kind}`), error: errors[`documents.${d.kind}`] ?? null })),
      groupForm: extra.groupForm ?? {}, groupErrors: extra.groupErrors ?? {},
      placeOptions: offer.fields.places.map((p) => ({ address: p.address, selected: extra.groupForm?.place === p.address })),
    }, { title: offer.title[l] });
  }

  /** The offer form as sent: its text values, and the fields read one by one (those keeping their rules) with the problems of the rest. */
  async function readOfferForm(offer: OfferDetail, body: unknown) {
    const form = formFields(body, FORM_FIELD_NAMES);
    const { input, problems } = offerInputFromForm(form);
    const split = await splitDraftFields(deps.db, await callRulesOf(deps.db, offer.callId), input);
    return { form, fields: split.fields, problems: [...problems, ...split.problems] };
  }
  return router;
}

function lang(ctx: Context): PageLanguage {
  return ctx.state.lang as PageLanguage;
}

function offerIdOf(ctx: Context): string {
  const parsed = offerParams.safeParse({ offerId: ctx.params.offerId });
  if (!parsed.success) throw new HttpError(404, 'offer_not_found', 'You have no offer with this id');
  return parsed.data.offerId;
}

/** The id of the page element a problem's field belongs to, for the error summary's links. */
function anchorOf(field: string): string {
  const place = /^places\[(\d+)\]$/.exec(field);
  if (place) return `place-${place[1]}`;
  if (field.startsWith('documents.')) return `document-${field.slice('documents.'.length)}`;
  if (field === 'statedCostCents') return 'statedCost';
  return field;
}

/** The page form's text values → the API's fields: euros to cents, the place inputs to a list (a bad one named by its input). */
function offerInputFromForm(form: Record<string, string>): { input: Record<string, unknown>; problems: WordedProblem[] } {
  const input: Record<string, unknown> = {};
  const problems: WordedProblem[] = [];
  for (const f of OFFER_FORM_FIELDS) if (f in form) input[f] = form[f];
  const cost = (form.statedCost ?? '').trim().replace(/\s/g, '');
  if (cost === '') input.statedCostCents = null;
  else if (/^\d+([.,]\d{1,2})?$/.test(cost)) {
    const [euros, cents = ''] = cost.split(/[.,]/);
    input.statedCostCents = Number(euros) * 100 + Number(cents.padEnd(2, '0'));
  } else {
    problems.push(wordedProblem('statedCostCents', 'amount'));
  }
  const places: { address: string }[] = [];
  for (let i = 0; i < MAX_PLACES; i += 1) {
    const address = (form[`place_${i}`] ?? '').trim();
    if (address === '') continue;
    const broken = brokenTextRule(address);
    if (broken) problems.push(textProblem(`place_${i}`, broken));
    else if (address.length > MAX_ADDRESS) problems.push(wordedProblem(`place_${i}`, 'too_long', { max: MAX_ADDRESS }));
    else places.push({ address });
  }
  input.places = places;
  return { input, problems };
}

/** The addresses of the form's place inputs, in order, empty ones left out. */
function placeValues(form: Record<string, string>): string[] {
  return Array.from({ length: MAX_PLACES }, (_, i) => (form[`place_${i}`] ?? '').trim()).filter((a) => a !== '');
}

/** One input for a place of delivery: a tick box for a place VIIS lists, a text field otherwise. */
interface PlaceSlot { value: string; viis: boolean; checked: boolean }

/**
 * The place inputs: with VIIS's list, a tick box per registered place and a text field for each chosen address
 * VIIS does not list (so it can be seen and cleared); without it, a text field per chosen address and two empty ones.
 */
function placeSlots(chosen: string[], registered: string[] | null): PlaceSlot[] {
  if (registered) {
    const boxes = registered.map((address) => ({ value: address, viis: true, checked: chosen.some((c) => sameAddress(c, address)) }));
    const others = chosen.filter((c) => !registered.some((r) => sameAddress(r, c))).map((value) => ({ value, viis: false, checked: true }));
    return [...boxes, ...others].slice(0, MAX_PLACES);
  }
  return [...chosen, '', ''].slice(0, MAX_PLACES).map((value) => ({ value, viis: false, checked: value !== '' }));
}

/** The pick-lists as the template shows them, the current value selected; a value not in a list stays, marked so. */
function pickLists(l: PageLanguage, choices: OfferChoices, form: Record<string, string>) {
  const options = (values: { value: string; text: string }[], current: string | undefined) => {
    const listed = values.map((o) => ({ ...o, selected: o.value === current }));
    const kept = current && !values.some((o) => o.value === current) ? [{ value: current, text: translate(l, 'offerForm.notInList', { value: current }), selected: true }] : [];
    return [...kept, ...listed];
  };
  const levels = Array.from({ length: choices.digcomp.max - choices.digcomp.min + 1 }, (_, i) => String(choices.digcomp.min + i));
  return {
    coefficients: options(choices.coefficients.map((c) => ({
      value: c.code, text: translate(l, 'offerForm.coefficientOption', { code: c.code, name: c.name[l], coefficient: coefficientText(c.coefficientThousandths) }),
    })), form.coefficientCode),
    competences: choices.competences.length > 0 ? options(choices.competences.map((c) => ({ value: c, text: c })), form.competence) : null,
    digcomp: { ...choices.digcomp, options: options(levels.map((v) => ({ value: v, text: v })), form.digcompLevel) },
    licences: choices.licences && options(choices.licences.map((x) => ({
      value: x.number, text: translate(l, 'offerForm.licenceOption', { number: x.number, programme: x.programme, hours: x.hours }),
    })), form.licenceNumber),
    viisNote: choices.viis === 'ok' ? null : translate(l, `offerForm.viis.${choices.viis}`),
    placesListed: choices.places !== null,
  };
}

/** The cost preview in words: the hourly rate × hours = the cost, or why it cannot be computed yet. */
function previewWords(l: PageLanguage, preview: CostPreview): { text: string; computed: boolean } {
  if (preview.computedCostCents === null || preview.hourlyRateCents === null || preview.hours === null) {
    return { text: translate(l, 'offerForm.preview.incomplete'), computed: false };
  }
  return {
    text: translate(l, 'offerForm.preview.result', { rate: formatEuro(preview.hourlyRateCents, l), hours: preview.hours, cost: formatEuro(preview.computedCostCents, l) }),
    computed: true,
  };
}

/** The stored offer as the form's text values (the places are the inputs' business: placeSlots). */
function formOf(offer: OfferDetail): Record<string, string> {
  const form: Record<string, string> = {};
  for (const f of OFFER_FORM_FIELDS) {
    const v = offer.fields[f];
    form[f] = v === null || v === undefined ? '' : String(v);
  }
  const cents = offer.fields.statedCostCents;
  form.statedCost = cents === null || cents === undefined ? '' : `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
  return form;
}

/** A refusal in the page's language: the offer pages' own wording (providerOffers.error.<code>) or the catalogue's. */
function pageRefusal(l: PageLanguage, err: HttpError): string {
  return refusalText(err, l, { area: 'providerOffers' });
}
