import type { Knex } from 'knex';
import { ApplicationFailure } from '@temporalio/common';
import { writeAudit } from '../../lib/audit';
import type { RegistryMetrics } from '../../lib/metrics';
import { createPopulationRegisterJsonClient } from './population-register-json';
import { pickProtocol, POPULATION_REGISTER_PROTOCOLS, type PopulationRegisterProtocol } from './protocols';
import { FailureType } from '../../domain/failures';

/** A person as the Population Register (FPR) describes them. */
export interface RegisterPerson {
  personCode: string;
  firstName: string;
  lastName: string;
  birthDate: string;
  deceased: boolean;
  deceasedDate: string | null;
  address: string;
  /** The municipality of the declared address (null when none is declared). */
  municipality: string | null;
}

/** A Population Register client, whatever protocol it speaks; the base URL points at the real service or our stub. */
export interface PopulationRegisterClient {
  /** The person, or null when the register does not know the code; throws on transport or server errors. */
  getPerson(personCode: string): Promise<RegisterPerson | null>;
}

/** What every adapter is made from; requests time out so a hung registry turns into a retry, not a stuck activity. */
export interface PopulationRegisterClientOptions { baseUrl: string; timeoutMs?: number; metrics?: RegistryMetrics }

/** One adapter per protocol; TypeScript makes each name in POPULATION_REGISTER_PROTOCOLS have one. */
const POPULATION_REGISTER_ADAPTERS: Record<PopulationRegisterProtocol, (opts: PopulationRegisterClientOptions) => PopulationRegisterClient> = {
  json: createPopulationRegisterJsonClient,
};

/** The client for the configured protocol (default json); an unknown protocol is an Error at start. */
export function createPopulationRegisterClient(opts: PopulationRegisterClientOptions & { protocol?: string }): PopulationRegisterClient {
  const protocol = pickProtocol('POPULATION_REGISTER_PROTOCOL', POPULATION_REGISTER_PROTOCOLS, opts.protocol ?? 'json');
  return POPULATION_REGISTER_ADAPTERS[protocol](opts);
}

/** Input of lookupPerson: whose data, for which case and why (all audited). */
export interface LookupPersonInput {
  personCode: string;
  caseId: string;
  purpose: string;
  /** Stable per workflow step, so a retried lookup is audited once. */
  auditKey: string;
}

/** Activities that query the Population Register. */
export function createPopulationRegisterActivities({ db, populationRegister }: { db: Knex; populationRegister: PopulationRegisterClient }) {
  return {
    /** Fetches a person from the Population Register and audits the query; an unknown person is a permanent failure. */
    async lookupPerson(input: LookupPersonInput): Promise<RegisterPerson> {
      const person = await populationRegister.getPerson(input.personCode);
      await writeAudit(db, {
        actor: { role: 'system', id: null, name: 'learner-journey worker' }, action: 'population-register.get-person',
        subjectPersonCode: input.personCode, caseId: input.caseId, purpose: input.purpose,
        result: person ? { found: true, deceased: person.deceased } : { found: false }, idempotencyKey: input.auditKey,
        municipality: person?.municipality ?? null,
      });
      if (!person) {
        throw ApplicationFailure.create({
          type: FailureType.PersonNotFound, nonRetryable: true,
          // No person code here: failure messages end up in workflow history and the console (the audit row says whom).
          message: 'The Population Register has no person with this person code',
        });
      }
      return person;
    },
  };
}
