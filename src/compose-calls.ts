import type { Authentication } from './app/authentication';
import type { PromptLibrary } from './app/prompt-library';
import type { SipGate } from './app/sip-gate';
import type { Config } from './config/config';
import { EmbeddedMediaEngine } from './media/embedded';
import type { Metrics } from './observability/metrics';
import type { Clock } from './ports/clock';
import type { Logger } from './ports/logger';
import type { MediaEngine } from './ports/media';
import type { CallHandler, Signalling } from './ports/signalling';
import type { Store } from './ports/store';
import { EmbeddedSignalling } from './sip/embedded';

/** Part of the composition root: picks the signalling and media adapters the Config names. */

export interface CallDeps {
  gate: SipGate;
  prompts: PromptLibrary;
  auth: Authentication;
  clock: Clock;
  metrics: Metrics;
  store: Store;
  log: Logger;
  makeHandler(signalling: Signalling, media: MediaEngine): CallHandler;
}

export interface RunningCalls {
  signalling: Signalling;
  media: MediaEngine;
  sipPort: number;
  stop(): Promise<void>;
}

/**
 * Builds the embedded media engine and SIP stack, starts SIP with the call
 * handler, and returns them with the SIP port actually bound (useful when
 * PAPGATE_SIP_PORT is 0). The drachtio / FreeSWITCH stack is composed elsewhere.
 */
export async function startCalls(c: Config, d: CallDeps): Promise<RunningCalls> {
  if (c.signalling !== 'embedded' || c.media !== 'embedded') {
    throw new Error(
      `startCalls composes the embedded stack only (PAPGATE_SIGNALLING=${c.signalling}, PAPGATE_MEDIA=${c.media})`,
    );
  }
  const advertised = c.sipAdvertisedAddress ?? new URL(c.publicUrl).hostname;
  const media: MediaEngine = new EmbeddedMediaEngine({
    bindAddress: c.rtpAddress, advertisedAddress: advertised,
    rtpPortMin: c.rtpPortMin, rtpPortMax: c.rtpPortMax,
    inactivityMs: c.rtpTimeoutSeconds * 1000, log: d.log.child({ part: 'media' }),
  });
  const signalling = new EmbeddedSignalling({
    address: c.sipAddress, port: c.sipPort,
    udp: c.sipTransports.includes('udp'), tcp: c.sipTransports.includes('tcp'),
    gate: d.gate, log: d.log.child({ part: 'sip' }), clock: d.clock, advertisedAddress: advertised,
  });
  try {
    await signalling.start(d.makeHandler(signalling, media));
  } catch (e) {
    await media.close();
    throw e;
  }
  return {
    signalling, media, sipPort: signalling.port,
    async stop() {
      await signalling.stop();
      await media.close();
    },
  };
}
