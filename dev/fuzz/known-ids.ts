/**
 * Ids that name real things in the fuzzed stack (seeded offers, calls and groups, the journeys, tasks and
 * applications earlier roles' runs made, every workflow), handed to schemathesis as dictionaries: half of the
 * values it sends for a parameter or body field of that name are real ones, so the fuzzer gets past "404, no such
 * offer" into the handlers, and a console action or a withdrawal really happens (and must leave the read model
 * consistent). The other half are generated as before.
 */
import fs from 'node:fs';
import { createDb } from '../../lib/db';

/** How often a real id is sent instead of a generated value. */
const REAL_ID_PROBABILITY = 0.5;
/** At most this many of each: enough to reach every state without a config file of thousands. */
const PER_KIND = 50;

/** The real ids of each kind, read from the stack's database. */
export async function knownIds(databaseUrl: string): Promise<Record<string, string[]>> {
  const db = createDb(databaseUrl, { min: 0, max: 1 });
  try {
    const ids = async (table: string, column = 'id', where?: (q: ReturnType<typeof db>) => void): Promise<string[]> => {
      const query = db(table).select(column).whereNotNull(column).limit(PER_KIND);
      where?.(query);
      return (await query).map((row: Record<string, string>) => String(row[column]));
    };
    const [offers, calls, groups, cases, tasks, applications, providerUsers, staffUsers, documents, batches, caseWorkflows, offerWorkflows, providerWorkflows] = await Promise.all([
      ids('offers'), ids('calls'), ids('offerGroups'), ids('cases'), ids('tasks'), ids('applications'),
      ids('users', 'id', (q) => q.whereNotNull('providerId')), ids('users', 'id', (q) => q.whereIn('role', ['staff', 'admin'])),
      ids('documents'), ids('consoleBatches'),
      ids('cases', 'workflowId'), ids('offers', 'workflowId'), ids('providers', 'workflowId'),
    ]);
    return {
      offers, calls, groups, cases, tasks, applications, providerUsers, staffUsers, documents, batches,
      workflows: [...caseWorkflows, ...offerWorkflows, ...providerWorkflows],
    };
  } finally {
    await db.destroy();
  }
}

/** Which dictionary each parameter and body field takes its real values from. */
const BINDINGS: Record<string, keyof Awaited<ReturnType<typeof knownIds>>> = {
  offerId: 'offers', caseId: 'cases', taskId: 'tasks', applicationId: 'applications', documentId: 'documents',
  batchId: 'batches', workflowId: 'workflows', userId: 'providerUsers',
  'body.callId': 'calls', 'body.offerId': 'offers', 'body.groupId': 'groups', 'body.assigneeId': 'staffUsers',
};

/** Writes a schemathesis config file binding those parameters to the real ids; returns its path. */
export function writeIdConfig(file: string, ids: Record<string, string[]>): string {
  const lines: string[] = [];
  for (const [name, values] of Object.entries(ids)) {
    if (values.length > 0) lines.push(`[dictionaries.${name}]`, `values = [${values.map((v) => JSON.stringify(v)).join(', ')}]`, '');
  }
  lines.push('[parameters]');
  for (const [parameter, dictionary] of Object.entries(BINDINGS)) {
    if ((ids[dictionary] ?? []).length > 0) lines.push(`${JSON.stringify(parameter)} = { dictionary = "${dictionary}", probability = ${REAL_ID_PROBABILITY} }`);
  }
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}
