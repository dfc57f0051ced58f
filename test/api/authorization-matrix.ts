import type { Role } from '../../api/middleware/auth';

// The authorization matrix: every route of the registry (api/routes/define.ts: the JSON API's `routes` and the
// `pages`) × every kind of caller, with what that caller must get. test/api/authorization-matrix.test.ts sends each
// request and fails on any difference, on a route without a row and on a row without a route.
//
// Adding a route: add one line below, `['METHOD /path', …one expectation per caller…]`, in the column order of
// CALLERS. Expectations:
//   'ok'    the guard let the caller through: any answer but 401, 403, 404, a redirect to a login page or a 5xx
//           (a 400 for the invalid body such a caller sends counts as through; a refused caller sends a valid one);
//   'login' a browser that is not logged in is sent to a login page (a GET page; API clients get 401);
//   401, 403, 404  exactly that status (404: the object exists but is someone else's, and is hidden as unknown;
//           the login forms answer an empty form with 401, a failed login).
// The fixtures behind the path parameters: the learner's case (registered in Daugavpils by the coordinator there),
// the provider's offer, group, document, application and pending staff member, a task, a batch, a workflow, and a
// session of another staff member (see the test's before hook).

/** The callers, in the column order of the rows. */
export const CALLERS = [
  'anonymous', 'learner', 'otherLearner', 'coordinator', 'otherCoordinator', 'provider', 'otherProvider', 'staff', 'teamLead', 'admin',
] as const;

/** One kind of caller. */
export type Caller = (typeof CALLERS)[number];

/** The role each caller's session has (none for the anonymous caller). */
export const CALLER_ROLES: Record<Caller, Role | null> = {
  anonymous: null, learner: 'learner', otherLearner: 'learner', coordinator: 'coordinator', otherCoordinator: 'coordinator',
  provider: 'provider', otherProvider: 'provider', staff: 'staff', teamLead: 'staff', admin: 'admin',
};

/** What a caller must get from a route. */
export type Expected = 'ok' | 'login' | 401 | 403 | 404;

/** `METHOD /path`, then one expectation per caller in the order of CALLERS. */
type Row = readonly [route: string, ...expected: Expected[]];

