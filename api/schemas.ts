import { z } from 'zod';
import { DROPOUT_REASONS, SURVEY_ASPECTS, type SurveyAspect } from '../domain/applications';
import { OFFER_STATES } from '../domain/offers';
import { checkPersonCode } from '../domain/person-code';
import { parseInboxSearch } from '../domain/inbox-search';
import type { WordedProblem } from './errors';
import { ruleWords } from './messages';
import { text } from './text-input';

// Request schemas shared by the JSON API and the web forms: one schema per input, so both answer alike.

const checkbox = (message: string) =>
  z.preprocess((v) => (v === 'on' || v === 'true' ? true : v), z.literal(true, { message }));

/** A learner's registration for the individual learning account. */
export const registrationSchema = z.object({
  requestId: z.uuid({ message: 'must be the form\'s request id (a UUID)' }).transform((id) => id.toLowerCase()).optional()
    .describe('Repeating a submit with the same id starts nothing new'),
  email: text().trim().max(254, { message: 'must be at most 254 characters' })
    .pipe(z.email({ message: 'must be an e-mail address such as name@example.lv' }))
    // The document shows the input side of the pipe (text up to 254 characters): it says it must be an address too.
    .meta({ format: 'email' }),
  phone: z.string().trim()
    .regex(/^(\+?\d[\d ]{6,18}\d)?$/, { message: 'must be a phone number of 8 to 20 digits, optionally starting with +' })
    .optional().transform((v) => (v ? v : null)),
  language: z.enum(['lv', 'en'], { message: 'must be "lv" or "en"' }),
  programme: z.string().regex(/^[A-Z0-9-]{2,20}$/, { message: 'must be a programme code such as IMK' }).default('IMK')
    .describe('The programme to apply for (see the programmes the agency runs)'),
  acceptTerms: checkbox('you must accept the terms of use'),
  // The version the person read (the form carries it); the start checks it is the one in force (api/services/terms.ts).
  termsVersion: text('must be the current terms version').max(40, { message: 'must be the current terms version' })
    .describe('The version of the terms of use the person read and accepted: the one in force (GET /api/terms/current)'),
  employerName: text().trim().max(200, { message: 'must be at most 200 characters' }).optional().transform((v) => (v ? v : null))
    .describe('The employer, declared by the learner for a programme for the employed (co-payment, e.g. MN); the approving officer reads it'),
  employerRegistrationNumber: z.string().trim().regex(/^(\d{11})?$/, { message: 'must be the employer\'s 11-digit registration number' })
    .optional().transform((v) => (v ? v : null)),
}).strict();

/** The input of a registration, after parsing. */
export type Registration = z.output<typeof registrationSchema>;

/** Task types whose refusal is explained by a list of reasons (the provider reads each one). */
export const REASONED_TASK_TYPES = ['evaluate-offer'] as const;

/**
 * A staff decision on an inbox task. The shape is checked here; what a refusal needs depends on the task's type
 * (a comment for a learner's or a provider's approval, one or more reasons for an offer evaluation) and is checked
 * by `decisionProblems` once the task is known.
 */
export const decisionSchema = z.object({
  decision: z.enum(['approve', 'reject'], { message: 'must be "approve" or "reject"' }),
  comment: text().trim().max(2000, { message: 'must be at most 2000 characters' }).default(''),
  checklist: z.record(z.string().regex(/^[a-z0-9_.-]{1,60}$/i, { message: 'must be a checklist item code' }),
    z.boolean({ message: 'must be true or false' }), { error: 'must be an object of item code → true/false' }).optional()
    .describe('Offer evaluation only: the checklist items, ticked (true) or not (false); items left out count as not ticked'),
  reasons: z.array(text().trim().min(1, { message: 'must not be empty' }).max(1000, { message: 'must be at most 1000 characters' }),
    { error: 'must be a list of reasons (text)' }).max(30, { message: 'must be at most 30 reasons' }).optional()
    .describe('Offer evaluation only: why the offer is rejected, one reason per entry (at least one when rejecting)'),
}).strict();

/** A staff decision, after parsing. */
export type DecisionInput = z.output<typeof decisionSchema>;

/**
 * What a decision still lacks for a task of this type, one problem per field (empty when it is complete). An
 * unknown task type, or a task not found, gets the general rule: a refusal needs a comment the person will read.
 */
