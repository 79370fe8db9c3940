import { execFileSync } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';

/**
 * A throw-away CA and server certificates for TLS tests, made with the
 * `openssl` command line (node:crypto cannot write X.509). P-256 keys: fast.
 */

const OPENSSL_TIMEOUT_MS = 20_000;

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, timeout: OPENSSL_TIMEOUT_MS, stdio: ['ignore', 'ignore', 'pipe'] });
}

export interface TestCa {
  dir: string;
  certPath: string;
  keyPath: string;
  pem: string;
}
export interface IssuedPair {
  certPath: string;
  keyPath: string;
  fingerprint256: string;
}

export function makeCa(dir: string): TestCa {
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-subj',
    '/CN=papgate test CA',
    '-days',
    '2',
  ]);
  const certPath = join(dir, 'ca.crt');
  return { dir, certPath, keyPath: join(dir, 'ca.key'), pem: readFileSync(certPath, 'utf8') };
}

/** A server certificate for 127.0.0.1 and `name`, signed by the CA, written as `<stem>.crt` / `<stem>.key`. */
export function issue(ca: TestCa, stem: string, name = 'prov.test'): IssuedPair {
  writeFileSync(join(ca.dir, `${stem}.ext`), `subjectAltName=DNS:${name},IP:127.0.0.1\n`);
  openssl(ca.dir, [
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${stem}.key`,
    '-out',
    `${stem}.csr`,
    '-subj',
    `/CN=${name}`,
  ]);
  openssl(ca.dir, [
    'x509',
    '-req',
    '-in',
    `${stem}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    `${stem}.crt`,
    '-days',
    '2',
    '-extfile',
    `${stem}.ext`,
  ]);
  const certPath = join(ca.dir, `${stem}.crt`);
  return { certPath, keyPath: join(ca.dir, `${stem}.key`), fingerprint256: fingerprintOfFile(certPath) };
}

export function fingerprintOfFile(certPath: string): string {
  return new X509Certificate(readFileSync(certPath)).fingerprint256;
}

/** Puts a file in place the way renewal tools do: write beside it, then rename over it. */
export function replaceFile(target: string, content: Buffer | string): void {
  const temp = `${target}.new`;
  writeFileSync(temp, content);
  renameSync(temp, target);
}

export interface ClientCertificateSpec {
  /** Subject CN, e.g. a phone's MAC as its factory certificate carries it. */
  cn: string;
  /** subjectAltName value for openssl, e.g. `URI:urn:dev:mac:001565aabbcc`. */
  san?: string;
  /** Issued already expired (valid until yesterday). */
  expired?: boolean;
}

/** A client (device) certificate signed by the CA, written as `<stem>.crt` / `<stem>.key`. */
export function issueClient(ca: TestCa, stem: string, spec: ClientCertificateSpec): { cert: string; key: string; fingerprint256: string } {
  writeFileSync(join(ca.dir, `${stem}.ext`), `extendedKeyUsage=clientAuth\n${spec.san ? `subjectAltName=${spec.san}\n` : ''}`);
  openssl(ca.dir, [
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${stem}.key`,
    '-out',
    `${stem}.csr`,
    '-subj',
    `/O=Phone Vendor/CN=${spec.cn}`,
  ]);
  openssl(ca.dir, [
    'x509',
    '-req',
    '-in',
    `${stem}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    `${stem}.crt`,
    '-days',
    spec.expired ? '-1' : '2',
    '-extfile',
    `${stem}.ext`,
  ]);
  const certPath = join(ca.dir, `${stem}.crt`);
  return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(join(ca.dir, `${stem}.key`), 'utf8'), fingerprint256: fingerprintOfFile(certPath) };
}
