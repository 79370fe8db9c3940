import { X509Certificate } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import type { ServerOptions as HttpsOptions } from 'node:https';
import { createSecureContext } from 'node:tls';
import type { Logger } from './ports/logger';

/**
 * Certificate files for an HTTPS listener, part of the composition root:
 * read and checked at start-up, and watched so that a renewed pair is used
 * for the next handshake without a restart. A broken new pair is logged and
 * the old one kept. The device CA bundle (mutual TLS) is watched the same way.
 */

export interface TlsFiles {
  certPath: string;
  keyPath: string;
  /** CA bundle that client (device) certificates are verified against: mutual TLS, asked for but not required. */
  caPath?: string;
}

interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/** Reads the pair and proves that the key matches the certificate; throws with the file names otherwise. */
export function readTlsPair(files: TlsFiles): TlsMaterial {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(files.certPath);
    key = readFileSync(files.keyPath);
  } catch (e) {
    throw new Error(`cannot read the TLS certificate or key (${files.certPath}, ${files.keyPath}): ${(e as Error).message}`);
  }
  try {
    createSecureContext({ cert, key });
  } catch (e) {
    // The message says what is wrong (no PEM, key mismatch); it never holds the key itself.
    throw new Error(`unusable TLS certificate/key pair (${files.certPath}, ${files.keyPath}): ${(e as Error).message}`);
  }
  return files.caPath ? { cert, key, ca: readCaBundle(files.caPath) } : { cert, key };
}

/** Reads a PEM bundle of CA certificates; throws with the file name when it holds none that parse. */
export function readCaBundle(caPath: string): Buffer {
  let ca: Buffer;
  try {
    ca = readFileSync(caPath);
  } catch (e) {
    throw new Error(`cannot read the device CA bundle (${caPath}): ${(e as Error).message}`);
  }
  const pems = ca.toString('utf8').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  try {
    if (pems.length === 0) throw new Error('no PEM certificate in it');
    for (const pem of pems) new X509Certificate(pem);
  } catch (e) {
    throw new Error(`unusable device CA bundle (${caPath}): ${(e as Error).message}`);
  }
  return ca;
}

/** Server options for the material: with a CA, a client certificate is asked for, and checked by us, not refused. */
function contextOptions(m: TlsMaterial): HttpsOptions {
  return m.ca ? { ...m, requestCert: true, rejectUnauthorized: false } : m;
}

/**
 * Options for fastify's `https`, or undefined for plain HTTP. A client that
 * opens a connection and does not finish its handshake within
 * `handshakeMs` is dropped.
 */
export function httpsOptions(files: TlsFiles | undefined, handshakeMs: number): HttpsOptions | undefined {
  if (!files) return undefined;
  return { ...contextOptions(readTlsPair(files)), handshakeTimeout: handshakeMs };
}

/** What takes a renewed pair: an HTTPS server, or the embedded SIP stack's TLS listener. */
export interface TlsTarget {
  setSecureContext(pair: { cert: Buffer; key: Buffer }): void;
}

/**
 * Polls both files' mtimes (a renewal often replaces a file by rename, which
 * fs.watch loses track of) and loads the pair again when either changes.
 * Returns the stop function.
 */
export function watchTlsPair(server: TlsTarget, files: TlsFiles, intervalMs: number, log: Logger): () => void {
  let loadedFingerprint = '';
  const reload = (current: Stats, previous: Stats) => {
    if (current.mtimeMs === previous.mtimeMs && current.size === previous.size && current.ino === previous.ino) return;
    let pair;
    try {
      pair = readTlsPair(files);
    } catch (e) {
      // Half-way through a renewal (new certificate, old key) also lands here; the next change fixes it.
      log.error({ error: (e as Error).message }, 'new TLS certificate not loaded: keeping the current one');
      return;
    }
    const fingerprint = pair.cert.toString('base64') + (pair.ca?.toString('base64') ?? '');
    if (fingerprint === loadedFingerprint) return;
    server.setSecureContext(pair);
    loadedFingerprint = fingerprint;
    log.info({ cert: files.certPath, ...(files.caPath ? { deviceCa: files.caPath } : {}) }, 'TLS certificate reloaded');
  };
  const options = { interval: intervalMs, persistent: false };
  const paths = [files.certPath, files.keyPath, ...(files.caPath ? [files.caPath] : [])];
  for (const path of paths) watchFile(path, options, reload);
  return () => {
    for (const path of paths) unwatchFile(path, reload);
  };
}
