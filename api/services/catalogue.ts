import type { Knex } from 'knex';
import { costShare, SURVEY_ASPECTS } from '../../domain/applications';
import { enoughRespondents, MIN_SURVEY_RESPONDENTS } from '../../domain/small-groups';
import type { ApiDeps } from '../deps';
import type { ProgrammeRules } from '../../domain/programmes';
import type { CatalogueQuery } from '../schemas';

// The public catalogue: published offers (state 'published') with search, filters, sorting and paging, and one
// offer's page with its groups and its public rating. Reads only the read model; no login needed.

/** A programme's rating is public only once this many people have completed it (seed 001). */
export const MIN_COMPLETERS_FOR_RATING = 10;

type Bilingual = { lv: string; en: string };

/** One group of an offer in the list: where, when, and how many places are free. */
export interface ListedGroup { groupId: string; place: string; startsOn: string; endsOn: string; capacity: number; enrolled: number; freePlaces: number }

/** One offer in a page of the catalogue (the one list of offers: /catalogue, and /offers redirects there). */
export interface CatalogueItem {
  offerId: string; title: Bilingual; provider: string; programme: string; programmeName: Bilingual;
  competence: string | null; language: string; digcompLevel: number | null; costCents: number; copayPercent: number | null;
  /** Who pays what of the cost: the programme and the learner (their share, EFFECTIVE_COPAY). */
  share: CostSplit;
  places: string[]; nextStartsOn: string | null; freePlaces: number;
  description: { lv: string | null; en: string | null }; hours: number | null;
  applicationsOpenAt: string; applicationsCloseAt: string;
  groups: ListedGroup[];
}

/**
 * The public rating of an offer; the numbers are null while fewer than the minimum have completed it, or fewer than
 * the minimum of them have answered the survey (hiddenBecause says which).
 */
export interface OfferRating {
  completers: number; minimumCompleters: number; minimumAnswers: number; shown: boolean;
  hiddenBecause: 'few_completers' | 'few_answers' | null;
  answers: number | null; overall: number | null; aspects: Record<string, number | null> | null;
}

/** One published offer as its catalogue page shows it. */
export interface CatalogueOffer extends Omit<CatalogueItem, 'places' | 'nextStartsOn' | 'freePlaces' | 'description' | 'hours' | 'groups' | 'applicationsOpenAt' | 'applicationsCloseAt'> {
  description: { lv: string | null; en: string | null }; prerequisites: { lv: string | null; en: string | null };
  digitalSharePercent: number | null; hoursTheory: number | null; hoursPractice: number | null; hours: number | null;
  places: string[]; applicationsOpenAt: string; applicationsCloseAt: string; groupFormationDeadline: string;
  groups: { groupId: string; place: string; startsOn: string; endsOn: string; schedule: string | null; capacity: number; enrolled: number; freePlaces: number }[];
  rating: OfferRating;
}

/**
 * The learner's share of an offer's cost in per cent: the offer's own where it sets one, else its programme's (the
 * same rule the application applies, activities/applications.ts), as the column effective_copay_percent.
 */
export const EFFECTIVE_COPAY = 'COALESCE(offers.copay_percent, programmes.copay_percent) AS effective_copay_percent';

/** An offer's cost split in cents: what the programme pays and what the learner pays themselves. */
export interface CostSplit { programmePaysCents: number; learnerPaysCents: number }

/** The split of a cost under a programme's funding rule (domain/applications.ts costShare). */
export function costSplit(funding: ProgrammeRules['funding'], costCents: number, copayPercent: number | null): CostSplit {
  const { learnerPaysCents } = costShare(funding, costCents, copayPercent);
  return { programmePaysCents: costCents - learnerPaysCents, learnerPaysCents };
}

interface OfferRow {
  id: string; providerName: string; programme: string; nameLv: string; nameEn: string; titleLv: string; titleEn: string;
  competence: string | null; language: string; digcompLevel: number | null; costCents: number; effectiveCopayPercent: number | null;
  places: { address: string }[] | null; funding: ProgrammeRules['funding'];
}

/**
 * A group's municipality: the first part of its place, before the first comma ("Valmiera" of "Valmiera, Rīgas iela
 * 10"), the way places of delivery are written in VIIS's sample addresses. Compared without letter case.
 */
const MUNICIPALITY = "btrim(split_part(offer_groups.place, ',', 1))";

// `%` and `_` typed by a person are literal characters, not wildcards.
const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

// Calendar days as text: a `date` column read as a JS Date would shift with the server's time zone.
const day = (column: string, as: string) => `to_char(${column}, 'YYYY-MM-DD') as "${as}"`;

