import { MAX_MESSAGE_BYTES } from './types';
import type { Refusal } from './types';

/**
 * Cuts a TCP byte stream into SIP messages (RFC 3261 18.3: the header block
 * ends at the first empty line, Content-Length gives the body). It never
 * holds more than one message's worth of bytes, whatever the read boundaries:
 * a header block that does not end, a missing, repeated, non-numeric or too
 * large Content-Length stops the framer, which reports why once and then
 * ignores the rest of the stream (the caller answers and closes).
 */
export class SipStreamFramer {
  private readonly buf: Buffer;
  private len = 0;
  /** Where the search for the end of the headers resumes. */
  private scanFrom = 0;
  private stopped = false;
  /** Size of the message being received once its headers are complete, else 0. */
  private expected = 0;

  /** `onMessage` gets a view into the framer's buffer, valid only until it returns. */
  constructor(
    private readonly onMessage: (message: Buffer) => void,
    private readonly onError: (refusal: Refusal, head: string) => void,
    private readonly maxBytes = MAX_MESSAGE_BYTES,
  ) {
    this.buf = Buffer.allocUnsafe(maxBytes);
  }

  /** Bytes held while waiting for the rest of a message. */
  get buffered(): number {
    return this.len;
  }

  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length && !this.stopped) {
      const n = Math.min(chunk.length - off, this.maxBytes - this.len);
      chunk.copy(this.buf, this.len, off, off + n);
      this.len += n;
      off += n;
      this.drain();
      if (!this.stopped && this.len === this.maxBytes) this.fail({ status: 513, problem: 'message too large' });
    }
  }

  private drain(): void {
    while (!this.stopped) {
      if (this.expected === 0) {
        const total = this.headerBlock();
        if (total === undefined) return;
        this.expected = total;
      }
      if (this.len < this.expected) return;
      const total = this.expected;
      this.expected = 0;
      this.scanFrom = 0;
      // a view, not a copy: onMessage reads it synchronously, before the bytes are moved
      this.onMessage(this.buf.subarray(0, total));
      this.buf.copy(this.buf, 0, total, this.len);
      this.len -= total;
    }
  }

  /** The size of the message whose headers are buffered, or undefined while they are incomplete (or refused). */
  private headerBlock(): number | undefined {
    this.skipKeepAlives();
    const end = this.buf.subarray(0, this.len).indexOf('\r\n\r\n', Math.max(0, this.scanFrom - 3), 'latin1');
    if (end < 0) {
      this.scanFrom = this.len;
      return undefined;
    }
    const head = this.buf.toString('latin1', 0, end);
    const length = contentLength(head);
    if (typeof length !== 'number') return void this.fail(length, head);
    const total = end + 4 + length;
    if (total > this.maxBytes) return void this.fail({ status: 513, problem: 'message too large' }, head);
    return total;
  }

  /** CRLFs between messages are keep-alives (RFC 5626 4.4.1). */
  private skipKeepAlives(): void {
    let i = 0;
    while (i < this.len && (this.buf[i] === 0x0d || this.buf[i] === 0x0a)) i++;
    if (i === 0) return;
    this.buf.copy(this.buf, 0, i, this.len);
    this.len -= i;
    this.scanFrom = Math.max(0, this.scanFrom - i);
  }

  private fail(refusal: Refusal, head = this.buf.toString('latin1', 0, Math.min(this.len, 8192))): void {
    this.stopped = true;
    this.len = 0;
    this.onError(refusal, head);
  }
}

/** The one Content-Length of a header block (also `l:` and folded), or why there is none usable. */
function contentLength(head: string): number | Refusal {
  const values: string[] = [];
  const re = /\r\n(?:content-length|l)[ \t]*:([^\r]*(?:\r\n[ \t][^\r]*)*)/gi;
  for (let m = re.exec(head); m; m = re.exec(head)) values.push(m[1]!.replace(/\r\n/g, ' ').trim());
  if (values.length === 0) return { status: 400, problem: 'Content-Length is required on TCP' };
  if (values.length > 1) return { status: 400, problem: 'more than one Content-Length' };
  if (!/^\d{1,10}$/.test(values[0]!)) return { status: 400, problem: 'malformed Content-Length' };
  return Number(values[0]);
}
