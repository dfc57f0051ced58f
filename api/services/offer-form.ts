import type { Knex } from 'knex';
import type { ViisInstitution } from '../../activities/registries/viis';
import { checkOffer, computedCostCents, type CallRules, type OfferFacts } from '../../domain/offer-checks';
import { hourlyRateCents } from '../../domain/offer-cost';
import { COUNTED_OFFER_STATES, type OfferProblem, type OfferState } from '../../domain/offers';
import type { Session } from '../../lib/sessions';
import { translate, type PageLanguage } from '../../web/render';
import type { ApiDeps } from '../deps';
import type { WordedProblem } from '../errors';
import { OFFER_NUMBER_RANGES, offerFieldsSchema, type OfferFields } from '../provider-schemas';
import { isTextRule, textProblem } from '../text-input';
import { providerOf } from './provider';
import type { OfferDetail } from './provider-offers';

// The offer form's data and rules (issue 16, item 6): the pick-lists (cost coefficients from their table, the call's
// competences and DigComp levels, the institution's licences and places of delivery from VIIS), the rules a draft's
// fields keep, worded with the form's labels in both languages, and "check without submitting": the submission's
// own checks (domain/offer-checks.ts) run over the fields as typed, saving nothing.

/** What VIIS said about the provider's institution: the form lists licences and places only with 'ok'. */
export type ViisStatus = 'ok' | 'not_found' | 'no_number' | 'unavailable';

/** The call's rules the form and its checks read. */
export type OfferCallRules = CallRules;

/** Everything the form offers to choose from. */
export interface OfferChoices {
  coefficients: { code: string; name: { lv: string; en: string }; coefficientThousandths: number }[];
  /** The competences the call funds (empty: the call names none, any text is taken). */
  competences: string[];
  /** The DigComp levels the call takes (1-8 where it sets no bounds). */
  digcomp: { min: number; max: number };
  viis: ViisStatus;
  /** The institution's licensed programmes in VIIS, or null unless VIIS answered about it. */
  licences: { number: string; programme: string; hours: number }[] | null;
  /** The institution's places of delivery in VIIS, or null unless VIIS answered about it. */
  places: string[] | null;
}

/** The cost per learner as submission computes it, with the parts of the formula for the form to show. */
export interface CostPreview { computedCostCents: number | null; hourlyRateCents: number | null; hours: number | null }

/** The answer of "check without submitting". */
export interface DraftCheck {
  /** Every problem submission would refuse the offer for, each naming its field, in both languages. */
  problems: OfferProblem[];
  /** 'unavailable': VIIS did not answer, so the places and the licence were not checked (the rest was). */
  viis: ViisStatus;
  cost: CostPreview;
  /** The places checked, in order: `places[i]` in a problem names the i-th. */
  places: string[];
}

/** The rules of the offer's call, as submission reads them. */
export async function callRulesOf(db: Knex, callId: string | null): Promise<OfferCallRules> {
  const call = callId ? await db('calls').where({ id: callId }).first<{
    competences: string[]; digcompMin: number | null; digcompMax: number | null; minDigitalSharePercent: number; maxOffersPerProvider: number; requiredDocuments: string[];
  } | undefined>('competences', 'digcompMin', 'digcompMax', 'minDigitalSharePercent', 'maxOffersPerProvider', 'requiredDocuments') : undefined;
  return {
    competences: call?.competences ?? [], digcompMin: call?.digcompMin ?? null, digcompMax: call?.digcompMax ?? null,
    minDigitalSharePercent: call?.minDigitalSharePercent ?? 0, maxOffersPerProvider: call?.maxOffersPerProvider ?? Number.MAX_SAFE_INTEGER,
    requiredDocuments: call?.requiredDocuments ?? [],
  };
}

/** The DigComp levels a call takes: its bounds, the framework's own ends (1 and 8) where it sets none. */
export function digcompRange(call: Pick<OfferCallRules, 'digcompMin' | 'digcompMax'>): { min: number; max: number } {
  const [min, max] = OFFER_NUMBER_RANGES.digcompLevel;
  return { min: call.digcompMin ?? min, max: call.digcompMax ?? max };
}

/**
 * The provider's own institution as VIIS has it, through the API's VIIS client (its timeout bounds the wait). VIIS
 * down is an answer ('unavailable'): the form then takes typed values and says why.
 */
export async function ownInstitution(deps: ApiDeps, session: Session): Promise<{ status: ViisStatus; institution: ViisInstitution | null }> {
  const provider = await deps.db('providers').where({ id: providerOf(session) }).first<{ educationRegistrationNumber: string | null } | undefined>('educationRegistrationNumber');
  const number = provider?.educationRegistrationNumber;
  if (!number) return { status: 'no_number', institution: null };
  try {
    const institution = await deps.viis.getInstitution(number);
    return institution ? { status: 'ok', institution } : { status: 'not_found', institution: null };
  } catch (err) {
    deps.logger.warn('VIIS did not answer for the offer form', { err: (err as Error).message });
    return { status: 'unavailable', institution: null };
  }
}

