import { KNOWN_PUBLIC_PAYLOAD_KEYS } from '../../lib/config';
import { createDataConverter } from '../../lib/data-converter';
import { parsePayloadKeyring, type PayloadKeyring } from '../../lib/payload-codec';

/**
 * The tests' payload key: fixed and published (lib/config.ts refuses it in a deployment), because histories the
 * recorder writes with it must decrypt when the replay test reads them later.
 */
export const TEST_PAYLOAD_KEYS = `test-1:${KNOWN_PUBLIC_PAYLOAD_KEYS[0]}`;
export const TEST_PAYLOAD_KEY_ID = 'test-1';

/** The tests' keyring, as a deployment's PAYLOAD_KEYS and PAYLOAD_KEY_ID would give it. */
export function testPayloadKeyring(): PayloadKeyring {
  const parsed = parsePayloadKeyring(TEST_PAYLOAD_KEYS, TEST_PAYLOAD_KEY_ID);
  if ('problems' in parsed) throw new Error(parsed.problems.join('; '));
  return parsed.keyring;
}

/** The data converter of every test client and worker. */
export const testDataConverter = createDataConverter(testPayloadKeyring());
