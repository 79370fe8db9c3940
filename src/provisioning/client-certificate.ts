import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { macsInCertificate } from '../domain/device-certificate';

/**
 * The device certificate a phone presented on its HTTPS connection (mutual
 * TLS), if it verified against the device CA: the handshake asks for one
 * without requiring it, so an unverified or missing certificate only means
 * "no proof" here. The subject and fingerprint are what logs may show.
 */
export interface ClientCertificate {
  macs: string[];
  subject: string;
  fingerprint256: string;
}

/** Connections remember their certificate: phones reuse one for several files. */
const seen = new WeakMap<Socket, ClientCertificate | null>();

export function verifiedClientCertificate(socket: Socket): ClientCertificate | null {
  const known = seen.get(socket);
  if (known !== undefined) return known;
  const found = readCertificate(socket as TLSSocket);
  seen.set(socket, found);
  return found;
}

function readCertificate(socket: TLSSocket): ClientCertificate | null {
  // `authorized` is true only when the chain verified against the CA and every certificate is in its validity period.
  if (typeof socket.getPeerCertificate !== 'function' || !socket.authorized) return null;
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.subject) return null;
  const cn = cert.subject.CN as string | string[] | undefined;
  const commonNames = cn === undefined ? [] : Array.isArray(cn) ? cn : [cn];
  return {
    macs: macsInCertificate({ commonNames, subjectAltName: cert.subjectaltname }),
    subject: commonNames.join(', ').slice(0, 200),
    fingerprint256: cert.fingerprint256,
  };
}
