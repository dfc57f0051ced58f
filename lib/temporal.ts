import { Client, Connection } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { searchAttributeTypes } from '../workflows/ids';

/** The search attribute types as the dev server's `--search-attribute Name=Type` flag spells them. */
export type SearchAttributeTypeName = 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

const UPPER_CASE = {
  Keyword: 'KEYWORD', Text: 'TEXT', Int: 'INT', Double: 'DOUBLE', Bool: 'BOOL', Datetime: 'DATETIME', KeywordList: 'KEYWORD_LIST',
} as const;

/** Connects a Temporal client (used by the API to start workflows and send Updates). */
export async function connectTemporalClient(opts: { address: string; namespace: string }): Promise<Client> {
  const connection = await Connection.connect({ address: opts.address });
  return new Client({ connection, namespace: opts.namespace });
}

/**
 * Registers the search attributes the workflows set, if the namespace lacks them, and refuses one that exists
 * with another type. Attributes given on the dev server's command line only register when its database is new,
 * so the worker runs this at every start; several workers starting at once may race, which is harmless.
 */
export async function ensureSearchAttributes(
  connection: Pick<Connection, 'operatorService'>,
  namespace: string,
  wanted: Record<string, SearchAttributeTypeName> = searchAttributeTypes,
): Promise<string[]> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const existing = customAttributes ?? {};
  const missing: Record<string, number> = {};
  for (const [name, type] of Object.entries(wanted)) {
    const encoded = encodeSearchAttributeIndexedValueType(UPPER_CASE[type])!;
    if (!(name in existing)) missing[name] = encoded;
    else if (existing[name] !== encoded) {
      throw new Error(`search attribute ${name} exists in namespace ${namespace} with another type than ${type}`);
    }
  }
  if (Object.keys(missing).length === 0) return [];
  try {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
  } catch (err) {
    // Another worker registered them between our list and add.
    if (!/already exists/i.test(String((err as Error).message))) throw err;
  }
  return Object.keys(missing);
}
