import type { Knex } from 'knex';
import { rigaDate } from '../../domain/dates';
import { inMunicipality } from '../../domain/eligibility';
import { writeAudit } from '../../lib/audit';
import { translate } from '../../web/render';
import { RETRY_AFTER_SECONDS } from '../../lib/dependency-errors';
import { APPLY_STAGES, inStages, type Actor, type JourneyStage } from '../../domain/journey';
import type { ProgrammeRules } from '../../domain/programmes';
import type { Session } from '../../lib/sessions';
import { currentTerms } from './terms';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import type { AssistedRegistration } from '../schemas';
import { startJourneyFor } from './journeys';
import { applyForOffer, type ApplyAnswer, type CaseScope } from './study';

// Municipal adult-education coordinators act on a learner's behalf (assisted channel). The role comes from a
// grant with an end date; every request re-checks it, so a role that ended mid-session stops working at once.

/** A role the agency granted to a person, valid on the given Riga day. */
export interface RoleGrant {
  id: string; role: 'coordinator' | 'career_consultant'; municipality: string; municipalityCode: string | null; organisation: string | null; validUntil: string;
}

/** The person's grants valid today (Europe/Riga calendar day) and not revoked, soonest ending first. */
export async function activeGrants(deps: ApiDeps, personCode: string, at = new Date()): Promise<RoleGrant[]> {
  const today = rigaDate(at);
  return deps.db('roleGrants').where({ personCode }).where('validFrom', '<=', today).where('validUntil', '>=', today).whereNull('revokedAt')
    .orderBy([{ column: 'validUntil', order: 'asc' }, { column: 'municipality', order: 'asc' }])
    .select('id', 'role', 'municipality', 'municipalityCode', 'organisation', deps.db.raw("to_char(valid_until, 'YYYY-MM-DD') as valid_until"));
}

/** The active coordinator grant behind a coordinator session, or a 403 when the role has ended. */
export async function coordinatorGrant(deps: ApiDeps, session: Session): Promise<RoleGrant> {
  const grant = (await activeGrants(deps, session.subject))
    .find((g) => g.role === 'coordinator' && g.municipality === session.municipality);
  if (!grant) throw new HttpError(403, 'role_not_active', 'Your coordinator role is not (or no longer) valid; sign in again');
  return grant;
}

const coordinatorActor = (session: Session): Actor => ({
  role: 'coordinator', id: session.subject, name: session.name, channel: 'assisted', municipality: session.municipality ?? undefined,
});

/**
 * Registers a person on their behalf: starts their journey with the coordinator recorded as the actor. The
 * municipality check comes first, so for a person of another municipality nothing is stored (no learner row, no
 * contact data, no case, no name from the register) and the coordinator's list shows nothing. The person's own
 * e-mail, phone and language are never replaced by what the coordinator typed (activities/cases.ts, openCase).
 */
export async function registerOnBehalf(
  deps: ApiDeps, coordinator: Session, input: AssistedRegistration,
): Promise<{ caseId: string; opened: boolean; contactKept: boolean }> {
  if (input.personCode === coordinator.subject) {
    throw new HttpError(400, 'invalid_request', 'Invalid body: personCode: is your own person code; register yourself as a learner',
      [{ field: 'personCode', rule: 'not_self', message: 'is your own person code; register yourself as a learner' }]);
  }
  await assertInMunicipality(deps, coordinator, input.personCode);
  const { personCode, termsAcceptedInPerson, ...rest } = input;
  // A person who already has an account keeps their own e-mail and language (and phone, if they gave one): what the
  // coordinator typed does not even enter the journey. openCase enforces the same rule against a race.
  const own = await deps.db('learners').where({ personCode })
    .first<{ email: string; phone: string | null; language: 'lv' | 'en' } | undefined>('email', 'phone', 'language');
  const contact = own ? { email: own.email, phone: own.phone ?? rest.phone, language: own.language } : {};
  const started = await startJourneyFor(deps, { personCode, actor: coordinatorActor(coordinator) },
    { ...rest, ...contact, acceptTerms: termsAcceptedInPerson, termsVersion: (await currentTerms(deps.db)).version });
  return { ...started, contactKept: own !== undefined };
}

/** The words of the refusal for a person outside the coordinator's municipality, in both page languages. */
export function outsideMunicipalityWords(municipality: string): { lv: string; en: string } {
  return {
    lv: translate('lv', 'coordinator.outsideMunicipality', { municipality }),
    en: translate('en', 'coordinator.outsideMunicipality', { municipality }),
  };
}

/**
 * Asks the Population Register whether the person's declared address is in the coordinator's municipality (the
 * query is audited, as every register query is); a 403 naming the field when it is not, or when the register does
 * not know the person (the same words: a coordinator learns nothing more about a person who is not theirs).
 */
