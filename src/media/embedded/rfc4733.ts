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

/**
 * One key press = one RTP timestamp (RFC 4733 §2.5.1.2: all packets of an
 * event carry its start timestamp). A new timestamp is a new press, even of
 * the same key.
 */
export class TelephoneEventTracker {
  private readonly seen: number[] = [];

  /** Returns the digit when this packet starts a new key press, else undefined. */
  accept(rtpTimestamp: number, payload: Uint8Array): string | undefined {
    const ev = parseTelephoneEvent(payload);
    if (!ev || ev.event >= DTMF_EVENT_DIGITS.length) return undefined; // not a DTMF key
    const key = rtpTimestamp >>> 0;
    if (this.seen.includes(key)) return undefined;
    this.seen.push(key);
    if (this.seen.length > REMEMBERED_EVENTS) this.seen.shift();
    return DTMF_EVENT_DIGITS[ev.event];
  }
}
