/**
 * lib/payload-decoding.ts: raw answers of Temporal's workflow service (describe, history) read plainly through the
 * codec, failure messages included; one that cannot be decrypted stays "Encoded failure" instead of failing.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { encodeErrorToFailure, encodeToPayloads, loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { temporal } from '@temporalio/proto';
import { createDataConverter } from '../../lib/data-converter';
import { decodeDescribed, decodeHistory } from '../../lib/payload-decoding';
import { parsePayloadKeyring } from '../../lib/payload-codec';

function converterWith(keys: string, current: string) {
  const parsed = parsePayloadKeyring(keys, current);
  if ('problems' in parsed) throw new Error(parsed.problems.join('; '));
  return loadDataConverter(createDataConverter(parsed.keyring));
}

const key = randomBytes(32).toString('base64');
const converter = converterWith(`k1:${key}`, 'k1');
const message = 'Population Register: answered HTTP 500 for 321178-40215';

test('a failing activity\'s message in a describe answer reads plainly after decoding, and only then', async (t) => {
  const lastFailure = await encodeErrorToFailure(converter, new Error(message));
  t.is(lastFailure.message, 'Encoded failure');
  t.false(JSON.stringify(lastFailure).includes('321178'));
  const described = { pendingActivities: [{ activityId: '1', attempt: 3, lastFailure }] };
  await decodeDescribed(converter, described);
  t.is(described.pendingActivities[0]!.lastFailure.message, message);
  t.regex(described.pendingActivities[0]!.lastFailure.stackTrace ?? '', /payload-decoding\.test/);
});

test('a history\'s inputs and failures decode; unencrypted payloads (older histories) pass', async (t) => {
  const [input] = (await encodeToPayloads(converter, { personCode: '321178-40215' }))!;
  const [plain] = (await encodeToPayloads(loadDataConverter(), { personCode: '010309-21234' }))!;
  const failure = await encodeErrorToFailure(converter, new Error(message));
  const history = temporal.api.history.v1.History.create({
    events: [
      { eventId: 1, workflowExecutionStartedEventAttributes: { input: { payloads: [input!, plain!] } } } as never,
      { eventId: 5, workflowTaskFailedEventAttributes: { failure } } as never,
    ],
  });
  await decodeHistory(converter, history);
  const [first, second] = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads!;
  t.deepEqual(converter.payloadConverter.fromPayload(first!), { personCode: '321178-40215' });
  t.deepEqual(converter.payloadConverter.fromPayload(second!), { personCode: '010309-21234' });
  t.is(history.events![1]!.workflowTaskFailedEventAttributes!.failure!.message, message);
});

test('without the key, the answer stays as Temporal holds it ("Encoded failure") rather than failing', async (t) => {
  const lastFailure = await encodeErrorToFailure(converter, new Error(message));
  const described = { pendingActivities: [{ lastFailure }] };
  await t.notThrowsAsync(decodeDescribed(converterWith(`k2:${randomBytes(32).toString('base64')}`, 'k2'), described));
  t.is(described.pendingActivities[0]!.lastFailure.message, 'Encoded failure');
});
