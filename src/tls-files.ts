import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import type { ServerOptions as HttpsOptions } from 'node:https';
import { createSecureContext } from 'node:tls';
import type { Logger } from './ports/logger';

/**
 * Certificate files for an HTTPS listener, part of the composition root:
 * read and checked at start-up, and watched so that a renewed pair is used
 * for the next handshake without a restart. A broken new pair is logged and
 * the old one kept.
 */

export interface TlsFiles {
  certPath: string;
  keyPath: string;
}

/** Reads the pair and proves that the key matches the certificate; throws with the file names otherwise. */
export function readTlsPair(files: TlsFiles): { cert: Buffer; key: Buffer } {
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
  return { cert, key };
}

/**
 * Options for fastify's `https`, or undefined for plain HTTP. A client that
 * opens a connection and does not finish its handshake within
 * `handshakeMs` is dropped.
 */
export function httpsOptions(files: TlsFiles | undefined, handshakeMs: number): HttpsOptions | undefined {
  if (!files) return undefined;
  return { ...readTlsPair(files), handshakeTimeout: handshakeMs };
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
    const fingerprint = pair.cert.toString('base64');
    if (fingerprint === loadedFingerprint) return;
    server.setSecureContext({ cert: pair.cert, key: pair.key });
    loadedFingerprint = fingerprint;
    log.info({ cert: files.certPath }, 'TLS certificate reloaded');
  };
  const options = { interval: intervalMs, persistent: false };
  watchFile(files.certPath, options, reload);
  watchFile(files.keyPath, options, reload);
  return () => {
    unwatchFile(files.certPath, reload);
    unwatchFile(files.keyPath, reload);
  };
}
