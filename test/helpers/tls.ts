/**
 * Client certificates a mutual-TLS server must refuse, made for a test file with the project's own PKI script
 * (dev/tls.ts): one of another CA, and one of the right CA that has expired. The good set is the checkout's.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCa, ensureDevTls, issueCertificate, tlsFiles, type DevTls } from '../../dev/tls';
import type { ClientTlsFiles } from '../../lib/mtls';

/** The checkout's test PKI (stub and good client) and two client certificates that must be refused. */
export interface TestTls {
  good: DevTls;
  /** Signed by a CA of its own, unknown to the server. */
  foreignCa: ClientTlsFiles;
  /** Signed by the right CA, valid only for a day a year ago. */
  expired: ClientTlsFiles;
  /** Removes the refused certificates' directory. */
  remove(): void;
}

export function makeTestTls(): TestTls {
  const good = ensureDevTls();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'test-tls-'));
  const foreign = tlsFiles(dir);
  createCa(foreign, 'Some other CA');
  const foreignCa = { certPath: path.join(dir, 'foreign.crt'), keyPath: path.join(dir, 'foreign.key'), caPath: good.caCert };
  issueCertificate(foreign, { name: 'foreign', commonName: 'not ours', usage: 'client', certFile: foreignCa.certPath, keyFile: foreignCa.keyPath });
  const expired = { certPath: path.join(dir, 'expired.crt'), keyPath: path.join(dir, 'expired.key'), caPath: good.caCert };
  const yearAgo = new Date(Date.now() - 365 * 86_400_000);
  issueCertificate({ ...good, dir }, {
    name: 'expired', commonName: 'learning-accounts worker (expired)', usage: 'client', certFile: expired.certPath, keyFile: expired.keyPath,
    notBefore: yearAgo, notAfter: new Date(yearAgo.getTime() + 86_400_000),
  });
  return { good, foreignCa, expired, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
