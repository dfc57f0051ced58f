/**
 * lib/config.ts refuses, at start and naming the variable, what would let someone sign sessions or links, or leave
 * the connection to Temporal other than intended: missing, short, published or shared signing keys, and TLS files
 * that cannot be read.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { ConfigError, KNOWN_PUBLIC_PAYLOAD_KEYS, KNOWN_PUBLIC_SECRETS, loadConfig, sopaTlsOf } from '../../lib/config';
import { temporalTlsConfig } from '../../lib/temporal';

const key = () => randomBytes(32).toString('base64url');

/** A complete environment, as a deployment gives it. */
function completeEnv(): NodeJS.ProcessEnv {
  const nowhere = 'http://127.0.0.1:9';
  return {
    DATABASE_URL: 'postgres://ila@127.0.0.1:5432/ila', TEMPORAL_ADDRESS: '127.0.0.1:7233', SMTP_URL: 'smtp://127.0.0.1:25',
    POPULATION_REGISTER_URL: nowhere, SOPA_URL: 'https://127.0.0.1:9', VIIS_URL: nowhere, ENTERPRISE_REGISTER_URL: nowhere, SSO_ISSUER: nowhere,
    SERVICE_PLATFORM_URL: nowhere, E_ADDRESS_URL: nowhere,
    SSO_CLIENT_ID: 'learning-accounts', SSO_CLIENT_SECRET: key(), PUBLIC_URL: 'https://imk.example.lv',
    SOPA_OPERATOR_FIRST_NAME: 'Ilze', SOPA_OPERATOR_LAST_NAME: 'Priede', SOPA_OPERATOR_PERSON_CODE: '010180-10007',
    AGENCY_INBOX_EMAIL: 'agency@example.lv', SESSION_SECRET: key(), LINK_SECRET: key(),
    PAYLOAD_KEYS: `k2:${randomBytes(32).toString('base64')}, k1:${key()}`, PAYLOAD_KEY_ID: 'k2',
  };
}

/** The message loadConfig stops with for this environment ('' when it starts). */
function refusal(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(env);
    return '';
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.message;
  }
}

test('a complete environment starts; metrics listen on loopback, on a port of their own, by default', (t) => {
  const env = completeEnv();
  const config = loadConfig(env);
  t.is(config.linkSecret, env.LINK_SECRET!);
  t.not(config.linkSecret, config.sessionSecret);
  t.deepEqual(config.metrics, { host: '127.0.0.1', port: 9463 });
  t.is(config.workerMetricsHost, '127.0.0.1');
  t.is(config.temporal.tls, null);
});

test('LINK_SECRET is required, 32+ characters, and not the session key', (t) => {
  t.regex(refusal({ ...completeEnv(), LINK_SECRET: undefined }), /LINK_SECRET is not set/);
  t.regex(refusal({ ...completeEnv(), LINK_SECRET: 'short' }), /LINK_SECRET must be at least 32 characters/);
  const shared = key();
  t.regex(refusal({ ...completeEnv(), SESSION_SECRET: shared, LINK_SECRET: shared }), /LINK_SECRET must differ from SESSION_SECRET/);
});

test('a published example key is refused for either secret, naming the variable', (t) => {
  for (const name of ['SESSION_SECRET', 'LINK_SECRET']) {
    for (const value of [...KNOWN_PUBLIC_SECRETS, 'please-change-me-0123456789-0123456789', 'CHANGEME-0123456789-0123456789-0123']) {
      t.regex(refusal({ ...completeEnv(), [name]: value }), new RegExp(`${name} is a published example value`), `${name}=${value}`);
    }
  }
  // The compose file's former default in particular, which passed the length check.
  t.true(KNOWN_PUBLIC_SECRETS.includes('change-me-this-default-is-public-and-insecure'));
});

test('PAYLOAD_KEYS holds every key by id (base64 or base64url) and PAYLOAD_KEY_ID the one new payloads use', (t) => {
  const env = completeEnv();
  const { payloadKeyring } = loadConfig(env);
  t.is(payloadKeyring.currentKeyId, 'k2');
  t.deepEqual([...payloadKeyring.keys.keys()], ['k2', 'k1']);
  t.true([...payloadKeyring.keys.values()].every((k) => k.length === 32));
});