/** Today as a calendar day in Riga (the catalogue's "from now on"). */
function rigaToday(): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Riga', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
}

/** The published offers only; every catalogue query starts here. */
function publishedOffers(db: Knex) {
  return db('offers')
    .join('providers', 'providers.id', 'offers.providerId')
    .join('programmes', 'programmes.code', 'offers.programme')
    .where('offers.state', 'published');
}

/**
 * One page of published offers matching the filters, with the total count. "Soonest start" orders by the first
 * group start within the dates asked (from today on when no dates are given; offers with no such group last), then
 * by id so pages do not overlap; "cost" orders cheapest first.
 */
export async function searchCatalogue(deps: ApiDeps, query: CatalogueQuery): Promise<{ offers: CatalogueItem[]; total: number; page: number; pageSize: number }> {
  const { db } = deps;
  const base = publishedOffers(db);
  if (query.q) {
    const pattern = likePattern(query.q);
    base.where((w) => w.whereILike('offers.titleLv', pattern).orWhereILike('offers.titleEn', pattern)
      .orWhereILike('offers.descriptionLv', pattern).orWhereILike('offers.descriptionEn', pattern));
  }
  if (query.competence) base.whereRaw('lower(offers.competence) = lower(?)', [query.competence]);
  if (query.place) {
    const pattern = likePattern(query.place);
    base.where((w) => w
      .whereExists(db('offerGroups').whereRaw('offer_groups.offer_id = offers.id').whereILike('offerGroups.place', pattern))
      .orWhereRaw("EXISTS (SELECT 1 FROM jsonb_array_elements(offers.places) AS p WHERE p->>'address' ILIKE ?)", [pattern]));
  }
  // Dates, municipality and free places are about one and the same group: a group in Valmiera with free places that
  // starts in March, not an offer with some group in Valmiera and another, full one, starting in March.
  const groupFilters = { from: query.from, to: query.to, municipality: query.municipality, freePlaces: query.freePlaces };
  if (query.from || query.to || query.municipality || query.freePlaces) base.whereExists(matchingGroups(db.queryBuilder(), groupFilters));
  if (query.digcomp !== undefined) base.where('offers.digcompLevel', query.digcomp);
  if (query.language) base.where('offers.language', query.language);
  if (query.maxCost !== undefined) base.where('offers.costCents', '<=', query.maxCost);
  if (query.programme) base.where('offers.programme', query.programme);

  const [{ count }] = await base.clone().count<{ count: string }[]>('* as count');
  // The first start within the dates asked (from today on when none are), as a sort key and for the list.
  const next = matchingGroups(db.queryBuilder(), query.from || query.to ? groupFilters : { ...groupFilters, from: rigaToday() })
    .min('offerGroups.startsOn');
  const rows: (OfferRow & HoursRow & {
    nextStartsOn: string | null; descriptionLv: string | null; descriptionEn: string | null; applicationsOpenAt: Date; applicationsCloseAt: Date;
  })[] = await base.clone()
    .select('offers.id', 'offers.programme', 'offers.titleLv', 'offers.titleEn', 'offers.competence', 'offers.language',
      'offers.digcompLevel', 'offers.costCents', db.raw(EFFECTIVE_COPAY), 'offers.places', 'providers.name as providerName',
      'offers.descriptionLv', 'offers.descriptionEn', 'offers.hoursTheory', 'offers.hoursPractice', 'offers.applicationsOpenAt', 'offers.applicationsCloseAt',
      'programmes.nameLv', 'programmes.nameEn', 'programmes.funding', db.raw(`to_char(?, 'YYYY-MM-DD') as "nextStartsOn"`, [next]))
    .orderByRaw(query.sort === 'cost'
      ? 'offers.cost_cents asc, "nextStartsOn" asc nulls last, offers.id asc'
      : '"nextStartsOn" asc nulls last, offers.cost_cents asc, offers.id asc')
    .limit(query.pageSize).offset((query.page - 1) * query.pageSize);

  const groups: (Omit<ListedGroup, 'groupId' | 'freePlaces'> & { id: string; offerId: string })[] = rows.length === 0 ? []
    : await db('offerGroups').whereIn('offerId', rows.map((r) => r.id))
      .select('id', 'offerId', 'place', 'capacity', 'enrolled', db.raw(day('starts_on', 'startsOn')), db.raw(day('ends_on', 'endsOn')))
      .orderBy([{ column: 'offerGroups.startsOn', order: 'asc' }, { column: 'offerGroups.place', order: 'asc' }]);
  return {
    offers: rows.map((r) => {
      const own = groups.filter((g) => g.offerId === r.id).map((g) => ({
        groupId: g.id, place: g.place, startsOn: g.startsOn, endsOn: g.endsOn, capacity: g.capacity, enrolled: g.enrolled,
        freePlaces: Math.max(0, g.capacity - g.enrolled),
      }));
      return {
        ...commonFields(r),
        places: unique([...(r.places ?? []).map((p) => p.address), ...own.map((g) => g.place)]),
        nextStartsOn: r.nextStartsOn,
        freePlaces: own.reduce((sum, g) => sum + g.freePlaces, 0),
        description: { lv: r.descriptionLv, en: r.descriptionEn }, hours: totalHours(r),
        applicationsOpenAt: r.applicationsOpenAt.toISOString(), applicationsCloseAt: r.applicationsCloseAt.toISOString(),
        groups: own,
      };
    }),
    total: Number(count), page: query.page, pageSize: query.pageSize,
  };
}