async function coefficientRows(db: Knex) {
  return db('costCoefficients').orderBy('code').select<{ code: string; nameLv: string; nameEn: string; coefficientThousandths: number }[]>(
    'code', 'nameLv', 'nameEn', 'coefficientThousandths');
}

/** The form's pick-lists for one of the provider's offers. */
export async function offerChoices(deps: ApiDeps, session: Session, offer: Pick<OfferDetail, 'callId'>): Promise<OfferChoices> {
  const [coefficients, call, viis] = await Promise.all([coefficientRows(deps.db), callRulesOf(deps.db, offer.callId), ownInstitution(deps, session)]);
  return {
    coefficients: coefficients.map((c) => ({ code: c.code, name: { lv: c.nameLv, en: c.nameEn }, coefficientThousandths: c.coefficientThousandths })),
    competences: call.competences, digcomp: digcompRange(call), viis: viis.status,
    licences: viis.institution?.licences.map(({ number, programme, hours }) => ({ number, programme, hours })) ?? null,
    places: viis.institution?.placesOfDelivery.map((p) => p.address) ?? null,
  };
}

/** The label of a field as the form shows it, in one language. */
export function fieldLabel(l: PageLanguage, field: string): string {
  const place = /^place_(\d+)$/.exec(field);
  if (place) return translate(l, 'providerOffers.field.place', { number: Number(place[1]) + 1 });
  return translate(l, `providerOffers.field.${field === 'statedCostCents' ? 'statedCost' : field}`);
}

/** A problem of one field in both languages, from the form's words (`offerForm.rule.<rule>`) with its label. */
export function wordedProblem(field: string, rule: string, vars: Record<string, unknown> = {}): WordedProblem {
  const words = (l: PageLanguage) => translate(l, `offerForm.rule.${rule}`, { label: fieldLabel(l, field), ...vars });
  return { field, rule, message: words('en'), words: { lv: words('lv'), en: words('en') } };
}

type FieldName = keyof typeof offerFieldsSchema.shape;

/** One field's value checked against its schema: the parsed value, or the problem worded with the field's label. */
function checkField(field: FieldName, value: unknown): { value: unknown } | { problem: WordedProblem } {
  const parsed = offerFieldsSchema.shape[field].safeParse(value);
  if (parsed.success) return { value: parsed.data };
  const issue = parsed.error.issues[0]!;
  const textRule = issue.code === 'custom' ? (issue.params as { rule?: string } | undefined)?.rule : undefined;
  if (textRule && isTextRule(textRule)) return { problem: { ...textProblem(field, textRule), field } };
  if (field in OFFER_NUMBER_RANGES) {
    const [min, max] = OFFER_NUMBER_RANGES[field as keyof typeof OFFER_NUMBER_RANGES];
    return { problem: wordedProblem(field, 'whole_number', { min, max }) };
  }
  if (field === 'language') return { problem: wordedProblem(field, 'language') };
  if (issue.code === 'too_big' && typeof issue.maximum === 'number') return { problem: wordedProblem(field, 'too_long', { max: issue.maximum }) };
  if (issue.code === 'too_small') return { problem: wordedProblem(field, 'required') };
  return { problem: wordedProblem(field, 'invalid') };
}

/**
 * The rules a draft's fields keep beyond their shape, the same for the JSON API and the page: the DigComp level
 * within the call's range, a competence the call funds, a coefficient from the table.
 */
export async function draftRuleProblems(db: Knex, call: OfferCallRules, fields: OfferFields): Promise<WordedProblem[]> {
  const problems: WordedProblem[] = [];
  const { min, max } = digcompRange(call);
  if (typeof fields.digcompLevel === 'number' && (fields.digcompLevel < min || fields.digcompLevel > max)) {
    problems.push(wordedProblem('digcompLevel', 'digcomp_range', { min, max }));
  }
  if (fields.competence && call.competences.length > 0 && !call.competences.includes(fields.competence)) {
    problems.push(wordedProblem('competence', 'not_in_call', { list: call.competences.join(', ') }));
  }
  if (fields.coefficientCode && !(await db('costCoefficients').where({ code: fields.coefficientCode }).first('code'))) {
    problems.push(wordedProblem('coefficientCode', 'unknown_coefficient', { code: fields.coefficientCode }));
  }
  return problems;
}

/**
 * A draft's fields as the page sent them, field by field: those that keep every rule, and a worded problem for each
 * that does not, so that saving keeps the good fields (a bad one no longer throws the whole form away).
 */
export async function splitDraftFields(db: Knex, call: OfferCallRules, input: Record<string, unknown>): Promise<{ fields: OfferFields; problems: WordedProblem[] }> {
  const fields: Record<string, unknown> = {};
  const problems: WordedProblem[] = [];
  for (const [field, value] of Object.entries(input)) {
    if (!(field in offerFieldsSchema.shape)) continue;
    const checked = checkField(field as FieldName, value);
    if ('problem' in checked) problems.push(checked.problem);
    else if (checked.value !== undefined) fields[field] = checked.value;
  }
  const ruled = await draftRuleProblems(db, call, fields as OfferFields);
  for (const p of ruled) delete fields[p.field];
  return { fields: fields as OfferFields, problems: [...problems, ...ruled] };
}