async function assertInMunicipality(deps: ApiDeps, coordinator: Session, personCode: string): Promise<void> {
  const municipality = coordinator.municipality ?? '';
  let person;
  try {
    person = await deps.populationRegister.getPerson(personCode);
  } catch (err) {
    deps.logger.warn('the Population Register did not answer the municipality check', { err: String((err as Error).message) });
    throw new HttpError(503, 'registry_unavailable',
      'The Population Register is not answering, so the person\'s municipality cannot be checked. Please try again in a minute.',
      [{ registry: 'population-register', retryAfterSeconds: RETRY_AFTER_SECONDS }]);
  }
  const inside = person !== null && inMunicipality(person.municipality, municipality);
  await writeAudit(deps.db, {
    actor: { role: 'coordinator', id: coordinator.subject, name: coordinator.name }, action: 'population-register.get-person',
    subjectPersonCode: personCode, caseId: null, purpose: `assisted registration: declared address in ${municipality}?`,
    result: { found: person !== null, inMunicipality: inside }, idempotencyKey: null,
    // The person's declared municipality when the register knows them; otherwise the municipality asked about.
    municipality: person?.municipality ?? (municipality || null),
  });
  if (inside) return;
  const words = outsideMunicipalityWords(municipality);
  throw new HttpError(403, 'outside_municipality', words.en, [{ field: 'personCode', rule: 'in_municipality', message: words.en, words }]);
}

/** A journey the coordinator registered. */
export interface AssistedJourney {
  caseId: string; serviceCaseId: string; programme: string; stage: string; personCode: string; learnerName: string | null;
  municipality: string | null; registeredAt: string; closedAt: string | null;
}

/**
 * The registration events a coordinator's session may reach: those they made as coordinator of the session's
 * municipality. A person holding grants in two municipalities acts in each session for that municipality's people
 * only (every coordinator's event records the municipality, activities/cases.ts).
 */
function ownRegistrations(query: Knex.QueryBuilder, coordinator: Session): Knex.QueryBuilder {
  return query.where({ 'caseEvents.step': 'registered', 'caseEvents.actorRole': 'coordinator', 'caseEvents.actorId': coordinator.subject })
    .whereRaw("case_events.details->>'municipality' = ?", [coordinator.municipality ?? '']);
}

// The object-level check: a coordinator reaches only the cases whose registration they made, in this municipality.
const registeredBy = (coordinator: Session): CaseScope => (query) => {
  query.whereExists((sub) => ownRegistrations(sub.from('caseEvents').whereRaw('case_events.case_id = cases.id'), coordinator));
};

/** The journeys this coordinator registered in the session's municipality, newest first, with their stage. */
export async function listAssisted(deps: ApiDeps, coordinator: Session): Promise<AssistedJourney[]> {
  const rows: {
    caseId: string; serviceCaseId: string; programme: string; stage: string; personCode: string; firstName: string | null;
    lastName: string | null; details: { municipality?: string }; occurredAt: Date; closedAt: Date | null;
  }[] = await ownRegistrations(deps.db('caseEvents')
    .join('cases', 'cases.id', 'caseEvents.caseId').join('learners', 'learners.id', 'cases.learnerId'), coordinator)
    .orderBy('caseEvents.occurredAt', 'desc')
    .select('cases.id as caseId', 'cases.serviceCaseId', 'cases.programme', 'cases.stage', 'learners.personCode',
      'learners.firstName', 'learners.lastName', 'caseEvents.details', 'caseEvents.occurredAt', 'cases.closedAt');
  return rows.map((r) => ({
    caseId: r.caseId, serviceCaseId: r.serviceCaseId, programme: r.programme, stage: r.stage, personCode: r.personCode,
    learnerName: r.firstName || r.lastName ? `${r.firstName ?? ''} ${r.lastName ?? ''}`.trim() : null,
    municipality: r.details?.municipality ?? null, registeredAt: r.occurredAt.toISOString(), closedAt: r.closedAt?.toISOString() ?? null,
  }));
}

/** Applies for a group on a journey the coordinator registered; any other case is "not found". */
/**
 * What the confirmation of an application on someone's behalf shows about their case: whether it takes an
 * application, how the programme pays, the balance and whose it is. A case this coordinator did not register is not found.
 */
export async function assistedCaseForApplying(deps: ApiDeps, coordinator: Session, caseId: string) {
  const query = deps.db('cases').join('learners', 'learners.id', 'cases.learnerId').join('programmes', 'programmes.code', 'cases.programme')
    .where('cases.id', caseId);
  registeredBy(coordinator)(query);
  const row = await query.first<{ stage: string; balanceCents: number; closedAt: Date | null; funding: ProgrammeRules['funding']; firstName: string | null; lastName: string | null } | undefined>(
    'cases.stage', 'cases.balanceCents', 'cases.closedAt', 'programmes.funding', 'learners.firstName', 'learners.lastName');
  if (!row) throw new HttpError(404, 'journey_not_found', 'You registered no journey with this id');
  return {
    study: { canApply: row.closedAt === null && inStages(row.stage as JourneyStage, APPLY_STAGES), funding: row.funding, balanceCents: row.balanceCents },
    learnerName: [row.firstName, row.lastName].filter(Boolean).join(' '),
  };
}

export function applyOnBehalf(
  deps: ApiDeps, coordinator: Session, caseId: string, input: { offerId: string; groupId: string; requestId?: string },
): Promise<ApplyAnswer> {
  return applyForOffer(deps, { scope: registeredBy(coordinator), actor: coordinatorActor(coordinator) }, caseId, input);
}
