import assert from 'node:assert/strict';
import { SipGate } from '../../src/app/sip-gate';
import { buildAuthorization } from '../../src/domain/digest';
import { cryptoRandom } from '../../src/ports/random';
import { silentLogger } from '../../src/ports/logger';
import type { CallEndReason, InboundCall, SipAccount } from '../../src/ports/signalling';
import { DrachtioSignalling } from '../../src/sip/drachtio/drachtio-signalling';
import { FakeDrachtioServer, header, phoneRequest, type SipMsg } from '../helpers/fake-drachtio-server';
import { portLayout } from '../helpers/ports';

/**
 * What the real drachtio-server v0.9.4 does that papgate must cope with,
 * taught to the fake (see fake-drachtio-server.ts): requests no app asked
 * for get 503 from the server, and a CANCEL of a proxied emergency call is
 * answered by the server itself.
 */

const REALM = 'papgate.test';
const ACCOUNT: SipAccount = { username: 'dev1', password: 's3cret', mac: '001565aaaaaa', tenantId: 1 };
const OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n';

function makeGate(): SipGate {
  return new SipGate({
    realm: REALM,
    emergencyNumbers: ['112'],
    nonceTtlMs: 60_000,
    lookupAccount: async (u) => (u === ACCOUNT.username ? ACCOUNT : null),
    clock: { now: () => Date.now() },
    random: cryptoRandom,
  });
}

let PORT = 0; // from portLayout() in the suite's first hook

describe('drachtio stack: what the real drachtio-server does (fake drachtio-server)', function () {
  before(async () => {
    ({ PORT } = await portLayout({ PORT: 0 }));
  });
  this.timeout(15_000);
  let server: FakeDrachtioServer;
  let sig: DrachtioSignalling | undefined;
  let calls: InboundCall[];
  let onCall: (call: InboundCall) => Promise<void>;

  beforeEach(async () => {
    server = new FakeDrachtioServer();
    await server.listen(PORT);
    calls = [];
    onCall = async () => undefined;
  });

  afterEach(async () => {
    await sig?.stop();
    sig = undefined;
    await server.close();
  });

  async function startPapgate(): Promise<void> {
    sig = new DrachtioSignalling({
      host: '127.0.0.1',
      port: PORT,
      secret: 'cymru',
      gate: makeGate(),
      clock: { now: () => Date.now() },
      log: silentLogger,
      reconnectMaxDelayMs: 200,
    });
    await sig.start({
      handle: async (call) => {
        calls.push(call);
        await onCall(call);
      },
    });
    await server.waitForRoutes(['register', 'invite', 'options', 'info', 'message']);
  }

  const outOfDialog = (method: string, extra: { headers?: Record<string, string>; body?: string } = {}) =>
    server.finalResponse(server.fromNetwork(phoneRequest(method, 'sip:papgate@127.0.0.1', { user: 'dev1', ...extra })));

  it('the fake, like the real server, answers 503 "No providers available" for a method no app asked for', async () => {
    sig = new DrachtioSignalling({
      host: '127.0.0.1',
      port: PORT,
      secret: 'cymru',
      gate: makeGate(),
      clock: { now: () => Date.now() },
      log: silentLogger,
    });
    // only INVITE and REGISTER: what papgate routed before it handled OPTIONS
    const srf = sig.srf as unknown as { options: unknown; info: unknown; message: unknown; subscribe: unknown; publish: unknown; refer: unknown };
    const none = () => undefined;
    srf.options = none;
    srf.info = none;
    srf.message = none;
    srf.subscribe = none;
    srf.publish = none;
    srf.refer = none;
    await sig.start({ handle: async () => undefined });
    await server.waitForRoutes(['register', 'invite']);
    const res = await outOfDialog('OPTIONS');
    assert.equal(res.status, 503);
    assert.equal(res.reason, 'No providers available');
  });

  it("answers a phone's OPTIONS keep-alive 200 with Allow, like the embedded stack", async () => {
    await startPapgate();
    const res = await outOfDialog('OPTIONS');
    assert.equal(res.status, 200);
    assert.match(header(res, 'allow') ?? '', /INVITE.*OPTIONS.*REGISTER/);
    assert.equal(header(res, 'accept'), 'application/sdp');
  });

  it('answers MESSAGE and SUBSCRIBE 405 with Allow, and an INFO outside any dialog 481', async () => {
    await startPapgate();
    const message = await outOfDialog('MESSAGE', { headers: { 'Content-Type': 'text/plain' }, body: 'hello' });
    assert.equal(message.status, 405);
    assert.match(header(message, 'allow') ?? '', /INVITE/);
    const subscribe = await outOfDialog('SUBSCRIBE', { headers: { Event: 'message-summary', Expires: '3600' } });
    assert.equal(subscribe.status, 405);
    const info = await outOfDialog('INFO', { headers: { 'Content-Type': 'application/dtmf-relay' }, body: 'Signal=5\r\nDuration=160' });
    assert.equal(info.status, 481);
    assert.equal(calls.length, 0, 'none of them is a call');
  });

  it('an emergency call cancelled while the gateway rings ends as remote-cancel; the server answers the phone itself', async () => {
    await startPapgate();
    server.holdProxies = true;
    const ended: CallEndReason[] = [];
    let forwarded = false;
    onCall = async (call) => {
      call.on('ended', (r) => ended.push(r));
      await call.forward('sip:112@192.0.2.10:5060', {}, { kind: 'unverified' });
      forwarded = true;
    };
    const txn = await authenticatedInvite('112');
    await server.until(() => server.proxied.length === 1, 'the proxy');
    assert.equal(server.proxied[0]!.remainInDialog, true, 'record-routed: ACK and BYE pass the server');
    server.cancelProxied(server.proxied[0]!.txnId);
    await server.until(() => forwarded, 'forward() to resolve');
    assert.deepEqual(ended, ['remote-cancel']);
    const answers = server.responsesTo(txn).map((r) => r.status);
    assert.ok(answers.includes(487), `the phone got 487 (${answers.join(',')})`);
    assert.equal(
      server.responsesTo(txn).filter((r) => r.status! >= 200 && r.status !== 487 && r.status !== 200).length,
      0,
      'papgate sent no final answer of its own',
    );
  });

  let nc = 0;
  async function authenticatedInvite(to: string): Promise<string> {
    const uri = `sip:${to}@127.0.0.1`;
    const callId = `call-${Math.random()}`;
    const first = server.fromNetwork(phoneRequest('INVITE', uri, { user: 'dev1', callId, body: OFFER, headers: { 'Content-Type': 'application/sdp' } }));
    const challenge: SipMsg = await server.finalResponse(first);
    assert.equal(challenge.status, 401);
    const nonce = /nonce="([^"]+)"/.exec(header(challenge, 'www-authenticate') ?? '')?.[1] ?? '';
    const authorization = buildAuthorization({
      username: ACCOUNT.username,
      password: ACCOUNT.password,
      realm: REALM,
      nonce,
      uri,
      method: 'INVITE',
      cnonce: 'abc',
      nc: ++nc,
    });
    return server.fromNetwork(
      phoneRequest('INVITE', uri, {
        user: 'dev1',
        callId,
        cseq: 2,
        body: OFFER,
        headers: { 'Content-Type': 'application/sdp', Authorization: authorization },
      }),
    );
  }
});
