/** The embedded SIP stack: `EmbeddedSignalling` implements the Signalling port over UDP/TCP. */
export { EmbeddedSignalling } from './embedded-signalling';
export type { EmbeddedSignallingOptions } from './embedded-signalling';
