import type { Knex } from 'knex';
import type { Session } from '../../lib/sessions';
import { auditUserAction } from './audit';
import { dataSubjectRequestId } from '../../workflows/ids';

/**
 * A learner's own data, everything the platform holds about the person (GDPR art. 15, the right of access): one
 * section per table, named after the table, so a test can compare the sections with the schema.
 *
 * A row is this person's when one of these columns ties it to them: `person_code`, `subject_person_code`,
 * `subject` (a session's person), `learner_id` and `case_id` (through their learner row and cases), `user_id`
 * (password users only: learners have none). test/api/data-subject-rights.test.ts lists every table with such a
 * column from information_schema and fails when a table is neither exported here nor named in NOT_A_LEARNERS_DATA.
 */
export const PERSON_TIE_COLUMNS = ['person_code', 'subject_person_code', 'subject', 'learner_id', 'case_id', 'user_id'] as const;

/**
 * Tables with a tying column that hold no data of a learner, each with the reason. A new table belongs here only
 * when that is true; otherwise the export must cover it.
 */
export const NOT_A_LEARNERS_DATA: Record<string, string> = {
  // user_id names a password user (agency staff, administrators, providers); learners sign in through the national
  // sign-on and never have a users row, so never recovery codes.
  recovery_codes: 'second-factor recovery codes of password users (staff, providers), never of a learner',
  // case_id ties a row to the case whose workflow step failed; the row says which registry or service did not answer
  // (the cause stripped of digits and ids), kept until a day after the step recovered: about the system, not the person.
  stuck_index: 'failing workflow steps of a case, for the administrators\' stuck view (which service did not answer), never the person\'s data',
};

/** Every section of the export, in the order the page shows them. */
export const MY_DATA_SECTIONS = [
  'learners', 'cases', 'case_events', 'applications', 'survey_answers', 'tasks', 'email_outbox', 'audit_log',
  'journey_reservations', 'role_grants', 'sessions', 'data_subject_requests', 'place_offers', 'employment_declarations',
  'account_blocks', 'terms_acceptances', 'role_requests', 'consultations', 'service_status_outbox', 'official_deliveries',
] as const;

/** One section of the export. */
export type MyDataSection = typeof MY_DATA_SECTIONS[number];

/** The whole export: when it was made, whose it is, and one list of rows per table. */
export interface MyData {
  generatedAt: string;
  personCode: string;
  sections: Record<MyDataSection, Record<string, unknown>[]>;
}

// Audit actions that are queries to a registry about the person (the page lists them apart from views).
const REGISTRY_ACTION = /^(population-register|sopa|viis|enterprise-register)\./;

/** Whether an audit row records a registry query (the page shows those apart from who looked at the case). */
export function isRegistryQuery(action: string): boolean {
  return REGISTRY_ACTION.test(action);
}

/**
 * Collects everything held about the signed-in person. Secrets stay out: session token hashes, link tokens
 * (never stored), e-mail bodies (only subject, template, time and status of each e-mail).
 */
