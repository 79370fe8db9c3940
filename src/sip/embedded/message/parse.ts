import { COMPACT, SINGLE_VALUE, TOKEN_CHARS, parseAuth, parseCSeq, parseNameAddr, parseNameAddrList, parseRouteList, parseViaList } from './headers';
import { MAX_MESSAGE_BYTES } from './types';
import type { Refusal, SipHeaders, SipMessage } from './types';

/**
 * A strict SIP message parser (RFC 3261 section 7 and 25, as RFC 4475
 * exercises it). Bounded (nothing over MAX_MESSAGE_BYTES is looked at), never
 * throws, and says why it refused a message so a request can get its 400/505/513.
 */

export type ParseResult = { ok: true; message: SipMessage } | ({ ok: false } & Refusal);

export interface ParseOptions {
  /** The bytes are exactly one framed message (TCP): the body is all that follows the headers. */
  framed?: boolean;
}

const REQUEST_LINE = new RegExp(`^([${TOKEN_CHARS}]+) (\\S+) SIP/(\\d+\\.\\d+)$`);
const STATUS_LINE = /^SIP\/(\d+\.\d+) ([1-6]\d\d)(?: ([^\r\n]*))?$/;
const HEADER_LINE = new RegExp(`^([${TOKEN_CHARS}]+)[ \\t]*:[ \\t]*(.*)$`);
const URI_SCHEME = /^[A-Za-z][A-Za-z0-9+\-.]*:/;

const refuse = (problem: string, status: Refusal['status'] = 400): ParseResult => ({ ok: false, status, problem });

export function parseMessage(data: Buffer | string, o: ParseOptions = {}): ParseResult {
  try {
    return parseUnchecked(data, o);
  } catch (e) {
    // a parser bug must cost one message, never the process
    return refuse(`parser error: ${(e as Error).message}`);
  }
}

function parseUnchecked(data: Buffer | string, o: ParseOptions): ParseResult {
  if (data.length > MAX_MESSAGE_BYTES) return refuse('message too large', 513);
  const text = (typeof data === 'string' ? data : data.toString('latin1')).replace(/^(?:\r\n)+/, '');
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return refuse('no blank line after the headers');
  const lines = unfold(text.slice(0, end).split('\r\n'));
  if (!lines) return refuse('malformed line folding or stray CR or LF');
  const m = parseStartLine(lines[0]!);
  if (typeof m === 'string') return refuse(m);
  if (m.version !== '2.0') return refuse(`SIP version ${m.version} is not supported`, 505);
  const raw = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const h = HEADER_LINE.exec(line);
    if (!h) return refuse('malformed header line');
    const lower = h[1]!.toLowerCase();
    const name = COMPACT[lower] ?? lower;
    const list = raw.get(name);
    if (list) list.push(h[2]!.trim());
    else raw.set(name, [h[2]!.trim()]);
  }
  const headers = buildHeaders(raw);
  if (typeof headers === 'string') return refuse(headers);
  const body = text.slice(end + 4);
  const declared = headers['content-length'];
  if (declared !== undefined && declared > body.length) return refuse('truncated body (Content-Length exceeds what arrived)');
  if (o.framed && declared !== undefined && declared !== body.length) return refuse('body does not match Content-Length');
  m.headers = headers;
  m.content = declared === undefined ? body : body.slice(0, declared);
  return { ok: true, message: m };
}

/** Joins continuation lines (leading SP/HT) to the line before; undefined for a stray CR or LF. */
function unfold(lines: string[]): string[] | undefined {
  const out: string[] = [];
  for (const line of lines) {
    if (/[\r\n]/.test(line)) return undefined; // NUL may appear quoted (RFC 4475 intmeth); values keep it
    if (/^[ \t]/.test(line)) {
      if (out.length < 2) return undefined; // nothing to continue, or a folded start line
      out[out.length - 1] = `${out[out.length - 1]!.trimEnd()} ${line.trim()}`;
    } else out.push(line);
  }
  return out;
}

/** The request or status line, or why it is malformed. */
function parseStartLine(line: string): SipMessage | string {
  const rq = REQUEST_LINE.exec(line);
  if (rq) {
    // the method is a token taken literally: RE%47IST%45R is not REGISTER
    if (!URI_SCHEME.test(rq[2]!)) return 'malformed Request-URI';
    return { method: rq[1]!, uri: rq[2]!, version: rq[3]!, headers: {} };
  }
  const rs = STATUS_LINE.exec(line);
  if (rs) return { status: Number(rs[2]), reason: rs[3] ?? '', version: rs[1]!, headers: {} };
  return 'malformed start line';
}

/** Structured headers from the raw values, or why they are unusable. */
function buildHeaders(raw: Map<string, string[]>): SipHeaders | string {
  const h: SipHeaders = {};
  for (const [name, values] of raw) {
    if (SINGLE_VALUE.has(name) && values.length > 1) return `more than one ${name} header`;
    const problem = setHeader(h, name, values);
    if (problem) return problem;
  }
  return h;
}

function setHeader(h: SipHeaders, name: string, values: string[]): string | undefined {
  const first = values[0]!;
  switch (name) {
    case 'via':
      h.via = parseViaList(values);
      return h.via ? undefined : 'malformed Via';
    case 'from':
    case 'to':
      h[name] = parseNameAddr(first);
      return h[name] ? undefined : `malformed ${name === 'to' ? 'To' : 'From'}`;
    case 'contact':
      if (values.length === 1 && first === '*') return void (h.contact = '*');
      h.contact = parseNameAddrList(values);
      return h.contact ? undefined : 'malformed Contact';
    case 'route':
    case 'record-route':
    case 'path':
      h[name] = parseRouteList(values);
      return h[name] ? undefined : `malformed ${name}`;
    case 'call-id':
      return /^[\x21-\x7e]+$/.test(first) ? void (h['call-id'] = first) : 'malformed Call-ID';
    case 'cseq':
      h.cseq = parseCSeq(first);
      return h.cseq ? undefined : 'malformed CSeq';
    case 'content-length':
      if (!/^\d{1,10}$/.test(first)) return 'malformed Content-Length';
      return void (h['content-length'] = Number(first));
    case 'max-forwards':
      return /^\d{1,10}$/.test(first) && Number(first) <= 255 ? void (h[name] = first) : 'malformed Max-Forwards';
    case 'authorization':
    case 'proxy-authorization': {
      // an unreadable credential is dropped: the request is then challenged like one without
      const list = values.map(parseAuth).filter((a): a is Record<string, string> => a !== undefined);
      if (list.length) h[name] = list;
      return undefined;
    }
    default:
      h[name] = values.join(', ');
      return undefined;
  }
}
