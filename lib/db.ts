import fs from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { Model, knexSnakeCaseMappers } from 'objection';
import type { OfferState } from '../domain/offers';

/** Where the knex migrations live; shared by the seed script, the tests and the deployment's migrate step. */
export const migrationsDirectory = path.join(__dirname, '..', 'migrations');

/** How long opening a connection to PostgreSQL may take before the caller hears so (pg waits for ever by default). */
export const DB_CONNECT_TIMEOUT_MS = 3_000;

/** Limits for a process that answers people. */
export interface DbLimits {
  /** How long one query may run (pg's client-side query_timeout; also ends a query on a mute connection). */
  queryTimeoutMs?: number;
  /** How long to wait for a free connection from the pool (knex's default is 60 s). */
  acquireTimeoutMs?: number;
}

/**
 * The API's limits: an answer (503 when the database is down, mute or overloaded) must come within 5 s. The worker
 * keeps knex's defaults: its activities are retried by Temporal and may queue for a connection under load.
 */
export const API_DB_LIMITS: DbLimits = { queryTimeoutMs: 4_000, acquireTimeoutMs: 3_000 };

/** Opens a knex pool on Postgres with snake_case columns mapped to camelCase properties. */
export function createDb(databaseUrl: string, pool: { min: number; max: number } = { min: 0, max: 10 }, limits: DbLimits = {}): Knex {
  return knexFactory({
    client: 'pg',
    connection: {
      connectionString: databaseUrl, connectionTimeoutMillis: DB_CONNECT_TIMEOUT_MS,
      ...(limits.queryTimeoutMs ? { query_timeout: limits.queryTimeoutMs } : {}),
    },
    ...(limits.acquireTimeoutMs ? { acquireConnectionTimeout: limits.acquireTimeoutMs } : {}),
    pool,
    migrations: __filename.endsWith('.js') ? { migrationSource: compiledMigrations } : { directory: migrationsDirectory, loadExtensions: ['.ts'], extension: 'ts' },
    ...knexSnakeCaseMappers(),
  });
}

/**
 * The migrations as `make build` compiled them (dist/migrations/*.js). knex records each migration by its file
 * name, so the compiled ones go by their source's `.ts` name: a database migrated from the TypeScript (tests,
 * `make run`) and one migrated by the built image agree on what has run.
 */
const compiledMigrations: Knex.MigrationSource<string> = {
  async getMigrations() {
    return fs.readdirSync(migrationsDirectory).filter((f) => f.endsWith('.js')).sort();
  },
  getMigrationName: (file) => file.replace(/\.js$/, '.ts'),
  getMigration: async (file) => require(path.join(migrationsDirectory, file)) as Knex.Migration,
};

/** Brings the schema up to date. */
export async function migrateLatest(db: Knex): Promise<void> {
  await db.migrate.latest();
}

/** A learner known to the platform (created when their first journey starts). */
export class Learner extends Model {
  static tableName = 'learners';
  id!: string;
  personCode!: string;
  firstName!: string | null;
  lastName!: string | null;
  email!: string;
  phone!: string | null;
  language!: 'lv' | 'en';
  termsVersion!: string;
  termsAcceptedAt!: Date;
  /** False once the account is deactivated (e.g. the Population Register reports the person deceased). */
  active!: boolean;
  deactivatedAt!: Date | null;
  deactivatedReason!: string | null;
  /** When the Population Register last confirmed this person; null until the first periodic re-check. */
  registerCheckedAt!: Date | null;
}

/** One learner journey: a public-service case with its unique service-case id. */
export class Case extends Model {
  static tableName = 'cases';
  id!: string;
  serviceCaseId!: string;
  workflowId!: string;
  learnerId!: string;
  programme!: string;
  /** The programme version (programme_versions) the journey started with; null for a programme without versions. */
  programmeVersion!: number | null;
  stage!: string;
  outcomeReason!: string | null;
  channel!: string;
  balanceCents!: number;
  createdAt!: Date;
  updatedAt!: Date;
  closedAt!: Date | null;
}

/** One step in a case's history: who acted, in which role, through which channel. */
export class CaseEvent extends Model {
  static tableName = 'case_events';
  id!: string;
  caseId!: string;
  step!: string;
  kind!: string;
  stage!: string;
  actorRole!: string;
  actorId!: string | null;
  actorName!: string | null;
  channel!: string;
  details!: Record<string, unknown>;
  occurredAt!: Date;
}

/** A human task a workflow is waiting on (staff inbox). */
export class Task extends Model {
  static tableName = 'tasks';
  id!: string;
  /** The learner's case; null for tasks about a provider or an offer. */
  caseId!: string | null;
  /** The provider a registration-approval or offer-evaluation task is about. */
  providerId!: string | null;
  offerId!: string | null;
  workflowId!: string;
  step!: string;
  type!: string;
  state!: 'open' | 'decided' | 'cancelled';
  facts!: Record<string, unknown>;
  dueAt!: Date;
  escalatedAt!: Date | null;
  assigneeId!: string | null;
  claimedAt!: Date | null;
  decision!: string | null;
  comment!: string | null;
  decidedById!: string | null;
  decidedByName!: string | null;
  decidedAt!: Date | null;
  createdAt!: Date;
}

