import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { SURVEY_ASPECTS } from '../../domain/applications';
import type { Session } from '../../lib/sessions';
import type { PageLanguage, Renderer } from '../../web/render';
import { translate } from '../../web/render';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { renderPage } from '../pages';
import { catalogueItemSchema, catalogueOfferSchema, catalogueQuery, offerParams } from '../schemas';
import { catalogueChoices, getCatalogueOffer, searchCatalogue, type CatalogueOffer } from '../services/catalogue';
import { listProgrammes } from '../services/journeys';
import { applyingCases } from '../services/study';
import { fieldProblems } from '../validation';
import { throttleOf } from '../throttle';
import type { ApiRegistry } from './define';
import { isTextRule } from '../text-input';

// The filter form's fields, in the order the URL keeps them.
const FILTERS = ['q', 'competence', 'place', 'municipality', 'from', 'to', 'freePlaces', 'digcomp', 'language', 'maxCost', 'programme', 'sort'] as const;

/**
 * The one list of offers is /catalogue. The old list at /offers (its links, bookmarks and the journey page's button)
 * redirects there with the filters both understand; the offer ids and Apply forms are the same.
 */
export function catalogueLink(query: { q?: string; programme?: string; page?: string; lang?: string }): string {
  const kept = Object.entries({ ...query, page: query.page === '1' ? undefined : query.page })
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1] !== '');
  return kept.length > 0 ? `/catalogue?${new URLSearchParams(kept).toString()}` : '/catalogue';
}

