/** Randomness enters only through this port; production uses the OS CSPRNG. */
export interface Random {
  bytes(n: number): Uint8Array;
}

import { randomBytes } from 'node:crypto';

/** The operating system's CSPRNG. */
export const cryptoRandom: Random = { bytes: (n) => randomBytes(n) };

/**
 * `source` drawn in blocks of `blockBytes`: one CSPRNG call per block
 * instead of one per request (nonces at thousands of REGISTERs a second,
 * identity secrets and event ids at thousands of full configurations).
 * Each byte is handed out once; the bytes are still the CSPRNG's.
 */
export function pooledRandom(source: Random, blockBytes = 4096): Random {
  let block = source.bytes(blockBytes);
  let used = 0;
  return {
    bytes(n) {
      if (n > blockBytes) return source.bytes(n);
      if (used + n > blockBytes) {
        block = source.bytes(blockBytes);
        used = 0;
      }
      used += n;
      return block.slice(used - n, used);
    },
  };
}
