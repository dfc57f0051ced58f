import { createDatabase } from './postgres';
import { seed } from '../seed';

/**
 * A migrated and seeded database for the ava files to copy (TEST_TEMPLATE_DATABASE, test/helpers/stack.ts); its
 * name. `make test` and `make test-cluster` make one at their start.
 */
export async function templateDatabase(adminUrl: string): Promise<string> {
  const url = await createDatabase(adminUrl, 'template');
  await seed(url);
  return new URL(url).pathname.slice(1);
}
