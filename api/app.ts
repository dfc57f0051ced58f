import fs from 'node:fs';
import path from 'node:path';
import Koa from 'koa';
import Router from '@koa/router';
import { z } from 'zod';
import { TEMPORAL_REQUEST_BUDGET_MS } from '../lib/temporal';
import { createRenderer, publicDir } from '../web/render';
import { HttpError } from './errors';
import type { ApiDeps } from './deps';
import { SESSION_TIMEOUTS } from '../lib/sessions';
import { sessionMiddleware } from './middleware/auth';
import { bodyMiddleware } from './middleware/body';
import { crossOriginGuard, formTokenMiddleware } from './middleware/csrf';
import { corsForOrigin } from './middleware/cors';
import { errorMiddleware } from './middleware/errors';
import { privacyHeaders } from './middleware/privacy-headers';
import { DEFAULT_MAX_UPLOADS_IN_PROGRESS, UploadSlots } from './middleware/upload';
import { requestLogMiddleware } from './middleware/request-log';
import { textDoor } from './middleware/text-door';
import { languageMiddleware, pageErrorMiddleware } from './pages';
import { fillPath, FormPageIndex, formStateMiddleware } from './form-state';
import { accountRoutes } from './routes/account';
import { passwordRoutes } from './routes/account-passwords';
import { adminRoutes } from './routes/admin';
import { adminAccountRoutes } from './routes/admin-accounts';
import { adminAuditRoutes } from './routes/admin-audit';
import { adminBatchRoutes } from './routes/admin-batches';
import { adminConsistencyRoutes } from './routes/admin-consistency';
import { authRoutes } from './routes/auth';
import { catalogueRoutes } from './routes/catalogue';
import { programmeFitRoutes } from './routes/programme-fit';
import { CODEC_PATH_PREFIX, codecRoutes } from './routes/codec';
import { coordinatorRoutes } from './routes/coordinator';
import { ApiRegistry } from './routes/define';
import { learnerRoutes } from './routes/learner';
import { myDataRoutes } from './routes/my-data';
import { adminRetentionRoutes } from './routes/admin-retention';
import { adminProgrammeRoutes } from './routes/admin-programmes';
import { adminCallRoutes } from './routes/admin-calls';
import { dataRequestRoutes } from './routes/data-requests';
import { roleRoutes } from './routes/roles';
import { adminAnnouncementRoutes } from './routes/admin-announcements';
import { BannerCache } from './services/announcements';
import { providerRoutes } from './routes/provider';
import { providerOfferRoutes } from './routes/provider-offers';
import { providerRegistrationRoutes } from './routes/provider-registration';
import { publicRoutes } from './routes/public';
import { profileRoutes } from './routes/profiles';
import { termsRoutes } from './routes/terms';
import { staffRoutes } from './routes/staff';
import { staffFileRoutes } from './routes/staff-files';
import { studyRoutes } from './routes/study';
import { placeOfferRoutes } from './routes/place-offers';
import { statisticsRoutes } from './routes/statistics';

/** Builds the Koa application (API + web pages) without listening, so tests can serve it on any port. */
export function createApp(deps: ApiDeps): Koa {
  // Behind one reverse proxy: ctx.ip is the address that proxy saw (the last X-Forwarded-For entry, the one it
  // appends), not the first, which the client writes itself and could change on every request to dodge throttling.
  const app = new Koa({ proxy: true, maxIpsCount: 1 });
  const renderer = createRenderer();
  const api = new ApiRegistry();
  // One count per app (so per process) of the multipart bodies being read, shared by every upload route.
  app.context.uploadSlots = new UploadSlots(deps.maxUploadsInProgress ?? DEFAULT_MAX_UPLOADS_IN_PROGRESS);
  // What reaches Koa's own handler (an error after the answer began, e.g. a response stream failing) is logged as
  // one line like every other failure; Koa answers or closes that one request, and the process carries on.
  app.on('error', (err: unknown, ctx?: Koa.Context) => {
    const where = { err, path: ctx?.path, method: ctx?.method };
    if (clientWentAway(err)) deps.logger.warn('the client went away before the answer', where);
    else deps.logger.error('request failed after the answer began', where);
  });

  app.use(requestLogMiddleware(deps.logger, deps.metrics));
  app.use(errorMiddleware());
  // Every call to Temporal a request makes ends within the request's budget (each call also has its own deadline).
  app.use((ctx, next) => deps.temporal.connection.withDeadline(Date.now() + TEMPORAL_REQUEST_BUDGET_MS, next));
  app.use(securityHeaders(new URL(deps.sso.issuer).origin));
  app.use(privacyHeaders(deps.publicUrl));
  app.use(languageMiddleware());
  app.use(pageErrorMiddleware(renderer));
  // CSRF (api/middleware/csrf.ts): the form token of the request, then the cross-site refusal, before any body is read.
  // The Temporal Web UI's origin may call the codec routes from the administrator's browser (api/routes/codec.ts).
  const codecCaller = { pathPrefix: CODEC_PATH_PREFIX, origin: deps.temporalUiUrl };
  app.use(corsForOrigin(codecCaller));
  app.use(formTokenMiddleware(deps.formTokens, { secure: deps.publicUrl.startsWith('https:') }));
  app.use(crossOriginGuard(deps.publicUrl, codecCaller));
  // Static files need no session, so they cost no session lookup.
  app.use(staticFiles(api));
  app.use(sessionMiddleware(deps.db, deps.sessionTimeouts ?? SESSION_TIMEOUTS));
  // The announcements banner on every page (read once a minute, not per request).
  const banner = new BannerCache(deps.db);
  app.use(async (ctx, next) => {
    if (!ctx.path.startsWith('/api/')) ctx.state.banner = await banner.current();
    return next();
  });
  app.use(bodyMiddleware());
  // prg: a failed page form's values and problems, kept for its page (api/form-state.ts).
  const formPages = new FormPageIndex();
  app.use(formStateMiddleware(deps.tokens, formPages, { secure: deps.publicUrl.startsWith('https:') }));
  app.use(textDoor(api.formPages));
  for (const router of [
    publicRoutes(deps, api, renderer), authRoutes(deps, api, renderer), accountRoutes(deps, api, renderer), learnerRoutes(deps, api, renderer),
    staffRoutes(deps, api, renderer), staffFileRoutes(deps, api, renderer), studyRoutes(deps, api, renderer), providerRoutes(deps, api, renderer),
    coordinatorRoutes(deps, api, renderer), providerRegistrationRoutes(deps, api, renderer),
    providerOfferRoutes(deps, api, renderer), catalogueRoutes(deps, api, renderer), adminRoutes(deps, api, renderer),
    adminBatchRoutes(deps, api, renderer), adminConsistencyRoutes(deps, api, renderer), passwordRoutes(deps, api, renderer),
    codecRoutes(deps, api),
    adminAuditRoutes(deps, api, renderer),
    myDataRoutes(deps, api, renderer), adminRetentionRoutes(deps, api, renderer), dataRequestRoutes(deps, api, renderer),
    adminProgrammeRoutes(deps, api, renderer),
    placeOfferRoutes(deps, api, renderer),
    adminAccountRoutes(deps, api, renderer),
    termsRoutes(deps, api, renderer), profileRoutes(deps, api, renderer),
    adminCallRoutes(deps, api, renderer),
    roleRoutes(deps, api, renderer),
    adminAnnouncementRoutes(deps, api, renderer, banner),
    statisticsRoutes(deps, api, renderer),
    programmeFitRoutes(deps, api, renderer), // account helper: the programmes explained before registering
    ...(deps.testRoutes ? [testRouter(deps.testRoutes, api)] : []),
  ]) {
    app.use(router.routes()).use(router.allowedMethods());
  }
  // Last, once every page is registered (a router's allowedMethods answers 405 only when nothing later answered).
  formPages.build(api);
  app.use(formAddressRedirects(api, formPages).routes());
  return app;
}

