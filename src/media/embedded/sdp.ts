/**
 * The slice of SDP (RFC 4566 / RFC 3264 offer-answer) the IVR needs: read an
 * audio offer, pick one G.711 codec plus telephone-event, and SRTP keyed by
 * SDES (RFC 4568) when the phone offers it, write the answer.
 */
import { isIP } from 'node:net';
import { PapgateError } from '../../domain/errors';
import { NoCommonCodec } from '../../ports/media';
import { chooseCrypto, type SdesOffer } from './srtp/sdes';

export const MAX_SDP_BYTES = 8 * 1024;

export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
export type Codec = 'PCMU' | 'PCMA';
/** off: plain RTP only; optional: SRTP when the phone offers it; required: no plain RTP. */
export type SrtpPolicy = 'off' | 'optional' | 'required';

export interface RtpMap {
  encoding: string;
  clockRate: number;
  channels?: number;
}

export interface MediaDescription {
  media: string;
  port: number;
  proto: string;
  /** RTP payload types (empty for non-RTP transports). */
  formats: number[];
  /** The format tokens as written (to echo in a rejected m= line). */
  formatTokens: string[];
  /** Media-level c= address, if any. */
  address?: string;
  rtpmap: Map<number, RtpMap>;
  fmtp: Map<number, string>;
  ptime?: number;
  direction?: Direction;
  /** The a=crypto values as written (SDES keys: never logged). */
  crypto: string[];
}

export interface SessionDescription {
  /** Session-level c= address, if any. */
  address?: string;
  direction?: Direction;
  media: MediaDescription[];
}

/** What the engine needs from a negotiated offer. */
export interface Negotiated {
  codec: Codec;
  payloadType: number;
  /** Payload type of telephone-event/8000, or undefined when the offer has none. */
  telephoneEventPt?: number;
  remoteAddress: string;
  remotePort: number;
  /** The direction of OUR side (answer). */
  direction: Direction;
  /** The phone's requested packetisation, for information (we send 20 ms). */
  remotePtime?: number;
  /** Index of the chosen m= line in the offer. */
  mediaIndex: number;
  /** The phone's SDES line we accepted: the call uses SRTP. Holds key material: never logged. */
  srtp?: SdesOffer;
}

const invalid = (message: string) => new PapgateError('invalid', `Malformed SDP: ${message}`, 'sdp');

const STATIC_PT: ReadonlyMap<number, RtpMap> = new Map([
  [0, { encoding: 'PCMU', clockRate: 8000 }],
  [8, { encoding: 'PCMA', clockRate: 8000 }],
]);
const DIRECTIONS = new Set<string>(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

/** Parses an SDP body. Throws PapgateError('invalid', ..., 'sdp'). */
export function parseSdp(text: string): SessionDescription {
  if (typeof text !== 'string' || text.trim() === '') throw invalid('the body is empty');
  if (Buffer.byteLength(text, 'utf8') > MAX_SDP_BYTES) throw invalid(`larger than ${MAX_SDP_BYTES} bytes`);
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (!lines[0]?.startsWith('v=')) throw invalid('it must start with "v=0"');
  const session: SessionDescription = { media: [] };
  let current: MediaDescription | undefined;
  for (const line of lines) {
    // RFC 4566: no NUL, CR or LF inside a line; other control characters have no business there either.
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(line)) throw invalid('a line holds control characters');
    const m = /^([a-z])=(.*)$/.exec(line);
    if (!m) throw invalid(`unreadable line "${line.slice(0, 40)}"`);
    const [, type, value] = m as unknown as [string, string, string];
    if (type === 'v' && value.trim() !== '0') throw invalid(`unsupported version "${value}"`);
    if (type === 'm') {
      current = parseMediaLine(value);
      session.media.push(current);
    } else if (type === 'c') {
      const address = parseConnection(value);
      if (current) current.address = address;
      else session.address = address;
    } else if (type === 'a') {
      parseAttribute(value, current ?? session);
    }
  }
  return session;
}