export async function collectMyData(db: Knex, personCode: string): Promise<MyData> {
  const learners = await db('learners').where({ personCode }).select(
    'id', 'personCode', 'firstName', 'lastName', 'email', 'phone', 'language', 'termsVersion', 'termsAcceptedAt',
    'createdAt', 'updatedAt', 'active', 'deactivatedAt', 'deactivatedReason', 'registerCheckedAt', 'pseudonymisedAt',
  );
  const learnerIds = learners.map((l: { id: string }) => l.id);
  const cases = await db('cases').whereIn('learnerId', learnerIds).orderBy('createdAt').select(
    'id', 'serviceCaseId', 'programme', 'stage', 'outcomeReason', 'channel', 'balanceCents', 'createdAt', 'updatedAt', 'closedAt',
  );
  const caseIds = cases.map((c: { id: string }) => c.id);
  const requests = await db('dataSubjectRequests').where({ personCode }).orderBy('createdAt').select(
    'id', 'kind', 'text', 'field', 'correctValue', 'state', 'outcome', 'outcomeReason', 'decidedByName', 'decidedAt', 'dueAt', 'createdAt',
  );
  const requestWorkflows = requests.map((r: { id: string }) => dataSubjectRequestId(r.id));

  const [caseEvents, applications, surveyAnswers, tasks, emails, audit, reservations, roleGrants, sessions, placeOffers, employment] = await Promise.all([
    db('caseEvents').whereIn('caseId', caseIds).orderBy('id')
      .select('caseId', 'kind', 'stage', 'actorRole', 'actorName', 'channel', 'details', 'occurredAt'),
    db('applications').leftJoin('offers', 'offers.id', 'applications.offerId').whereIn('applications.caseId', caseIds)
      .orderBy('applications.createdAt')
      .select('applications.id', 'applications.caseId', 'applications.attempt', 'applications.offerId', 'offers.titleLv as offerTitleLv',
        'offers.titleEn as offerTitleEn', 'applications.groupId', 'applications.state', 'applications.costCents',
        'applications.earmarkedCents', 'applications.spentCents', 'applications.learnerPaysCents', 'applications.reason',
        'applications.actorRole', 'applications.channel', 'applications.createdAt', 'applications.updatedAt',
        'applications.enrolledAt', 'applications.endedAt'),
    db('surveyAnswers').whereIn('caseId', caseIds).orderBy('answeredAt')
      .select('caseId', 'applicationId', 'kind', 'ratings', 'reasons', 'otherText', 'actorRole', 'channel', 'answeredAt'),
    // Decisions about the person: the tasks of their cases and of their requests, with the facts staff saw.
    db('tasks').where((w) => { void w.whereIn('caseId', caseIds).orWhereIn('workflowId', requestWorkflows); }).orderBy('createdAt')
      .select('id', 'caseId', 'type', 'state', 'facts', 'dueAt', 'decision', 'comment', 'decidedByName', 'decidedAt', 'createdAt'),
    // What was e-mailed to them: never the body, which may have carried a link token.
    db('emailOutbox').where((w) => {
      void w.whereIn('caseId', caseIds);
      for (const workflowId of requestWorkflows) void w.orWhere('dedupeKey', 'like', `${workflowId}:%`);
      // The agency's announcements e-mailed to them (keyed announcement:<id>:<address>, no case).
      const addresses = learners.map((l: { email: string }) => l.email.toLowerCase());
      if (addresses.length > 0) void w.orWhere((q) => { void q.where('dedupeKey', 'like', 'announcement:%').whereRaw('lower(recipient) = ANY(?)', [addresses]); });
    }).orderBy('createdAt')
      .select('caseId', 'template', 'subject', 'recipient', 'language', 'status', 'createdAt', 'sentAt'),
    // Registry queries about them, who looked at their cases, and what they did themselves.
    db('auditLog').where((w) => { void w.where('subjectPersonCode', personCode).orWhereIn('caseId', caseIds).orWhere('actorId', personCode); })
      .orderBy('at').select('at', 'actorRole', 'actorName', 'action', 'caseId', 'purpose', 'keepUntil'),
    db('journeyReservations').where({ personCode }).select('programme', 'caseId', 'createdAt'),
    db('roleGrants').where({ personCode }).orderBy('createdAt')
      .select('role', 'municipality', 'municipalityCode', 'organisation', 'validFrom', 'validUntil', 'grantedBy', 'createdAt', 'revokedAt', 'revokeReason'),
    // Their sign-ins (a coordinator's too: the same person); never the token hash.
    db('sessions').where({ subject: personCode }).orderBy('createdAt')
      .select('role', 'createdAt', 'lastSeenAt', 'expiresAt', 'endedAt', 'endedReason', 'userAgent', 'ip'),
    // Freed places offered to them from a wait-list, and what became of each.
    db('placeOffers').whereIn('caseId', caseIds).orderBy('offeredAt')
      .select('caseId', 'applicationId', 'programme', 'state', 'offeredAt', 'dueAt', 'decidedAt'),
    db('employmentDeclarations').where({ personCode }).orderBy('declaredAt')
      .select('caseId', 'employerName', 'employerRegistrationNumber', 'declaredAt'),
  ]);

  // Blocks and suspensions of their account, with the reasons; who decided is named like in their case history.
  const blocks = await db('accountBlocks').where({ personCode }).orderBy('createdAt')
    .select('kind', 'reason', db.raw("to_char(ends_on, 'YYYY-MM-DD') AS ends_on"), 'createdByName', 'createdAt', 'liftedAt', 'liftedByName', 'liftReason');
  // Which versions of the terms of use they accepted, when and how (their own; provider users' rows have no person code).
  const termsAcceptances = await db('termsAcceptances').where({ personCode }).orderBy('acceptedAt').select('version', 'role', 'how', 'acceptedAt');
  // The person's own role requests, and the consultations they asked for with the consultant's notes on them (a
  // note is about the person, so it is theirs to read).
  const [roleRequests, consultations] = await Promise.all([
    db('roleRequests').where({ personCode }).orderBy('createdAt')
      .select('role', 'municipality', 'organisation', 'reason', 'state', 'validUntil', 'decisionReason', 'decidedByName', 'decidedAt', 'createdAt'),
    db('consultations as c').where('c.personCode', personCode).orderBy('c.createdAt')
      .select('c.id', 'c.message', 'c.createdAt', db.raw(`coalesce((SELECT json_agg(json_build_object('author', n.author_name, 'text', n.text, 'at', n.created_at)
        ORDER BY n.created_at) FROM consultant_notes n WHERE n.consultation_id = c.id), '[]'::json) AS notes`)),
  ]);

  // What was reported about their cases to the national service platform, and the decisions sent to their official
  // e-address (never the text, emptied once delivered).
  const [serviceStatuses, officialDeliveries] = await Promise.all([
    db('serviceStatusOutbox').whereIn('caseId', caseIds).orderBy(['caseId', 'seq'])
      .select('caseId', 'seq', 'serviceCaseId', 'status', 'channel', 'occurredAt', 'ackedAt'),
    db('officialDeliveries').whereIn('caseId', caseIds).orderBy('createdAt')
      .select('caseId', 'template', 'language', 'subject', 'status', 'createdAt', 'settledAt'),
  ]);

  return {
    generatedAt: new Date().toISOString(),
    personCode,
    sections: {
      learners, cases, case_events: caseEvents, applications, survey_answers: surveyAnswers, tasks, email_outbox: emails,
      audit_log: audit, journey_reservations: reservations, role_grants: roleGrants, sessions, data_subject_requests: requests,
      place_offers: placeOffers, employment_declarations: employment, account_blocks: blocks, terms_acceptances: termsAcceptances,
      role_requests: roleRequests, consultations, service_status_outbox: serviceStatuses, official_deliveries: officialDeliveries,
    },
  };
}

/** The export for the signed-in learner, audited as a download of personal data. */
export async function exportMyData(db: Knex, session: Session, format: 'json' | 'page'): Promise<MyData> {
  const data = await collectMyData(db, session.subject);
  await auditUserAction(db, session, {
    action: 'my_data.export', subjectPersonCode: session.subject,
    purpose: 'The person downloaded the data held about them (right of access)',
    result: { format, rows: Object.fromEntries(Object.entries(data.sections).map(([name, rows]) => [name, rows.length])) },
  });
  return data;
}
