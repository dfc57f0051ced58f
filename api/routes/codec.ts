import Router from '@koa/router';
import { z } from 'zod';
import type { Payload } from '@temporalio/common';
import { decode, encode } from '@temporalio/common/lib/internal-non-workflow';
import { translate } from '../../web/render';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { currentSession } from '../middleware/auth';
import { MAX_BODY_BYTES } from '../middleware/body';
import { auditUserAction } from '../services/audit';
import type { ApiRegistry } from './define';

/**
 * The remote codec endpoint (Temporal's codec server protocol) for the Temporal Web UI: it posts the payloads it
 * shows, in the proto's JSON form (`{"payloads":[{"metadata":{"encoding":"<base64>"},"data":"<base64>"}]}`), and
 * shows what comes back. Temporal stores them encrypted (lib/payload-codec.ts), so only an administrator in a
 * session confirmed by a second factor reads them decoded, and every decode is audited. The UI calls it from its
 * own origin (TEMPORAL_UI_URL): api/middleware/cors.ts lets exactly that origin in, on these routes only.
 */

/** Where the codec routes live: the Web UI is given `<PUBLIC_URL>/api/codec` and appends /decode and /encode. */
export const CODEC_PATH_PREFIX = '/api/codec/';

const ADMIN = ['admin'] as const;
/** More payloads than any one event or history page carries. */
const MAX_PAYLOADS = 2_000;

// No text may be longer than the whole body may be (api/middleware/body.ts).
const base64 = z.string().max(MAX_BODY_BYTES).regex(/^[A-Za-z0-9+/_-]*={0,2}$/, { message: 'must be base64' });
const payloadSchema = z.object({
  metadata: z.record(z.string().max(256), base64).optional(),
  data: base64.optional(),
});
const payloadsSchema = z.object({ payloads: z.array(payloadSchema).max(MAX_PAYLOADS, { message: `must hold at most ${MAX_PAYLOADS} payloads` }) });

type JsonPayload = z.infer<typeof payloadSchema>;

/** The codec routes (administrators only). */
export function codecRoutes(deps: ApiDeps, api: ApiRegistry): Router {
  const router = new Router();
  const converter = deps.temporal.options.loadedDataConverter;

  api.add(router, {
    method: 'post', path: `${CODEC_PATH_PREFIX}decode`, tag: 'admin', roles: [...ADMIN], body: payloadsSchema,
    summary: 'Decrypt Temporal payloads for the Temporal Web UI (remote codec protocol; header X-Namespace); each call is audited',
    responses: {
      200: { description: 'The payloads decrypted, in the same order and form', schema: payloadsSchema },
      400: { description: 'Invalid input, or a payload that cannot be decrypted (payload_not_decodable: altered, or its key is not configured)' },
    },
  }, async (ctx, { body }) => {
    const decoded: Payload[] = [];
    for (const [index, payload] of body.payloads.map(fromJson).entries()) {
      try {
        decoded.push(...(await decode(converter.payloadCodecs, [payload])) as Payload[]);
      } catch (err) {
        throw notDecodable(index, err);
      }
    }
    // Audited before anything is shown. Which payloads is not recorded: they are the personal data itself.
    await auditUserAction(deps.db, currentSession(ctx), {
      action: 'payloads_decoded', purpose: 'Temporal Web UI: decode workflow payloads',
      result: { payloads: decoded.length, namespace: ctx.get('x-namespace').slice(0, 200) || null },
    });
    ctx.body = { payloads: decoded.map(toJson) };
  });

  api.add(router, {
    method: 'post', path: `${CODEC_PATH_PREFIX}encode`, tag: 'admin', roles: [...ADMIN], body: payloadsSchema,
    summary: 'Encrypt payloads for the Temporal Web UI (what an administrator enters there, e.g. a signal\'s input) with the current key',
    responses: { 200: { description: 'The payloads encrypted, in the same order and form', schema: payloadsSchema } },
  }, async (ctx, { body }) => {
    ctx.body = { payloads: ((await encode(converter.payloadCodecs, body.payloads.map(fromJson))) as Payload[]).map(toJson) };
  });

  return router;
}

function fromJson(payload: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64')])),
    data: Buffer.from(payload.data ?? '', 'base64'),
  };
}

function toJson(payload: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value ?? []).toString('base64')])),
    data: Buffer.from(payload.data ?? []).toString('base64'),
  };
}

// The codec's message names the key or the damage, never the content.
function notDecodable(index: number, err: unknown): HttpError {
  const key = 'codec.not_decodable';
  const reason = err instanceof Error ? err.message : String(err);
  return new HttpError(400, 'payload_not_decodable', `${translate('en', key)} ${reason}`, [{
    field: `payloads.${index}`, rule: 'decodable', message: reason, words: { lv: translate('lv', key), en: translate('en', key) },
  }]);
}
