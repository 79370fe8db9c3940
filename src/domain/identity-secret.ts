import { hash } from 'node:crypto';
import { sameHex } from './digest';

/**
 * The identity secret of section 10 of docs/behaviour.md: handed to a phone with each full
 * configuration, stored only as a hash. The newest one and the one before it
 * are valid until the newest is first used (a phone that failed to apply a
 * configuration is not locked out).
 */

export const SECRET_BYTES = 24;

// One-shot: a fifth of the time of a Hash object (two per full configuration).
export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'hex');
}

/** Encodes random bytes as a URL-safe secret. */
export function encodeSecret(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/** Cheap shape check before hashing anything a client sent. */
export function looksLikeSecret(text: string): boolean {
  return /^[A-Za-z0-9_-]{16,64}$/.test(text);
}

export interface SecretHashes {
  secretHash: string | null;
  prevSecretHash: string | null;
}

/** Which stored hash a presented secret matches, if any. */
export function matchSecret(stored: SecretHashes, presented: string | null): 'current' | 'previous' | null {
  if (presented === null || !looksLikeSecret(presented)) return null;
  return matchHash(stored, hashSecret(presented));
}

/** Which stored hash matches `hash`, a presented secret's hash (hashSecret). */
export function matchHash(stored: SecretHashes, hash: string): 'current' | 'previous' | null {
  if (stored.secretHash && sameHex(stored.secretHash, hash)) return 'current';
  if (stored.prevSecretHash && sameHex(stored.prevSecretHash, hash)) return 'previous';
  return null;
}

/**
 * The hashes after handing out `newHash`: the secret the phone proved itself
 * with (or, without one, the newest) stays valid until the new one is used.
 */
export function rotate(stored: SecretHashes, presentedHash: string | null, newHash: string): SecretHashes {
  return { secretHash: newHash, prevSecretHash: presentedHash ?? stored.secretHash };
}
