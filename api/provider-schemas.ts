import { z } from 'zod';
import { isCalendarDay } from '../domain/dates';
import { isCompanyRegistrationNumber } from '../activities/registries/enterprise-register';
import { isViisRegistrationNumber } from '../activities/registries/viis';
import { DROPOUT_REASONS, SURVEY_ASPECTS } from '../domain/applications';
import { OFFER_STATES } from '../domain/offers';
import { bilingual } from './schemas';
import { text } from './text-input';

// Request schemas of provider registration and the provider's offers workspace, shared by the JSON API and the
// page forms. Page forms send every value as text, so numbers accept digit strings and an empty field is null.

const required = (max: number) => text().trim().min(1, { message: 'is required' }).max(max, { message: `must be at most ${max} characters` });
const optionalText = (max: number) => z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? null : v),
  text().trim().max(max, { message: `must be at most ${max} characters` }).nullable()).optional();
const email = () => text().trim().max(254, { message: 'must be at most 254 characters' })
  .pipe(z.email({ message: 'must be an e-mail address such as name@example.lv' })).transform((v) => v.toLowerCase())
  // The document shows the input side of the pipe (text): it says it must be an address too.
  .meta({ format: 'email' });
const wholeNumber = (min: number, max: number) => z.preprocess(
  (v) => (v === '' ? null : typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v),
  z.number({ error: 'must be a whole number' }).int({ message: 'must be a whole number' })
    .min(min, { message: `must be at least ${min}` }).max(max, { message: `must be at most ${max}` }).nullable(),
).optional();
const requestId = z.uuid({ message: 'must be the form\'s request id (a UUID)' }).optional()
  .describe('Repeating a request with the same id does it once');

/** A company registration number (Enterprise Register): 11 digits. */
export const companyNumber = () => text().trim().max(30, { message: 'must be 11 digits' }).refine(isCompanyRegistrationNumber, { message: 'must be 11 digits', params: { rule: 'eleven_digits' } });

/** An education provider's registration (the declaration file comes as the multipart file field `declaration`). */
export const providerRegistrationSchema = z.object({
  institutionName: required(200),
  companyRegistrationNumber: companyNumber(),
  educationRegistrationNumber: text().trim().max(30, { message: 'must be 10 digits' }).refine(isViisRegistrationNumber, { message: 'must be 10 digits', params: { rule: 'ten_digits' } }),
  firstName: required(100),
  lastName: required(100),
  email: email(),
  password: text().min(1, { message: 'is required' }).max(200, { message: 'must be at most 200 characters' }),
  passwordRepeat: text().max(200, { message: 'must be at most 200 characters' }),
  language: z.enum(['lv', 'en'], { message: 'must be "lv" or "en"' }),
}).strict();

/** A staff member of a registered provider asking to join it. */
export const providerStaffRegistrationSchema = z.object({
  firstName: required(100),
  lastName: required(100),
  companyRegistrationNumber: companyNumber(),
  email: email(),
  password: text().min(1, { message: 'is required' }).max(200, { message: 'must be at most 200 characters' }),
  passwordRepeat: text().max(200, { message: 'must be at most 200 characters' }).optional().describe('Checked when sent (the page form always sends it)'),
}).strict();

/** The administrator's decision on a staff member's request. */
export const staffDecisionSchema = z.object({ decision: z.enum(['approve', 'reject'], { message: 'must be "approve" or "reject"' }) }).strict();

/** Path parameters naming a provider user. */
export const staffParams = z.object({ userId: z.uuid({ message: 'must be a user id (UUID)' }) });

/** A new draft offer in an open call. */
export const createOfferSchema = z.object({
  callId: z.uuid({ message: 'must be a call id (UUID)' }),
  titleLv: required(200),
  titleEn: required(200),
  requestId: z.uuid({ message: 'must be a UUID' }).optional()
    .describe('Any UUID of your choosing: the same request sent twice creates one draft'),
}).strict();

/**
 * The whole-number fields of a draft and their bounds: the schema below and the form's words ("a whole number from
 * 0 to 100") read them from here. A call narrows the DigComp level further (api/services/offer-form.ts).
 */