export function decisionProblems(taskType: string | null, input: DecisionInput, checklistCodes: readonly string[] | null): WordedProblem[] {
  const problems: WordedProblem[] = [];
  // The API's English message and the catalogue's words (rule.<name>) for the page.
  const ruled = (field: string, rule: string, message: string): WordedProblem => ({ field, rule, message, words: ruleWords(field, rule) });
  const reasoned = (REASONED_TASK_TYPES as readonly string[]).includes(taskType ?? '');
  if (reasoned) {
    if (input.decision === 'reject' && (input.reasons ?? []).length === 0) {
      problems.push(ruled('reasons', 'reason_required_rejecting', 'give at least one reason when rejecting: the provider reads each one'));
    }
    for (const code of Object.keys(input.checklist ?? {})) {
      if (checklistCodes && !checklistCodes.includes(code)) problems.push(ruled(`checklist.${code}`, 'not_in_checklist', 'is not an item of this task\'s checklist'));
    }
    return problems;
  }
  if (input.decision === 'reject' && input.comment.length === 0) {
    problems.push(ruled('comment', 'comment_required_rejecting', 'is required when rejecting: the person reads it as the reason'));
  }
  if (input.checklist !== undefined) problems.push(ruled('checklist', 'offer_evaluation_only', 'applies only to an offer evaluation'));
  if (input.reasons !== undefined) problems.push(ruled('reasons', 'offer_evaluation_only', 'apply only to an offer evaluation; use comment'));
  return problems;
}

/** Username and password of agency or provider staff. */
export const loginSchema = z.object({
  username: text().trim().min(1, { message: 'is required' }).max(100, { message: 'is too long' }),
  password: text().min(1, { message: 'is required' }).max(200, { message: 'is too long' }),
  /** The second-factor code (6 digits from the authenticator app, or a recovery code) of a user who has one. */
  code: text().trim().max(40, { message: 'is too long' }).optional(),
}).strict();

/** A case id in a path. */
export const caseParams = z.object({ caseId: z.uuid({ message: 'must be a case id (UUID)' }) });

/** A task id in a path. */
export const taskParams = z.object({ taskId: z.uuid({ message: 'must be a task id (UUID)' }) });

/** The inbox's task types (the workflows that open them: learner journey, provider registration, offer). */
export const TASK_TYPES = [
  'approve-imk', 'approve-provider', 'evaluate-offer', 'data-subject-request', 'role-request', 'outcomes-overdue',
] as const;

/** The states of a task (the tasks table's constraint). */
export const TASK_STATES = ['open', 'decided', 'cancelled'] as const;

/** Inbox filter options: which tasks by state, by assignee, by due date, and the two orders. */
export const INBOX_STATES = ['open', 'decided', 'cancelled', 'all'] as const;
export const ASSIGNEE_FILTERS = ['mine', 'unassigned', 'anyone'] as const;
export const DUE_FILTERS = ['overdue', 'today', 'week', 'any'] as const;
export const INBOX_SORTS = ['due', 'age'] as const;

// An empty form field ("any" in a select) means no filter.
const emptyAsMissing = (v: unknown) => (v === '' ? undefined : v);

/**
 * Paging and filters of the staff inbox, the same for the JSON API and the page (whose links carry them, so a view
 * can be shared). An unknown parameter is a 400 naming it; the page drops only its own `lang` and `done`.
 */
