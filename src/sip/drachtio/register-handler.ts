import type { Admission, AdmissionRequest } from '../../app/sip-gate';
import type { Logger } from '../../ports/logger';
import type { Registrar } from '../../app/registrar';
import { challengeHeaders, parsedContacts, parsedFrom, sourceOf, userOfUri } from './sip-text';
import type { SrfRequestLike, SrfResponseLike } from './srf-types';

/** What the drachtio adapter needs of the shared SipGate (src/app/sip-gate.ts). */
export interface SipGateLike {
  admit(req: AdmissionRequest): Promise<Admission>;
  /** Emergency INVITEs bypass the per-source rate limit. */
  isEmergency?(dialled: string): boolean;
}

/** The final status sent, and the account the REGISTER authenticated as. */
export interface RegisterAnswer {
  status: number;
  username: string | undefined;
}

/**
 * REGISTER over drachtio, with the embedded registrar's answers: 401
 * challenge, 403 for a wrong password or another address-of-record, 423
 * below Min-Expires, 400 for malformed expiry, 500 for CSeq out of order,
 * 200 listing the binding.
 */
export async function handleRegister(
  req: SrfRequestLike,
  res: SrfResponseLike,
  d: { gate: SipGateLike; registrations: Registrar; log: Logger; now(): number },
): Promise<RegisterAnswer> {
  let username: string | undefined;
  const send = (status: number, opts?: { headers: Record<string, string> }): RegisterAnswer => {
    if (opts) res.send(status, opts);
    else res.send(status);
    return { status, username };
  };
  const admission = await d.gate.admit({ method: 'REGISTER', dialled: userOfUri(req.uri) ?? '', authorization: req.get('Authorization') });
  if (admission.kind === 'challenge') return send(401, challengeHeaders(admission.wwwAuthenticate));
  if (admission.kind === 'reject') return send(admission.status);
  const account = admission.account;
  username = account?.username;
  if (!account || userOfUri(parsedFrom(req, 'to')?.uri) !== account.username) {
    d.log.info({ username: account?.username }, 'REGISTER for another address-of-record refused');
    return send(403);
  }
  const rawContact = req.get('Contact')?.trim();
  const first = parsedContacts(req)[0];
  const expiresParam = first?.params?.expires;
  const path = (req.get('Path')?.match(/<[^>]*>/g) ?? []).map((u) => u.slice(1, -1));
  const result = await d.registrations.register({
    username: account.username,
    contact: rawContact === '*' ? '*' : first ? { uri: first.uri, expires: expiresParam == null ? undefined : String(expiresParam) } : undefined,
    expiresHeader: req.get('Expires'),
    callId: req.get('Call-ID') ?? '',
    cseq: Number.parseInt(req.get('CSeq') ?? '', 10) || 0,
    source: sourceOf(req),
    userAgent: req.get('User-Agent'),
    path,
  });
  switch (result.kind) {
    case 'too-brief':
      return send(423, { headers: { 'Min-Expires': String(result.minExpires) } });
    case 'bad':
      return send(400, { headers: { Warning: `399 papgate "${result.reason}"` } });
    case 'out-of-order':
      return send(500, { headers: { Warning: '399 papgate "CSeq out of order"' } });
    case 'ok': {
      // A plain refresh is routine: only a new, moved or removed binding is info.
      d.log[result.changed ? 'info' : 'debug']({ username: account.username, expires: result.expiresSec }, result.binding ? 'registered' : 'unregistered');
      const headers: Record<string, string> = { Date: new Date(d.now()).toUTCString(), Supported: 'path' };
      // RFC 3327 5.3: repeat the stored Path when the phone said it supports path.
      if (path.length && /(^|,)\s*path\s*(,|$)/i.test(req.get('Supported') ?? '')) headers.Path = path.map((u) => `<${u}>`).join(', ');
      if (result.binding) headers.Contact = `<${result.binding.contact}>;expires=${result.expiresSec}`;
      return send(200, { headers });
    }
  }
}
