import { systemClock } from '../../src/ports/clock';
import { silentLogger } from '../../src/ports/logger';
import type { CallHandler, NotifyTarget } from '../../src/ports/signalling';
import { DrachtioSignalling } from '../../src/sip/drachtio/drachtio-signalling';
import { buildAuthorization } from '../../src/domain/digest';
import { FakeDrachtioServer, header, phoneRequest, type SipMsg } from '../helpers/fake-drachtio-server';
import { ACCOUNT, OFFER, REALM, contractGate, type GatewaySaw, type PhoneCall, type SignallingRig } from './signalling-rig';
import { freePort } from '../helpers/ports';

/**
 * The drachtio stack (real drachtio-srf) against the fake drachtio-server on
 * its wire protocol; the phone and the gateway are what that server reports.
 */

let counter = 0;
const uniq = (p: string) => `${p}-${process.pid}-${++counter}`;

export async function drachtioRig(): Promise<SignallingRig> {
  const PORT = await freePort();
  const server = new FakeDrachtioServer();
  await server.listen(PORT);
  server.proxyStatus = 503;
  const signalling = new DrachtioSignalling({
    host: '127.0.0.1',
    port: PORT,
    secret: 'cymru',
    gate: contractGate(),
    clock: systemClock,
    log: silentLogger,
    notifyTimeoutMs: 500,
  });
  const phoneContact = `sip:${ACCOUNT.username}@127.0.0.1:5062`;
  let nc = 0;
  const auth = (challenge: SipMsg, method: string, uri: string, password = ACCOUNT.password) => {
    const nonce = /nonce="([^"]+)"/.exec(header(challenge, 'www-authenticate') ?? '')?.[1] ?? '';
    return buildAuthorization({ username: ACCOUNT.username, password, realm: REALM, nonce, uri, method, cnonce: 'c0ffee', nc: ++nc });
  };
  const registerUri = 'sip:127.0.0.1';
  let answerNotify = true;
  server.onAppRequest = (req) => (req.method === 'NOTIFY' && !answerNotify ? null : { status: req.method === 'INVITE' ? 488 : 200 });

  return {
    capabilities: { emergencyRelay: 'proxy', cancelledInviteAnsweredBy: 'sip-server' },
    signalling,
    phoneContact,
    gatewayUri: 'sip:112@192.0.2.10:5060',
    async start(handler: CallHandler) {
      await signalling.start(handler);
      await server.waitForRoutes(['register', 'invite']);
    },
    async stop() {
      await signalling.stop();
      await server.close();
    },
    async registerBare() {
      const to = `<sip:${ACCOUNT.username}@127.0.0.1>`;
      return (await server.finalResponse(server.fromNetwork(phoneRequest('REGISTER', registerUri, { user: ACCOUNT.username, to, callId: uniq('reg') }))))
        .status!;
    },
    async register(o) {
      const callId = uniq('reg');
      const to = `<sip:${o.aor ?? ACCOUNT.username}@127.0.0.1>`;
      const challenge = await server.finalResponse(server.fromNetwork(phoneRequest('REGISTER', registerUri, { user: ACCOUNT.username, to, callId })));
      const second = server.fromNetwork(
        phoneRequest('REGISTER', registerUri, {
          user: ACCOUNT.username,
          to,
          callId,
          cseq: 2,
          headers: { Authorization: auth(challenge, 'REGISTER', registerUri, o.password), Expires: o.expires },
        }),
      );
      return (await server.finalResponse(second)).status!;
    },
    async invite(dialled) {
      const callId = uniq('call');
      const uri = `sip:${dialled}@127.0.0.1`;
      const headers = { 'Content-Type': 'application/sdp' };
      const challenge = await server.finalResponse(server.fromNetwork(phoneRequest('INVITE', uri, { user: ACCOUNT.username, callId, body: OFFER, headers })));
      const txn = server.fromNetwork(
        phoneRequest('INVITE', uri, {
          user: ACCOUNT.username,
          callId,
          cseq: 2,
          body: OFFER,
          headers: { ...headers, Authorization: auth(challenge, 'INVITE', uri) },
        }),
      );
      const dialog = () => {
        const id = server.dialogOfTxn(txn);
        if (!id) throw new Error('no dialog: the call was not answered');
        return id;
      };
      const call: PhoneCall = {
        callId,
        async final() {
          const rs = await server.finalResponse(txn);
          return { status: rs.status!, body: rs.body };
        },
        finalsFromPapgate: async () =>
          server
            .responsesTo(txn)
            .map((r) => r.status!)
            .filter((s) => s >= 200),
        ack: () => {
          server.inDialog(dialog(), 'ACK');
        },
        info: async (contentType, body) =>
          (await server.finalResponse(server.inDialog(dialog(), 'INFO', { headers: { 'Content-Type': contentType }, body }))).status!,
        bye: async () => (await server.finalResponse(server.inDialog(dialog(), 'BYE'))).status!,
        cancel: () => {
          server.fromNetwork(phoneRequest('CANCEL', uri, { user: ACCOUNT.username, callId, cseq: 2 }));
        },
        async byeFromPapgate() {
          await server.until(() => server.requestsFromApp('BYE').some((b) => header(b.msg, 'call-id') === callId), 'a BYE from papgate');
        },
      };
      return call;
    },
    notifyTarget(answer: boolean): NotifyTarget {
      answerNotify = answer;
      return { uri: phoneContact, username: ACCOUNT.username };
    },
    async gatewayRefused(): Promise<GatewaySaw> {
      await server.until(() => server.proxied.length > 0, 'the proxied INVITE');
      const p = server.proxied[0]!;
      const headers = new Map(p.headers.map(([n, v]) => [n.toLowerCase(), v]));
      return { requestUri: p.destinations[0]!, header: (name) => headers.get(name.toLowerCase()) };
    },
  };
}
