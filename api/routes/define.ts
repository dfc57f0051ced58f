import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { parseOr400 } from '../validation';
import { requireRole, type Role } from '../middleware/auth';
import { FormPages } from '../middleware/text-door';
import { multipartBody } from '../middleware/upload';

/** One JSON API route: its schemas validate requests and also describe the route in the OpenAPI document. */
export interface RouteSpec<B, Q, P> {
  method: 'get' | 'post';
  path: string;
  summary: string;
  tag: string;
  roles: Role[] | 'public';
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

/** Validated input handed to a route handler. */
export interface RouteInput<B, Q, P> { body: B; query: Q; params: P }

/** Collects route specs so the OpenAPI document is generated from exactly what the routers validate. */
export class ApiRegistry {
  readonly routes: RouteSpec<unknown, unknown, unknown>[] = [];
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
    const guards = spec.roles === 'public' ? [] : [requireRole(...spec.roles)];
    // The file fields the document names are exactly the ones the upload reader accepts.
    const bodyReaders = spec.multipart ? [multipartBody({ fileFields: spec.multipart.files.map((f) => f.name) })] : [];
    router[spec.method](spec.path, ...guards, ...bodyReaders, async (ctx: Context) => {
      const input = {
        params: spec.params ? parseOr400(spec.params, ctx.params, 'params') : undefined,
        query: spec.query ? parseOr400(spec.query, ctx.query, 'query') : undefined,
        body: spec.body ? parseOr400(spec.body, ctx.request.body, 'body') : undefined,
      } as RouteInput<B, Q, P>;
      await handler(ctx, input);
    });
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
        responses[status] = { description: r.description, ...(r.schema ? { content: { 'application/json': { schema: schema(r.schema) } } } : {}) };
      }
      const errors: Record<string, string> = {
        400: 'Invalid input: the details name each field and the rule it broke (text must not hold NUL characters or invalid Unicode)',
        ...(route.roles === 'public' ? {} : { 401: 'Not logged in', 403: 'Your role may not do this' }),
        ...(route.body || route.multipart ? {
          413: 'The body is too large',
          415: route.multipart ? 'The body is not multipart/form-data' : 'The body is not application/json',
        } : {}),
      };
      for (const [status, description] of Object.entries(errors)) {
        responses[status] ??= { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
      }
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
