import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, ValueError, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

/**
 * Encryption of everything we hand to Temporal (workflow and activity inputs and results, Update and Query
 * arguments, memo, failure messages via lib/failure-converter.ts): Temporal's frontend, database and Web UI then
 * hold ciphertext, and only a process with the key (the worker, the API, an administrator through the codec
 * endpoint) reads person codes and contact data.
 *
 * The format is the one of Temporal's `encryption` sample (samples-typescript), so Temporal's own tools and codec
 * servers in other languages read it: AES-256-GCM over the whole original Payload proto (metadata and data), the
 * 12-byte random IV first and the 16-byte tag last, with the metadata `encoding: binary/encrypted` and
 * `encryption-key-id: <id>`. The key id lets keys rotate: new payloads use the current key, old ones name theirs.
 */

/** The `encoding` of an encrypted payload. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** The metadata key naming the key a payload was encrypted with. */
export const METADATA_ENCRYPTION_KEY_ID = 'encryption-key-id';

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** AES-256 takes exactly 32 bytes of key. */
export const PAYLOAD_KEY_BYTES = 32;

/** The keys payloads may be encrypted with, by id, and the id new payloads are encrypted with. */
export interface PayloadKeyring { currentKeyId: string; keys: ReadonlyMap<string, Buffer> }

/** A key id: short, and safe to show in metadata, logs and configuration. */
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Parses PAYLOAD_KEYS ("id1:base64key,id2:base64key", each key 32 random bytes in base64 or base64url) and
 * PAYLOAD_KEY_ID (the id to encrypt with). Returns the keyring, or the problems, each naming its variable.
 */
export function parsePayloadKeyring(keysText: string, currentKeyId: string): { keyring: PayloadKeyring } | { problems: string[] } {
  const problems: string[] = [];
  const keys = new Map<string, Buffer>();
  for (const [index, entry] of keysText.split(',').map((e) => e.trim()).entries()) {
    const colon = entry.indexOf(':');
    const id = colon > 0 ? entry.slice(0, colon) : '';
    const encoded = colon > 0 ? entry.slice(colon + 1).trim() : '';
    if (!KEY_ID.test(id)) {
      problems.push(`PAYLOAD_KEYS entry ${index + 1} must be "id:base64key" with an id of letters, digits, ".", "_" or "-" (at most 64)`);
      continue;
    }
    const key = decodeKey(encoded);
    if (!key) problems.push(`PAYLOAD_KEYS key "${id}" must be ${PAYLOAD_KEY_BYTES} random bytes in base64 (e.g. openssl rand -base64 32)`);
    else if (keys.has(id)) problems.push(`PAYLOAD_KEYS names the key "${id}" twice`);
    else keys.set(id, key);
  }
  if (!keys.has(currentKeyId) && !problems.some((p) => p.includes(`"${currentKeyId}"`))) {
    problems.push(currentKeyId ? `PAYLOAD_KEY_ID "${currentKeyId}" is not one of the ids in PAYLOAD_KEYS` : 'PAYLOAD_KEY_ID is not set');
  }
  return problems.length > 0 ? { problems } : { keyring: { currentKeyId, keys } };
}

/** A base64 or base64url text that is exactly a 32-byte key (nothing dropped or padded by a lenient decoder), or null. */
function decodeKey(text: string): Buffer | null {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) return null;
  const key = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  const again = key.toString('base64').replace(/=+$/, '');
  return key.length === PAYLOAD_KEY_BYTES && again === text.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '') ? key : null;
}

/** The codec: encrypts every payload with the current key; decrypts with the key the payload names. */
export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly keyring: PayloadKeyring) {
    if (!keyring.keys.has(keyring.currentKeyId)) throw new Error(`the payload key "${keyring.currentKeyId}" is not in the keyring`);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { currentKeyId } = this.keyring;
    const key = this.keyring.keys.get(currentKeyId)!;
    return payloads.map((payload) => ({
      metadata: { [METADATA_ENCODING_KEY]: utf8(ENCRYPTED_ENCODING), [METADATA_ENCRYPTION_KEY_ID]: utf8(currentKeyId) },
      data: encrypt(temporal.api.common.v1.Payload.encode(payload).finish(), key),
    }));
  }

  /**
   * A payload that is not encrypted passes unchanged: histories written before encryption (the recorded v1–v7
   * histories, journeys started earlier) still replay and read.
   */
  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (text(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCRYPTED_ENCODING) return payload;
      const keyId = text(payload.metadata?.[METADATA_ENCRYPTION_KEY_ID]);
      if (!keyId) throw new ValueError('An encrypted payload names no encryption key (metadata "encryption-key-id")');
      const key = this.keyring.keys.get(keyId);
      if (!key) throw new ValueError(`An encrypted payload names the key "${keyId}", which is not in PAYLOAD_KEYS (keep old keys there until no history uses them)`);
      if (!payload.data) throw new ValueError('An encrypted payload has no data');
      const decoded = temporal.api.common.v1.Payload.decode(decrypt(payload.data, key, keyId));
      return { metadata: decoded.metadata, data: decoded.data };
    });
  }
}

function encrypt(plaintext: Uint8Array, key: Buffer): Uint8Array {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv);
  return Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

function decrypt(data: Uint8Array, key: Buffer, keyId: string): Uint8Array {
  const bytes = Buffer.from(data);
  if (bytes.length < IV_BYTES + TAG_BYTES) throw new ValueError(`An encrypted payload (key "${keyId}") is too short to be one`);
  const decipher = createDecipheriv(ALGORITHM, key, bytes.subarray(0, IV_BYTES));
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
  } catch {
    // GCM's tag: the ciphertext was changed, or another key of the same id was used.
    throw new ValueError(`An encrypted payload (key "${keyId}") does not decrypt: it was altered, or PAYLOAD_KEYS holds another key under that id`);
  }
}

function utf8(value: string): Uint8Array {
  return Buffer.from(value, 'utf8');
}

function text(bytes: Uint8Array | null | undefined): string {
  return bytes ? Buffer.from(bytes).toString('utf8') : '';
}
