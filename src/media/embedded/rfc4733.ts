/**
 * RFC 4733 telephone-events: the 4-byte payload, and a tracker that turns a
 * stream of event packets (start, updates, three end-of-event repeats) into
 * one digit per key press.
 */

export const DTMF_EVENT_DIGITS = '0123456789*#ABCD';

export interface TelephoneEvent {
  event: number;
  end: boolean;
  volume: number;
  duration: number;
}

/** Parses the payload; undefined when it is not a valid telephone-event. */
export function parseTelephoneEvent(payload: Uint8Array): TelephoneEvent | undefined {
  if (payload.length < 4) return undefined;
  const flags = payload[1] as number;
  return {
    event: payload[0] as number,
    end: (flags & 0x80) !== 0,
    volume: flags & 0x3f,
    duration: ((payload[2] as number) << 8) | (payload[3] as number),
  };
}

/** Builds a payload (tests and tools send events with it). */
export function encodeTelephoneEvent(e: TelephoneEvent): Buffer {
  const buf = Buffer.alloc(4);
  buf[0] = e.event;
  buf[1] = (e.end ? 0x80 : 0) | (e.volume & 0x3f);
  buf.writeUInt16BE(e.duration & 0xffff, 2);
  return buf;
}

/** How many past events are remembered, so a reordered late packet is not a new press. */
const REMEMBERED_EVENTS = 8;

interface SeenEvent {
  timestamp: number;
  ended: boolean;
}

/**
 * One key press = one RTP timestamp (RFC 4733 §2.5.1.2: all packets of an
 * event carry its start timestamp). A new timestamp is a new press, even of
 * the same key. One exception: a capture replayed as is (SIPp's
 * play_pcap_audio sends dtmf_2833_1.pcap unchanged for every "1") repeats
 * the timestamp of an event that already ended; its first packet, marker
 * bit set and not an end packet, is a new press too.
 */
export class TelephoneEventTracker {
  private readonly seen: SeenEvent[] = [];

  /** Returns the digit when this packet starts a new key press, else undefined. */
  accept(rtpTimestamp: number, marker: boolean, payload: Uint8Array): string | undefined {
    const ev = parseTelephoneEvent(payload);
    if (!ev || ev.event >= DTMF_EVENT_DIGITS.length) return undefined; // not a DTMF key
    const timestamp = rtpTimestamp >>> 0;
    const known = this.seen.find((s) => s.timestamp === timestamp);
    if (known) {
      const replayed = known.ended && marker && !ev.end;
      known.ended ||= ev.end;
      if (!replayed) return undefined;
      known.ended = false;
    } else {
      this.seen.push({ timestamp, ended: ev.end });
      if (this.seen.length > REMEMBERED_EVENTS) this.seen.shift();
    }
    return DTMF_EVENT_DIGITS[ev.event];
  }
}
