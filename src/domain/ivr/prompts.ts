/** The IVR's recorded prompts: files `prompts/<lang>/<name>.wav` (section 8 of docs/behaviour.md). */
export const PROMPT_NAMES = [
  'enter-pin',
  'wrong-pin',
  'locked-out',
  'blocked-now',
  'auth-not-possible',
  'blocked',
  'success',
  'already-authenticated',
  'service-unavailable',
  'goodbye',
] as const;

export type PromptName = (typeof PROMPT_NAMES)[number];
