/**
 * The test certificate authority for mutual TLS with the SOPA stub: a CA, a server certificate for the stub
 * (localhost, 127.0.0.1, ::1) and a client certificate for our SOPA client, made with the openssl CLI into one
 * directory (`make run`: .data/tls; the test stack and the drill: theirs). Made once and kept: a directory that holds
 * them, valid for at least 30 more days, is used as it is. Several processes may ask at once (ava runs test files in
 * parallel): each makes its set in a directory of its own and renames it into place, so nobody reads a half-written
 * set. Run alone (`node --import tsx dev/tls.ts [dir]`) it prints the paths.
 *
 * Only for development and tests: production uses the client certificate issued by the SOPA provider
 * (SOPA_CLIENT_CERT, SOPA_CLIENT_KEY, SOPA_CA_CERT in lib/config.ts).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ClientTlsFiles } from '../lib/mtls';

/** The files of a test PKI (PEM). */
export interface DevTls {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** The client side of a set, as the SOPA client takes it (lib/mtls.ts). */
export function clientTlsFiles(tls: DevTls): ClientTlsFiles {
  return { certPath: tls.clientCert, keyPath: tls.clientKey, caPath: tls.caCert };
}

/** The default place: the checkout's .data/tls (ignored by git, removed by `make clean-data`). */
export const DEFAULT_TLS_DIR = path.resolve(__dirname, '..', '.data', 'tls');

/** Certificates with fewer days left than this are made again, so a kept set never expires under a running stack. */
const RENEW_BEFORE_DAYS = 30;
const CA_DAYS = 3650;
const LEAF_DAYS = 825;

/** The files of the set in `dir` (whether or not they exist). */
export function tlsFiles(dir: string): DevTls {
  const file = (name: string) => path.join(dir, name);
  return {
    dir, caCert: file('ca.crt'), caKey: file('ca.key'), serverCert: file('server.crt'), serverKey: file('server.key'),
    clientCert: file('client.crt'), clientKey: file('client.key'),
  };
}

/** The test PKI in `dir`, made now when it is missing, incomplete or about to expire. */
export function ensureDevTls(dir: string = DEFAULT_TLS_DIR): DevTls {
  const files = tlsFiles(dir);
  if (isUsable(files)) return files;
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const work = `${dir}.new-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const made = tlsFiles(work);
    fs.mkdirSync(work, { mode: 0o700 });
    createCa(made, 'Learning accounts test CA');
    issueCertificate(made, { name: 'server', commonName: 'localhost', usage: 'server', certFile: made.serverCert, keyFile: made.serverKey });
    issueCertificate(made, { name: 'client', commonName: 'learning-accounts worker (test)', usage: 'client', certFile: made.clientCert, keyFile: made.clientKey });
    // A set that is there but no longer usable is moved aside first; rename() then puts ours in its place.
    if (fs.existsSync(dir) && !isUsable(files)) fs.renameSync(dir, `${dir}.old-${Date.now()}-${process.pid}`);
    try {
      fs.renameSync(work, dir);
    } catch (err) {
      // Another process put its set in place first: use that one.
      if (!['ENOTEMPTY', 'EEXIST'].includes((err as NodeJS.ErrnoException).code ?? '') || !isUsable(files)) throw err;
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return files;
}

/** Every file present and each certificate valid for RENEW_BEFORE_DAYS more days. */
function isUsable(files: DevTls): boolean {
  try {
    const until = Date.now() + RENEW_BEFORE_DAYS * 86_400_000;
    for (const key of [files.caKey, files.serverKey, files.clientKey]) fs.accessSync(key, fs.constants.R_OK);
    return [files.caCert, files.serverCert, files.clientCert]
      .every((cert) => new Date(new X509Certificate(fs.readFileSync(cert)).validTo).getTime() > until);
  } catch {
    return false;
  }
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const { code, stderr } = err as { code?: string; stderr?: Buffer };
    if (code === 'ENOENT') throw new Error('dev/tls.ts needs the openssl command to make the test certificates for the SOPA stub; install openssl');
    throw new Error(`openssl ${args[0]} failed: ${stderr?.toString().trim() || (err as Error).message}`);
  }
}

/** ECDSA P-256: quick to make and to handshake with, and accepted by Node's TLS. */
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A self-signed CA into `ca.caCert` / `ca.caKey` (tests also make a second, foreign one). */
export function createCa(ca: Pick<DevTls, 'dir' | 'caCert' | 'caKey'>, commonName: string): void {
  const config = path.join(ca.dir, 'ca-req.cnf');
  // Our own minimal config, so the result does not depend on the machine's openssl.cnf.
  fs.writeFileSync(config, [
    '[req]', 'distinguished_name = dn', 'x509_extensions = v3_ca', 'prompt = no', '[dn]', `CN = ${commonName}`,
    '[v3_ca]', 'basicConstraints = critical,CA:TRUE', 'keyUsage = critical,keyCertSign,cRLSign', 'subjectKeyIdentifier = hash', '',
  ].join('\n'));
  openssl(['req', '-x509', ...EC_KEY, '-config', config, '-days', String(CA_DAYS), '-keyout', ca.caKey, '-out', ca.caCert]);
  fs.chmodSync(ca.caKey, 0o600);
  fs.rmSync(config);
}

/**
 * Issues a certificate signed by the CA in `ca`: for the server (its names: localhost and the loopback addresses)
 * or a client. `notBefore`/`notAfter` (tests: an expired one) default to now and LEAF_DAYS days on.
 */
export function issueCertificate(ca: Pick<DevTls, 'dir' | 'caCert' | 'caKey'>, opts: {
  name: string; commonName: string; usage: 'server' | 'client'; certFile: string; keyFile: string; notBefore?: Date; notAfter?: Date;
}): void {
  // `openssl ca` (not `x509 -req`) because only it takes explicit start and end dates.
  const work = fs.mkdtempSync(path.join(ca.dir, `${opts.name}-`));
  try {
    const config = path.join(work, 'ca.cnf');
    fs.writeFileSync(path.join(work, 'index.txt'), '');
    fs.writeFileSync(config, [
      '[ca]', 'default_ca = test_ca',
      '[test_ca]', `database = ${path.join(work, 'index.txt')}`, `new_certs_dir = ${work}`, 'rand_serial = yes',
      'default_md = sha256', 'policy = any', 'unique_subject = no', 'email_in_dn = no',
      '[any]', 'commonName = supplied',
      '[req]', 'distinguished_name = dn', 'prompt = no', '[dn]', `CN = ${opts.commonName}`,
      '[server]', 'basicConstraints = critical,CA:FALSE', 'keyUsage = critical,digitalSignature', 'extendedKeyUsage = serverAuth',
      'subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1', 'authorityKeyIdentifier = keyid',
      '[client]', 'basicConstraints = critical,CA:FALSE', 'keyUsage = critical,digitalSignature', 'extendedKeyUsage = clientAuth',
      'authorityKeyIdentifier = keyid', '',
    ].join('\n'));
    const csr = path.join(work, 'request.csr');
    openssl(['req', '-new', ...EC_KEY, '-config', config, '-keyout', opts.keyFile, '-out', csr]);
    fs.chmodSync(opts.keyFile, 0o600);
    const notBefore = opts.notBefore ?? new Date(Date.now() - 60_000);
    const notAfter = opts.notAfter ?? new Date(notBefore.getTime() + LEAF_DAYS * 86_400_000);
    openssl(['ca', '-batch', '-notext', '-config', config, '-cert', ca.caCert, '-keyfile', ca.caKey, '-in', csr, '-out', opts.certFile,
      '-extensions', opts.usage, '-startdate', opensslDate(notBefore), '-enddate', opensslDate(notAfter)]);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** YYYYMMDDHHMMSSZ, the form `openssl ca -startdate/-enddate` takes. */
function opensslDate(at: Date): string {
  return `${at.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

if (require.main === module) {
  const files = ensureDevTls(process.argv[2] ? path.resolve(process.argv[2]) : DEFAULT_TLS_DIR);
  process.stdout.write(`${JSON.stringify(files, null, 2)}\n`);
}