export const OFFER_NUMBER_RANGES = {
  digcompLevel: [1, 8], digitalSharePercent: [0, 100], hoursTheory: [0, 2000], hoursPractice: [0, 2000], statedCostCents: [0, 10_000_000],
} as const satisfies Record<string, readonly [number, number]>;

/** Editable fields of a draft (all optional: only those sent change; checks for completeness run on submission). */
export const offerFieldsSchema = z.object({
  titleLv: required(200).optional(),
  titleEn: required(200).optional(),
  competence: optionalText(200).describe("One of the call's competences"),
  descriptionLv: optionalText(5000),
  descriptionEn: optionalText(5000),
  prerequisitesLv: optionalText(2000),
  prerequisitesEn: optionalText(2000),
  language: z.enum(['lv', 'en'], { message: 'must be "lv" or "en"' }).optional(),
  digcompLevel: wholeNumber(...OFFER_NUMBER_RANGES.digcompLevel).describe("The call's DigComp range applies (1-8 where the call sets none)"),
  digitalSharePercent: wholeNumber(...OFFER_NUMBER_RANGES.digitalSharePercent),
  hoursTheory: wholeNumber(...OFFER_NUMBER_RANGES.hoursTheory),
  hoursPractice: wholeNumber(...OFFER_NUMBER_RANGES.hoursPractice),
  licenceNumber: optionalText(50),
  coefficientCode: optionalText(50).describe('A code of the cost coefficient table'),
  statedCostCents: wholeNumber(...OFFER_NUMBER_RANGES.statedCostCents).describe("The provider's own cost per learner, in cents"),
  places: z.array(z.object({ address: required(300) }).strict(), { message: 'must be a list of { address }' })
    .max(20, { message: 'at most 20 places' }).optional().describe('Places of delivery, each registered in VIIS'),
}).strict();

/** The editable fields, after parsing. */
export type OfferFields = z.output<typeof offerFieldsSchema>;

/** Path parameters naming an offer. */
export const offerParams = z.object({ offerId: z.uuid({ message: 'must be an offer id (UUID)' }) });

/** Path parameters naming an offer's document kind. */
export const offerDocumentParams = offerParams.extend({
  kind: z.string().regex(/^[a-z_]{1,50}$/, { message: 'must be a document kind such as curriculum' }),
});

/** Submitting or withdrawing an offer. */
export const offerActionSchema = z.object({ requestId }).strict();

// A malformed day is one problem, not also "not a calendar day": the format check aborts the rest.
const day = (what: string) => text().regex(/^\d{4}-\d{2}-\d{2}$/, { message: `must be the ${what} day as YYYY-MM-DD`, abort: true })
  .refine(isCalendarDay, { message: 'is not a calendar day', params: { rule: 'invalid_date' } });

/** A group of an approved offer. */
export const offerGroupSchema = z.object({
  place: required(300),
  startsOn: day('first'),
  endsOn: day('last'),
  schedule: required(500),
  capacity: z.preprocess((v) => (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v),
    z.number({ error: 'must be a whole number' }).int({ message: 'must be a whole number' })
      .min(1, { message: 'must be at least 1' }).max(100, { message: 'must be at most 100' })),
  requestId: z.uuid({ message: 'must be a UUID' }).optional()
    .describe('Any UUID of your choosing: the same request sent twice adds one group'),
}).strict();

/** The details of a refused offer submission: one problem per field, in both languages. */
export const offerProblemSchema = z.object({ field: z.string(), code: z.string(), message: z.object({ lv: z.string(), en: z.string() }) });

// ---------------------------------------------------------------------------------------------------------------
// Response bodies of the provider's offers workspace (api/services/provider-offers.ts); they describe, not validate.

/** One of the provider's offers in the list (OfferSummary); every answer about one offer carries these too. */
export const offerSummarySchema = z.object({
  id: z.uuid(), state: z.enum(OFFER_STATES), title: bilingual, callId: z.uuid().nullable(), callCode: z.string().nullable(),
  callTitle: bilingual.nullable(), submissionClosesAt: z.iso.datetime().nullable(), updatedAt: z.iso.datetime(),
});

