import { z } from 'zod';
import { CURRENT_TERMS_VERSION } from '../domain/terms';

// Request schemas shared by the JSON API and the web forms: one schema per input, so both answer alike.

// Tells "missing" apart from "wrong type", so a 400 says which one it is.
const text = () => z.string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be text') });

const checkbox = (message: string) =>
  z.preprocess((v) => (v === 'on' || v === 'true' ? true : v), z.literal(true, { message }));

/** A learner's registration for the individual learning account. */
export const registrationSchema = z.object({
  requestId: z.uuid({ message: 'must be the form\'s request id (a UUID)' }).transform((id) => id.toLowerCase()).optional()
    .describe('Repeating a submit with the same id starts nothing new'),
  email: text().trim().max(254, { message: 'must be at most 254 characters' })
    .pipe(z.email({ message: 'must be an e-mail address such as name@example.lv' })),
  phone: z.string().trim()
    .regex(/^(\+?\d[\d ]{6,18}\d)?$/, { message: 'must be a phone number of 8 to 20 digits, optionally starting with +' })
    .optional().transform((v) => (v ? v : null)),
  language: z.enum(['lv', 'en'], { message: 'must be "lv" or "en"' }),
  programme: z.string().regex(/^[A-Z0-9-]{2,20}$/, { message: 'must be a programme code such as IMK' }).default('IMK')
    .describe('The programme to apply for (see the programmes the agency runs)'),
  acceptTerms: checkbox('you must accept the terms of use'),
  termsVersion: z.literal(CURRENT_TERMS_VERSION, { message: `must be the current terms version ${CURRENT_TERMS_VERSION}; reload the page` }),
}).strict();

/** The input of a registration, after parsing. */
export type Registration = z.output<typeof registrationSchema>;

/** A staff decision on the IMK approval task; a refusal needs a comment the learner will read. */
export const decisionSchema = z.object({
  decision: z.enum(['approve', 'reject'], { message: 'must be "approve" or "reject"' }),
  comment: text().trim().max(2000, { message: 'must be at most 2000 characters' }).default(''),
}).strict().superRefine((value, ctx) => {
  if (value.decision === 'reject' && value.comment.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['comment'], message: 'is required when rejecting: tell the learner why' });
  }
});

/** Username and password of agency or provider staff. */
export const loginSchema = z.object({
  username: text().trim().min(1, { message: 'is required' }).max(100, { message: 'is too long' }),
  password: text().min(1, { message: 'is required' }).max(200, { message: 'is too long' }),
}).strict();

/** A case id in a path. */
export const caseParams = z.object({ caseId: z.uuid({ message: 'must be a case id (UUID)' }) });

/** A task id in a path. */
export const taskParams = z.object({ taskId: z.uuid({ message: 'must be a task id (UUID)' }) });

/** Paging and filters of the staff inbox. */
export const inboxQuery = z.object({
  state: z.enum(['open', 'decided', 'all'], { message: 'must be open, decided or all' }).default('open'),
  page: z.coerce.number({ message: 'must be a number' }).int({ message: 'must be a whole number' }).min(1, { message: 'must be 1 or more' }).default(1),
});

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

/** A task in the staff inbox. */
export const taskSchema = z.object({
  id: z.uuid(), caseId: z.uuid(), serviceCaseId: z.string(), type: z.string(), state: z.string(),
  learnerName: z.string(), dueAt: z.string(), escalatedAt: z.string().nullable(), createdAt: z.string(),
  decision: z.string().nullable(), decidedByName: z.string().nullable(), facts: z.record(z.string(), z.unknown()),
});