export const inboxQuery = z.object({
  state: z.preprocess(emptyAsMissing, z.enum(INBOX_STATES, { message: `must be one of ${INBOX_STATES.join(', ')}` }).default('open'))
    .describe('open (default), decided, cancelled or all'),
  type: z.preprocess(emptyAsMissing, z.enum(TASK_TYPES, { message: `must be one of ${TASK_TYPES.join(', ')}` }).optional()),
  programme: z.preprocess(emptyAsMissing, z.string({ message: 'must be a programme code such as IMK' })
    .regex(/^[A-Z0-9-]{2,20}$/, { message: 'must be a programme code such as IMK' }).optional())
    .describe('The learner case\'s programme, or the offer\'s; provider approvals have none'),
  call: z.preprocess(emptyAsMissing, z.uuid({ message: 'must be a call id (UUID)' }).optional())
    .describe('Offer evaluations in this call for offers'),
  assignee: z.preprocess(emptyAsMissing, z.enum(ASSIGNEE_FILTERS, { message: `must be one of ${ASSIGNEE_FILTERS.join(', ')}` }).default('anyone')),
  due: z.preprocess(emptyAsMissing, z.enum(DUE_FILTERS, { message: `must be one of ${DUE_FILTERS.join(', ')}` }).default('any'))
    .describe('Open tasks overdue, due by the end of today, or by the end of this week (Sunday), in Riga time'),
  sort: z.preprocess(emptyAsMissing, z.enum(INBOX_SORTS, { message: `must be one of ${INBOX_SORTS.join(', ')}` }).default('due'))
    .describe('due: overdue first, then soonest due; age: oldest first'),
  page: z.preprocess(emptyAsMissing, z.coerce.number({ message: 'must be a number' }).int({ message: 'must be a whole number' }).min(1, { message: 'must be 1 or more' }).default(1)),
  q: z.preprocess(emptyAsMissing, text().trim().max(100, { message: 'must be at most 100 characters' }).superRefine((value, ctx) => {
    const parsed = parseInboxSearch(value);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.reason });
  }).transform((value) => (value === '' ? undefined : value)).optional())
    .describe('Search: a learner\'s name (each word the start of the first or last name), a person code (the search is audited) or a case number'),
}).strict();

/** The inbox's filters, after parsing. */
export type InboxQuery = z.output<typeof inboxQuery>;

/** Team leads assign a task to a colleague. */
export const assignSchema = z.object({
  assigneeId: z.uuid({ error: (issue) => (issue.input === undefined || issue.input === '' ? 'is required' : 'must be a user id (UUID)') }),
}).strict();

/** A document id in a path. */
export const documentParams = z.object({ documentId: z.uuid({ message: 'must be a document id (UUID)' }) });

/** One entry in a case's timeline. */
export const caseEventSchema = z.object({
  step: z.string(), kind: z.string(), stage: z.string(), actorRole: z.string(), actorName: z.string().nullable(),
  channel: z.string(), occurredAt: z.string(), details: z.record(z.string(), z.unknown()),
});

/** A learner's journey as the learner sees it. */
export const journeySchema = z.object({
  caseId: z.uuid(), serviceCaseId: z.string(), programme: z.string(), stage: z.string(), outcomeReason: z.string().nullable(),
  balanceCents: z.number().int(), createdAt: z.string(), closedAt: z.string().nullable(), events: z.array(caseEventSchema),
});

/** A task in the staff inbox; its subject is a learner's case, a provider, or a provider's offer. */
export const taskSchema = z.object({
  id: z.uuid(), caseId: z.uuid().nullable(), serviceCaseId: z.string().nullable(), providerId: z.uuid().nullable(),
  offerId: z.uuid().nullable(), type: z.enum(TASK_TYPES), state: z.enum(TASK_STATES),
  learnerName: z.string().nullable().describe('Learner tasks: the learner\'s name'),
  providerName: z.string().nullable().describe('Provider and offer tasks: the provider\'s name'),
  providerRegistrationNumber: z.string().nullable(),
  offerTitle: z.object({ lv: z.string(), en: z.string() }).nullable().describe('Offer tasks: the offer\'s title'),
  subject: z.string().describe('Who or what the task is about, in words'),
  programme: z.string().nullable().describe('The learner case\'s or the offer\'s programme'),
  callId: z.uuid().nullable().describe('Offer tasks: the call for offers'),
  dueAt: z.iso.datetime(), escalatedAt: z.iso.datetime().nullable(), overdue: z.boolean(),
  dueInWorkingDays: z.number().int().describe('Working days from today (Riga) to the due day; negative when overdue'),
  createdAt: z.iso.datetime(),
  assigneeId: z.uuid().nullable(), assigneeName: z.string().nullable(), claimedAt: z.iso.datetime().nullable(),
  decision: z.string().nullable(), decidedByName: z.string().nullable(), decidedAt: z.iso.datetime().nullable(), comment: z.string().nullable(),
  facts: z.record(z.string(), z.unknown()),
});

/** Every status of a provider's registration (the providers_status constraint). */
export const PROVIDER_STATUSES = ['awaiting_email', 'awaiting_approval', 'approved', 'rejected', 'expired', 'cancelled'] as const;

/** A text in Latvian and English. */
export const bilingual = z.object({ lv: z.string(), en: z.string() });
const nullableBilingual = z.object({ lv: z.string().nullable(), en: z.string().nullable() });

