import type { SipEndpointAddress } from '../../ports/signalling';
import { routeHeader } from './messages';
import type { NameAddr, SipRequest } from './sip-lib';

/**
 * Dialog state (RFC 3261 section 12) as seen from our side, and the requests
 * we build inside one: Request-URI is the remote target, Route the route set,
 * From carries our tag, To theirs, CSeq counts up.
 */
export interface Dialog {
  callId: string;
  localTag: string;
  remoteTag: string;
  /** Our identity (From of our requests), without tag. */
  local: NameAddr;
  /** Their identity (To of our requests), without tag. */
  remote: NameAddr;
  /** Their Contact URI. */
  remoteTarget: string;
  /** Route set, in the order our requests list them. */
  routeSet: string[];
  localSeq: number;
  /** Where in-dialog requests go: the peer's real source (NAT), or the gateway we dialled. */
  peer: SipEndpointAddress;
}

export interface RequestExtras {
  headers?: Record<string, string>;
  contentType?: string;
  content?: string;
}

/** A new in-dialog request; takes the next local CSeq. Via is added when it is sent. */
export function inDialogRequest(d: Dialog, method: string, x: RequestExtras = {}): SipRequest {
  d.localSeq += 1;
  return build(d, method, d.localSeq, x);
}

/** The ACK for a 2xx to our INVITE with CSeq `seq` (same number, method ACK). */
export function ackFor(d: Dialog, seq: number, x: RequestExtras = {}): SipRequest {
  return build(d, 'ACK', seq, x);
}

function build(d: Dialog, method: string, seq: number, x: RequestExtras): SipRequest {
  const headers: SipRequest['headers'] = {
    from: { ...d.local, params: { ...d.local.params, tag: d.localTag } },
    to: { ...d.remote, params: { ...d.remote.params, tag: d.remoteTag } },
    'call-id': d.callId,
    cseq: { seq, method },
  };
  const route = routeHeader(d.routeSet);
  if (route) headers.route = route;
  for (const [k, v] of Object.entries(x.headers ?? {})) headers[k.toLowerCase()] = v;
  if (x.content) headers['content-type'] = x.contentType ?? 'application/sdp';
  return { method, uri: d.remoteTarget, headers, content: x.content ?? '' };
}

/** Strips the tag from a From/To so it can serve as a dialog identity. */
export function withoutTag(a: NameAddr): NameAddr {
  const params = { ...a.params };
  delete params.tag;
  return { name: a.name, uri: a.uri, params };
}
