/** Randomness enters only through this port; production uses the OS CSPRNG. */
export interface Random {
  bytes(n: number): Uint8Array;
}

import { randomBytes } from 'node:crypto';

/** The operating system's CSPRNG. */
export const cryptoRandom: Random = { bytes: (n) => randomBytes(n) };