/** One task with its subject's history, the provider or offer it is about, and the provider's documents. */
export const taskDetailSchema = z.object({
  task: taskSchema,
  employment: z.object({ employerName: z.string(), employerRegistrationNumber: z.string().nullable(), declaredAt: z.string() }).nullable()
    .describe('The learner\'s employment declaration, for a programme for the employed (co-payment, e.g. MN)'),
  events: z.array(caseEventSchema.omit({ step: true, channel: true }).extend({ occurredAt: z.iso.datetime() }))
    .describe('The learner case\'s events, or the provider\'s (registration) or the offer\'s; stage is the offer\'s or provider\'s state there'),
  provider: z.object({
    id: z.uuid(), name: z.string(), registrationNumber: z.string(), educationRegistrationNumber: z.string().nullable(),
    email: z.string().nullable(), status: z.enum(PROVIDER_STATUSES),
  }).nullable().describe('Provider and offer tasks'),
  offer: z.object({
    id: z.uuid(), state: z.enum(OFFER_STATES), programme: z.string(), title: bilingual,
    call: z.object({ code: z.string(), titleLv: z.string(), titleEn: z.string() }).nullable(),
    competence: z.string().nullable(), language: z.string(), description: nullableBilingual, prerequisites: nullableBilingual,
    digcompLevel: z.number().int().nullable(), digitalSharePercent: z.number().int().nullable(),
    hoursTheory: z.number().int().nullable(), hoursPractice: z.number().int().nullable(), licenceNumber: z.string().nullable(),
    coefficient: z.object({ code: z.string(), name: bilingual, value: z.number() }).nullable(),
    costCents: z.number().int(), statedCostCents: z.number().int().nullable(), costMatches: z.boolean(),
    places: z.array(z.string()), submittedAt: z.iso.datetime().nullable(),
  }).nullable().describe('Offer tasks'),
  documents: z.array(z.object({
    id: z.uuid(), kind: z.string(), filename: z.string(), contentType: z.string(), sizeBytes: z.number().int(), sha256: z.string(),
    uploadedAt: z.iso.datetime(), offerId: z.uuid().nullable(), downloadPath: z.string(),
  })).describe('The provider\'s declaration and, for an offer task, the offer\'s documents (downloaded at downloadPath)'),
});

const countsOf = z.record(z.string(), z.number().int());

/** How many tasks each option of each filter would give, with the other filters as they are. */
export const inboxCountsSchema = z.object({
  type: countsOf.describe('Per task type, and "any"'), programme: countsOf.describe('Per programme, and "any"'),
  call: countsOf.describe('Per call id, and "any"'), state: countsOf.describe('open, decided, cancelled and all'),
  assignee: countsOf.describe('mine, unassigned and anyone'), due: countsOf.describe('overdue, today, week and any (nested)'),
});

// ---------------------------------------------------------------------------------------------------------------
// The learner's side of applying and studying (catalogue, application, withdrawal, survey).

const requestId = () => z.uuid({ message: 'must be the form\'s request id (a UUID)' }).transform((id) => id.toLowerCase()).optional()
  .describe('Repeating a submit with the same id is answered once (the same outcome), not done twice');

/** Filters and paging of the public catalogue of offers. */
export const offersQuery = z.object({
  programme: z.string({ message: 'must be a programme code such as IMK' })
    .regex(/^[A-Z0-9-]{2,20}$/, { message: 'must be a programme code such as IMK' }).optional(),
  q: text('must be text').trim().max(100, { message: 'must be at most 100 characters' }).optional()
    .describe('Words to find in the offer\'s title (Latvian or English) or a group\'s place'),
  page: z.coerce.number({ message: 'must be a number' }).int({ message: 'must be a whole number' }).min(1, { message: 'must be 1 or more' }).default(1),
}).strict();

/** Input of the catalogue, after parsing. */
export type OffersQuery = z.output<typeof offersQuery>;

/** One group of an offer in the catalogue. */
export const offerGroupSchema = z.object({
  groupId: z.uuid(), place: z.string(), startsOn: z.string(), endsOn: z.string(), capacity: z.number().int(),
  enrolled: z.number().int(), freePlaces: z.number().int(),
});