function parseMediaLine(value: string): MediaDescription {
  const parts = value.trim().split(/\s+/);
  if (parts.length < 4) throw invalid(`m= line "${value}" needs media, port, proto and formats`);
  // Rejected m= lines are echoed in the answer: only visible ASCII tokens may go there.
  if (!parts.every((p) => /^[\x21-\x7e]+$/.test(p))) throw invalid('m= line with characters other than visible ASCII');
  const [media, portText, proto, ...fmts] = parts as [string, string, string, ...string[]];
  const port = Number(portText.split('/')[0]);
  if (!/^\d+(\/\d+)?$/.test(portText) || port > 65535) throw invalid(`bad port "${portText}" in m= line`);
  const isRtp = /RTP\//i.test(proto);
  const formats = isRtp
    ? fmts.map((f) => {
        const pt = Number(f);
        if (!/^\d{1,3}$/.test(f) || pt > 127) throw invalid(`bad RTP payload type "${f}" in m= line`);
        return pt;
      })
    : [];
  return { media, port, proto, formats, formatTokens: fmts, rtpmap: new Map(), fmtp: new Map(), crypto: [] };
}

function parseConnection(value: string): string {
  const parts = value.trim().split(/\s+/);
  if (parts.length !== 3 || parts[0] !== 'IN' || (parts[1] !== 'IP4' && parts[1] !== 'IP6')) {
    throw invalid(`bad c= line "${value}" (expected "IN IP4 <address>")`);
  }
  const address = (parts[2] as string).split('/')[0] as string; // drop multicast TTL
  const family = isIP(address);
  if ((parts[1] === 'IP4' && family !== 4) || (parts[1] === 'IP6' && family !== 6)) {
    throw invalid(`c= address "${address}" is not an ${parts[1]} address`);
  }
  return address;
}

function parseAttribute(value: string, target: MediaDescription | SessionDescription): void {
  const colon = value.indexOf(':');
  const name = colon < 0 ? value.trim() : value.slice(0, colon).trim();
  const arg = colon < 0 ? '' : value.slice(colon + 1).trim();
  if (DIRECTIONS.has(name)) {
    target.direction = name as Direction;
    return;
  }
  if (!('rtpmap' in target)) return; // other session-level attributes do not matter here
  if (name === 'rtpmap') {
    const m = /^(\d{1,3})\s+([^/\s]+)\/(\d+)(?:\/(\d+))?$/.exec(arg);
    if (!m) throw invalid(`bad a=rtpmap "${arg}"`);
    target.rtpmap.set(Number(m[1]), {
      encoding: m[2] as string,
      clockRate: Number(m[3]),
      ...(m[4] ? { channels: Number(m[4]) } : {}),
    });
  } else if (name === 'fmtp') {
    const m = /^(\d{1,3})\s+(.*)$/.exec(arg);
    if (m) target.fmtp.set(Number(m[1]), m[2] as string);
  } else if (name === 'crypto') {
    target.crypto.push(arg);
  } else if (name === 'ptime') {
    const ptime = Number(arg);
    if (Number.isFinite(ptime) && ptime > 0) target.ptime = ptime;
  }
}

function rtpmapOf(m: MediaDescription, pt: number): RtpMap | undefined {
  return m.rtpmap.get(pt) ?? STATIC_PT.get(pt);
}

function findPt(m: MediaDescription, encoding: string, clockRate: number): number | undefined {
  return m.formats.find((pt) => {
    const map = rtpmapOf(m, pt);
    return map !== undefined && map.encoding.toUpperCase() === encoding.toUpperCase() && map.clockRate === clockRate && (map.channels ?? 1) === 1;
  });
}

const ANSWER_DIRECTION: Record<Direction, Direction> = {
  sendrecv: 'sendrecv',
  sendonly: 'recvonly',
  recvonly: 'sendonly',
  inactive: 'inactive',
};

/**
 * Chooses what to answer for an offer. Throws PapgateError('invalid') for a
 * malformed offer and NoCommonCodec when it shares no G.711 codec with us or
 * its media security does not fit `srtp` (the caller answers 488).
 */
