import { silentLogger } from '../../src/ports/logger';
import { systemClock } from '../../src/ports/clock';
import type { CallHandler, NotifyTarget } from '../../src/ports/signalling';
import { EmbeddedSignalling } from '../../src/sip/embedded';
import { RawPeer, authorization, header, nonceOf, sipRequest, statusOf, tagOf } from '../helpers/sip-raw-peer';
import { ACCOUNT, OFFER, REALM, contractGate, type GatewaySaw, type PhoneCall, type SignallingRig } from './signalling-rig';

/**
 * The embedded stack on loopback UDP (OS-assigned ports), a phone and an
 * emergency gateway as raw UDP sockets speaking SIP text.
 */

let counter = 0;
const uniq = (p: string) => `${p}-${process.pid}-${++counter}`;
const cseqOf = (m: string) => header(m, 'CSeq') ?? '';

/** A response to a request received as text (RFC 3261 8.2.6), with a To tag. */
function responseText(rq: string, status: number, reason: string): string {
  const head = rq.split('\r\n\r\n', 1)[0]!.split('\r\n');
  const keep = head.filter((l) => /^(Via|From|Call-ID|CSeq)\s*:/i.test(l));
  const to = header(rq, 'To') ?? '';
  return [`SIP/2.0 ${status} ${reason}`, ...keep, `To: ${tagOf(to) ? to : `${to};tag=${uniq('t')}`}`, 'Content-Length: 0', '', ''].join('\r\n');
}

