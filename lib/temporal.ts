import { Client, Connection } from '@temporalio/client';
import { searchAttributeTypes } from '../workflows/ids';

/** Connects a Temporal client (used by the API to start workflows and send Updates). */
export async function connectTemporalClient(opts: { address: string; namespace: string }): Promise<Client> {
  const connection = await Connection.connect({ address: opts.address });
  return new Client({ connection, namespace: opts.namespace });
}

/**
 * Registers the search attributes the workflows set, if the namespace lacks them. Attributes given on the dev
 * server's command line only register when its database is new, so this runs at every worker start.
 */
export async function ensureSearchAttributes(connection: Pick<Connection, 'operatorService'>, namespace: string): Promise<string[]> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const indexedValueType = { Keyword: 2 } as const;
  const missing = Object.entries(searchAttributeTypes).filter(([name]) => !(name in (customAttributes ?? {})));
  if (missing.length === 0) return [];
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, indexedValueType[type]])),
  });
  return missing.map(([name]) => name);
}
