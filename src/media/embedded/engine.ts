/**
 * The embedded media engine: pure Node RTP for the IVR. Owns the port pool,
 * the prompt cache and the one scheduler that paces every session's packets.
 */
import { randomInt } from 'node:crypto';
import type { Logger } from '../../ports/logger';
import type { MediaEngine } from '../../ports/media';
import { FrameScheduler } from './frame-scheduler';
import { PromptCache } from './prompt-cache';
import { RtpPortPool } from './rtp-port-pool';
import { RtpSession, type SessionCounters } from './rtp-session';
import { buildAnswer, negotiate, parseSdp, type Negotiated, type SrtpPolicy } from './sdp';
import { formatCryptoAttribute, newKeyAndSalt, SrtpReceiver, SrtpSender } from './srtp';
import type { SrtpContexts } from './rtp-session';

export interface EmbeddedMediaEngineOptions {
  /** Local address the RTP sockets bind to (e.g. 0.0.0.0 or 127.0.0.1). */
  bindAddress: string;
  /** Address written into the answer SDP (what phones send to). */
  advertisedAddress: string;
  rtpPortMin: number;
  rtpPortMax: number;
  /** 'inactive' fires after this long without valid RTP; 0 disables it. */
  inactivityMs: number;
  /** Between prompts: a silence frame every 20 ms (true), or nothing, prompts going out as talkspurts (default). */
  sendSilence?: boolean;
  /** SRTP (SDES) on IVR calls: off, when the phone offers it (default), or required (plain RTP offers get 488). */
  srtp?: SrtpPolicy;
  log: Logger;
}

export interface EmbeddedMediaStats {
  /** Open sessions. */
  sessions: number;
  /** Packets sent since the last resetStats(). */
  packetsSent: number;
  /** Send-time deviation from the 20 ms schedule (absolute), 0.1 ms resolution. */
  jitterP50Ms: number;
  jitterP99Ms: number;
  /** Frames skipped because the event loop stalled for more than 100 ms. */
  framesSkipped: number;
  packetsReceived: number;
  /** Datagrams dropped as not valid RTP for their session. */
  badPacketsReceived: number;
  /** Datagrams dropped because they came from a source the session does not listen to (before or after latching). */
  foreignPacketsReceived: number;
  /** SRTP packets dropped: failed authentication, replayed or unreadable. */
  srtpRejected: number;
}

export class EmbeddedMediaEngine implements MediaEngine {
  private readonly pool: RtpPortPool;
  private readonly prompts = new PromptCache();
  private readonly scheduler: FrameScheduler;
  private readonly sessions = new Set<RtpSession>();
  private readonly counters: SessionCounters = {
    badPacketsReceived: 0,
    foreignPacketsReceived: 0,
    packetsReceived: 0,
    srtpRejected: 0,
  };
  private closed = false;

  constructor(private readonly opts: EmbeddedMediaEngineOptions) {
    this.pool = new RtpPortPool(opts.bindAddress, opts.rtpPortMin, opts.rtpPortMax);
    this.scheduler = new FrameScheduler((err) => {
      opts.log.error({ err: err instanceof Error ? err.message : String(err) }, 'media frame failed');
    });
  }

  /**
   * Throws PapgateError('invalid', ..., 'sdp') for a malformed offer, NoCommonCodec
   * when no G.711 codec is shared, PapgateError('unavailable') when no RTP port is free.
   */
  async createSession(opts: { callId: string; offerSdp: string; signallingAddress?: string }): Promise<RtpSession> {
    if (this.closed) throw new Error('media engine is closed');
    const offer = parseSdp(opts.offerSdp);
    const negotiated = negotiate(offer, this.opts.srtp ?? 'optional');
    const keys = srtpFor(negotiated);
    const { socket, port } = await this.pool.bind();
    const answerSdp = buildAnswer({
      offer,
      negotiated,
      address: this.opts.advertisedAddress,
      port,
      sessionId: String(randomInt(1, 2 ** 47)),
      ...(keys ? { crypto: keys.answerCrypto } : {}),
    });
    const log = this.opts.log.child({ callId: opts.callId, rtpPort: port });
    const session = new RtpSession({
      callId: opts.callId,
      socket,
      port,
      negotiated,
      answerSdp,
      log,
      signallingAddress: opts.signallingAddress,
      ...(keys ? { srtp: keys.contexts } : {}),
      inactivityMs: this.opts.inactivityMs,
      sendSilence: this.opts.sendSilence ?? false,
      scheduler: this.scheduler,
      prompts: this.prompts,
      counters: this.counters,
      onClosed: (s) => {
        this.sessions.delete(s);
        this.pool.release(s.port);
      },
    });
    this.sessions.add(session);
    log.debug(
      {
        codec: negotiated.codec,
        telephoneEventPt: negotiated.telephoneEventPt,
        srtp: negotiated.srtp?.suite ?? 'off',
        remote: `${negotiated.remoteAddress}:${negotiated.remotePort}`,
      },
      'media session started',
    );
    return session;
  }

  stats(): EmbeddedMediaStats {
    const j = this.scheduler.jitter;
    return {
      sessions: this.sessions.size,
      packetsSent: this.scheduler.packetsSent,
      jitterP50Ms: j.percentileMs(0.5),
      jitterP99Ms: j.percentileMs(0.99),
      framesSkipped: this.scheduler.framesSkipped,
      packetsReceived: this.counters.packetsReceived,
      badPacketsReceived: this.counters.badPacketsReceived,
      foreignPacketsReceived: this.counters.foreignPacketsReceived,
      srtpRejected: this.counters.srtpRejected,
    };
  }

  resetStats(): void {
    this.scheduler.jitter.reset();
    this.scheduler.packetsSent = 0;
    this.scheduler.framesSkipped = 0;
    this.counters.packetsReceived = 0;
    this.counters.badPacketsReceived = 0;
    this.counters.foreignPacketsReceived = 0;
    this.counters.srtpRejected = 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.sessions].map((s) => s.close()));
    this.scheduler.stop();
  }
}

/** The call's SRTP contexts and our answer's a=crypto value: a fresh key of ours, the phone's key for what it sends. */
function srtpFor(n: Negotiated): { contexts: SrtpContexts; answerCrypto: string } | undefined {
  if (!n.srtp) return undefined;
  const { tag, suite, keyAndSalt } = n.srtp;
  const ours = newKeyAndSalt();
  const contexts = { sender: new SrtpSender(suite, ours), receiver: new SrtpReceiver(suite, keyAndSalt) };
  return { contexts, answerCrypto: formatCryptoAttribute(tag, suite, ours) };
}
