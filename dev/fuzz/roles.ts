/** Which operations of the OpenAPI document each role's run fuzzes. */
import type { FuzzRole } from './logins';

/** The parts of the document this needs. */
export interface OpenApiDocument {
  paths: Record<string, Record<string, { 'x-roles'?: string[]; responses?: Record<string, unknown> } & Record<string, unknown>>>;
  [key: string]: unknown;
}

/** The session role each fuzzing role logs in with (the team lead is staff with the team-lead flag). */
const SESSION_ROLE: Record<Exclude<FuzzRole, 'anonymous'>, string> = {
  learner: 'learner', coordinator: 'coordinator', consultant: 'consultant', provider: 'provider', staff: 'staff', lead: 'staff', admin: 'admin',
};

/** Public operations are also fuzzed with this role's session: the public pages show a learner the Apply forms. */
const PUBLIC_TOO: readonly FuzzRole[] = ['learner'];

/**
 * Operations that end the session they are called in (logging out; choosing a role starts a new session and ends
 * the old one): a logged-in run that called them would go on with a dead token, so only the anonymous run knocks.
 */
const ENDS_SESSION: readonly string[] = ['post /logout', 'post /api/auth/logout', 'post /auth/role'];

/**
 * A GET that only ever redirects (a form's address opened with GET, api/app.ts formAddressRedirects; an old address)
 * answers every caller past its guard the same way, with no input to go wrong: the anonymous run knocks on its guard,
 * the authorization matrix checks it per role, and the logged-in runs spend their time on the handlers.
 */
function onlyRedirects(method: string, op: { responses?: Record<string, unknown> }): boolean {
  const statuses = Object.keys(op.responses ?? {});
  return method === 'get' && statuses.some((s) => s.startsWith('3')) && !statuses.some((s) => s.startsWith('2'));
}

/**
 * The document with only the operations a role's run fuzzes. Anonymous gets every operation, so every door is
 * knocked on without a session (401, 403, a redirect to the login, or a public answer). A logged-in role gets the
 * operations its role may use (`x-roles`), where the fuzzer reaches past the guard into the handlers; the public
 * operations only where a session changes what they do (PUBLIC_TOO), since the anonymous run covers them already;
 * no GET that only redirects.
 */
export function documentForRole(document: OpenApiDocument, role: FuzzRole): OpenApiDocument {
  if (role === 'anonymous') return document;
  const sessionRole = SESSION_ROLE[role];
  const paths: OpenApiDocument['paths'] = {};
  for (const [path, operations] of Object.entries(document.paths)) {
    const kept = Object.entries(operations).filter(([method, op]) => !ENDS_SESSION.includes(`${method} ${path}`) && !onlyRedirects(method, op)
      && (op['x-roles'] ? op['x-roles'].includes(sessionRole) : PUBLIC_TOO.includes(role)));
    if (kept.length > 0) paths[path] = Object.fromEntries(kept);
  }
  return { ...document, paths };
}
