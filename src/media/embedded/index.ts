/** The embedded media engine's public surface (src/main.ts composes it). */
export { EmbeddedMediaEngine, type EmbeddedMediaEngineOptions, type EmbeddedMediaStats } from './engine';
export type { RtpSession } from './rtp-session';
export { ThreadedMediaEngine } from './engine-thread';
