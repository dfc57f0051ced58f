import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { Model, knexSnakeCaseMappers } from 'objection';

/** Where the knex migrations live; shared by the seed script, the tests and the deployment's migrate step. */
export const migrationsDirectory = path.join(__dirname, '..', 'migrations');

/** Opens a knex pool on Postgres with snake_case columns mapped to camelCase properties. */
export function createDb(databaseUrl: string, pool: { min: number; max: number } = { min: 0, max: 10 }): Knex {
  return knexFactory({
    client: 'pg',
    connection: databaseUrl,
    pool,
    migrations: { directory: migrationsDirectory, loadExtensions: ['.ts'], extension: 'ts' },
    ...knexSnakeCaseMappers(),
  });
}

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
  caseId!: string;
  workflowId!: string;
  step!: string;
  type!: string;
  state!: 'open' | 'decided' | 'cancelled';
  facts!: Record<string, unknown>;
  dueAt!: Date;
  escalatedAt!: Date | null;
  assigneeId!: string | null;
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
  caseId!: string;
  step!: string;
  template!: string;
  language!: string;
  recipient!: string;
  subject!: string;
  status!: 'pending' | 'sent';
  attempts!: number;
  messageId!: string | null;
  sentAt!: Date | null;
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
}

/** An education provider. */
export class Provider extends Model {
  static tableName = 'providers';
  id!: string;
  name!: string;
  registrationNumber!: string;
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
}
