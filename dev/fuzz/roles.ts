/** Which operations of the OpenAPI document each role's run fuzzes. */
import type { FuzzRole } from './logins';

/** The parts of the document this needs. */
export interface OpenApiDocument {
  paths: Record<string, Record<string, { 'x-roles'?: string[] } & Record<string, unknown>>>;
  [key: string]: unknown;
}

/** The session role each fuzzing role logs in with (the team lead is staff with the team-lead flag). */
const SESSION_ROLE: Record<Exclude<FuzzRole, 'anonymous'>, string> = {
  learner: 'learner', coordinator: 'coordinator', provider: 'provider', staff: 'staff', lead: 'staff', admin: 'admin',
};

/**
 * The document with only the operations a role's run fuzzes: a logged-in role gets the public operations and
 * those its role may use (`x-roles`), where the fuzzer reaches past the guard into the handlers; anonymous gets
 * every operation, so every door is also knocked on without a session (401, 403 or a redirect to the login).
 */
export function documentForRole(document: OpenApiDocument, role: FuzzRole): OpenApiDocument {
  if (role === 'anonymous') return document;
  const sessionRole = SESSION_ROLE[role];
  const paths: OpenApiDocument['paths'] = {};
  for (const [path, operations] of Object.entries(document.paths)) {
    const kept = Object.entries(operations).filter(([, op]) => !op['x-roles'] || op['x-roles'].includes(sessionRole));
    if (kept.length > 0) paths[path] = Object.fromEntries(kept);
  }
  return { ...document, paths };
}
