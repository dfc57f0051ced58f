/**
 * Issue 14, part 1: Temporal holds no personal data in clear text. Read the way anyone with the Temporal frontend
 * or Web UI reads it (the raw workflow service, no codec), a new learner journey, a provider registration and an
 * offer show no person code, e-mail, phone or name, and failures show "Encoded failure"; the same payloads decode
 * through the codec endpoint for an administrator (audited), and for nobody else. The endpoint answers the Web UI's
 * origin (CORS with credentials) and no other.
 */
import test from 'ava';
import type { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { visit, walkGetWorkflowExecutionHistoryResponse } from '@temporalio/common/lib/internal-non-workflow';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { decodeDescribed } from '../../lib/payload-decoding';
import { decideApprovalUpdate } from '../../workflows/learner-journey';
import { confirmProviderEmailUpdate, providerRegistration } from '../../workflows/provider-registration';
import { providerOffer, submitOfferUpdate } from '../../workflows/provider-offer';
import { providerRegistrationId } from '../../workflows/ids';
import { insertCall } from '../../dev/seed-calls';
import { CURRENT_TERMS_VERSION } from '../../domain/terms';
import { eventually, startLearnerJourney, untilStage } from '../helpers/journeys';
import { approvedProvider, insertDraftOffer, insertRegisteredProvider } from '../helpers/providers';
import { startTestStack, type TestStack } from '../helpers/stack';
import { assertError, httpClient } from '../helpers/http';

let stack: TestStack;
const call = httpClient(() => stack.appUrl);

test.before(async () => {
  stack = await startTestStack();
});
test.after.always(async () => {
  await stack?.stop();
});

/** The learner (a seeded adult the Population Register knows) and what identifies them. */
const LEARNER = { personCode: '321178-40215', email: 'anna.berzina.codec@example.lv', phone: '+371 2912 3456', firstName: 'Anna', lastName: 'Bērziņa' };
const STAFF = { role: 'staff' as const, id: 'codec-staff', name: 'Ilze Kalniņa', channel: 'staff' as const };

/** A workflow's whole history as Temporal's frontend serves it: no codec, nothing decoded. */
async function rawHistory(client: Client, workflowId: string): Promise<temporal.api.history.v1.IHistory> {
  const events: temporal.api.history.v1.IHistoryEvent[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await client.workflowService.getWorkflowExecutionHistory({ namespace: client.options.namespace, execution: { workflowId }, nextPageToken });
    events.push(...(page.history?.events ?? []));
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return temporal.api.history.v1.History.create({ events });
}

/** Every payload of a history, as the Web UI would send them to the codec (the proto's JSON form). */
async function payloadsOf(history: temporal.api.history.v1.IHistory): Promise<{ metadata: Record<string, string>; data: string }[]> {
  const found: Payload[] = [];
  const collect = async (payload: Payload) => (found.push(payload), payload);
  await visit({ history }, walkGetWorkflowExecutionHistoryResponse, {
    transformPayload: collect, transformPayloads: async (payloads) => Promise.all(payloads.map(collect)), skipHeaders: false, skipSearchAttributes: true,
  });
  return found.map((p) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')])),
    data: Buffer.from(p.data ?? []).toString('base64'),
  }));
}

/** The identifying strings of a person that must not be readable in Temporal, as text and as JSON-escaped text. */
function identifying(values: string[]): string[] {
  return values.flatMap((v) => [v, JSON.stringify(v).slice(1, -1), v.replace(/-/g, '')]);
}