/** One published offer in the catalogue; money in integer euro cents. */
export const offerSchema = z.object({
  offerId: z.uuid(), programme: z.string(), programmeName: z.object({ lv: z.string(), en: z.string() }),
  title: z.object({ lv: z.string(), en: z.string() }), provider: z.string(), costCents: z.number().int(),
  copayPercent: z.number().int().nullable(), applicationsOpenAt: z.string(), applicationsCloseAt: z.string(),
  groupFormationDeadline: z.string(), groups: z.array(offerGroupSchema),
  share: z.object({
    programmePaysCents: z.number().int().describe('What the programme pays of the cost (from the learning account where it has one)'),
    learnerPaysCents: z.number().int().describe('What the learner pays themselves (the co-payment)'),
  }),
});

/** A learner applies for a group of a published offer. */
export const applicationSchema = z.object({
  requestId: requestId(),
  offerId: z.uuid({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be an offer id (UUID)') }),
  groupId: z.uuid({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a group id (UUID)') }),
}).strict();

/** A learner withdraws an open application, or from study. */
export const withdrawalSchema = z.object({
  requestId: requestId(),
  reason: text().trim().max(500, { message: 'must be at most 500 characters' }).optional(),
}).strict();

const rating = z.number({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a number of stars from 1 to 5') })
  .int({ message: 'must be a whole number from 1 to 5' }).min(1, { message: 'must be from 1 to 5' }).max(5, { message: 'must be from 1 to 5' });

/**
 * The survey answer: completers rate every aspect 1-5; dropouts choose one or more reasons (and describe 'other').
 * Which of the two is asked is known to the journey, which checks the rest (e.g. a missing rating).
 */
export const surveySchema = z.object({
  requestId: requestId(),
  ratings: z.object(Object.fromEntries(SURVEY_ASPECTS.map((aspect) => [aspect, rating.optional()])) as Record<SurveyAspect, z.ZodOptional<typeof rating>>,
    { error: 'must be an object of aspect → 1-5 stars' }).strict().optional()
    .describe(`Completers: 1-5 stars for each of ${SURVEY_ASPECTS.join(', ')}`),
  reasons: z.array(z.enum(DROPOUT_REASONS, { message: `must be one of ${DROPOUT_REASONS.join(', ')}` }), { error: 'must be a list of reasons' })
    .min(1, { message: 'choose at least one reason' }).optional()
    .describe('Dropouts: one or more reasons; "other" needs otherText'),
  otherText: text().trim().max(2000, { message: 'must be at most 2000 characters' }).optional(),
}).strict();

/** A survey answer, after parsing. */
export type SurveyInput = z.output<typeof surveySchema>;

/** What the learner is told at once after applying. */
export const applyResultSchema = z.object({
  outcome: z.enum(['applied', 'waitlisted', 'refused']), applicationId: z.uuid().nullable(), reason: z.string().nullable(),
  message: z.string(), earmarkedCents: z.number().int(), balanceCents: z.number().int(), stage: z.string(),
  location: z.string(),
});

/** The study part of a journey as the learner sees it. */
export const studyViewSchema = z.object({
  caseId: z.uuid(), stage: z.string(), balanceCents: z.number().int(), earmarkedCents: z.number().int(),
  spentCents: z.number().int().describe('Spent on study that ended (completed or dropped out): the sum of the applications\' spent cents'),
  closed: z.boolean().describe('The case is closed: balanceCents is then what was left unspent, no longer available to the learner'),
  funding: z.enum(['account', 'free', 'copay']).describe('copay: the learner pays a share of each course, the programme the rest; no balance to spend'),
  application: z.object({
    applicationId: z.uuid(), state: z.string(), offerId: z.uuid(), groupId: z.uuid(), title: z.object({ lv: z.string(), en: z.string() }),
    place: z.string(), startsOn: z.string(), endsOn: z.string(), costCents: z.number().int(), earmarkedCents: z.number().int(),
    learnerPaysCents: z.number().int(), programmePaysCents: z.number().int(), groupFormationDeadline: z.string(), reason: z.string().nullable(),
  }).nullable(),
  canApply: z.boolean(), canWithdraw: z.boolean(),
  placeOffer: z.object({
    state: z.enum(['offered', 'accepted', 'declined', 'expired']), offeredAt: z.string(),
    dueAt: z.string().describe('Until when the learner may accept the freed place by applying'),
    offerId: z.uuid(), groupId: z.uuid(), title: z.object({ lv: z.string(), en: z.string() }),
  }).nullable().describe('A freed place offered to this wait-listed learner (accepted by applying before dueAt)'),
  survey: z.object({ kind: z.enum(['completion', 'dropout']), open: z.boolean(), answered: z.boolean() }).nullable(),
  waitingFor: z.string().describe('Who acts next: learner, provider, agency, system or nobody'),
});

// ---------------------------------------------------------------------------------------------------------------
// The provider's workspace: applications to its own offers, enrolment decisions and study outcomes.

/** Every state an application can be in (domain/applications.ts ApplicationState). */
export const APPLICATION_STATES = [
  'applied', 'waitlisted', 'refused', 'enrolled', 'declined', 'timed_out', 'withdrawn', 'completed', 'dropped_out',
] as const;

// A form's empty select or text field means "not given".
const emptyAsUndefined = (v: unknown) => (v === '' || v === null ? undefined : v);

/** An application id in a path. */
export const applicationParams = z.object({ applicationId: z.uuid({ message: 'must be an application id (UUID)' }) });

/** Filters and paging of the provider's application list. */
export const providerApplicationsQuery = z.object({
  state: z.enum([...APPLICATION_STATES, 'all'], { message: `must be one of ${APPLICATION_STATES.join(', ')} or all` }).default('all'),
  offerId: z.preprocess(emptyAsUndefined, z.uuid({ message: 'must be an offer id (UUID)' }).optional()),
  groupId: z.preprocess(emptyAsUndefined, z.uuid({ message: 'must be a group id (UUID)' }).optional()),
  page: z.coerce.number({ message: 'must be a number' }).int({ message: 'must be a whole number' }).min(1, { message: 'must be 1 or more' }).default(1),
});

/** The provider enrols an applicant (into their group or another group of the same offer) or declines with a reason. */
export const enrolmentDecisionSchema = z.object({
  decision: z.enum(['enrol', 'decline'], { message: 'must be "enrol" or "decline"' }),
  reason: text().trim().max(2000, { message: 'must be at most 2000 characters' }).default('')
    .describe('Required when declining; the learner reads it'),
  groupId: z.preprocess(emptyAsUndefined, z.uuid({ message: 'must be a group id (UUID) of this offer' }).optional())
    .describe('Enrol into another group of the same offer; the group applied for when left out'),
}).strict().superRefine((value, ctx) => {
  if (value.decision === 'decline' && value.reason.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['reason'], message: 'is required when declining: tell the learner why', params: { rule: 'reason_required_declining' } });
  }
});

/** The provider reports how an enrolled learner's study ended. */
export const studyOutcomeSchema = z.object({
  outcome: z.enum(['completed', 'dropped_out'], { message: 'must be "completed" or "dropped_out"' }),
  reason: z.preprocess(emptyAsUndefined, text().trim().max(2000, { message: 'must be at most 2000 characters' }).optional()),
}).strict();

/** An application to one of the provider's offers, as the provider sees it. */
export const providerApplicationSchema = z.object({
  id: z.uuid(), caseId: z.uuid(), serviceCaseId: z.string(), state: z.enum(APPLICATION_STATES), learnerName: z.string(),
  offerId: z.uuid(), offerTitle: z.object({ lv: z.string(), en: z.string() }), groupId: z.uuid(), place: z.string(),
  startsOn: z.string(), endsOn: z.string(), capacity: z.number().int(), enrolled: z.number().int(), freePlaces: z.number().int(),
  appliedAt: z.string(), groupFormationDeadline: z.string(), enrolledAt: z.string().nullable(), endedAt: z.string().nullable(),
  reason: z.string().nullable(),
});

/** A person code with or without the dash, checked by shape (and date, for old codes) and given as DDMMYY-NNNNN. */
export function personCode() {
  return text().max(20, { message: 'must be a person code, DDMMYY-NNNNN' }).transform((value, ctx) => {
    const check = checkPersonCode(value);
    if (!check.valid) {
      ctx.addIssue({ code: 'custom', message: check.reason, params: { rule: 'person_code' } });
      return z.NEVER;
    }
    return check.code;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Municipal coordinators: registering and applying on a learner's behalf (assisted channel).

/** A coordinator registers a person who came to them (terms of use accepted in person, current version). */
export const assistedRegistrationSchema = registrationSchema.omit({ acceptTerms: true, termsVersion: true }).extend({
  personCode: personCode().describe('The learner\'s person code, DDMMYY-NNNNN'),
  termsAcceptedInPerson: checkbox('must be true: the person accepted the terms of use in your presence')
    .describe('The person accepted the terms of use in force (GET /api/terms/current) in the coordinator\'s presence'),
}).strict();

/** A coordinator's registration on a learner's behalf, after parsing. */
export type AssistedRegistration = z.output<typeof assistedRegistrationSchema>;

/** A journey a coordinator started, as the coordinator's list shows it. */
export const assistedJourneySchema = z.object({
  caseId: z.uuid(), serviceCaseId: z.string(), programme: z.string(), stage: z.string(), personCode: z.string(),
  learnerName: z.string().nullable(), municipality: z.string().nullable(), registeredAt: z.string(), closedAt: z.string().nullable(),
});

// ---------------------------------------------------------------------------------------------------------------
// The public catalogue of published offers (/catalogue, /api/catalogue).

/** Offers per catalogue page unless the caller asks for another page size. */
export const CATALOGUE_PAGE_SIZE = 20;

const optionalFilter = <T extends z.ZodType>(schema: T) => z.preprocess(emptyAsUndefined, schema.optional());

/** A YYYY-MM-DD day that exists in the calendar; `what` ends the message ("must be a date (YYYY-MM-DD) …"). */
export const calendarDay = (what: string) => z.string({ message: `must be a date (YYYY-MM-DD) ${what}` })
  .regex(/^\d{4}-\d{2}-\d{2}$/, { message: `must be a date (YYYY-MM-DD) ${what}`, abort: true })
  .refine((v) => {
    const d = new Date(`${v}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === v;
  }, { message: 'is not a real calendar day' });

// Euros as people type them ("320", "320.50", "320,50"), turned into integer cents without binary floats.
const euros = z.string({ message: 'must be an amount in euros, e.g. 320 or 320.50' })
  .trim().regex(/^\d{1,6}([.,]\d{1,2})?$/, { message: 'must be an amount in euros, e.g. 320 or 320.50' })
  .transform((v) => {
    const [whole, fraction = ''] = v.split(/[.,]/);
    return Number(whole) * 100 + Number(fraction.padEnd(2, '0'));
  });

/** Search, filters, sorting and paging of the public catalogue; every filter is optional and checked on its own. */
export const catalogueQuery = z.object({
  q: optionalFilter(text('must be text').trim().max(100, { message: 'must be at most 100 characters' }))
    .describe('Words to find in the title or description (Latvian or English)'),
  competence: optionalFilter(text('must be text').trim().max(200, { message: 'must be at most 200 characters' }))
    .describe('The competence the offer is aimed at, e.g. "Programming technician" (exact, any letter case)'),
  place: optionalFilter(text('must be text').trim().max(100, { message: 'must be at most 100 characters' }))
    .describe('Words to find in a group\'s place or the offer\'s places of delivery'),
  from: optionalFilter(calendarDay('from which groups start')).describe('Only offers with a group starting on or after this day'),
  to: optionalFilter(calendarDay('by which groups start')).describe('Only offers with a group starting on or before this day'),
  digcomp: optionalFilter(z.coerce.number({ message: 'must be a DigComp level from 1 to 8' })
    .int({ message: 'must be a DigComp level from 1 to 8' }).min(1, { message: 'must be a DigComp level from 1 to 8' })
    .max(8, { message: 'must be a DigComp level from 1 to 8' })).describe('DigComp level of the programme (1-8)'),
  language: optionalFilter(z.string({ message: 'must be a language code such as lv or en' })
    .regex(/^[a-z]{2}$/, { message: 'must be a language code such as lv or en' })).describe('Language of instruction (ISO 639-1)'),
  maxCost: optionalFilter(euros).describe('Highest cost per learner in euros (e.g. 320 or 320.50)'),
  programme: optionalFilter(z.string({ message: 'must be a programme code such as IMK' })
    .regex(/^[A-Z0-9-]{2,20}$/, { message: 'must be a programme code such as IMK' })),
  municipality: optionalFilter(text('must be text').trim().min(2, { message: 'must be a municipality name, e.g. Valmiera' })
    .max(100, { message: 'must be at most 100 characters' }))
    .describe('Only offers with a group held in this municipality (the first part of the group\'s place, e.g. "Valmiera" of "Valmiera, Rīgas iela 10"; any letter case)'),
  freePlaces: optionalFilter(z.coerce.number({ message: 'must be a whole number of free places from 1 to 999' })
    .int({ message: 'must be a whole number of free places from 1 to 999' }).min(1, { message: 'must be a whole number of free places from 1 to 999' })
    .max(999, { message: 'must be a whole number of free places from 1 to 999' }))
    .describe('Only offers with a group that has at least this many free places (capacity − enrolled)'),
  sort: z.preprocess(emptyAsUndefined, z.enum(['start', 'cost'], { message: 'must be "start" (soonest start) or "cost" (cheapest first)' }).default('start')),
  page: z.preprocess(emptyAsUndefined, z.coerce.number({ message: 'must be a number' }).int({ message: 'must be a whole number' })
    .min(1, { message: 'must be 1 or more' }).default(1)),
  pageSize: z.preprocess(emptyAsUndefined, z.coerce.number({ message: 'must be a number' }).int({ message: 'must be a whole number' })
    .min(1, { message: 'must be from 1 to 100' }).max(100, { message: 'must be from 1 to 100' }).default(CATALOGUE_PAGE_SIZE)),
}).strict().superRefine((value, ctx) => {
  if (value.from && value.to && value.to < value.from) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must not be before from' });
});

/** Catalogue filters, after parsing (maxCost in cents). */
export type CatalogueQuery = z.output<typeof catalogueQuery>;

/** An offer id in a path. */
export const offerParams = z.object({ offerId: z.uuid({ message: 'must be an offer id (UUID)' }) });

/** One offer in a page of the catalogue; money in integer euro cents. */
export const catalogueItemSchema = z.object({
  offerId: z.uuid(), title: bilingual, provider: z.string(), programme: z.string(), programmeName: bilingual,
  competence: z.string().nullable(), language: z.string(), digcompLevel: z.number().int().nullable(),
  costCents: z.number().int(), copayPercent: z.number().int().nullable(),
  places: z.array(z.string()).describe('Places of delivery and groups\' places, without repeats'),
  nextStartsOn: z.string().nullable().describe('The first group start within the dates asked (from today when none)'),
  freePlaces: z.number().int().describe('Free places in all groups (capacity − enrolled)'),
  description: nullableBilingual, hours: z.number().int().nullable().describe('Theory and practice hours together'),
  applicationsOpenAt: z.string(), applicationsCloseAt: z.string(),
  share: z.object({
    programmePaysCents: z.number().int().describe('What the programme pays of the cost (from the learning account where it has one)'),
    learnerPaysCents: z.number().int().describe('What the learner pays themselves (the co-payment)'),
  }),
  groups: z.array(offerGroupSchema).describe('Every group of the offer, soonest first (not only those the filters matched)'),
});

/** The public rating of an offer: shown only when enough learners completed it and enough of them answered. */
export const ratingSchema = z.object({
  completers: z.number().int(), minimumCompleters: z.number().int(),
  minimumAnswers: z.number().int().describe('The rating is shown only from this many survey answers among the completers'),
  shown: z.boolean(),
  hiddenBecause: z.enum(['few_completers', 'few_answers']).nullable().describe('Why the numbers are null: too few completers, or too few of them answered'),
  answers: z.number().int().nullable(), overall: z.number().nullable(),
  aspects: z.record(z.string(), z.number().nullable()).nullable().describe('Average stars (1-5) per aspect, one decimal'),
});

/** One published offer with everything a learner needs to decide. */
export const catalogueOfferSchema = catalogueItemSchema.omit({
  places: true, nextStartsOn: true, freePlaces: true, description: true, hours: true, applicationsOpenAt: true, applicationsCloseAt: true, groups: true,
}).extend({
  description: nullableBilingual, prerequisites: nullableBilingual, digitalSharePercent: z.number().int().nullable(),
  hoursTheory: z.number().int().nullable(), hoursPractice: z.number().int().nullable(), hours: z.number().int().nullable(),
  places: z.array(z.string()), applicationsOpenAt: z.string(), applicationsCloseAt: z.string(), groupFormationDeadline: z.string(),
  groups: z.array(z.object({
    groupId: z.uuid(), place: z.string(), startsOn: z.string(), endsOn: z.string(), schedule: z.string().nullable(),
    capacity: z.number().int(), enrolled: z.number().int(), freePlaces: z.number().int(),
  })),
  rating: ratingSchema,
});
