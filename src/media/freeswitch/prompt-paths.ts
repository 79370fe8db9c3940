import path from 'node:path';

/**
 * Maps a prompt file of papgate's prompts/ directory to the path FreeSWITCH
 * sees it under (the same directory mounted into the FreeSWITCH container,
 * PAPGATE_FREESWITCH_PROMPTS). Files outside prompts/ are passed unchanged:
 * an operator who mounts them at the same path on both sides needs nothing.
 */
export function freeswitchPath(file: string, localRoot: string, freeswitchRoot: string): string {
  const rel = path.relative(path.resolve(localRoot), path.resolve(file));
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return file;
  return path.posix.join(freeswitchRoot, ...rel.split(path.sep));
}
