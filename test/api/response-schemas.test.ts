import test from 'ava';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { OFFER_DOCUMENT_KINDS } from '../../dev/seed-calls';
import { causeOf } from '../../lib/workflow-failures';
import { decodeDescribed } from '../../lib/payload-decoding';
import { providerOfferId } from '../../workflows/ids';
import { createCallClosingIn } from '../helpers/calls';
import { allAspects, insertCompleters, insertOffer, insertProviderEvent, insertProviderTask } from '../helpers/catalogue';
import { httpClient, type Answer } from '../helpers/http';
import { eventually, openTaskOf, startLearnerJourney } from '../helpers/journeys';
import { multipartClient, SAMPLE_PDF } from '../helpers/multipart';
import { insertDraftOffer } from '../helpers/providers';
import { startTestStack, type TestStack } from '../helpers/stack';

// The OpenAPI document's response schemas are what the fuzz stage checks answers against. Here every JSON route
// whose 2xx body the document describes is called on real data (a learner's task and an offer's task, stuck and
// batched journeys, offers with documents, groups and survey answers), and each answer is validated against the
// route's schema in /api/openapi.json with Ajv (JSON Schema 2020-12, with formats): once as the document says, and
// once with every object closed, which proves the schema names every field the answer carries.

let stack: TestStack;
const call = httpClient(() => stack.appUrl);
const upload = multipartClient(() => stack.appUrl);

test.before(async () => { stack = await startTestStack({ manualApproval: ['IMK'] }); });
test.after.always(async () => { await stack?.stop(); });

type JsonSchema = Record<string, unknown>;
interface Operation { responses: Record<string, { content?: { 'application/json'?: { schema?: JsonSchema } } }> }