/** One published offer with its groups and rating, or null (unknown, or not published). */
export async function getCatalogueOffer(deps: ApiDeps, offerId: string): Promise<CatalogueOffer | null> {
  const { db } = deps;
  const row: (OfferRow & {
    descriptionLv: string | null; descriptionEn: string | null; prerequisitesLv: string | null; prerequisitesEn: string | null;
    digitalSharePercent: number | null; hoursTheory: number | null; hoursPractice: number | null;
    applicationsOpenAt: Date; applicationsCloseAt: Date; groupFormationDeadline: Date;
  }) | undefined = await publishedOffers(db).where('offers.id', offerId)
    .first('offers.*', 'providers.name as providerName', 'programmes.nameLv', 'programmes.nameEn', 'programmes.funding', db.raw(EFFECTIVE_COPAY));
  if (!row) return null;
  const groups: { id: string; place: string; startsOn: string; endsOn: string; schedule: string | null; capacity: number; enrolled: number }[] =
    await db('offerGroups').where('offerId', offerId)
      .select('id', 'place', 'schedule', 'capacity', 'enrolled', db.raw(day('starts_on', 'startsOn')), db.raw(day('ends_on', 'endsOn')))
      .orderBy([{ column: 'offerGroups.startsOn', order: 'asc' }, { column: 'offerGroups.place', order: 'asc' }]);
  const hours = totalHours(row);
  return {
    ...commonFields(row),
    description: { lv: row.descriptionLv, en: row.descriptionEn },
    prerequisites: { lv: row.prerequisitesLv, en: row.prerequisitesEn },
    digitalSharePercent: row.digitalSharePercent, hoursTheory: row.hoursTheory, hoursPractice: row.hoursPractice, hours,
    places: unique((row.places ?? []).map((p) => p.address)),
    applicationsOpenAt: row.applicationsOpenAt.toISOString(), applicationsCloseAt: row.applicationsCloseAt.toISOString(),
    groupFormationDeadline: row.groupFormationDeadline.toISOString(),
    groups: groups.map((g) => ({
      groupId: g.id, place: g.place, startsOn: g.startsOn, endsOn: g.endsOn, schedule: g.schedule,
      capacity: g.capacity, enrolled: g.enrolled, freePlaces: Math.max(0, g.capacity - g.enrolled),
    })),
    rating: await offerRating(db, offerId),
  };
}

/**
 * The offer's public rating. Completers are counted as people (distinct learners whose application to this offer
 * is 'completed'); only their completion surveys count. Below the minimum of completers, or of answers among them
 * (ten completers of whom two answered would show those two people's stars), nothing but the count of completers is
 * given out, so a handful of answers cannot be traced back to the people who gave them.
 */