test('missing, short, malformed, duplicate or published payload keys stop the start, naming the variable and the key', (t) => {
  const good = randomBytes(32).toString('base64');
  t.regex(refusal({ ...completeEnv(), PAYLOAD_KEYS: undefined }), /PAYLOAD_KEYS is not set/);
  t.regex(refusal({ ...completeEnv(), PAYLOAD_KEYS: `k1:${randomBytes(16).toString('base64')}`, PAYLOAD_KEY_ID: 'k1' }), /PAYLOAD_KEYS key "k1" must be 32 random bytes in base64/);
  t.regex(refusal({ ...completeEnv(), PAYLOAD_KEYS: `k1:${good}!`, PAYLOAD_KEY_ID: 'k1' }), /PAYLOAD_KEYS key "k1" must be 32 random bytes/);
  t.regex(refusal({ ...completeEnv(), PAYLOAD_KEYS: good, PAYLOAD_KEY_ID: 'k1' }), /PAYLOAD_KEYS entry 1 must be "id:base64key"/);
  t.regex(refusal({ ...completeEnv(), PAYLOAD_KEYS: `k1:${good},k1:${key()}`, PAYLOAD_KEY_ID: 'k1' }), /PAYLOAD_KEYS names the key "k1" twice/);
  t.regex(refusal({ ...completeEnv(), PAYLOAD_KEYS: `k1:${good}`, PAYLOAD_KEY_ID: 'k9' }), /PAYLOAD_KEY_ID "k9" is not one of the ids in PAYLOAD_KEYS/);
  t.regex(refusal({ ...completeEnv(), PAYLOAD_KEYS: `k1:${good}`, PAYLOAD_KEY_ID: undefined }), /PAYLOAD_KEY_ID is not set/);
  t.regex(refusal({ ...completeEnv(), PAYLOAD_KEYS: `k1:${good},test:${KNOWN_PUBLIC_PAYLOAD_KEYS[0]}`, PAYLOAD_KEY_ID: 'k1' }), /PAYLOAD_KEYS key "test" is a published test key/);
});

test('a TEMPORAL_TLS_* file that cannot be read stops the start, naming the variable and the path', (t) => {
  const missing = path.join(os.tmpdir(), `no-such-${key()}.pem`);
  for (const name of ['TEMPORAL_TLS_CA', 'TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY']) {
    t.regex(refusal({ ...completeEnv(), [name]: missing }), new RegExp(`${name} names a file that cannot be read: ${missing.replace(/[.]/g, '\\.')}`));
  }
  t.regex(refusal({ ...completeEnv(), TEMPORAL_TLS_CA: '' }), /^$/, 'unset is plain gRPC');
});

test('the API and the worker stop at start naming a TEMPORAL_TLS_* file they cannot read', async (t) => {
  const missing = path.join(os.tmpdir(), `no-such-${key()}.pem`);
  const root = path.join(__dirname, '..', '..');
  for (const script of ['api/main.ts', 'worker/main.ts']) {
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, ['--import', 'tsx', script], { cwd: root, env: { ...completeEnv(), PATH: process.env.PATH, TEMPORAL_TLS_CA: missing }, timeout: 60_000 },
        (_err, _stdout, stderr) => resolve({ code: child.exitCode, stderr }));
    });
    t.is(code, 1, script);
    t.true(stderr.includes(`TEMPORAL_TLS_CA names a file that cannot be read: ${missing}`), `${script}: ${stderr}`);
  }
});

test('the metrics port is not the public one', (t) => {
  t.regex(refusal({ ...completeEnv(), PORT: '3000', METRICS_PORT: '3000' }), /METRICS_PORT must differ from PORT/);
});

