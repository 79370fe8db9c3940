/**
 * One call's media: a UDP socket, the 20 ms send grid (prompts in talkspurts,
 * nothing between them), symmetric RTP latched to one source, DTMF from
 * RFC 4733 and in-band tones, inactivity.
 */
import { randomBytes } from 'node:crypto';
import type dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../ports/logger';
import { TypedEmitter } from '../../ports/events';
import type { MediaSession, MediaSessionEvents } from '../../ports/media';
import { InbandDtmfDetector } from './dtmf-goertzel';
import { FRAME_MS, type FrameClient, type FrameScheduler } from './frame-scheduler';
import { decodeG711, SAMPLES_PER_FRAME, silenceFrame } from './g711';
import type { PromptCache } from './prompt-cache';
import { PromptPlayout } from './prompt-playout';
import { TelephoneEventTracker } from './rfc4733';
import { decodeRtp, encodeRtp } from './rtp-packet';
import type { Negotiated } from './sdp';
import type { SrtpReceiver, SrtpSender } from './srtp';
import { RtpTransmitter, type Endpoint } from './rtp-transmitter';

const COMFORT_NOISE_PT = 13;
/** Larger audio payloads are not decoded for in-band DTMF (no phone sends them). */
const MAX_DECODED_PAYLOAD = 1600;

/** Engine-wide counters the sessions add to. */
export interface SessionCounters {
  badPacketsReceived: number;
  foreignPacketsReceived: number;
  packetsReceived: number;
  srtpRejected: number;
}

/** The two directions of an SRTP call: our key for what we send, the phone's for what it sends. */
export interface SrtpContexts {
  sender: SrtpSender;
  receiver: SrtpReceiver;
}

export interface RtpSessionParams {
  callId: string;
  socket: dgram.Socket;
  port: number;
  negotiated: Negotiated;
  answerSdp: string;
  /** Present: the call is SRTP; every packet is protected and checked. */
  srtp?: SrtpContexts;
  /** Where the call's SIP came from; absent: only the SDP's address is trusted. */
  signallingAddress?: string;
  inactivityMs: number;
  /** A silence frame every 20 ms between prompts instead of nothing (a stream that never pauses). */
  sendSilence: boolean;
  log: Logger;
  scheduler: FrameScheduler;
  prompts: PromptCache;
  counters: SessionCounters;
  /** Frees the port and forgets the session (engine side). */
  onClosed: (session: RtpSession) => void;
}

export class RtpSession extends TypedEmitter<MediaSessionEvents> implements MediaSession, FrameClient {
  readonly answerSdp: string;
  readonly callId: string;
  readonly port: number;
  /** Datagrams dropped as not valid RTP of this session (counted, never thrown). */
  badPackets = 0;
  /** Datagrams dropped because they came from a source the session does not listen to (before or after latching). */
  foreignPackets = 0;
  /** SRTP datagrams dropped: failed authentication, replayed or unreadable (also in badPackets). */
  srtpRejected = 0;
  private readonly p: RtpSessionParams;
  private readonly playout: PromptPlayout;
  private readonly events = new TelephoneEventTracker();
  private readonly inband = new InbandDtmfDetector();
  private readonly canSend: boolean;
  private remote: Endpoint;
  /** Where the SDP said the phone receives (c=/m=). */
  private readonly sdpRemote: Endpoint;
  /** IPs a first packet may come from: the call's SIP source and the SDP's connection address. */
  private readonly latchableIps: ReadonlySet<string>;
  /**
   * Whether we may send to the SDP's address before the phone's first packet:
   * only when the SIP came from there too. Otherwise an INVITE could aim our
   * prompts at anyone (a reflector).
   */
  private readonly sdpAddressTrusted: boolean;
  /** Set by the first valid packet; from then on only that source is heard. */
  private latched = false;
  /** Latched to the SDP's own address and port: nothing may move the peer any more. */
  private latchFinal = false;
  private foreignLogged = false;
  private sequence: number;
  private timestamp: number;
  private readonly ssrc: number;
  private talkspurtStarts = true;
  private lastRxMs = performance.now();
  private inactiveReported = false;
  private rfc4733Seen = false;
  /** Digits come as SIP INFO (the IVR said so): the packets are not examined for them. */
  private digitsIgnored = false;
  private readonly transmitter: RtpTransmitter;
  private closed: Promise<void> | undefined;