export function negotiate(offer: SessionDescription, srtp: SrtpPolicy = 'optional'): Negotiated {
  const mediaIndex = chooseAudio(offer, srtp);
  const audio = offer.media[mediaIndex];
  if (!audio) throw invalid('no m=audio line with a non-zero port');
  const remoteAddress = audio.address ?? offer.address;
  if (!remoteAddress) throw invalid('no c= line for the audio stream');
  const keying = mediaSecurity(audio, srtp);
  const pcmu = findPt(audio, 'PCMU', 8000);
  const pcma = findPt(audio, 'PCMA', 8000);
  const payloadType = pcmu ?? pcma;
  if (payloadType === undefined) {
    const offered = audio.formats.map((pt) => rtpmapOf(audio, pt)?.encoding ?? String(pt)).join(', ');
    throw new NoCommonCodec(`no common audio codec: offered ${offered || 'nothing'}, we speak PCMU and PCMA`);
  }
  const telephoneEventPt = findPt(audio, 'telephone-event', 8000);
  return {
    codec: pcmu !== undefined ? 'PCMU' : 'PCMA',
    payloadType,
    ...(telephoneEventPt !== undefined ? { telephoneEventPt } : {}),
    remoteAddress,
    remotePort: audio.port,
    direction: ANSWER_DIRECTION[audio.direction ?? offer.direction ?? 'sendrecv'],
    ...(audio.ptime !== undefined ? { remotePtime: audio.ptime } : {}),
    mediaIndex,
    ...(keying ? { srtp: keying } : {}),
  };
}

/**
 * The m=audio line to answer: the first one with a port, or, when SRTP is
 * allowed and the phone offers the stream twice (SRTP and plain), the first
 * one whose SRTP we can honour.
 */
function chooseAudio(offer: SessionDescription, srtp: SrtpPolicy): number {
  const candidates = offer.media.flatMap((m, i) => (m.media === 'audio' && m.port !== 0 ? [i] : []));
  if (srtp === 'off' || candidates.length < 2) return candidates[0] ?? -1;
  return candidates.find((i) => chooseCrypto(offer.media[i]!.crypto).offer !== undefined) ?? (candidates[0] as number);
}

/**
 * The SDES key the stream will use, or undefined for plain RTP. RTP/SAVP
 * needs a usable a=crypto line; RTP/AVP with a=crypto lines (what many phones
 * send for "SRTP if possible") uses SRTP when one is usable.
 */
function mediaSecurity(audio: MediaDescription, srtp: SrtpPolicy): SdesOffer | undefined {
  const proto = /^RTP\/(S?)AVPF?$/i.exec(audio.proto);
  if (!proto) throw new NoCommonCodec(`audio transport ${audio.proto} is not supported (only RTP/AVP and RTP/SAVP)`);
  const secure = proto[1] !== '';
  if (srtp === 'off') {
    if (secure) throw new NoCommonCodec('SRTP (RTP/SAVP) is turned off here');
    return undefined;
  }
  const chosen = chooseCrypto(audio.crypto);
  if (chosen.offer) return chosen.offer;
  if (secure) {
    const why = chosen.skipped.length > 0 ? chosen.skipped.join('; ') : 'no a=crypto line';
    throw new NoCommonCodec(`RTP/SAVP offer without a usable SDES key (${why}); we speak AES_CM_128_HMAC_SHA1_80 and _32`);
  }
  if (srtp === 'required') throw new NoCommonCodec('SRTP is required here and the offer is plain RTP');
  return undefined;
}

export interface AnswerParams {
  offer: SessionDescription;
  negotiated: Negotiated;
  address: string;
  port: number;
  sessionId: string;
  /** Our a=crypto value (our SDES key) when the call uses SRTP. */
  crypto?: string;
}

/** Writes the answer: the chosen audio stream, every other m= line rejected (port 0). */
export function buildAnswer(p: AnswerParams): string {
  const ipVersion = isIP(p.address) === 6 ? 'IP6' : 'IP4';
  const n = p.negotiated;
  const lines = ['v=0', `o=papgate ${p.sessionId} 1 IN ${ipVersion} ${p.address}`, 's=papgate', `c=IN ${ipVersion} ${p.address}`, 't=0 0'];
  p.offer.media.forEach((m, i) => {
    if (i !== n.mediaIndex) {
      lines.push(`m=${m.media} 0 ${m.proto} ${m.formatTokens.join(' ')}`);
      return;
    }
    const pts = n.telephoneEventPt !== undefined ? [n.payloadType, n.telephoneEventPt] : [n.payloadType];
    lines.push(`m=audio ${p.port} ${m.proto} ${pts.join(' ')}`);
    lines.push(`a=rtpmap:${n.payloadType} ${n.codec}/8000`);
    if (n.telephoneEventPt !== undefined) {
      lines.push(`a=rtpmap:${n.telephoneEventPt} telephone-event/8000`, `a=fmtp:${n.telephoneEventPt} 0-15`);
    }
    if (p.crypto !== undefined) lines.push(`a=crypto:${p.crypto}`);
    lines.push('a=ptime:20', `a=${n.direction}`);
  });
  return lines.join('\r\n') + '\r\n';
}
