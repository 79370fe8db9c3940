/** Dial-plan classification of section 8 of docs/behaviour.md: emergency numbers pass, everything else goes to the IVR. */

export const DEFAULT_EMERGENCY_NUMBERS: readonly string[] = ['112', '110', '911', '999'];

/** How long an emergency call waits for the store before going on without it (both stacks, both lookups). */
export const DEFAULT_EMERGENCY_LOOKUP_MS = 300;

/** Strips what phones and people put around digits (visual separators, a `tel:`/`sip:` wrapper). */
export function normaliseDialled(dialled: string): string {
  let s = dialled.trim();
  s = s.replace(/^(sips?|tel):/i, '').replace(/@.*$/, '').replace(/;.*$/, '');
  try {
    s = decodeURIComponent(s);
  } catch {
    /* keep the raw text: a malformed escape is just not an emergency number */
  }
  // Visual separators, a leading '+' and the '#' some phones append to send at once.
  return s.replace(/[\s().-]/g, '').replace(/^\+/, '').replace(/#$/, '');
}

export function isEmergencyNumber(dialled: string, emergencyNumbers: readonly string[]): boolean {
  const n = normaliseDialled(dialled);
  return n.length > 0 && emergencyNumbers.includes(n);
}