  constructor(params: RtpSessionParams) {
    super((event, err) => {
      params.log.error({ err: err instanceof Error ? err.message : String(err), event }, 'media event listener threw');
    });
    this.p = params;
    this.callId = params.callId;
    this.port = params.port;
    this.answerSdp = params.answerSdp;
    const n = params.negotiated;
    this.remote = { address: n.remoteAddress, port: n.remotePort };
    this.sdpRemote = { ...this.remote };
    const sipIp = params.signallingAddress === undefined ? undefined : unmapped(params.signallingAddress);
    this.latchableIps = new Set([unmapped(n.remoteAddress), ...(sipIp ? [sipIp] : [])]);
    this.sdpAddressTrusted = sipIp === undefined || sipIp === unmapped(n.remoteAddress);
    this.canSend = n.direction === 'sendrecv' || n.direction === 'sendonly';
    const rnd = randomBytes(10);
    this.sequence = rnd.readUInt16BE(0);
    this.timestamp = rnd.readUInt32BE(2);
    this.ssrc = rnd.readUInt32BE(6);
    this.playout = new PromptPlayout(n.codec, params.prompts, params.log, (interrupted) => {
      process.nextTick(() => this.emit('playbackFinished', interrupted));
    });
    params.socket.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo));
    this.transmitter = new RtpTransmitter(params.socket, params.log);
    params.scheduler.add(this);
  }

  /** Where packets go now (the SDP address until the phone's packets arrive, if we may send there). */
  get remoteAddress(): Endpoint {
    return { ...this.remote };
  }

  /** Whether the socket is connected to the final peer (the kernel then drops every other source's packets). */
  get peerConnected(): boolean {
    return this.transmitter.connected;
  }

  play(files: string[]): void {
    if (this.closed) {
      this.p.log.debug({ files }, 'play() after close ignored');
      return;
    }
    this.playout.play(files);
    // Between prompts nothing is sent, so the first frame need not wait for the grid's next point.
    if (this.talkspurtStarts && !this.p.sendSilence) this.p.scheduler.startNow(this);
  }

  stopPlayback(): void {
    this.playout.stop();
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.p.scheduler.remove(this);
      this.playout.stop();
      this.closed = new Promise<void>((resolve) => this.p.socket.close(() => resolve())).then(() => {
        this.p.onClosed(this);
      });
    }
    return this.closed;
  }

  // --- sending (called by the shared scheduler) ---

  /**
   * Prompt audio goes out in talkspurts: the first packet of each carries the
   * marker bit, and between prompts nothing is sent (RFC 3551 section 4.1;
   * the media clock runs on, so a talkspurt's timestamp says when it starts),
   * or silence frames when the engine is told to send them.
   */
  onFrame(): boolean {
    if (this.closed) return false;
    const audio = this.playout.nextFrame(); // the prompt advances even when we may not send
    const marker = this.talkspurtStarts && audio !== undefined;
    this.talkspurtStarts = audio === undefined;
    const timestamp = this.timestamp;
    this.timestamp = (timestamp + SAMPLES_PER_FRAME) >>> 0;
    if (audio === undefined && !this.p.sendSilence) return false;
    if (!this.canSend || this.remote.port === 0 || isUnspecified(this.remote.address)) return false;
    if (!this.latched && !this.sdpAddressTrusted) return false;
    const plain = encodeRtp(
      {
        payloadType: this.p.negotiated.payloadType,
        marker,
        sequenceNumber: this.sequence,
        timestamp,
        ssrc: this.ssrc,
      },
      audio ?? silenceFrame(this.p.negotiated.codec),
    );
    const packet = this.p.srtp ? this.p.srtp.sender.protect(plain) : plain;
    this.sequence = (this.sequence + 1) & 0xffff;
    this.transmitter.send(packet, this.remote);
    return true;
  }

  /** The call's digits come as SIP INFO: no RFC 4733 tracking nor in-band decoding of each packet any more. */
  ignoreDigits(): void {
    this.digitsIgnored = true;
  }

  onSkippedFrame(): void {
    this.timestamp = (this.timestamp + SAMPLES_PER_FRAME) >>> 0;
  }

  onRephase(earlierMs: number): void {
    this.timestamp = (this.timestamp - Math.round((earlierMs * SAMPLES_PER_FRAME) / FRAME_MS)) >>> 0;
  }

  onHousekeeping(nowMs: number): void {
    if (this.inactiveReported || this.p.inactivityMs <= 0) return;
    if (nowMs - this.lastRxMs >= this.p.inactivityMs) {
      this.inactiveReported = true;
      this.p.log.info({ inactivityMs: this.p.inactivityMs }, 'no RTP from the phone');
      this.emit('inactive');
    }
  }

  // --- receiving ---

  private onDatagram(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    try {
      this.receive(msg, rinfo);
    } catch (err) {
      this.badPackets++;
      this.p.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'RTP packet handling failed');
    }
  }

  private receive(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.closed) return;
    const from: Endpoint = rinfo; // no copy per packet: only latching keeps one
    if (!this.admits(from)) {
      this.dropForeign(from);
      return;
    }
    const n = this.p.negotiated;
    const clear = this.p.srtp ? this.unprotect(msg) : msg;
    if (!clear) return;
    const decoded = decodeRtp(clear);
    const pt = decoded.ok ? decoded.packet.payloadType : -1;
    if (!decoded.ok || (pt !== n.payloadType && pt !== n.telephoneEventPt && pt !== COMFORT_NOISE_PT)) {
      this.badPackets++;
      this.p.counters.badPacketsReceived++;
      return;
    }
    const packet = decoded.packet;
    this.latch(from);
    this.p.counters.packetsReceived++;
    this.lastRxMs = performance.now();
    this.inactiveReported = false;
    if (this.digitsIgnored) return;
    if (pt === n.telephoneEventPt) {
      this.rfc4733Seen = true; // from now on in-band detection would count presses twice
      const digit = this.events.accept(packet.timestamp, packet.marker, packet.payload);
      if (digit) this.emit('digit', digit, 'rfc4733');
    } else if (pt === n.payloadType && !this.rfc4733Seen && packet.payload.length <= MAX_DECODED_PAYLOAD) {
      for (const digit of this.inband.push(decodeG711(n.codec, packet.payload))) {
        this.emit('digit', digit, 'inband');
      }
    }
  }

  /**
   * The decrypted packet, or undefined when it fails SRTP's checks. Nothing
   * of a failed packet is used: it neither latches nor counts as activity.
   */
  private unprotect(msg: Buffer): Buffer | undefined {
    const r = this.p.srtp!.receiver.unprotect(msg);
    if (r.ok) return r.packet;
    this.badPackets++;
    this.p.counters.badPacketsReceived++;
    this.p.counters.srtpRejected++;
    // Logged once per session: a forger could otherwise flood the log.
    if (++this.srtpRejected === 1) this.p.log.debug({ reason: r.reason }, 'SRTP packet dropped');
    return undefined;
  }

  /**
   * Before latching, only the call's SIP source IP or the SDP's address is
   * heard; once latched, only the latched source: anyone who can reach the
   * port could otherwise type PINs into the call (and lock the device). The
   * SDP's own address and port may still take over, once, from a first source
   * elsewhere: the signalling named it, a stray sender did not.
   */
  private admits(from: Endpoint): boolean {
    if (!this.latched) return this.latchableIps.has(unmapped(from.address));
    if (sameEndpoint(from, this.remote)) return true;
    return !this.latchFinal && sameEndpoint(from, this.sdpRemote);
  }

  /** Symmetric RTP: answer to where the phone's packets come from (NAT). */
  private latch(from: Endpoint): void {
    if (this.latchFinal || (this.latched && sameEndpoint(from, this.remote))) return;
    this.latchFinal = sameEndpoint(from, this.sdpRemote);
    if (!sameEndpoint(from, this.remote)) {
      const to = { address: from.address, port: from.port };
      this.p.log.info({ from: this.remote, to, firstLatch: !this.latched }, 'RTP peer latched to the received packets');
      this.remote = to;
    }
    this.latched = true;
    // Final: the kernel may now filter other sources and skip the per-packet lookups.
    if (this.latchFinal) this.transmitter.connect(from);
  }

  /** Counted; logged once per session, as a spraying sender would flood the log. */
  private dropForeign(from: Endpoint): void {
    this.foreignPackets++;
    this.p.counters.foreignPacketsReceived++;
    if (this.foreignLogged) return;
    this.foreignLogged = true;
    this.p.log.debug(
      { from: { address: from.address, port: from.port }, latched: this.latched ? this.remote : null },
      'RTP from a source the session does not listen to dropped',
    );
  }
}

/** A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; the SDP says a.b.c.d. */
function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  // The plain comparison first: it decides every packet of a latched call, 50 a second per call.
  return a.port === b.port && (a.address === b.address || unmapped(a.address) === unmapped(b.address));
}

function unmapped(address: string): string {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? address.slice(7) : address.toLowerCase();
}

function isUnspecified(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}
