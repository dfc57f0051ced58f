/**
 * lib/payload-codec.ts: what Temporal stores is ciphertext naming its key; every key in PAYLOAD_KEYS still opens
 * what it sealed after a new current key; payloads from before encryption pass; an altered payload or an unknown
 * key is a clear error rather than wrong data.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { ENCRYPTED_ENCODING, EncryptionCodec, METADATA_ENCRYPTION_KEY_ID, parsePayloadKeyring, type PayloadKeyring } from '../../lib/payload-codec';

const personCode = '321178-40215';
const plain = (): Payload => defaultPayloadConverter.toPayload({ personCode, email: 'anna@example.lv' })!;
const str = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('utf8');

function keyring(keys: string, current: string): PayloadKeyring {
  const parsed = parsePayloadKeyring(keys, current);
  if ('problems' in parsed) throw new Error(parsed.problems.join('; '));
  return parsed.keyring;
}

const oldKey = randomBytes(32).toString('base64');
const newKey = randomBytes(32).toString('base64url');

test('a payload encodes to ciphertext naming its key and decodes to the same payload', async (t) => {
  const codec = new EncryptionCodec(keyring(`old:${oldKey}`, 'old'));
  const [encoded] = await codec.encode([plain()]);
  t.is(str(encoded!.metadata!.encoding), ENCRYPTED_ENCODING);
  t.is(str(encoded!.metadata![METADATA_ENCRYPTION_KEY_ID]), 'old');
  t.false(Buffer.from(encoded!.data!).includes(personCode), 'the person code is not readable in what Temporal stores');
  t.false(Buffer.from(encoded!.data!).includes('json/plain'), 'nor the original metadata');
  const [again] = await codec.encode([plain()]);
  t.notDeepEqual(Buffer.from(again!.data!), Buffer.from(encoded!.data!), 'a fresh IV for every payload');
  const [decoded] = await codec.decode([encoded!]);
  t.deepEqual(defaultPayloadConverter.fromPayload(decoded!), { personCode, email: 'anna@example.lv' });
  t.is(str(decoded!.metadata!.encoding), 'json/plain');
});

test('after a new current key, payloads sealed with the old one still decode; new ones use the new key', async (t) => {
  const [sealedOld] = await new EncryptionCodec(keyring(`old:${oldKey}`, 'old')).encode([plain()]);
  const rotated = new EncryptionCodec(keyring(`new:${newKey},old:${oldKey}`, 'new'));
  const [sealedNew] = await rotated.encode([plain()]);
  t.is(str(sealedNew!.metadata![METADATA_ENCRYPTION_KEY_ID]), 'new');
  for (const sealed of [sealedOld!, sealedNew!]) {
    t.deepEqual(defaultPayloadConverter.fromPayload((await rotated.decode([sealed]))[0]!), { personCode, email: 'anna@example.lv' });
  }
});

test('a payload that was never encrypted (histories from before) passes unchanged', async (t) => {
  const codec = new EncryptionCodec(keyring(`old:${oldKey}`, 'old'));
  const before = plain();
  t.deepEqual(await codec.decode([before]), [before]);
  const empty: Payload = { metadata: { encoding: Buffer.from('binary/null') } };
  t.deepEqual(await codec.decode([empty]), [empty]);
});

test('altered ciphertext and a wrong key under the same id fail, saying so', async (t) => {
  const codec = new EncryptionCodec(keyring(`old:${oldKey}`, 'old'));
  const [encoded] = await codec.encode([plain()]);
  const tampered = Buffer.from(encoded!.data!);
  tampered[20] = tampered[20]! ^ 1;
  await t.throwsAsync(codec.decode([{ ...encoded!, data: tampered }]), { message: /\(key "old"\) does not decrypt: it was altered/ });
  const impostor = new EncryptionCodec(keyring(`old:${newKey}`, 'old'));
  await t.throwsAsync(impostor.decode([encoded!]), { message: /does not decrypt/ });
  await t.throwsAsync(codec.decode([{ ...encoded!, data: tampered.subarray(0, 10) }]), { message: /too short/ });
});

test('a payload naming a key that is not in PAYLOAD_KEYS fails, naming the key', async (t) => {
  const [encoded] = await new EncryptionCodec(keyring(`gone:${oldKey}`, 'gone')).encode([plain()]);
  const codec = new EncryptionCodec(keyring(`new:${newKey}`, 'new'));
  await t.throwsAsync(codec.decode([encoded!]), { message: /names the key "gone", which is not in PAYLOAD_KEYS/ });
  const { [METADATA_ENCRYPTION_KEY_ID]: _dropped, ...metadata } = encoded!.metadata!;
  await t.throwsAsync(codec.decode([{ ...encoded!, metadata }]), { message: /names no encryption key/ });
});