test('TLS files become the Temporal connection\'s TLS settings; a certificate needs its key', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tls-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const [ca, cert, keyFile] = ['ca.pem', 'client.pem', 'client.key'].map((name) => path.join(dir, name));
  fs.writeFileSync(ca!, 'CA');
  fs.writeFileSync(cert!, 'CERT');
  fs.writeFileSync(keyFile!, 'KEY');
  t.regex(refusal({ ...completeEnv(), TEMPORAL_TLS_CERT: cert }), /TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together/);
  const config = loadConfig({
    ...completeEnv(), TEMPORAL_TLS_CA: ca, TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: keyFile, TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
  });
  const tls = temporalTlsConfig(config.temporal.tls)!;
  t.is(tls.serverNameOverride, 'temporal.internal');
  t.is(Buffer.from(tls.serverRootCACertificate!).toString(), 'CA');
  t.is(Buffer.from(tls.clientCertPair!.crt).toString(), 'CERT');
  t.is(Buffer.from(tls.clientCertPair!.key).toString(), 'KEY');
  // Only a server name: TLS with the system's CAs (a managed Temporal with a public certificate).
  t.deepEqual(temporalTlsConfig(loadConfig({ ...completeEnv(), TEMPORAL_TLS_SERVER_NAME: 'x' }).temporal.tls), { serverNameOverride: 'x' });
  // A file that disappears after the check still fails naming its variable.
  fs.rmSync(ca!);
  t.throws(() => temporalTlsConfig(config.temporal.tls), { message: /TEMPORAL_TLS_CA: cannot read/ });
});

// --- registries (issue 17) ---
test('SOPA: an https:// address; client certificate and key together and readable; the CA optional', (t) => {
  t.regex(refusal({ ...completeEnv(), SOPA_URL: 'http://127.0.0.1:9' }), /SOPA_URL must be an https:\/\/ address \(SOPA requires HTTPS with a client certificate\)/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sopa-tls-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const [ca, cert, keyFile] = ['ca.pem', 'client.pem', 'client.key'].map((name) => path.join(dir, name));
  for (const file of [ca!, cert!, keyFile!]) fs.writeFileSync(file, 'PEM');
  t.regex(refusal({ ...completeEnv(), SOPA_CLIENT_CERT: cert }), /SOPA_CLIENT_CERT and SOPA_CLIENT_KEY go together/);
  const missing = path.join(dir, 'missing.key');
  t.regex(refusal({ ...completeEnv(), SOPA_CLIENT_CERT: cert, SOPA_CLIENT_KEY: missing }), /SOPA_CLIENT_KEY names a file that cannot be read: .*missing\.key/);
  t.deepEqual(loadConfig({ ...completeEnv(), SOPA_CLIENT_CERT: cert, SOPA_CLIENT_KEY: keyFile }).sopaTls, { certPath: cert, keyPath: keyFile, caPath: null });
  t.deepEqual(loadConfig({ ...completeEnv(), SOPA_CLIENT_CERT: cert, SOPA_CLIENT_KEY: keyFile, SOPA_CA_CERT: ca }).sopaTls, { certPath: cert, keyPath: keyFile, caPath: ca });
  // The API does not ask SOPA and starts without them; the worker (sopaTlsOf) does not.
  const withoutCertificate = loadConfig(completeEnv());
  t.is(withoutCertificate.sopaTls, null);
  t.throws(() => sopaTlsOf(withoutCertificate), { instanceOf: ConfigError, message: /SOPA_CLIENT_CERT and SOPA_CLIENT_KEY are not set/ });
});

test('each registry\'s protocol is json by default; another one stops the start, naming the variable and the known ones', (t) => {
  const config = loadConfig(completeEnv());
  t.is(config.populationRegisterProtocol, 'json');
  t.is(config.sopaProtocol, 'json');
  t.regex(refusal({ ...completeEnv(), POPULATION_REGISTER_PROTOCOL: 'xroad' }), /POPULATION_REGISTER_PROTOCOL must be one of: json; got "xroad"/);
  t.regex(refusal({ ...completeEnv(), SOPA_PROTOCOL: 'soap' }), /SOPA_PROTOCOL must be one of: json; got "soap"/);
});
