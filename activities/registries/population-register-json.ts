import { fetchRegistryRecord } from './fetch-record';
import type { PopulationRegisterClient, PopulationRegisterClientOptions, RegisterPerson } from './population-register';

/**
 * The Population Register client speaking our stub's JSON: `GET /persons/{code}` answers the person (RegisterPerson)
 * or 404 for a code the register does not know. The contract's other side is dev/stubs/population-register.ts.
 */
export function createPopulationRegisterJsonClient(opts: PopulationRegisterClientOptions): PopulationRegisterClient {
  return {
    getPerson(personCode) {
      return fetchRegistryRecord({
        name: 'Population Register', metric: 'population-register', url: `${opts.baseUrl}/persons/${encodeURIComponent(personCode)}`,
        timeoutMs: opts.timeoutMs ?? 5_000, metrics: opts.metrics, read: (body) => body as RegisterPerson,
      });
    },
  };
}