/** An e-mail to send exactly once per case and step. */
export class EmailOutbox extends Model {
  static tableName = 'email_outbox';
  id!: string;
  /** Unique: `case:<caseId>:<step>` for a learner's case, `<workflowId>:<step>` for provider and agency mail. */
  dedupeKey!: string;
  caseId!: string | null;
  step!: string;
  template!: string;
  language!: string;
  recipient!: string;
  subject!: string;
  /** `rejected`: the recipient's server refused the e-mail for good (its reply is in `smtpReply`). */
  status!: 'pending' | 'sent' | 'rejected';
  attempts!: number;
  messageId!: string | null;
  sentAt!: Date | null;
  /** The attempt that may talk to the SMTP server now, and until when (renewed while it sends). */
  leaseOwner!: string | null;
  leasedUntil!: Date | null;
  /** The server's reply to a permanent refusal. */
  smtpReply!: string | null;
  rejectedAt!: Date | null;
}

/** A person who logs in with a username and password: agency staff, administrators, provider staff. */
export class User extends Model {
  static tableName = 'users';
  id!: string;
  username!: string;
  passwordHash!: string;
  displayName!: string;
  role!: 'staff' | 'admin' | 'provider';
  providerId!: string | null;
  active!: boolean;
  email!: string | null;
  /** A provider user's role within the provider: the registrant is 'admin' and approves further 'staff'. */
  providerRole!: 'admin' | 'staff' | null;
  status!: 'awaiting_email' | 'awaiting_approval' | 'active' | 'rejected';
  emailConfirmedAt!: Date | null;
  /** Agency staff who may assign inbox tasks to colleagues. */
  teamLead!: boolean;
  /** When the user set up a TOTP second factor (login then asks for a code); null if not. */
  totpEnrolledAt!: Date | null;
  /** The Riga days the account may be used (inclusive); null is open-ended. Read them as text (staff-accounts.ts). */
  validFrom!: unknown;
  validUntil!: unknown;
}

/** An education provider. */
export class Provider extends Model {
  static tableName = 'providers';
  id!: string;
  name!: string;
  /** The company's number in the Enterprise Register. */
  registrationNumber!: string;
  /** The institution's number in the Register of Educational Institutions (VIIS). */
  educationRegistrationNumber!: string | null;
  email!: string | null;
  status!: 'awaiting_email' | 'awaiting_approval' | 'approved' | 'rejected' | 'expired' | 'cancelled';
  workflowId!: string | null;
  rejectionReason!: string | null;
  emailConfirmedAt!: Date | null;
  decidedAt!: Date | null;
}

/** A call for offers: its phases, what it funds and its limits. */
export class Call extends Model {
  static tableName = 'calls';
  id!: string;
  code!: string;
  titleLv!: string;
  titleEn!: string;
  programme!: string;
  competences!: string[];
  digcompMin!: number | null;
  digcompMax!: number | null;
  minDigitalSharePercent!: number;
  maxOffersPerProvider!: number;
  requiredDocuments!: string[];
  submissionOpensAt!: Date;
  submissionClosesAt!: Date;
  evaluationEndsAt!: Date;
  publicationAt!: Date;
  applicationsOpenAt!: Date;
  applicationsCloseAt!: Date;
  groupFormationAt!: Date;
  teachingEndsAt!: Date;
}

/** A provider's offer of a programme in a call; published offers form the catalogue. */
export class Offer extends Model {
  static tableName = 'offers';
  id!: string;
  providerId!: string;
  callId!: string | null;
  workflowId!: string | null;
  state!: OfferState;
  programme!: string;
  titleLv!: string;
  titleEn!: string;
  competence!: string | null;
  descriptionLv!: string | null;
  descriptionEn!: string | null;
  prerequisitesLv!: string | null;
  prerequisitesEn!: string | null;
  language!: string;
  digcompLevel!: number | null;
  digitalSharePercent!: number | null;
  hoursTheory!: number | null;
  hoursPractice!: number | null;
  licenceNumber!: string | null;
  coefficientCode!: string | null;
  /** The cost per learner the system computed (cents). */
  costCents!: number;
  /** The provider's own figure, shown as a mismatch when it differs. */
  statedCostCents!: number | null;
  copayPercent!: number | null;
  places!: { address: string }[];
  published!: boolean;
  rejectionReasons!: string[] | null;
  applicationsOpenAt!: Date;
  applicationsCloseAt!: Date;
  groupFormationDeadline!: Date;
  submittedAt!: Date | null;
  decidedAt!: Date | null;
  publishedAt!: Date | null;
  createdAt!: Date;
  updatedAt!: Date;
}

/** An uploaded document (provider declaration, offer annexes), stored with its checksum. */
export class StoredDocument extends Model {
  static tableName = 'documents';
  id!: string;
  providerId!: string;
  offerId!: string | null;
  kind!: string;
  filename!: string;
  contentType!: string;
  sizeBytes!: number;
  sha256!: string;
  content!: Buffer;
  uploadedBy!: string | null;
  uploadedAt!: Date;
}

/** One step in a provider's registration or an offer's history. */
export class ProviderEvent extends Model {
  static tableName = 'provider_events';
  id!: string;
  providerId!: string;
  offerId!: string | null;
  workflowId!: string;
  step!: string;
  kind!: string;
  state!: string;
  actorRole!: string;
  actorId!: string | null;
  actorName!: string | null;
  details!: Record<string, unknown>;
  occurredAt!: Date;
}

/** Who looked at or changed whose data, when and why. */
export class AuditEntry extends Model {
  static tableName = 'audit_log';
  id!: string;
  at!: Date;
  actorRole!: string;
  actorId!: string | null;
  actorName!: string | null;
  action!: string;
  subjectPersonCode!: string | null;
  caseId!: string | null;
  purpose!: string;
  result!: Record<string, unknown>;
  keepUntil!: string;
  idempotencyKey!: string | null;
  municipality!: string | null;
}