//  route                                                   anonym  learner other-l coord   other-c provid  other-p staff   lead    admin
const ROWS: readonly Row[] = [
  // --- JSON API ---
  ['GET /api/health',                                       'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['GET /api/ready',                                        'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['POST /api/auth/login',                                  'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['POST /api/auth/logout',                                 'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['POST /api/session/keep-alive',                          401,    'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['GET /api/account/sessions',                             401,    403,    403,    403,    403,    'ok',   'ok',   'ok',   'ok',   'ok'],
  ['POST /api/account/sessions/:sessionId/end',             401,    403,    403,    403,    403,    404,    404,    404,    404,    404],
  ['POST /api/account/second-factor/setup',                 401,    403,    403,    403,    403,    403,    403,    'ok',   'ok',   'ok'],
  ['POST /api/account/second-factor',                       401,    403,    403,    403,    403,    403,    403,    'ok',   'ok',   'ok'],
  ['POST /api/account/second-factor/confirm',               401,    403,    403,    403,    403,    403,    403,    'ok',   'ok',   'ok'],
  ['GET /api/learner/journeys',                             401,    'ok',   'ok',   403,    403,    403,    403,    403,    403,    403],
  ['GET /api/learner/journeys/:caseId',                     401,    'ok',   404,    403,    403,    403,    403,    403,    403,    403],
  ['POST /api/learner/journeys',                            401,    'ok',   'ok',   403,    403,    403,    403,    403,    403,    403],
  ['GET /api/staff/tasks',                                  401,    403,    403,    403,    403,    403,    403,    'ok',   'ok',   'ok'],
  ['GET /api/staff/tasks/:taskId',                          401,    403,    403,    403,    403,    403,    403,    'ok',   'ok',   'ok'],
  ['POST /api/staff/tasks/:taskId/decision',                401,    403,    403,    403,    403,    403,    403,    'ok',   'ok',   'ok'],
  ['POST /api/staff/tasks/:taskId/claim',                   401,    403,    403,    403,    403,    403,    403,    'ok',   'ok',   'ok'],
  ['POST /api/staff/tasks/:taskId/unclaim',                 401,    403,    403,    403,    403,    403,    403,    'ok',   'ok',   'ok'],
  ['POST /api/staff/tasks/:taskId/assign',                  401,    403,    403,    403,    403,    403,    403,    403,    'ok',   403],
  ['GET /api/offers',                                       'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['GET /api/learner/journeys/:caseId/study',               401,    'ok',   404,    403,    403,    403,    403,    403,    403,    403],
  ['POST /api/learner/journeys/:caseId/applications',       401,    'ok',   404,    403,    403,    403,    403,    403,    403,    403],
  ['POST /api/learner/journeys/:caseId/withdrawal',         401,    'ok',   404,    403,    403,    403,    403,    403,    403,    403],
  ['POST /api/learner/journeys/:caseId/survey',             401,    'ok',   404,    403,    403,    403,    403,    403,    403,    403],
  ['GET /api/provider/applications',                        401,    403,    403,    403,    403,    'ok',   'ok',   403,    403,    403],
  ['POST /api/provider/applications/:applicationId/decision',401,    403,    403,    403,    403,    'ok',   404,    403,    403,    403],
  ['POST /api/provider/applications/:applicationId/outcome',401,    403,    403,    403,    403,    'ok',   404,    403,    403,    403],
  ['GET /api/coordinator/journeys',                         401,    403,    403,    'ok',   'ok',   403,    403,    403,    403,    403],
  ['POST /api/coordinator/journeys',                        401,    403,    403,    'ok',   'ok',   403,    403,    403,    403,    403],
  ['POST /api/coordinator/journeys/:caseId/applications',   401,    403,    403,    'ok',   404,    403,    403,    403,    403,    403],
  ['POST /api/providers/registrations',                     'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['POST /api/providers/confirmations',                     'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['POST /api/providers/staff-registrations',               'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['GET /api/provider/staff',                               401,    403,    403,    403,    403,    'ok',   'ok',   403,    403,    403],
  ['POST /api/provider/staff/:userId/decision',             401,    403,    403,    403,    403,    'ok',   404,    403,    403,    403],
  ['GET /api/provider/offers',                              401,    403,    403,    403,    403,    'ok',   'ok',   403,    403,    403],
  ['POST /api/provider/offers',                             401,    403,    403,    403,    403,    'ok',   'ok',   403,    403,    403],
  ['GET /api/provider/offers/:offerId',                     401,    403,    403,    403,    403,    'ok',   404,    403,    403,    403],
  ['POST /api/provider/offers/:offerId',                    401,    403,    403,    403,    403,    'ok',   404,    403,    403,    403],
  ['POST /api/provider/offers/:offerId/documents/:kind',    401,    403,    403,    403,    403,    'ok',   404,    403,    403,    403],
  ['POST /api/provider/offers/:offerId/submit',             401,    403,    403,    403,    403,    'ok',   404,    403,    403,    403],
  ['POST /api/provider/offers/:offerId/withdraw',           401,    403,    403,    403,    403,    'ok',   404,    403,    403,    403],
  ['POST /api/provider/offers/:offerId/groups',             401,    403,    403,    403,    403,    'ok',   404,    403,    403,    403],
  ['GET /api/provider/surveys',                             401,    403,    403,    403,    403,    'ok',   'ok',   403,    403,    403],
  ['GET /api/catalogue',                                    'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['GET /api/catalogue/:offerId',                           'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['GET /api/admin/workflows',                              401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['GET /api/admin/stuck',                                  401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['GET /api/admin/workflows/:workflowId',                  401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['POST /api/admin/workflows/:workflowId/actions',         401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['POST /api/admin/batches/preview',                       401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['POST /api/admin/batches',                               401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['GET /api/admin/batches',                                401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['GET /api/admin/batches/:batchId',                       401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['GET /api/admin/registries/health',                      401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['GET /api/admin/health',                                 401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['GET /api/admin/consistency',                            401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['POST /api/admin/consistency/repairs',                   401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['POST /api/account/password',                            401,    403,    403,    403,    403,    'ok',   'ok',   'ok',   'ok',   'ok'],
  ['POST /api/auth/password-reset-requests',                'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['POST /api/auth/password-resets',                        'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['POST /api/codec/decode',                                401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['POST /api/codec/encode',                                401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['GET /api/admin/audit',                                  401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['GET /api/admin/audit/purges',                           401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['GET /api/learner/my-data',                              401,    'ok',   'ok',   403,    403,    403,    403,    403,    403,    403],
  ['GET /api/admin/retention',                              401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['POST /api/admin/retention/rules/:code',                 401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['POST /api/admin/retention/runs',                        401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['GET /api/learner/data-requests',                        401,    'ok',   'ok',   403,    403,    403,    403,    403,    403,    403],
  ['POST /api/learner/data-requests',                       401,    'ok',   'ok',   403,    403,    403,    403,    403,    403,    403],
  ['GET /api/staff/data-requests/:requestId',               401,    403,    403,    403,    403,    403,    403,    'ok',   'ok',   'ok'],
  ['POST /api/staff/data-requests/:requestId/decision',     401,    403,    403,    403,    403,    403,    403,    'ok',   'ok',   'ok'],
  // --- programmes ---
  ['GET /api/admin/programmes',                             401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['POST /api/admin/programmes',                            401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['GET /api/admin/programmes/:code',                       401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['POST /api/admin/programmes/:code/versions',             401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['POST /api/admin/programmes/:code/windows',              401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['POST /api/admin/programmes/:code/windows/:id',          401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  // --- Pages ---
  ['GET /static/:name',                                     'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['GET /',                                                 'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['GET /api/openapi.json',                                 'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['GET /auth/sso/login',                                   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['GET /auth/sso/callback',                                'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['GET /staff/login',                                      'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['POST /staff/login',                                     401,    401,    401,    401,    401,    401,    401,    401,    401,    401],
  ['POST /staff/login/code',                                401,    401,    401,    401,    401,    401,    401,    401,    401,    401],
  ['POST /logout',                                          'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['GET /account/sessions',                                 'login', 403,   403,    403,    403,    'ok',   'ok',   'ok',   'ok',   'ok'],
  ['POST /account/sessions/:sessionId/end',                 401,    403,    403,    403,    403,    404,    404,    404,    404,    404],
  ['GET /account/second-factor',                            'login', 403,   403,    403,    403,    403,    403,    'ok',   'ok',   'ok'],
  ['POST /account/second-factor',                           401,    403,    403,    403,    403,    403,    403,    'ok',   'ok',   'ok'],
  ['GET /learner',                                          'login', 'ok',  'ok',   403,    403,    403,    403,    403,    403,    403],
  ['POST /learner/journeys',                                401,    'ok',   'ok',   403,    403,    403,    403,    403,    403,    403],
  ['GET /learner/journeys/:caseId',                         'login', 'ok',  404,    403,    403,    403,    403,    403,    403,    403],
  ['GET /staff/tasks',                                      'login', 403,   403,    403,    403,    403,    403,    'ok',   'ok',   'ok'],
  ['GET /staff/tasks/:taskId',                              'login', 403,   403,    403,    403,    403,    403,    'ok',   'ok',   'ok'],
  ['POST /staff/tasks/:taskId/claim',                       401,    403,    403,    403,    403,    403,    403,    'ok',   'ok',   'ok'],
  ['POST /staff/tasks/:taskId/unclaim',                     401,    403,    403,    403,    403,    403,    403,    'ok',   'ok',   'ok'],
  ['POST /staff/tasks/:taskId/assign',                      401,    403,    403,    403,    403,    403,    403,    403,    'ok',   403],
  ['POST /staff/tasks/:taskId/decision',                    401,    403,    403,    403,    403,    403,    403,    'ok',   'ok',   'ok'],
  ['GET /staff/documents/:documentId',                      'login', 403,   403,    403,    403,    403,    403,    'ok',   'ok',   'ok'],
  ['GET /offers',                                           'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['POST /learner/journeys/:caseId/applications',           401,    'ok',   404,    403,    403,    403,    403,    403,    403,    403],
  ['POST /learner/journeys/:caseId/withdrawal',             401,    'ok',   404,    403,    403,    403,    403,    403,    403,    403],
  ['POST /learner/journeys/:caseId/survey',                 401,    'ok',   404,    403,    403,    403,    403,    403,    403,    403],
  ['GET /provider',                                         'login', 403,   403,    403,    403,    'ok',   'ok',   403,    403,    403],
  ['POST /provider/applications/:applicationId/decision',   401,    403,    403,    403,    403,    'ok',   404,    403,    403,    403],
  ['POST /provider/applications/:applicationId/outcome',    401,    403,    403,    403,    403,    'ok',   404,    403,    403,    403],
  ['GET /auth/role',                                        'login', 'ok',  'ok',   'ok',   'ok',   403,    403,    403,    403,    403],
  ['POST /auth/role',                                       401,    'ok',   'ok',   'ok',   'ok',   403,    403,    403,    403,    403],
  ['GET /coordinator',                                      'login', 403,   403,    'ok',   'ok',   403,    403,    403,    403,    403],
  ['POST /coordinator/journeys',                            401,    403,    403,    'ok',   'ok',   403,    403,    403,    403,    403],
  ['POST /coordinator/journeys/:caseId/applications',       401,    403,    403,    'ok',   404,    403,    403,    403,    403,    403],
  ['GET /providers/register',                               'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['POST /providers/register',                              'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['GET /providers/register/sent',                          'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['GET /providers/confirm',                                'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['POST /providers/confirm',                               'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['GET /providers/staff/register',                         'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['POST /providers/staff/register',                        'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['GET /providers/staff/register/sent',                    'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['GET /provider/staff',                                   'login', 403,   403,    403,    403,    'ok',   'ok',   403,    403,    403],
  ['POST /provider/staff/:userId/decision',                 401,    403,    403,    403,    403,    'ok',   404,    403,    403,    403],
  ['GET /provider/offers',                                  'login', 403,   403,    403,    403,    'ok',   'ok',   403,    403,    403],
  ['POST /provider/offers',                                 401,    403,    403,    403,    403,    'ok',   'ok',   403,    403,    403],
  ['GET /provider/offers/:offerId',                         'login', 403,   403,    403,    403,    'ok',   404,    403,    403,    403],
  ['POST /provider/offers/:offerId',                        401,    403,    403,    403,    403,    'ok',   404,    403,    403,    403],
  ['POST /provider/offers/:offerId/documents/:kind',        401,    403,    403,    403,    403,    'ok',   404,    403,    403,    403],
  ['GET /provider/offers/:offerId/documents/:kind',         'login', 403,   403,    403,    403,    'ok',   404,    403,    403,    403],
  ['POST /provider/offers/:offerId/submit',                 401,    403,    403,    403,    403,    'ok',   404,    403,    403,    403],
  ['POST /provider/offers/:offerId/withdraw',               401,    403,    403,    403,    403,    'ok',   404,    403,    403,    403],
  ['POST /provider/offers/:offerId/groups',                 401,    403,    403,    403,    403,    'ok',   404,    403,    403,    403],
  ['GET /provider/surveys',                                 'login', 403,   403,    403,    403,    'ok',   'ok',   403,    403,    403],
  ['GET /catalogue',                                        'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['GET /catalogue/:offerId',                               'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['GET /admin',                                            'login', 403,   403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['GET /admin/workflows',                                  'login', 403,   403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['GET /admin/stuck',                                      'login', 403,   403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['GET /admin/workflows/:workflowId',                      'login', 403,   403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['POST /admin/workflows/:workflowId/actions',             401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['GET /admin/batches',                                    'login', 403,   403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['GET /admin/batches/new',                                'login', 403,   403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['POST /admin/batches/preview',                           401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['POST /admin/batches',                                   401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['GET /admin/batches/:batchId',                           'login', 403,   403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['GET /admin/registries',                                 'login', 403,   403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['GET /admin/consistency',                                'login', 403,   403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['POST /admin/consistency/repairs',                       401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['GET /account/password',                                 'login', 403,   403,    403,    403,    'ok',   'ok',   'ok',   'ok',   'ok'],
  ['POST /account/password',                                401,    403,    403,    403,    403,    'ok',   'ok',   'ok',   'ok',   'ok'],
  ['GET /staff/password/forgot',                            'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['POST /staff/password/forgot',                           'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['GET /staff/password/reset',                             'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['POST /staff/password/reset',                            'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok',   'ok'],
  ['GET /admin/audit',                                      'login', 403,   403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['GET /admin/audit/sopa-export',                          'login', 403,   403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['GET /account/my-data.json',                             'login', 'ok',  'ok',   403,    403,    403,    403,    403,    403,    403],
  ['GET /account/my-data',                                  'login', 'ok',  'ok',   403,    403,    403,    403,    403,    403,    403],
  ['GET /admin/retention',                                  'login', 403,   403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['POST /admin/retention/rules/:code',                     401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['POST /admin/retention/runs',                            401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['GET /account/data-requests',                            'login', 'ok',  'ok',   403,    403,    403,    403,    403,    403,    403],
  ['POST /account/data-requests',                           401,    'ok',   'ok',   403,    403,    403,    403,    403,    403,    403],
  ['GET /staff/data-requests/:requestId',                   'login', 403,   403,    403,    403,    403,    403,    'ok',   'ok',   'ok'],
  ['POST /staff/data-requests/:requestId/decision',         401,    403,    403,    403,    403,    403,    403,    'ok',   'ok',   'ok'],
  // --- programmes ---
  ['GET /admin/programmes',                                 'login', 403,   403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['POST /admin/programmes',                                401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['GET /admin/programmes/:code',                           'login', 403,   403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['POST /admin/programmes/:code/versions',                 401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['POST /admin/programmes/:code/windows',                  401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
  ['POST /admin/programmes/:code/windows/:id',              401,    403,    403,    403,    403,    403,    403,    403,    403,    'ok'],
];

/** The expected answer of each route (`METHOD /path`) to each caller. */
export const MATRIX: ReadonlyMap<string, Readonly<Record<Caller, Expected>>> = new Map(ROWS.map(([route, ...expected]) => {
  if (expected.length !== CALLERS.length) throw new Error(`${route}: ${expected.length} expectations for ${CALLERS.length} callers`);
  return [route, Object.fromEntries(CALLERS.map((c, i) => [c, expected[i]!])) as Record<Caller, Expected>];
}));