/** The public catalogue of published offers: search, filters, the offer's page with groups and rating. */
export function catalogueRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();

  api.add(router, {
    method: 'get', path: '/api/catalogue', summary: 'Published offers: search, filters, sorting and paging', tag: 'catalogue',
    roles: 'public', query: catalogueQuery,
    responses: {
      200: { description: 'A page of offers with the total count', schema: z.object({
        offers: z.array(catalogueItemSchema), total: z.number().int(), page: z.number().int(), pageSize: z.number().int() }) },
      429: { description: 'Too many searches from this address: try again after Retry-After seconds' },
    },
  }, async (ctx, { query }) => {
    await throttleOf(deps.db).consume('catalogueSearchAddress', ctx.ip);
    ctx.body = await searchCatalogue(deps, query);
  });

  api.add(router, {
    method: 'get', path: '/api/catalogue/:offerId', summary: 'One published offer with its groups, free places and public rating',
    tag: 'catalogue', roles: 'public', params: offerParams,
    responses: { 200: { description: 'The offer', schema: catalogueOfferSchema }, 404: { description: 'No such published offer' } },
  }, async (ctx, { params }) => {
    const offer = await getCatalogueOffer(deps, params.offerId);
    if (!offer) throw new HttpError(404, 'offer_not_found', 'There is no published offer with this id');
    ctx.body = offer;
  });

  // Pages. A GET form keeps every filter in the URL, so a search can be bookmarked and shared.
  // The filter form checks every filter with catalogueQuery and shows each problem next to its field.
  api.page(router, {
    method: 'get', path: '/catalogue', summary: 'The public catalogue: search, filters, paging', tag: 'catalogue', roles: 'public',
    query: catalogueQuery, formPage: true,
    responses: {
      200: { description: 'The page' }, 400: { description: 'A filter is wrong: the page says which, next to it' },
      429: { description: 'Too many searches from this address: a page saying when to try again (Retry-After)' },
    },
  }, async (ctx) => {
    await throttleOf(deps.db).consume('catalogueSearchAddress', ctx.ip);
    const lang = ctx.state.lang as PageLanguage;
    // ?lang= belongs to the language switch, not to the search.
    const raw = Object.fromEntries(Object.entries(ctx.query).filter(([key]) => key !== 'lang')) as Record<string, string | string[] | undefined>;
    const form = Object.fromEntries(FILTERS.map((key) => [key, typeof raw[key] === 'string' ? raw[key] : '']));
    const parsed = catalogueQuery.safeParse(raw);
    const session = ctx.state.session as Session | null;
    const [choices, programmes, cases] = await Promise.all([
      catalogueChoices(deps), listProgrammes(deps),
      session?.role === 'learner' ? applyingCases(deps, session) : Promise.resolve(new Map<string, string>()),
    ]);
    const common = {
      form,
      isLearner: session?.role === 'learner',
      canApplyAnywhere: cases.size > 0,
      municipalities: choices.municipalities.map((m) => ({ value: m, selected: m.toLowerCase() === form.municipality.toLowerCase() })),
      competences: choices.competences.map((c) => ({ value: c, selected: c.toLowerCase() === form.competence.toLowerCase() })),
      languages: choices.languages.map((l) => ({ value: l, name: languageName(lang, l), selected: l === form.language })),
      digcompLevels: choices.digcompLevels.map((l) => ({ value: String(l), selected: String(l) === form.digcomp })),
      programmes: programmes.map((p) => ({ value: p.code, name: lang === 'lv' ? p.nameLv : p.nameEn, selected: p.code === form.programme })),
      sorts: ['start', 'cost'].map((s) => ({ value: s, selected: (form.sort || 'start') === s })),
    };
    if (!parsed.success) {
      ctx.status = 400;
      const errors: Record<string, string> = {};
      // Each filter's rule in the page's language (offers.filterError.<field>), unless the problem brings its own words.
      for (const p of fieldProblems(parsed.error)) errors[p.field] ??= (isTextRule(p.rule) ? undefined : filterRule(lang, p.field)) ?? p.words?.[lang] ?? p.message;
      renderPage(ctx, renderer, 'catalogue', 'catalogue.title', { ...common, errors, invalid: true });
      return;
    }
    const result = await searchCatalogue(deps, parsed.data);
    const now = Date.now();
    // Paging links carry the same filters as the form.
    const kept: [string, string][] = FILTERS.filter((key) => form[key]).map((key) => [key, form[key]]);
    const pageLink = (page: number) => `/catalogue?${new URLSearchParams([...kept, ['page', String(page)]]).toString()}`;
    renderPage(ctx, renderer, 'catalogue', 'catalogue.title', {
      ...common,
      offers: result.offers.map((o) => {
        // An Apply form per group for a learner whose open journey in the offer's programme takes an application,
        // while the offer's window is open; each form has its own request id (one id shared by the page would make a
        // later click on another group the "same" request as the first).
        const caseId = Date.parse(o.applicationsOpenAt) <= now && now < Date.parse(o.applicationsCloseAt) ? cases.get(o.programme) ?? null : null;
        return {
          ...o, titleText: o.title[lang], programmeText: o.programmeName[lang], languageText: languageName(lang, o.language),
          placesText: o.places.join('; '), descriptionText: o.description[lang] ?? o.description[lang === 'lv' ? 'en' : 'lv'],
          groups: o.groups.map((g) => ({ ...g, caseId, full: g.freePlaces === 0, requestId: randomUUID() })),
        };
      }),
      total: result.total,
      pageText: translate(lang, 'catalogue.pageOf', { page: result.page, pages: Math.max(1, Math.ceil(result.total / result.pageSize)) }),
      prevPage: result.page > 1 ? pageLink(result.page - 1) : null,
      nextPage: result.page * result.pageSize < result.total ? pageLink(result.page + 1) : null,
    });
  });

  api.page(router, {
    method: 'get', path: '/catalogue/:offerId', summary: 'One published offer', tag: 'catalogue', roles: 'public',
    params: offerParams,
    responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    const params = offerParams.safeParse(ctx.params);
    const offer = params.success ? await getCatalogueOffer(deps, params.data.offerId) : null;
    if (!offer) throw new HttpError(404, 'not_found', translate(ctx.state.lang, 'error.404'));
    await offerPage(ctx, offer);
  });

  async function offerPage(ctx: Context, offer: CatalogueOffer) {
    const lang = ctx.state.lang as PageLanguage;
    const session = ctx.state.session as Session | null;
    const now = Date.now();
    const windowOpen = Date.parse(offer.applicationsOpenAt) <= now && now < Date.parse(offer.applicationsCloseAt);
    // The Apply forms are the learner's own (POST /learner/journeys/:caseId/applications), as on /offers: shown to
    // a learner whose open journey in the offer's programme takes an application, while the window is open.
    const caseId = session?.role === 'learner' && windowOpen ? (await applyingCases(deps, session)).get(offer.programme) ?? null : null;
    const number = new Intl.NumberFormat(lang === 'lv' ? 'lv-LV' : 'en-GB', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
    const stars = (v: number | null) => (v === null ? '–' : number.format(v));
    const pick = (text: { lv: string | null; en: string | null }) => text[lang] ?? text[lang === 'lv' ? 'en' : 'lv'];
    renderPage(ctx, renderer, 'catalogue-offer', 'catalogue.offerTitle', {
      offer,
      titleText: offer.title[lang],
      descriptionText: pick(offer.description),
      prerequisitesText: pick(offer.prerequisites),
      programmeText: offer.programmeName[lang],
      languageText: languageName(lang, offer.language),
      groups: offer.groups.map((g) => ({ ...g, full: g.freePlaces === 0, caseId, requestId: randomUUID() })),
      rating: {
        ...offer.rating,
        overallText: stars(offer.rating.overall),
        fewAnswers: offer.rating.hiddenBecause === 'few_answers',
        aspects: offer.rating.shown ? SURVEY_ASPECTS.map((aspect) => ({
          label: translate(lang, `survey.aspect.${aspect}`), value: stars(offer.rating.aspects?.[aspect] ?? null),
        })) : [],
      },
      isLearner: session?.role === 'learner',
      loggedOut: !session,
      canApply: caseId !== null,
      windowOpen,
      loginLink: `/auth/sso/login?next=${encodeURIComponent(`/catalogue/${offer.offerId}`)}`,
    }, { title: offer.title[lang] });
  }

  return router;
}

// The rule of a filter in the page's language, or null for a field without one of its own.
function filterRule(lang: PageLanguage, field: string): string | null {
  const key = `offers.filterError.${field}`;
  const words = translate(lang, key);
  return words === key ? null : words;
}

function languageName(lang: PageLanguage, code: string): string {
  const key = `catalogue.language.${code}`;
  const name = translate(lang, key);
  return name === key ? code : name;
}