/** A copy of a schema in which every object with named properties allows no others. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    out[key] = key === 'properties' ? Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, closed(v)])) : closed(value);
  }
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

const PERSON = (n: number) => ({
  personCode: `32${String(2100 + n).padStart(4, '0')}-${String(60_000 + n)}`, firstName: `Shēma${n}`, lastName: 'Pārbaude',
  birthDate: '1984-05-10', deceased: false, address: 'Brīvības iela 1, Rīga, LV-1001', municipality: 'Rīga', note: 'response schema test',
});

test.serial('every JSON answer of the described routes matches its response schema in the OpenAPI document, field for field', async (t) => {
  t.timeout(150_000);
  const document = (await call('GET', '/api/openapi.json')).json as { paths: Record<string, Record<string, Operation>> };
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  const problems: string[] = [];
  const checked: string[] = [];
  // Validates one answer against its operation's schema for that status, as the document has it and closed.
  const conforms = (method: string, path: string, answer: Answer) => {
    const what = `${method.toUpperCase()} ${path} ${answer.status}`;
    checked.push(what);
    const schema = document.paths[path]?.[method]?.responses[String(answer.status)]?.content?.['application/json']?.schema;
    if (!schema) { problems.push(`${what}: no response schema (${answer.text.slice(0, 200)})`); return; }
    for (const [variant, s] of [['document', schema], ['closed', closed(schema)]] as const) {
      const validate = ajv.compile(s as JsonSchema);
      if (!validate(answer.json)) {
        problems.push(`${what} (${variant}): ${ajv.errorsText(validate.errors, { separator: '; ' })}`);
      }
    }
  };

  const adminToken = await stack.adminToken();
  const staffToken = await stack.staffToken('staff');
  const demo = await stack.db('users').where({ username: 'provider' }).first<{ id: string; displayName: string; providerId: string }>();
  const providerToken = await stack.signIn({ role: 'provider', subject: demo.id, name: demo.displayName, providerId: demo.providerId, providerRole: 'admin' });

  // A learner's approval task (IMK approved by hand), and a journey stuck on an unreachable Population Register.
  for (const n of [0, 1]) stack.registry.setPerson(PERSON(n));
  const learner = await startLearnerJourney(stack.temporal, stack.taskQueue, PERSON(0).personCode);
  const learnerTask = await openTaskOf(stack.db, learner.caseId);
  stack.registry.setDown(true);
  const stuck = await startLearnerJourney(stack.temporal, stack.taskQueue, PERSON(1).personCode);
  // Decoded as the console reads it: Temporal holds the failure messages encrypted.
  const describe = async () => decodeDescribed(stack.temporal.options.loadedDataConverter,
    await stack.temporal.workflowService.describeWorkflowExecution({ namespace: stack.temporal.options.namespace, execution: { workflowId: stuck.handle.workflowId } }));
  const failure = await eventually(async () => {
    const lookup = (await describe()).pendingActivities?.find((a) => a.activityType?.name === 'lookupPerson');
    return (lookup?.attempt ?? 0) >= 3 && lookup?.lastFailure?.message ? lookup.lastFailure.message : null;
  }, 'the lookup to fail three times', 60_000);
  const cause = causeOf('lookupPerson', failure);

  // Offers of the demo provider: a draft made over the API (with a document), an approved one (a group), a published
  // one with survey answers, and an overdue evaluation task about the approved one, with its history.
  const { callId, phases } = await createCallClosingIn(stack.db, 10 * 60_000, 60_000);
  const created = await call('POST', '/api/provider/offers', { token: providerToken, json: { callId, titleLv: 'Shēmu kurss (paraugs)', titleEn: 'Schema course (sample)' } });
  t.is(created.status, 201, created.text);
  const draftId = (created.json as { id: string }).id;
  const approved = await insertDraftOffer(stack.db, { providerId: demo.providerId, sample: 'demo', callId, phases, overrides: { state: 'approved' } });
  const published = await insertOffer(stack.db, {
    providerId: demo.providerId, places: ['Rīga (paraugs)'], groups: [{ place: 'Rīga (paraugs)', startsOn: '2027-02-01', endsOn: '2027-03-01', capacity: 10, enrolled: 2 }],
  });
  await insertCompleters(stack.db, published.offerId, published.groupIds[0]!, 3, [allAspects(5), allAspects(4)]);
  const offerTask = await insertProviderTask(stack.db, {
    type: 'evaluate-offer', providerId: demo.providerId, offerId: approved.offerId, workflowId: approved.workflowId,
    facts: { checklist: ['documents_complete'] }, dueAt: new Date(Date.now() - 3_600_000),
  });
  await insertProviderEvent(stack.db, { providerId: demo.providerId, offerId: approved.offerId, kind: 'offer_submitted', state: 'submitted', workflowId: approved.workflowId });

  // --- staff
  for (const taskId of [learnerTask.id, offerTask]) {
    conforms('get', '/api/staff/tasks/{taskId}', await call('GET', `/api/staff/tasks/${taskId}`, { token: staffToken }));
  }

  // --- provider
  const kind = OFFER_DOCUMENT_KINDS[0];
  conforms('post', '/api/provider/offers/{offerId}/documents/{kind}',
    await upload(`/api/provider/offers/${draftId}/documents/${kind}`, {}, [{ field: 'file', filename: 'pieteikums.pdf', content: SAMPLE_PDF }], { token: providerToken }));
  conforms('get', '/api/provider/offers', await call('GET', '/api/provider/offers', { token: providerToken }));
  const period = ((await call('GET', `/api/provider/offers/${approved.offerId}`, { token: providerToken })).json as { teachingPeriod: { from: string; until: string } }).teachingPeriod;
  conforms('post', '/api/provider/offers/{offerId}/groups', await call('POST', `/api/provider/offers/${approved.offerId}/groups`, {
    token: providerToken, json: { place: 'Rīga, Brīvības iela 1 (paraugs)', startsOn: period.from, endsOn: period.until, schedule: 'O, C 18:00-21:00', capacity: 12 },
  }));
  conforms('get', '/api/provider/surveys', await call('GET', '/api/provider/surveys', { token: providerToken }));
  // --- offerform: the offer form's pick-lists and its check without submitting
  conforms('get', '/api/provider/offers/{offerId}/choices', await call('GET', `/api/provider/offers/${draftId}/choices`, { token: providerToken }));
  conforms('post', '/api/provider/offers/{offerId}/check', await call('POST', `/api/provider/offers/${draftId}/check`, { token: providerToken, json: { hoursTheory: 80 } }));

  // --- admin: the lists, the stuck view, both journeys' pages, a batch's preview and page, the health panel
  conforms('get', '/api/admin/workflows', await eventually(async () => {
    const answer = await call('GET', '/api/admin/workflows', { token: adminToken });
    return (answer.json as { total?: number }).total! >= 3 ? answer : null;
  }, 'the workflows in the list'));
  conforms('get', '/api/admin/stuck', await call('GET', '/api/admin/stuck', { token: adminToken }));
  for (const workflowId of [stuck.handle.workflowId, learner.handle.workflowId, providerOfferId(draftId)]) {
    conforms('get', '/api/admin/workflows/{workflowId}', await call('GET', `/api/admin/workflows/${encodeURIComponent(workflowId)}`, { token: adminToken }));
  }
  const preview = await call('POST', '/api/admin/batches/preview', { token: adminToken, json: { action: 'retry', cause } });
  conforms('post', '/api/admin/batches/preview', preview);
  conforms('post', '/api/admin/batches/preview', await call('POST', '/api/admin/batches/preview', {
    token: adminToken, json: { action: 'terminate', filter: { type: 'learnerJourney', personCode: PERSON(1).personCode } },
  }));
  stack.registry.setDown(false);
  const started = await call('POST', '/api/admin/batches', {
    token: adminToken, json: { action: 'retry', cause, reason: 'the register is back', expectedCount: (preview.json as { count: number }).count },
  });
  t.is(started.status, 202, started.text);
  const batchId = (started.json as { batchId: string }).batchId;
  conforms('get', '/api/admin/batches/{batchId}', await call('GET', `/api/admin/batches/${batchId}`, { token: adminToken }));
  conforms('get', '/api/admin/health', await call('GET', '/api/admin/health', { token: adminToken }));

  t.deepEqual(problems, []);
  t.true(checked.every((what) => / (200|201)$/.test(what)), checked.join('\n'));
  t.is(new Set(checked.map((what) => what.replace(/ \d+$/, ''))).size, 13, checked.join('\n'));
});