/** A call taking offers now (OpenCallView). */
export const openCallSchema = z.object({
  id: z.uuid(), code: z.string(), title: bilingual, submissionClosesAt: z.iso.datetime(),
  requiredDocuments: z.array(z.string()).describe('The document kinds an offer in this call must attach'),
});

/** A document attached to an offer, without its bytes (OfferDocumentView). */
export const offerDocumentViewSchema = z.object({
  kind: z.string(), filename: z.string(), contentType: z.string(), sizeBytes: z.number().int(), sha256: z.string().regex(/^[0-9a-f]{64}$/),
  uploadedAt: z.iso.datetime(),
});

/** A group of an offer with its free places (OfferGroupView). */
export const offerGroupViewSchema = z.object({
  id: z.uuid(), place: z.string(), startsOn: z.iso.date(), endsOn: z.iso.date(), schedule: z.string().nullable(),
  capacity: z.number().int(), enrolled: z.number().int(), freePlaces: z.number().int(),
});

/**
 * Survey results of one scope (SurveySummary): answers, average stars and answer count per aspect, dropout reasons.
 * Ratings and reasons are left out while fewer than minRespondents gave them, so that they identify no one.
 */
const surveySummarySchema = z.object({
  completionAnswers: z.number().int(), dropoutAnswers: z.number().int(),
  minRespondents: z.number().int().describe('Ratings and reasons are shown only from this many answers of their kind'),
  ratingsSuppressed: z.boolean().describe('true: fewer than minRespondents completers answered; averages and ratingCounts are left out'),
  averages: z.record(z.enum(SURVEY_ASPECTS), z.number().nullable()).optional().describe('Average stars (1-5) per aspect; null with no ratings'),
  ratingCounts: z.record(z.enum(SURVEY_ASPECTS), z.number().int()).optional(),
  reasonsSuppressed: z.boolean().describe('true: fewer than minRespondents dropouts answered; reasons are left out'),
  reasons: z.record(z.enum(DROPOUT_REASONS), z.number().int()).optional().describe('How often each dropout reason was chosen'),
});

/** The provider's survey results for the institution, per offer and per group (surveyResults). */
export const surveyResultsSchema = z.object({
  institution: surveySummarySchema,
  offers: z.array(z.object({ offerId: z.uuid(), title: bilingual, summary: surveySummarySchema })),
  groups: z.array(z.object({
    groupId: z.uuid(), offerId: z.uuid(), place: z.string(), startsOn: z.iso.date(), endsOn: z.iso.date(), summary: surveySummarySchema,
  })),
});

/** The offer form's pick-lists (OfferChoices, api/services/offer-form.ts). */
export const offerChoicesSchema = z.object({
  coefficients: z.array(z.object({ code: z.string(), name: bilingual, coefficientThousandths: z.number().int().describe('1.28 is 1280') })),
  competences: z.array(z.string()).describe("The competences the call funds; empty: the call names none"),
  digcomp: z.object({ min: z.number().int(), max: z.number().int() }).describe('The DigComp levels the call takes'),
  viis: z.enum(['ok', 'not_found', 'no_number', 'unavailable']).describe("What VIIS said about the provider's institution"),
  licences: z.array(z.object({ number: z.string(), programme: z.string(), hours: z.number().int() })).nullable(),
  places: z.array(z.string()).nullable().describe('Addresses of the places of delivery registered in VIIS'),
});

/** The answer of "check without submitting" (DraftCheck). */
export const draftCheckSchema = z.object({
  problems: z.array(offerProblemSchema).describe('Every problem submission would refuse the offer for; code is the rule broken'),
  viis: z.enum(['ok', 'not_found', 'no_number', 'unavailable']).describe("'unavailable': VIIS did not answer, so the places and the licence were not checked"),
  cost: z.object({
    computedCostCents: z.number().int().nullable().describe('The cost per learner as submission computes it; null until a coefficient and both hours are given'),
    hourlyRateCents: z.number().int().nullable(), hours: z.number().int().nullable(),
  }),
  places: z.array(z.string()).describe('The places checked: places[i] in a problem names the i-th'),
});