export async function embeddedRig(): Promise<SignallingRig> {
  const signalling = new EmbeddedSignalling({
    address: '127.0.0.1',
    port: 0,
    udp: true,
    tcp: false,
    gate: contractGate(),
    log: silentLogger,
    clock: systemClock,
    t1Ms: 100,
    notifyTimeoutMs: 500,
    forwardNoResponseMs: 3000,
  });
  const phone = await RawPeer.open();
  const gateway = await RawPeer.open();
  const via = `127.0.0.1:${phone.port}`;
  const contact = `sip:${ACCOUNT.username}@${via}`;
  const from = `sip:${ACCOUNT.username}@127.0.0.1`;
  const sipPort = () => signalling.port;
  const send = (text: string) => phone.send(text, sipPort());
  const finalTo = (callId: string, cseq: string) =>
    phone.take((m) => (statusOf(m) ?? 0) >= 200 && header(m, 'Call-ID') === callId && cseqOf(m) === cseq, 5000, `a final response to ${cseq}`);

  /** One request with a digest round first: the 401, then the same with credentials. */
  async function withCredentials(
    method: string,
    uri: string,
    base: Omit<Parameters<typeof sipRequest>[0], 'cseq' | 'method' | 'uri'>,
    password = ACCOUNT.password,
    extra: string[] = [],
  ): Promise<{ challenge: string; cseq: number }> {
    send(sipRequest({ ...base, method, uri, cseq: 1, branch: `z9hG4bK1${base.callId}` }));
    const challenge = await finalTo(base.callId, `1 ${method}`);
    if (method === 'INVITE')
      send(sipRequest({ ...base, method: 'ACK', uri, cseq: 1, toTag: tagOf(header(challenge, 'To')), branch: `z9hG4bK1${base.callId}` }));
    const auth = authorization({ username: ACCOUNT.username, password, realm: REALM, nonce: nonceOf(challenge), uri, method });
    send(sipRequest({ ...base, method, uri, cseq: 2, branch: `z9hG4bK2${base.callId}`, extra: [auth, ...extra] }));
    return { challenge, cseq: 2 };
  }

  return {
    capabilities: { emergencyRelay: 'b2bua', cancelledInviteAnsweredBy: 'papgate' },
    signalling,
    phoneContact: contact,
    gatewayUri: `sip:112@127.0.0.1:${gateway.port}`,
    start: (handler: CallHandler) => signalling.start(handler),
    async stop() {
      await signalling.stop();
      await phone.close();
      await gateway.close();
    },
    async registerBare() {
      const callId = uniq('reg');
      send(sipRequest({ method: 'REGISTER', uri: `sip:127.0.0.1:${sipPort()}`, callId, fromTag: 'r1', cseq: 1, viaHost: via, from, to: from, contact }));
      return statusOf(await finalTo(callId, '1 REGISTER'))!;
    },
    async register(o) {
      const callId = uniq('reg');
      const aor = `sip:${o.aor ?? ACCOUNT.username}@127.0.0.1`;
      await withCredentials('REGISTER', `sip:127.0.0.1:${sipPort()}`, { callId, fromTag: 'r1', viaHost: via, from: aor, to: aor, contact }, o.password, [
        `Expires: ${o.expires}`,
      ]);
      return statusOf(await finalTo(callId, '2 REGISTER'))!;
    },
    async invite(dialled) {
      const callId = uniq('call');
      const uri = `sip:${dialled}@127.0.0.1:${sipPort()}`;
      const base = { callId, fromTag: 'c1', viaHost: via, from, contact, body: OFFER };
      await withCredentials('INVITE', uri, base);
      let toTag: string | undefined;
      let cseq = 2;
      const inDialog = (method: string, extra: { contentType?: string; body?: string } = {}) => {
        cseq += 1;
        send(sipRequest({ method, uri, callId, fromTag: 'c1', toTag, cseq, viaHost: via, from, ...extra }));
        return finalTo(callId, `${cseq} ${method}`).then((m) => statusOf(m)!);
      };
      const call: PhoneCall = {
        callId,
        async final() {
          const rs = await finalTo(callId, '2 INVITE');
          toTag = tagOf(header(rs, 'To'));
          if (statusOf(rs)! >= 300)
            send(sipRequest({ method: 'ACK', uri, callId, fromTag: 'c1', toTag, cseq: 2, viaHost: via, from, branch: `z9hG4bK2${callId}` }));
          return { status: statusOf(rs)!, body: rs.split('\r\n\r\n').slice(1).join('\r\n\r\n') };
        },
        async finalsFromPapgate() {
          return await call.final().then(
            (f) => [f.status],
            () => [],
          );
        },
        ack: () => send(sipRequest({ method: 'ACK', uri, callId, fromTag: 'c1', toTag, cseq: 2, viaHost: via, from })),
        info: (contentType, body) => inDialog('INFO', { contentType, body }),
        bye: () => inDialog('BYE'),
        cancel: () => send(sipRequest({ method: 'CANCEL', uri, callId, fromTag: 'c1', cseq: 2, viaHost: via, from, branch: `z9hG4bK2${callId}` })),
        async byeFromPapgate() {
          const bye = await phone.take((m) => m.startsWith('BYE ') && header(m, 'Call-ID') === callId, 5000, 'a BYE from papgate');
          phone.send(responseText(bye, 200, 'OK'), sipPort());
        },
      };
      return call;
    },
    notifyTarget(answer: boolean): NotifyTarget {
      if (answer) {
        void phone
          .take((m) => m.startsWith('NOTIFY '), 5000, 'a NOTIFY')
          .then(
            (n) => phone.send(responseText(n, 200, 'OK'), sipPort()),
            () => undefined,
          );
        return { uri: contact, username: ACCOUNT.username };
      }
      // the gateway's socket takes it and never answers
      return { uri: `sip:${ACCOUNT.username}@127.0.0.1:${gateway.port}`, username: ACCOUNT.username };
    },
    async gatewayRefused(): Promise<GatewaySaw> {
      const invite = await gateway.take((m) => m.startsWith('INVITE '), 5000, 'the forwarded INVITE');
      gateway.send(responseText(invite, 503, 'Service Unavailable'), sipPort());
      return { requestUri: invite.split(' ')[1]!, header: (name) => header(invite, name) };
    },
  };
}