/** The cost per learner computed exactly as submission computes it (domain/offer-checks.ts), with its parts. */
export function costPreview(fields: Pick<OfferFields, 'hoursTheory' | 'hoursPractice'>, coefficientThousandths: number | null): CostPreview {
  const theory = fields.hoursTheory ?? null;
  const practice = fields.hoursPractice ?? null;
  const cents = computedCostCents({ hoursTheory: theory, hoursPractice: practice }, coefficientThousandths);
  return {
    computedCostCents: cents,
    hourlyRateCents: coefficientThousandths ? hourlyRateCents(coefficientThousandths) : null,
    hours: theory !== null && practice !== null ? theory + practice : null,
  };
}

/** The coefficient of a code in thousandths, or null when the code is empty or not in the table. */
export async function coefficientOf(db: Knex, code: string | null | undefined): Promise<number | null> {
  if (!code) return null;
  const row = await db('costCoefficients').where({ code }).first<{ coefficientThousandths: number } | undefined>('coefficientThousandths');
  return row?.coefficientThousandths ?? null;
}

/** The stored fields with the given ones over them (a field not given keeps its stored value). */
export function mergedFields(offer: OfferDetail, fields: OfferFields): Required<OfferFields> {
  const given = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  return { ...offer.fields, ...given } as Required<OfferFields>;
}

/** A submission problem with human words: a missing document by its name, not its internal kind. */
export function humanOfferProblem(p: OfferProblem): OfferProblem {
  if (p.code !== 'document_missing' || !p.field.startsWith('documents.')) return p;
  const kind = p.field.slice('documents.'.length);
  const words = (l: PageLanguage) => {
    const key = `providerOffers.document.${kind}`;
    const name = translate(l, key);
    return translate(l, 'offerForm.problem.document_missing', { document: name === key ? kind : name });
  };
  return { ...p, message: { lv: words('lv'), en: words('en') } };
}

/** A field problem in the shape of a submission problem (field, code, words of both languages). */
export function asOfferProblem(p: WordedProblem): OfferProblem {
  return { field: p.field, code: p.rule, message: p.words ?? { lv: p.message, en: p.message } };
}

/**
 * "Check without submitting": the draft rules over the given fields, then the submission's checks over the offer
 * with the given fields over the stored ones, with the facts submission gathers (VIIS, documents, the provider's
 * other offers in the call, the coefficient). Nothing is written. A field that already broke a rule (`fieldProblems`
 * from reading a form, or the draft rules here) is named once, by that rule, and keeps its stored value for the rest.
 * With VIIS down the rest is still checked, and the answer says the places and the licence were not.
 */
export async function checkDraft(deps: ApiDeps, session: Session, offer: OfferDetail, fields: OfferFields, fieldProblems: WordedProblem[] = []): Promise<DraftCheck> {
  const call = await callRulesOf(deps.db, offer.callId);
  const ruled = [...fieldProblems, ...(await draftRuleProblems(deps.db, call, fields))];
  const bad = new Set(ruled.map((p) => p.field));
  const good = Object.fromEntries(Object.entries(fields).filter(([field]) => !bad.has(field))) as OfferFields;
  const merged = mergedFields(offer, good);
  const [viis, coefficient, others] = await Promise.all([
    ownInstitution(deps, session), coefficientOf(deps.db, merged.coefficientCode),
    deps.db('offers').where({ providerId: providerOf(session), callId: offer.callId }).whereIn('state', COUNTED_OFFER_STATES as OfferState[])
      .whereNot({ id: offer.id }).count<{ n: string }[]>({ n: '*' }),
  ]);
  const facts: OfferFacts = {
    institution: viis.institution && {
      places: viis.institution.placesOfDelivery.map((p) => p.address),
      licences: viis.institution.licences.map((l) => ({ number: l.number, hours: l.hours })),
    },
    attachedDocuments: offer.documents.filter((d) => d.document).map((d) => d.kind),
    otherOffersInCall: Number(others[0]?.n ?? 0),
    coefficientThousandths: coefficient,
  };
  const checks = checkOffer(merged, call, facts)
    .filter((p) => !bad.has(p.field))
    // Unknown, not absent: with VIIS down the institution cannot be said to be missing from it.
    .filter((p) => !(viis.status === 'unavailable' && p.code === 'institution_not_in_viis'))
    .map(humanOfferProblem);
  const costFieldBroken = ['coefficientCode', 'hoursTheory', 'hoursPractice'].some((f) => bad.has(f));
  return {
    problems: [...ruled.map(asOfferProblem), ...checks], viis: viis.status,
    cost: costFieldBroken ? { computedCostCents: null, hourlyRateCents: null, hours: null } : costPreview(merged, coefficient),
    places: merged.places.map((p) => p.address),
  };
}
