import { parseUri } from '../../domain/sip-uri';
import { parseCSeq, parseNameAddr, parseViaList } from './message/headers';
import type { SipMessage } from './message/types';

/**
 * What makes a parsed message unusable, and the 400 we can still send for a
 * broken request when enough of it survives to address a response. Pure.
 */

/** Why a parsed message cannot be processed, or null when it is usable. */
export function problemWith(m: SipMessage, bodyBytes?: number): string | null {
  const h = m.headers;
  if (!Array.isArray(h.via) || h.via.length === 0 || !h.via[0]?.host) return 'missing or malformed Via';
  if (typeof h['call-id'] !== 'string' || h['call-id'].trim() === '') return 'missing Call-ID';
  if (!h.from || typeof h.from.uri !== 'string') return 'missing or malformed From';
  if (!h.to || typeof h.to.uri !== 'string') return 'missing or malformed To';
  if (!h.cseq || !Number.isFinite(h.cseq.seq) || h.cseq.seq < 0 || h.cseq.seq >= 2 ** 31) return 'missing or malformed CSeq';
  if (m.method !== undefined) {
    if (h.cseq.method !== m.method) return 'CSeq method does not match the request method';
    if (/^sips?:/i.test(m.uri ?? '')) {
      const ruri = parseUri(m.uri);
      if (!ruri) return 'malformed Request-URI';
      if (Object.keys(ruri.headers).length > 0) return 'headers are not allowed in a Request-URI';
    }
  } else if (!(typeof m.status === 'number' && m.status >= 100 && m.status <= 699)) {
    return 'bad status code';
  }
  const declared = h['content-length'];
  if (declared !== undefined && !(Number.isInteger(declared) && declared >= 0)) return 'malformed Content-Length';
  if (bodyBytes !== undefined && declared !== undefined && declared > bodyBytes) return 'truncated body (Content-Length exceeds the datagram)';
  return null;
}

/** Bytes after the blank line that ends the headers, or undefined when there is no blank line. */
export function bodyLength(raw: Buffer): number | undefined {
  const i = raw.indexOf('\r\n\r\n');
  return i < 0 ? undefined : raw.length - i - 4;
}

const SALVAGED = /^(via|v|from|f|to|t|call-id|i|cseq)[ \t]*:[ \t]*(.*)$/i;
const LONG_NAME: Record<string, string> = { v: 'via', f: 'from', t: 'to', i: 'call-id' };
/** A copied header line must itself be well-formed, or the 400 would be as broken as the request. */
const WELL_FORMED: Record<string, (value: string) => boolean> = {
  via: (v) => parseViaList([v]) !== undefined,
  from: (v) => parseNameAddr(v) !== undefined,
  to: (v) => parseNameAddr(v) !== undefined,
  'call-id': (v) => /^[\x21-\x7e]+$/.test(v),
  cseq: (v) => parseCSeq(v) !== undefined,
};
const REASON: Record<number, string> = { 400: 'Bad Request', 505: 'Version Not Supported', 513: 'Message Too Large' };

/**
 * A 400 Bad Request (or 505/513) for a raw request, built from whatever header
 * lines survive, with the problem in a Warning header. Undefined when it is
 * not a request, is an ACK (never answered), or has no Via to answer along.
 * Works on text only, so no broken header can make it throw.
 */
export function badRequestFor(raw: string, problem: string, status: 400 | 505 | 513 = 400): string | undefined {
  const head = raw.slice(0, 16384).split('\r\n\r\n', 1)[0] ?? '';
  const lines = head.replace(/^(?:\r\n)+/, '').split(/\r?\n/);
  // two separate, unambiguous tests: one pattern with ' +(.+?) +' backtracks for ever on a line of spaces
  const first = lines[0] ?? '';
  const method = /^([A-Za-z0-9!%*_+`'~.-]+) /.exec(first)?.[1];
  if (!method || !/ SIP\/\d+\.\d+ *$/.test(first) || method.toUpperCase() === 'ACK') return undefined;
  const seen = new Set<string>();
  const kept = lines.slice(1).filter((l) => {
    const h = l.length < 1024 ? SALVAGED.exec(l) : null;
    if (!h) return false;
    const name = LONG_NAME[h[1]!.toLowerCase()] ?? h[1]!.toLowerCase();
    if (name === 'via') return true; // repaired below: it is where the answer goes
    if (!WELL_FORMED[name]!(h[2]!.trim())) return false;
    if (seen.has(name)) return false; // the others are single-valued: the first one only
    seen.add(name);
    return true;
  });
  const answerable = kept.map(repairVia).filter((l): l is string => l !== undefined);
  if (!answerable.some((l) => l.startsWith('Via: '))) return undefined;
  const warning = problem.replace(/["\\\r\n]/g, ' ').slice(0, 120);
  return [`SIP/2.0 ${status} ${REASON[status]}`, ...answerable, `Warning: 399 papgate "${warning}"`, 'Content-Length: 0', '', ''].join('\r\n');
}

/**
 * A Via line as it is when well-formed; else its first value cut down to the
 * sent-protocol, sent-by and the parameters that parse (so the 400 still
 * carries the branch); undefined when nothing usable is left. Other lines pass.
 */
function repairVia(line: string): string | undefined {
  const h = /^(?:via|v)[ \t]*:[ \t]*(.*)$/i.exec(line);
  if (!h) return line;
  const value = h[1]!.trim();
  if (WELL_FORMED.via!(value)) return `Via: ${value}`;
  const [sentBy = '', ...params] = (value.split(',')[0] ?? '').split(';');
  const good = params.map((p) => p.trim()).filter((p) => /^[A-Za-z0-9\-.!%*_+`'~]+(?:[ \t]*=[ \t]*[A-Za-z0-9\-.!%*_+`'~:[\]]+)?$/.test(p));
  const repaired = [sentBy.trim(), ...good].join(';');
  return WELL_FORMED.via!(repaired) ? `Via: ${repaired}` : undefined;
}
