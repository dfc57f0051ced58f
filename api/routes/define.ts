import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import { parseOr400 } from '../validation';
import { requireRole, type Role } from '../middleware/auth';
import { refuseMultipart } from '../middleware/body';
import { checkFormToken, checkUploadFormToken } from '../middleware/csrf';
import { FormPages } from '../middleware/text-door';
import { multipartBody } from '../middleware/upload';

/** One JSON API route: its schemas validate requests and also describe the route in the OpenAPI document. */
export interface RouteSpec<B, Q, P> {
  method: 'get' | 'post';
  path: string;
  summary: string;
  tag: string;
  roles: Role[] | 'public';
  /** Reachable by an administrator whose session has no second factor yet (only the second-factor routes). */
  beforeSecondFactor?: boolean;
  /**
   * Reachable before the person accepted the current terms of use: the acceptance, the keep-alive, and a learner's
   * own data (seeing it, asking to erase or correct it), a right that does not wait on accepting new terms.
   */
  beforeTerms?: boolean;
  body?: z.ZodType<B>;
  /**
   * A multipart/form-data body instead of a JSON one: the text fields (their schema, for the document) and the file
   * fields (read by multipartBody into ctx.request.files, at most one file each). The handler checks the fields
   * itself, so that problems with the fields and with the files are answered together in one 400.
   */
  multipart?: MultipartSpec;
  query?: z.ZodType<Q>;
  params?: z.ZodType<P>;
  responses: Record<number, { description: string; schema?: z.ZodType }>;
}

/** The parts of a multipart/form-data body: text fields and named file fields. */
export interface MultipartSpec {
  fields?: z.ZodType;
  files: readonly { name: string; description: string; required?: boolean }[];
}

/**
 * One server-rendered page route (a page, a form post, an upload), registered through the registry so the
 * document lists it with the roles that really guard it. Its form, query and params schemas describe what it reads
 * for the document; the page checks its input itself, to show each problem next to its field.
 */
export interface PageSpec {
  method: 'get' | 'post';
  path: string;
  summary: string;
  tag: string;
  roles: Role[] | 'public';
  /** Reachable by an administrator whose session has no second factor yet (only the second-factor pages). */
  beforeSecondFactor?: boolean;
  /** Reachable before the person accepted the current terms of use (the acceptance page, the learner's own data). */
  beforeTerms?: boolean;
  /** The fields of an application/x-www-form-urlencoded body (a page also takes them as JSON). */
  form?: z.ZodType;
  /** A multipart/form-data body: read by multipartBody, keeping the fields when the upload is refused. */
  multipart?: MultipartSpec;
  query?: z.ZodType;
  params?: z.ZodType;
  /** The page shows the problems of its whole form next to the fields (see FormPages): the text door leaves it be. */
  formPage?: boolean;
  /**
   * A form whose page is neither its own address nor one above it (the language switch of the form re-shown with
   * its problems leads there, and the page shows them again: api/form-state.ts).
   */
  pageOfForm?: string;
  /**
   * Every status the route answers itself: a page (text/html by default, or the `contentType` given), a redirect
   * (`redirect: true`, with Location), or a refusal shown as a page. Refusals by the doors before the handler
   * (400, 401, 403, 404 for a path with ids, 413, 415, 503; 403 also for a cross-site request or a form without its
   * token on every POST) are added by the document.
   */
  responses: Record<number, PageResponse>;
}

/** One answer of a page route. */
export interface PageResponse { description: string; redirect?: boolean; contentType?: string | readonly string[]; schema?: z.ZodType }

/** Validated input handed to a route handler. */
export interface RouteInput<B, Q, P> { body: B; query: Q; params: P }

/** Collects route specs so the OpenAPI document is generated from exactly what the routers validate. */
export class ApiRegistry {
  readonly routes: RouteSpec<unknown, unknown, unknown>[] = [];
  readonly pages: PageSpec[] = [];
  /** Pages that show input problems next to their fields (see textDoor). */
  readonly formPages = new FormPages();

  /** Registers a validated route on the router and records it for the OpenAPI document. */
  add<B = undefined, Q = undefined, P = undefined>(
    router: Router,
    spec: RouteSpec<B, Q, P>,
    handler: (ctx: Context, input: RouteInput<B, Q, P>) => Promise<void>,
  ): void {
    this.routes.push(spec as RouteSpec<unknown, unknown, unknown>);
    if (spec.body && spec.multipart) throw new Error(`${spec.method} ${spec.path}: a route takes either a JSON body or a multipart one`);
    const guards = spec.roles === 'public' ? [] : [requireRole(spec.roles, { beforeSecondFactor: spec.beforeSecondFactor, beforeTerms: spec.beforeTerms })];
    // The file fields the document names are exactly the ones the upload reader accepts.
    // An upload route reads a multipart body, which a plain cross-site form can send: sent with a cookie, it needs the form token.
    const bodyReaders = spec.multipart ? [multipartBody({ fileFields: spec.multipart.files.map((f) => f.name) }), checkUploadFormToken] : [refuseMultipart];
    router[spec.method](spec.path, ...guards, ...bodyReaders, async (ctx: Context) => {
      const input = {
        params: spec.params ? parseOr400(spec.params, ctx.params, 'params') : undefined,
        query: spec.query ? parseOr400(spec.query, ctx.query, 'query') : undefined,
        body: spec.body ? parseOr400(spec.body, ctx.request.body, 'body') : undefined,
      } as RouteInput<B, Q, P>;
      await handler(ctx, input);
    });
  }

