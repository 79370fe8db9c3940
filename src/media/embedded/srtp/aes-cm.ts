/**
 * AES in counter mode as SRTP uses it (RFC 3711 section 4.1.1), and the
 * key derivation built on it (section 4.3). Node's AES-128-CTR counts the
 * whole 128-bit block up, which is what SRTP needs: the low 16 bits of the
 * IV are zero and count the blocks of one packet.
 */
import { createCipheriv, type Cipher } from 'node:crypto';

export const MASTER_KEY_BYTES = 16;
export const MASTER_SALT_BYTES = 14;
export const SESSION_KEY_BYTES = 16;
export const SESSION_AUTH_KEY_BYTES = 20;
export const SESSION_SALT_BYTES = 14;

/** Key derivation labels (RFC 3711 section 4.3.2). */
export const LABEL = {
  rtpEncryption: 0,
  rtpAuthentication: 1,
  rtpSalt: 2,
  rtcpEncryption: 3,
  rtcpAuthentication: 4,
  rtcpSalt: 5,
} as const;

/** `length` bytes of AES-CM keystream from the 16-byte counter block `iv`. */
export function aesCmKeystream(key: Buffer, iv: Buffer, length: number): Buffer {
  const cipher = createCipheriv('aes-128-ctr', key, iv);
  return Buffer.concat([cipher.update(Buffer.alloc(length)), cipher.final()]);
}

/**
 * AES-CM under one session key for many packets: one AES-ECB cipher encrypts
 * the counter blocks of each packet (a new CTR cipher per packet would set up
 * the key schedule 50 times a second per call, about four times the cost).
 */
export class AesCm {
  private readonly ecb: Cipher;

  constructor(key: Buffer) {
    this.ecb = createCipheriv('aes-128-ecb', key, null);
    this.ecb.setAutoPadding(false);
  }

  /** XORs `data` with the keystream from counter block `iv` in place (encrypting and decrypting are the same). */
  xor(iv: Buffer, data: Buffer): void {
    const blocks = Math.ceil(data.length / 16);
    if (blocks === 0) return;
    const counters = Buffer.allocUnsafe(blocks * 16);
    const low = iv.readUInt16BE(14);
    for (let b = 0; b < blocks; b++) {
      iv.copy(counters, b * 16, 0, 14);
      // A packet needs at most 4096 blocks: the low 16 bits never carry (RFC 3711 4.1.1).
      counters.writeUInt16BE((low + b) & 0xffff, b * 16 + 14);
    }
    const stream = this.ecb.update(counters);
    for (let i = 0; i < data.length; i++) data[i] = (data[i] as number) ^ (stream[i] as number);
  }
}

/**
 * The per-packet counter block: (salt * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16).
 * `index` is the 48-bit packet index (ROC * 2^16 + SEQ for SRTP).
 */
export function packetIv(sessionSalt: Buffer, ssrc: number, index: number): Buffer {
  const iv = Buffer.alloc(16);
  sessionSalt.copy(iv, 0, 0, SESSION_SALT_BYTES);
  const ssrcBytes = Buffer.alloc(4);
  ssrcBytes.writeUInt32BE(ssrc >>> 0, 0);
  for (let i = 0; i < 4; i++) iv[4 + i] = (iv[4 + i] as number) ^ (ssrcBytes[i] as number);
  const indexBytes = Buffer.alloc(6);
  indexBytes.writeUIntBE(index, 0, 6);
  for (let i = 0; i < 6; i++) iv[8 + i] = (iv[8 + i] as number) ^ (indexBytes[i] as number);
  return iv;
}

/**
 * One session key from the master key and salt, key derivation rate 0 (the
 * only one SDES uses by default): x = master_salt XOR (label * 2^48), and the
 * key is the AES-CM keystream of the master key at x * 2^16.
 */
export function deriveKey(masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer {
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv, 0, 0, MASTER_SALT_BYTES);
  iv[7] = (iv[7] as number) ^ (label & 0xff);
  return aesCmKeystream(masterKey, iv, length);
}

export interface SessionKeys {
  encryption: Buffer;
  authentication: Buffer;
  salt: Buffer;
}

/** The three SRTP session keys (labels 0-2), or with `rtcp` the SRTCP ones (labels 3-5). */
export function deriveSessionKeys(masterKey: Buffer, masterSalt: Buffer, rtcp = false): SessionKeys {
  if (masterKey.length !== MASTER_KEY_BYTES || masterSalt.length !== MASTER_SALT_BYTES) {
    throw new Error(`an SRTP master key is ${MASTER_KEY_BYTES} bytes and its salt ${MASTER_SALT_BYTES} bytes`);
  }
  const base = rtcp ? LABEL.rtcpEncryption : LABEL.rtpEncryption;
  return {
    encryption: deriveKey(masterKey, masterSalt, base, SESSION_KEY_BYTES),
    authentication: deriveKey(masterKey, masterSalt, base + 1, SESSION_AUTH_KEY_BYTES),
    salt: deriveKey(masterKey, masterSalt, base + 2, SESSION_SALT_BYTES),
  };
}