export async function offerRating(db: Knex, offerId: string): Promise<OfferRating> {
  const [{ completers }] = await db('applications').join('cases', 'cases.id', 'applications.caseId')
    .where({ 'applications.offerId': offerId, 'applications.state': 'completed' })
    .countDistinct<{ completers: string }[]>('cases.learnerId as completers');
  const base = { completers: Number(completers), minimumCompleters: MIN_COMPLETERS_FOR_RATING, minimumAnswers: MIN_SURVEY_RESPONDENTS };
  const hidden = (hiddenBecause: OfferRating['hiddenBecause']) => ({ ...base, shown: false, hiddenBecause, answers: null, overall: null, aspects: null });
  if (base.completers < MIN_COMPLETERS_FOR_RATING) return hidden('few_completers');

  const aspectColumns = SURVEY_ASPECTS.map((aspect, i) =>
    db.raw(`round(avg((survey_answers.ratings->>?)::numeric), 1) as "a${i}"`, [aspect]));
  // Overall: every star given counts once (the mean of all aspect ratings of all answers).
  const overall = db.raw(`round((SELECT avg(v::numeric) FROM survey_answers s2 JOIN applications a2 ON a2.id = s2.application_id
    CROSS JOIN LATERAL jsonb_each_text(s2.ratings) AS r(k, v)
    WHERE a2.offer_id = ? AND a2.state = 'completed' AND s2.kind = 'completion' AND r.k = ANY(?)), 1) as overall`, [offerId, [...SURVEY_ASPECTS]]);
  const stats: Record<string, string | null> = await db('surveyAnswers')
    .join('applications', 'applications.id', 'surveyAnswers.applicationId')
    .where({ 'applications.offerId': offerId, 'applications.state': 'completed', 'surveyAnswers.kind': 'completion' })
    .first(db.raw('count(*) as answers'), ...aspectColumns, overall);
  const num = (v: string | null | undefined) => (v === null || v === undefined ? null : Number(v));
  const answers = Number(stats.answers ?? 0);
  if (!enoughRespondents(answers)) return hidden('few_answers');
  return {
    ...base, shown: true, hiddenBecause: null, answers, overall: num(stats.overall),
    aspects: Object.fromEntries(SURVEY_ASPECTS.map((aspect, i) => [aspect, num(stats[`a${i}`])])),
  };
}

/** Which of these offers show their rating in the public catalogue (published, with enough completers and answers). */
export async function publiclyRatedOffers(db: Knex, offerIds: readonly string[]): Promise<Set<string>> {
  const published = await db('offers').whereIn('id', offerIds).where('state', 'published').pluck<string[]>('id');
  const rated = await Promise.all(published.map(async (id) => ((await offerRating(db, id)).shown ? id : null)));
  return new Set(rated.filter((id): id is string => id !== null));
}

/** The competences, languages, DigComp levels and municipalities of published offers, for the filter form's choices. */
export async function catalogueChoices(deps: ApiDeps) {
  const { db } = deps;
  const [competences, languages, levels, municipalities] = await Promise.all([
    publishedOffers(db).whereNotNull('offers.competence').distinct('offers.competence').orderBy('offers.competence'),
    publishedOffers(db).distinct('offers.language').orderBy('offers.language'),
    publishedOffers(db).whereNotNull('offers.digcompLevel').distinct('offers.digcompLevel').orderBy('offers.digcompLevel'),
    publishedOffers(db).join('offerGroups', 'offerGroups.offerId', 'offers.id')
      .distinct(db.raw(`${MUNICIPALITY} as municipality`)).orderBy('municipality'),
  ]);
  return {
    competences: (competences as { competence: string }[]).map((r) => r.competence),
    languages: (languages as { language: string }[]).map((r) => r.language),
    digcompLevels: (levels as { digcompLevel: number }[]).map((r) => r.digcompLevel),
    municipalities: (municipalities as { municipality: string }[]).map((r) => r.municipality).filter((m) => m.length > 0),
  };
}

/** The filters that are about a single group of an offer. */
interface GroupFilters { from?: string; to?: string; municipality?: string; freePlaces?: number }

// Groups of the outer query's offer that meet every group filter given (each may be absent).
function matchingGroups(query: Knex.QueryBuilder, filters: GroupFilters): Knex.QueryBuilder {
  query.from('offerGroups').whereRaw('offer_groups.offer_id = offers.id');
  if (filters.from) query.where('offerGroups.startsOn', '>=', filters.from);
  if (filters.to) query.where('offerGroups.startsOn', '<=', filters.to);
  if (filters.municipality) query.whereRaw(`lower(${MUNICIPALITY}) = lower(?)`, [filters.municipality]);
  if (filters.freePlaces) query.whereRaw('offer_groups.capacity - offer_groups.enrolled >= ?', [filters.freePlaces]);
  return query;
}

interface HoursRow { hoursTheory: number | null; hoursPractice: number | null }

/** Theory and practice hours together, or null when the offer states neither. */
function totalHours(row: HoursRow): number | null {
  return row.hoursTheory !== null || row.hoursPractice !== null ? (row.hoursTheory ?? 0) + (row.hoursPractice ?? 0) : null;
}

function commonFields(r: OfferRow) {
  return {
    offerId: r.id, title: { lv: r.titleLv, en: r.titleEn }, provider: r.providerName, programme: r.programme,
    programmeName: { lv: r.nameLv, en: r.nameEn }, competence: r.competence, language: r.language,
    digcompLevel: r.digcompLevel, costCents: r.costCents, copayPercent: r.effectiveCopayPercent,
    share: costSplit(r.funding, r.costCents, r.effectiveCopayPercent),
  };
}

function unique(values: string[]): string[] {
  return [...new Set(values.filter((v) => v.trim().length > 0))];
}