/**
 * A form's address opened with GET (a refresh, the back button, or the language switch on a page re-shown with its
 * problems) goes to the page the form belongs to, its query kept, instead of answering 405: the nearest address
 * above it that has a page, e.g. /staff/tasks/:taskId/decision to /staff/tasks/:taskId. Same guard as the form;
 * registered in the document like every other page.
 */
function formAddressRedirects(api: ApiRegistry, formPages: FormPageIndex): Router {
  const router = new Router();
  const pages = new Set(api.pages.filter((p) => p.method === 'get').map((p) => p.path));
  for (const form of api.pages.filter((p) => p.method === 'post' && !pages.has(p.path))) {
    const parent = formPages.redirectOf(form.path);
    if (!parent) continue;
    api.page(router, {
      method: 'get', path: form.path, summary: `The page of this form (${parent})`, tag: form.tag, roles: form.roles,
      beforeSecondFactor: form.beforeSecondFactor, beforeTerms: form.beforeTerms, params: form.params,
      responses: { 303: { description: 'To the page the form belongs to, with the same query', redirect: true } },
    }, (ctx) => {
      const target = fillPath(parent, ctx.params);
      ctx.status = 303;
      ctx.redirect(ctx.querystring ? `${target}?${ctx.querystring}` : target);
    });
  }
  return router;
}

/** The routes a test adds to its own app (ApiDeps.testRoutes). */
function testRouter(add: NonNullable<ApiDeps['testRoutes']>, api: ApiRegistry): Router {
  const router = new Router();
  add(router, api);
  return router;
}

// A client closing its connection mid-request is not our failure (Node's parser reports a cut-off request as HPE_*).
function clientWentAway(err: unknown): boolean {
  const code = String((err as { code?: unknown })?.code ?? '');
  return ['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE'].includes(code) || code.startsWith('HPE_');
}

// Forms post only to this site; the sign-on issuer is allowed too because browsers apply form-action to the
// redirects that follow a form post, and signing in ends in a redirect to the issuer.
function securityHeaders(ssoOrigin: string) {
  return async (ctx: Koa.Context, next: Koa.Next) => {
    ctx.set('x-content-type-options', 'nosniff');
    ctx.set('referrer-policy', 'same-origin');
    ctx.set('x-frame-options', 'DENY');
    ctx.set('content-security-policy', `default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self' ${ssoOrigin}`);
    return next();
  };
}

// The few static files are read once at start and served from memory.
function staticFiles(api: ApiRegistry) {
  const files = new Map<string, Buffer>();
  for (const name of fs.readdirSync(publicDir)) files.set(`/static/${name}`, fs.readFileSync(path.join(publicDir, name)));
  const router = new Router();
  api.page(router, {
    method: 'get', path: '/static/:name', summary: 'The stylesheet, the icon and the little JavaScript the pages use', tag: 'pages', roles: 'public',
    params: z.object({ name: z.string().max(100) }),
    responses: { 200: { description: 'The file', contentType: ['text/css', 'application/javascript', 'image/svg+xml'] }, 404: { description: 'No such file' } },
  }, (ctx) => {
    const file = files.get(ctx.path);
    if (!file) throw new HttpError(404, 'file_not_found', 'There is no such file');
    ctx.type = path.extname(ctx.path);
    // Public static content: the one answer that may be cached (privacyHeaders makes every other one no-store).
    ctx.set('cache-control', 'public, max-age=3600');
    ctx.body = file;
  });
  return router.routes();
}
