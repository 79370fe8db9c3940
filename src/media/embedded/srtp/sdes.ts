/**
 * SDES keying (RFC 4568): read the phone's `a=crypto` lines, pick the first
 * one we can honour, and write our own line with a fresh key. A line we
 * cannot honour is skipped, never an error: the offer may still carry one we
 * can. Key material goes into no message or log.
 */
import { randomBytes } from 'node:crypto';
import { MASTER_KEY_BYTES, MASTER_SALT_BYTES } from './aes-cm';
import type { SrtpSuite } from './srtp-context';

const KEY_AND_SALT_BYTES = MASTER_KEY_BYTES + MASTER_SALT_BYTES;
/** The suites we speak; among the offer's lines its own order decides. */
export const SUPPORTED_SUITES: readonly SrtpSuite[] = ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'];
/**
 * Shortest key lifetime (packets) we take: we never re-key, and an IVR call
 * (at most an hour at 50 packets a second) sends fewer than 2^18 packets.
 */
const MIN_LIFETIME = 2 ** 18;

/** The line we chose: its tag (echoed in the answer), suite, and the phone's key and salt. */
export interface SdesOffer {
  tag: number;
  suite: SrtpSuite;
  /** 16-byte master key followed by the 14-byte master salt. */
  keyAndSalt: Buffer;
}

/** Why a line was skipped (no key material in it), or the usable line. */
export type CryptoLine = { ok: true; offer: SdesOffer } | { ok: false; reason: string };

/** Reads one `a=crypto` value (what follows "a=crypto:"). */
export function parseCryptoAttribute(value: string): CryptoLine {
  const parts = value.trim().split(/\s+/);
  const [tagText, suiteText, keyParams, ...sessionParams] = parts;
  if (!tagText || !/^\d{1,9}$/.test(tagText)) return { ok: false, reason: 'bad tag' };
  if (!suiteText || !(SUPPORTED_SUITES as readonly string[]).includes(suiteText)) return { ok: false, reason: 'unsupported crypto suite' };
  if (!keyParams) return { ok: false, reason: 'no key parameter' };
  if (sessionParams.length > 0) return { ok: false, reason: 'session parameters are not supported' };
  if (keyParams.includes(';')) return { ok: false, reason: 'more than one key (MKI) is not supported' };
  const m = /^inline:([A-Za-z0-9+/]+={0,2})(?:\|([^|]*))?(?:\|([^|]*))?$/.exec(keyParams);
  if (!m) return { ok: false, reason: 'bad key parameter' };
  const [, b64, first, second] = m as unknown as [string, string, string | undefined, string | undefined];
  const key = decodeKey(b64);
  if (!key) return { ok: false, reason: 'the key is not 30 bytes of base64' };
  // "|lifetime|MKI:len" or "|MKI:len": an MKI has a colon, a lifetime has none.
  const extras = [first, second].filter((x): x is string => x !== undefined);
  if (extras.some((x) => x.includes(':'))) return { ok: false, reason: 'MKI is not supported' };
  if (extras.length > 1) return { ok: false, reason: 'bad key parameter' };
  if (extras[0] !== undefined && !lifetimeLongEnough(extras[0])) return { ok: false, reason: 'key lifetime too short or unreadable' };
  return { ok: true, offer: { tag: Number(tagText), suite: suiteText as SrtpSuite, keyAndSalt: key } };
}

function decodeKey(b64: string): Buffer | undefined {
  // Strict: 30 bytes are exactly 40 base64 characters, no padding.
  if (b64.length !== 40 || b64.includes('=')) return undefined;
  const key = Buffer.from(b64, 'base64');
  return key.length === KEY_AND_SALT_BYTES && key.toString('base64') === b64 ? key : undefined;
}

function lifetimeLongEnough(text: string): boolean {
  const power = /^2\^(\d{1,2})$/.exec(text);
  if (power) return 2 ** Number(power[1]) >= MIN_LIFETIME;
  return /^\d{1,15}$/.test(text) && Number(text) >= MIN_LIFETIME;
}

/** The first usable line of the offer, in the offer's order (its preference), or the reasons none was. */
export function chooseCrypto(values: readonly string[]): { offer?: SdesOffer; skipped: string[] } {
  const skipped: string[] = [];
  for (const value of values) {
    const line = parseCryptoAttribute(value);
    if (line.ok) return { offer: line.offer, skipped };
    skipped.push(line.reason);
  }
  return { skipped };
}

/** A fresh master key and salt from the CSPRNG: one per call, never reused. */
export function newKeyAndSalt(): Buffer {
  return randomBytes(KEY_AND_SALT_BYTES);
}

/** Our answer line's value (after "a=crypto:"): the offer's tag and suite with our key. */
export function formatCryptoAttribute(tag: number, suite: SrtpSuite, keyAndSalt: Buffer): string {
  return `${tag} ${suite} inline:${keyAndSalt.toString('base64')}`;
}