  /**
   * Registers a page route: the role guard from spec.roles, the upload reader from spec.multipart, then the
   * page's own middleware and handler; and records it for the OpenAPI document.
   */
  page(router: Router, spec: PageSpec, ...handlers: Middleware[]): void {
    if (spec.form && spec.multipart) throw new Error(`${spec.method} ${spec.path}: a page takes either a form or a multipart body`);
    this.pages.push(spec);
    if (spec.formPage) this.formPages.add(spec.method, spec.path);
    const guards = spec.roles === 'public' ? [] : [requireRole(spec.roles, { beforeSecondFactor: spec.beforeSecondFactor, beforeTerms: spec.beforeTerms })];
    const bodyReaders = spec.multipart ? [multipartBody({ fileFields: spec.multipart.files.map((f) => f.name), keepFields: true })] : [];
    // Every page post carries the form token, checked once the body is read and before the handler stores anything.
    const tokenCheck = spec.method === 'post' ? [checkFormToken] : [];
    router[spec.method](spec.path, ...guards, ...bodyReaders, ...tokenCheck, ...handlers);
  }

  /** The OpenAPI 3.1 document for every registered route. */
  openApiDocument(info: { title: string; version: string; serverUrl: string }) {
    const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });
    const errorSchema = {
      type: 'object', required: ['error'],
      properties: { error: { type: 'object', required: ['code', 'message', 'details'], properties: {
        code: { type: 'string' }, message: { type: 'string' }, details: { type: 'array', items: {} } } } },
    };
    const paths: Record<string, Record<string, unknown>> = {};
    for (const route of this.routes) {
      const path = route.path.replace(/:(\w+)/g, '{$1}');
      const parameters = [
        ...objectParams(route.params, 'path', schema),
        ...objectParams(route.query, 'query', schema),
      ];
      const responses: Record<string, unknown> = {};
      for (const [status, r] of Object.entries(route.responses)) {
        responses[status] = { description: r.description, ...(r.schema ? { content: { 'application/json': { schema: schema(r.schema) } } } : {}), ...refusalHeaders(status) };
      }
      for (const [status, description] of Object.entries(doorRefusals(route, route.multipart ? 'multipart/form-data' : route.body || route.method === 'post' ? 'application/json' : null))) {
        responses[status] ??= { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } }, ...refusalHeaders(status) };
      }
      responses['431'] ??= HEADERS_TOO_LARGE;
      paths[path] ??= {};
      paths[path][route.method] = {
        summary: route.summary, tags: [route.tag],
        ...(route.roles === 'public' ? {} : { security: [{ bearer: [] }, { session: [] }], 'x-roles': route.roles }),
        ...(parameters.length ? { parameters } : {}),
        ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: schema(route.body) } } } } : {}),
        ...(route.multipart ? { requestBody: { required: true, content: { 'multipart/form-data': multipartSchema(route.multipart, schema) } } } : {}),
        responses,
      };
    }
    for (const page of this.pages) {
      const path = page.path.replace(/:(\w+)/g, '{$1}');
      const parameters = [...objectParams(page.params, 'path', schema), ...objectParams(page.query, 'query', schema)];
      // A refusal is a page for a browser and the uniform error body for a client that asks for JSON.
      const refusal = { 'text/html': {}, 'application/json': { schema: { $ref: '#/components/schemas/Error' } } };
      const responses: Record<string, unknown> = {};
      for (const [status, r] of Object.entries(page.responses)) {
        const types = typeof r.contentType === 'string' ? [r.contentType] : r.contentType ?? ['text/html'];
        const content = r.redirect ? undefined : Number(status) >= 400 ? refusal
          : Object.fromEntries(types.map((type) => [type, r.schema ? { schema: schema(r.schema) } : {}]));
        responses[status] = { description: r.description, ...(content ? { content } : {}), ...(r.redirect ? { headers: { Location: LOCATION } } : refusalHeaders(status)) };
      }
      // A browser that is not logged in is sent to the login page instead of a 401.
      if (page.roles !== 'public' && page.method === 'get') {
        responses['302'] ??= { description: 'Not logged in: to the login page (browsers; others get 401)', headers: { Location: LOCATION } };
      }
      const body = page.form ? 'application/x-www-form-urlencoded' : page.multipart ? 'multipart/form-data' : page.method === 'post' ? 'application/x-www-form-urlencoded' : null;
      for (const [status, description] of Object.entries(doorRefusals(page, body))) {
        responses[status] ??= { description, content: refusal, ...refusalHeaders(status) };
      }
      responses['431'] ??= HEADERS_TOO_LARGE;
      const form = page.form ? schema(page.form) : { type: 'object', properties: {} };
      paths[path] ??= {};
      paths[path][page.method] = {
        summary: page.summary, tags: [page.tag],
        ...(page.roles === 'public' ? {} : { security: [{ bearer: [] }, { session: [] }], 'x-roles': page.roles }),
        ...(parameters.length ? { parameters } : {}),
        ...(page.multipart ? { requestBody: { required: true, content: { 'multipart/form-data': multipartSchema(page.multipart, schema) } } } : {}),
        ...(page.method === 'post' && !page.multipart ? { requestBody: { required: false, content: { 'application/x-www-form-urlencoded': { schema: form } } } } : {}),
        responses,
      };
    }
    return {
      openapi: '3.1.0',
      info: { title: info.title, version: info.version },
      servers: [{ url: info.serverUrl }],
      paths,
      components: {
        schemas: { Error: errorSchema },
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          session: { type: 'apiKey', in: 'cookie', name: 'ila_session' },
        },
      },
    };
  }
}