test.serial('a journey, a provider registration and an offer leave no personal data readable in Temporal; an administrator decodes them through the codec', async (t) => {
  t.timeout(120_000);
  // The learner: registered with e-mail and phone, checked against the Population Register, approved (IMK).
  const journey = await startLearnerJourney(stack.temporal, stack.taskQueue, LEARNER.personCode, {
    registration: { email: LEARNER.email, phone: LEARNER.phone, language: 'lv', termsVersion: CURRENT_TERMS_VERSION, termsAcceptedAt: new Date().toISOString() },
  });
  // A registrant's e-mail and name: the provider registration, confirmed and approved by staff.
  const registered = await insertRegisteredProvider(stack.db, 'second', { email: 'dace.vitola.codec@provider.test' });
  const registration = await stack.temporal.workflow.start(providerRegistration, {
    workflowId: providerRegistrationId(registered.providerId), taskQueue: stack.taskQueue,
    args: [{ ...registered, language: 'lv', timing: { emailConfirmationValid: '1 hour', approvalWorkingDays: 1 } }],
  });
  await registration.executeUpdate(confirmProviderEmailUpdate, { args: [{ confirmedAt: new Date().toISOString() }] });
  const approvalTask = await eventually(() => stack.db('tasks').where({ providerId: registered.providerId, state: 'open' }).first<{ id: string }>(), 'the approval task');
  await registration.executeUpdate(decideApprovalUpdate, { args: [{ taskId: approvalTask.id, decision: 'approve', comment: '', decidedBy: STAFF }] });
  await registration.result();
  // An offer submitted by a provider user, evaluated by the agency once submissions close (in 3 s).
  const now = Date.now();
  const phases = {
    submissionOpensAt: new Date(now - 86_400_000), submissionClosesAt: new Date(now + 3_000), evaluationEndsAt: new Date(now + 7_200_000),
    publicationAt: new Date(now + 7_200_000), applicationsOpenAt: new Date(now + 7_200_000), applicationsCloseAt: new Date(now + 86_400_000),
    groupFormationAt: new Date(now + 86_400_000), teachingEndsAt: new Date(now + 30 * 86_400_000),
  };
  const callId = await insertCall(stack.db, `CODEC-${now}`, phases);
  const providerId = await approvedProvider(stack.db, 'demo');
  const { offerId, workflowId: offerWorkflowId } = await insertDraftOffer(stack.db, { providerId, sample: 'demo', callId, phases });
  const offer = await stack.temporal.workflow.start(providerOffer, { workflowId: offerWorkflowId, taskQueue: stack.taskQueue, args: [{ offerId, providerId, callId }] });
  await offer.executeUpdate(submitOfferUpdate, { args: [{ actor: { role: 'provider', id: registered.userId, name: 'Dace Vītola', channel: 'e-service' } }] });
  await eventually(() => stack.db('tasks').where({ offerId, state: 'open' }).first<{ id: string }>(), 'the evaluation task');
  await untilStage(stack.db, journey.handle, journey.caseId, 'imk_approved');

  const forbidden = identifying([LEARNER.personCode, LEARNER.email, LEARNER.phone, LEARNER.firstName, LEARNER.lastName, registered.email, 'Dace Vītola', STAFF.name]);
  const histories = new Map<string, temporal.api.history.v1.IHistory>();
  for (const workflowId of [journey.handle.workflowId, registration.workflowId, offer.workflowId]) {
    const history = await rawHistory(stack.temporal, workflowId);
    histories.set(workflowId, history);
    const text = historyToJSON(history);
    t.true(text.includes(Buffer.from('binary/encrypted').toString('base64')), `${workflowId}: payloads are encrypted`);
    for (const value of forbidden) t.false(text.includes(value), `${workflowId}: "${value}" is readable in the raw history`);
    // A payload's bytes are base64 in the JSON: look at them as text too.
    for (const payload of await payloadsOf(history)) {
      const bytes = Buffer.from(payload.data, 'base64').toString('utf8');
      for (const value of forbidden) t.false(bytes.includes(value), `${workflowId}: "${value}" is in a payload's bytes`);
    }
  }

  // The codec endpoint: what the Web UI posts for the journey's history, decoded for an administrator.
  const payloads = await payloadsOf(histories.get(journey.handle.workflowId)!);
  t.true(payloads.length > 5);
  const adminToken = await stack.adminToken();
  const decoded = await call('POST', '/api/codec/decode', { token: adminToken, json: { payloads }, headers: { 'x-namespace': stack.temporal.options.namespace } });
  t.is(decoded.status, 200, decoded.text);
  const answer = decoded.json as { payloads: { metadata: Record<string, string>; data: string }[] };
  t.is(answer.payloads.length, payloads.length);
  const plain = answer.payloads.map((p) => Buffer.from(p.data, 'base64').toString('utf8')).join('\n');
  for (const value of [LEARNER.personCode, LEARNER.email, LEARNER.phone]) t.true(plain.includes(value), `"${value}" decodes for the administrator`);
  t.true(answer.payloads.every((p) => Buffer.from(p.metadata.encoding ?? '', 'base64').toString() !== 'binary/encrypted'));
  // Audited: who decoded how many, for which namespace; not what they read.
  const audit = await stack.db('auditLog').where({ action: 'payloads_decoded' }).first<{ actorRole: string; result: { payloads: number; namespace: string } }>();
  t.like(audit, { actorRole: 'admin', result: { payloads: payloads.length, namespace: stack.temporal.options.namespace } });
  t.false(JSON.stringify(audit).includes(LEARNER.personCode));

  // Nobody else: staff 403, an administrator without the second factor 403, nobody logged in 401.
  assertError(t, await call('POST', '/api/codec/decode', { token: await stack.staffToken(), json: { payloads } }), 403, 'forbidden');
  assertError(t, await call('POST', '/api/codec/decode', { token: await stack.staffToken('admin'), json: { payloads } }), 403, 'second_factor_required');
  assertError(t, await call('POST', '/api/codec/decode', { json: { payloads } }), 401, 'not_logged_in');
  t.is(await stack.db('auditLog').where({ action: 'payloads_decoded' }).count<{ count: string }[]>('* as count').then((r) => Number(r[0]!.count)), 1);

  // Input: JSON only (415), base64 (400 naming the field), and a payload altered on the way is a 400 naming it.
  assertError(t, await call('POST', '/api/codec/decode', { token: adminToken, raw: JSON.stringify({ payloads }), headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type');
  const notBase64 = assertError(t, await call('POST', '/api/codec/decode', { token: adminToken, json: { payloads: [{ metadata: {}, data: 'not base64!' }] } }), 400, 'invalid_request');
  t.deepEqual(notBase64.details.map((d) => d.field), ['payloads.0.data']);
  const encrypted = payloads.find((p) => Buffer.from(p.metadata.encoding ?? '', 'base64').toString() === 'binary/encrypted')!;
  const altered = Buffer.from(encrypted.data, 'base64');
  altered[altered.length - 1] = altered[altered.length - 1]! ^ 1;
  const refused = assertError(t, await call('POST', '/api/codec/decode', { token: adminToken, json: { payloads: [payloads[0], { ...encrypted, data: altered.toString('base64') }] } }), 400, 'payload_not_decodable');
  t.like(refused.details[0], { field: 'payloads.1', rule: 'decodable' });
  t.truthy((refused.details[0] as { words?: { lv?: string } }).words?.lv);
});

test.serial('failure messages and stack traces reach Temporal encoded; the console still reads them', async (t) => {
  stack.registry.setDown(true);
  try {
    const { handle } = await startLearnerJourney(stack.temporal, stack.taskQueue, '150690-11223');
    const raw = await eventually(async () => {
      const described = await stack.temporal.workflowService.describeWorkflowExecution({ namespace: stack.temporal.options.namespace, execution: { workflowId: handle.workflowId } });
      return (described.pendingActivities?.[0]?.attempt ?? 0) >= 2 ? described : null;
    }, 'the register lookup to fail');
    const lastFailure = raw.pendingActivities![0]!.lastFailure!;
    t.is(lastFailure.message, 'Encoded failure');
    t.is(lastFailure.stackTrace, '');
    const serialized = JSON.stringify(temporal.api.workflowservice.v1.DescribeWorkflowExecutionResponse.toObject(raw as temporal.api.workflowservice.v1.DescribeWorkflowExecutionResponse, { bytes: String }));
    t.false(serialized.includes('Population Register'));
    t.false(serialized.includes('150690'));
    // Decoded through the client's codec, as the console does (lib/payload-decoding.ts).
    const decoded = await decodeDescribed(stack.temporal.options.loadedDataConverter, raw);
    t.regex(decoded.pendingActivities![0]!.lastFailure!.message!, /^Population Register: /);
    t.regex(decoded.pendingActivities![0]!.lastFailure!.stackTrace!, /fetch-record/);
  } finally {
    stack.registry.setDown(false);
  }
});

test.serial('the Web UI\'s origin may call the codec with the session cookie; no other origin may', async (t) => {
  const uiOrigin = 'http://127.0.0.1:8233';
  const api = await stack.serveApi({ temporalUiUrl: `${uiOrigin}/` });
  const at = httpClient(() => api.url);
  // The preflight: exactly the UI's origin, credentials allowed, the headers the UI sends.
  const preflight = await at('OPTIONS', '/api/codec/decode', { headers: { origin: uiOrigin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' } });
  t.is(preflight.status, 204);
  t.is(preflight.headers.get('access-control-allow-origin'), uiOrigin);
  t.is(preflight.headers.get('access-control-allow-credentials'), 'true');
  t.regex(preflight.headers.get('access-control-allow-headers') ?? '', /x-namespace/);
  const stranger = await at('OPTIONS', '/api/codec/decode', { headers: { origin: 'http://evil.test', 'access-control-request-method': 'POST' } });
  t.is(stranger.headers.get('access-control-allow-origin'), null);
  const elsewhere = await at('OPTIONS', '/api/admin/workflows', { headers: { origin: uiOrigin, 'access-control-request-method': 'POST' } });
  t.is(elsewhere.headers.get('access-control-allow-origin'), null, 'only the codec routes');

  // The browser's POST from the UI, with the administrator's session cookie: through the cross-origin guard.
  const cookie = await stack.adminToken();
  const fromUi = { origin: uiOrigin, 'sec-fetch-site': 'same-site', 'x-namespace': 'default' };
  const decoded = await at('POST', '/api/codec/decode', { cookie, json: { payloads: [] }, headers: fromUi });
  t.is(decoded.status, 200, decoded.text);
  t.deepEqual(decoded.json, { payloads: [] });
  t.is(decoded.headers.get('access-control-allow-origin'), uiOrigin);
  // The refusals carry the CORS headers too, so the UI can show why.
  const staff = await at('POST', '/api/codec/decode', { cookie: await stack.staffToken(), json: { payloads: [] }, headers: fromUi });
  assertError(t, staff, 403, 'forbidden');
  t.is(staff.headers.get('access-control-allow-origin'), uiOrigin);
  // Another site, or the UI's origin on another route: refused before anything is read.
  assertError(t, await at('POST', '/api/codec/decode', { cookie, json: { payloads: [] }, headers: { ...fromUi, origin: 'http://evil.test', 'sec-fetch-site': 'cross-site' } }), 403, 'cross_origin_request');
  assertError(t, await at('POST', '/api/session/keep-alive', { cookie, json: {}, headers: fromUi }), 403, 'cross_origin_request');
  // Without a configured UI, nobody from another origin.
  assertError(t, await call('POST', '/api/codec/decode', { cookie, json: { payloads: [] }, headers: fromUi }), 403, 'cross_origin_request');
});
