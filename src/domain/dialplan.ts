import { invalid } from './errors';

/** Dial-plan classification of section 8 of docs/behaviour.md: emergency numbers pass, everything else goes to the IVR. */

export const DEFAULT_EMERGENCY_NUMBERS: readonly string[] = ['112', '110', '911', '999'];

/** How long an emergency call waits for the store before going on without it (both stacks, both lookups). */
export const DEFAULT_EMERGENCY_LOOKUP_MS = 300;

/** Strips what phones and people put around digits (visual separators, a `tel:`/`sip:` wrapper). */
export function normaliseDialled(dialled: string): string {
  let s = dialled.trim();
  s = s
    .replace(/^(sips?|tel):/i, '')
    .replace(/@.*$/, '')
    .replace(/;.*$/, '');
  try {
    s = decodeURIComponent(s);
  } catch {
    /* keep the raw text: a malformed escape is just not an emergency number */
  }
  // Visual separators, a leading '+' and the '#' some phones append to send at once.
  return s
    .replace(/[\s().-]/g, '')
    .replace(/^\+/, '')
    .replace(/#$/, '');
}

/** What an emergency number may look like, in the global setting and on a site: 1-15 of 0-9 * # +. */
export const EMERGENCY_NUMBER = /^[0-9*#+]{1,15}$/;

/** A comma-separated list as people type it (CLI, forms): blanks around and empty entries are dropped. */
export const splitNumberList = (text: string): string[] =>
  text
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');

/** At most this many numbers on one site. */
export const MAX_SITE_EMERGENCY_NUMBERS = 20;

/**
 * A site's own emergency numbers from an array of strings; empty clears them.
 * Duplicates are dropped. Bad input is an `invalid` error on the field
 * emergencyNumbers naming the bad entry.
 */
export function parseEmergencyNumbers(input: unknown): string[] {
  if (!Array.isArray(input)) throw bad('must be a list of numbers');
  const numbers: string[] = [];
  for (const item of input) {
    if (typeof item !== 'string') throw bad('must be a list of numbers');
    const n = item.trim();
    if (!EMERGENCY_NUMBER.test(n)) throw bad(`"${n.slice(0, 20)}" is not an emergency number (1 to 15 of 0-9 * # +)`);
    if (!numbers.includes(n)) numbers.push(n);
  }
  if (numbers.length > MAX_SITE_EMERGENCY_NUMBERS) throw bad(`at most ${MAX_SITE_EMERGENCY_NUMBERS} numbers`);
  return numbers;
}

const bad = (message: string) => invalid('emergencyNumbers', `emergencyNumbers ${message}`);

export function isEmergencyNumber(dialled: string, emergencyNumbers: readonly string[]): boolean {
  const n = normaliseDialled(dialled);
  return n.length > 0 && emergencyNumbers.includes(n);
}