/** The Location header of a redirect. */
const LOCATION = { description: 'Where to go next', schema: { type: 'string' } };

/** The Retry-After header (seconds) of a 503 and of a 429 (a throttled request, api/throttle.ts). */
function refusalHeaders(status: string) {
  return status === '503' || status === '429' ? { headers: { 'Retry-After': { description: 'Seconds to wait before trying again', required: true, schema: { type: 'string', pattern: '^[0-9]+$' } } } } : {};
}

/**
 * What the doors before a handler may answer for a route: a bad path, query or body (400), the session (401, 403),
 * a cross-site request or a form without its token (403, on every POST), an id in the path that names nothing
 * (404), a body too large or of another type (413, 415; a POST of the JSON API without a body still refuses a
 * form's type), and a dependency that is down or an upload beyond the cap (503 with Retry-After).
 */
function doorRefusals(route: { method: 'get' | 'post'; roles: Role[] | 'public'; params?: z.ZodType }, bodyType: string | null): Record<string, string> {
  const forged = route.method === 'get' ? [] : [CROSS_SITE_REFUSAL];
  const roleRefusal = route.roles === 'public' ? [] : ['Your role may not do this, an administrator\'s session has no second factor yet (second_factor_required), '
    + 'or the person has not accepted the current terms of use (terms_not_accepted, naming the version)'];
  const refused = [...roleRefusal, ...forged];
  return {
    400: 'Invalid input: the details name each field and the rule it broke (text must not hold NUL characters or invalid Unicode)',
    ...(route.roles === 'public' ? {} : { 401: 'Not logged in, or the session has ended (session_ended)' }),
    ...(refused.length > 0 ? { 403: refused.join('; or ') } : {}),
    ...(route.params ? { 404: 'Nothing of yours has this id' } : {}),
    ...(bodyType ? { 413: 'The body is too large', 415: `The body is not ${bodyType}` } : {}),
    503: 'A service it needs (Temporal, PostgreSQL) is not answering, or too many uploads are being read: try again after Retry-After seconds',
  };
}

/** Every state-changing operation's 403 (api/middleware/csrf.ts). */
const CROSS_SITE_REFUSAL = 'The request came from another site (`cross_origin_request`: `Origin` or `Sec-Fetch-Site` names another origin), '
  + 'or a form sent with a cookie lacks its token (`form_token_invalid`: the hidden field `_csrf` of the page\'s form)';

/** Node's HTTP server refuses a request line and headers larger than 16 KiB itself, with no body (a long query can be). */
const HEADERS_TOO_LARGE = { description: 'The URL and headers together are larger than 16 KiB (answered by the HTTP server, without a body)' };

function objectParams(s: z.ZodType | undefined, location: 'path' | 'query', toSchema: (s: z.ZodType) => unknown) {
  if (!s) return [];
  const json = toSchema(s) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, schema]) => ({
    name, in: location, required: location === 'path' || (json.required ?? []).includes(name), schema,
  }));
}

/** The multipart body as OpenAPI describes it: one object of the text fields and the files (`format: binary`). */
function multipartSchema(spec: MultipartSpec, toSchema: (s: z.ZodType) => unknown) {
  const fields = (spec.fields ? toSchema(spec.fields) : { type: 'object', properties: {} }) as {
    properties?: Record<string, unknown>; required?: string[]; [k: string]: unknown;
  };
  const properties = { ...(fields.properties ?? {}) };
  const required = [...(fields.required ?? [])];
  for (const file of spec.files) {
    properties[file.name] = { type: 'string', format: 'binary', description: file.description };
    if (file.required !== false) required.push(file.name);
  }
  return { schema: { ...fields, type: 'object', properties, required } };
}
