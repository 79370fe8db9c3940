import assert from 'node:assert/strict';
import { SipGate } from '../../src/app/sip-gate';
import { buildAuthorization } from '../../src/domain/digest';
import { cryptoRandom } from '../../src/ports/random';
import { silentLogger } from '../../src/ports/logger';
import type { CallEndReason, InboundCall, SipAccount } from '../../src/ports/signalling';
import { DrachtioSignalling } from '../../src/sip/drachtio/drachtio-signalling';
import { FakeDrachtioServer, header, phoneRequest, type SipMsg } from '../helpers/fake-drachtio-server';
import { portLayout } from '../helpers/ports';

/** The drachtio adapter (real drachtio-srf) against a fake drachtio-server on the wire. */

const REALM = 'papgate.test';
const ACCOUNT: SipAccount = { username: 'dev1', password: 's3cret', mac: '001565aaaaaa', tenantId: 1 };
const OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n';
const ANSWER = OFFER.replace('40000', '41000');

function makeGate(storeDown = false): SipGate {
  return new SipGate({
    realm: REALM,
    emergencyNumbers: ['112'],
    nonceTtlMs: 60_000,
    digestAlgorithms: ['MD5', 'SHA-256'],
    lookupAccount: async (u) => {
      if (storeDown) throw new Error('store down');
      return u === ACCOUNT.username ? ACCOUNT : null;
    },
    clock: { now: () => Date.now() },
    random: cryptoRandom,
  });
}

let nc = 0;
function authFor(challenge: SipMsg, method: string, uri: string, password = ACCOUNT.password): string {
  const www = header(challenge, 'www-authenticate') ?? '';
  const nonce = /nonce="([^"]+)"/.exec(www)?.[1] ?? '';
  return buildAuthorization({ username: ACCOUNT.username, password, realm: REALM, nonce, uri, method, cnonce: 'abc', nc: ++nc });
}

let PORT = 0; // from portLayout() in the suite's first hook

describe('drachtio signalling adapter (fake drachtio-server)', function () {
  before(async () => {
    ({ PORT } = await portLayout({ PORT: 0 }));
  });
  this.timeout(15_000);
  let server: FakeDrachtioServer;
  let sig: DrachtioSignalling;
  let calls: InboundCall[];
  let onCall: (call: InboundCall) => Promise<void>;

  beforeEach(async () => {
    server = new FakeDrachtioServer();
    await server.listen(PORT);
    calls = [];
    onCall = async () => undefined;
    sig = new DrachtioSignalling({
      host: '127.0.0.1',
      port: PORT,
      secret: 'cymru',
      gate: makeGate(),
      clock: { now: () => Date.now() },
      log: silentLogger,
      notifyTimeoutMs: 500,
      reconnectMaxDelayMs: 200,
    });
    await sig.start({
      handle: async (call) => {
        calls.push(call);
        await onCall(call);
      },
    });
    await server.waitForRoutes(['register', 'invite']);
  });

  afterEach(async () => {
    await sig.stop();
    await server.close();
  });

  /** INVITE with a challenge round; returns the authenticated INVITE's transaction. */
  async function authenticatedInvite(to = '*89', body = OFFER, callId = `call-${Math.random()}`): Promise<string> {
    const uri = `sip:${to}@127.0.0.1`;
    const first = server.fromNetwork(phoneRequest('INVITE', uri, { user: 'dev1', callId, body, headers: { 'Content-Type': 'application/sdp' } }));
    const challenge = await server.finalResponse(first);
    assert.equal(challenge.status, 401);
    return server.fromNetwork(
      phoneRequest('INVITE', uri, {
        user: 'dev1',
        callId,
        cseq: 2,
        body,
        headers: { 'Content-Type': 'application/sdp', Authorization: authFor(challenge, 'INVITE', uri) },
      }),
    );
  }

  async function until(check: () => boolean, what: string): Promise<void> {
    return server.until(check, what);
  }

  it('connects, authenticates with the secret, routes REGISTER and INVITE, and reports ready', () => {
    assert.equal(sig.isReady(), true);
    assert.equal(server.authentications, 1);
  });

  it('challenges a REGISTER, then binds the contact it authenticates', async () => {
    const uri = 'sip:127.0.0.1';
    const first = server.fromNetwork(phoneRequest('REGISTER', uri, { user: 'dev1', to: '<sip:dev1@127.0.0.1>', callId: 'reg1' }));
    const challenge = await server.finalResponse(first);
    assert.equal(challenge.status, 401);
    assert.match(header(challenge, 'www-authenticate') ?? '', /Digest realm="papgate.test"/);
    // One header line per algorithm (never comma-joined), in the gate's order.
    const challenges = challenge.headers.filter(([n]) => n.toLowerCase() === 'www-authenticate').map(([, v]) => v);
    assert.deepEqual(
      challenges.map((c) => /algorithm=([^,]+)/.exec(c)?.[1]),
      ['MD5', 'SHA-256'],
      challenges.join('\n'),
    );
    const second = server.fromNetwork(
      phoneRequest('REGISTER', uri, {
        user: 'dev1',
        to: '<sip:dev1@127.0.0.1>',
        callId: 'reg1',
        cseq: 2,
        headers: { Authorization: authFor(challenge, 'REGISTER', uri), Expires: '120' },
      }),
      { address: '127.0.0.1', port: 5062, protocol: 'udp' },
    );
    const ok = await server.finalResponse(second);
    assert.equal(ok.status, 200);
    assert.match(header(ok, 'contact') ?? '', /expires=120/);
    const reg = await sig.registration('dev1');
    assert.equal(reg?.contact, 'sip:dev1@127.0.0.1:5062');
    assert.deepEqual(reg?.source, { address: '127.0.0.1', port: 5062, transport: 'udp' });
  });

  it('answers REGISTER like the embedded registrar: 423 below Min-Expires, 403 for another AOR, Expires 0 unbinds', async () => {
    const uri = 'sip:127.0.0.1';
    const register = async (to: string, headers: Record<string, string>, cseq: number) => {
      const first = server.fromNetwork(phoneRequest('REGISTER', uri, { user: 'dev1', to, callId: 'reg2', cseq }));
      const challenge = await server.finalResponse(first);
      return server.finalResponse(
        server.fromNetwork(
          phoneRequest('REGISTER', uri, {
            user: 'dev1',
            to,
            callId: 'reg2',
            cseq: cseq + 1,
            headers: { Authorization: authFor(challenge, 'REGISTER', uri), ...headers },
          }),
        ),
      );
    };
    const brief = await register('<sip:dev1@127.0.0.1>', { Expires: '10' }, 1);
    assert.equal(brief.status, 423);
    assert.equal(header(brief, 'min-expires'), '60');
    assert.equal((await register('<sip:someone-else@127.0.0.1>', { Expires: '120' }, 3)).status, 403);
    assert.equal((await register('<sip:dev1@127.0.0.1>', { Expires: '120' }, 5)).status, 200);
    assert.ok(await sig.registration('dev1'));
    assert.equal((await register('<sip:dev1@127.0.0.1>', { Expires: '0' }, 7)).status, 200);
    assert.equal(await sig.registration('dev1'), undefined);
  });

  it('refuses a wrong password with 403 and never calls the handler', async () => {
    const uri = 'sip:*89@127.0.0.1';
    const first = server.fromNetwork(phoneRequest('INVITE', uri, { user: 'dev1', callId: 'x1', body: OFFER }));
    const challenge = await server.finalResponse(first);
    const second = server.fromNetwork(
      phoneRequest('INVITE', uri, {
        user: 'dev1',
        callId: 'x1',
        cseq: 2,
        body: OFFER,
        headers: { Authorization: authFor(challenge, 'INVITE', uri, 'wrong') },
      }),
    );
    assert.equal((await server.finalResponse(second)).status, 403);
    assert.equal(calls.length, 0);
  });

  it('answers an authenticated INVITE, waits for the ACK, takes INFO digits (415/400 for other bodies), and ends on BYE', async () => {
    const ended: CallEndReason[] = [];
    const digits: string[] = [];
    let answered = false;
    onCall = async (call) => {
      call.on('ended', (r) => ended.push(r));
      call.on('dtmf', (d) => digits.push(d));
      await call.answer(ANSWER);
      answered = true;
    };
    const txn = await authenticatedInvite();
    const ok = await server.finalResponse(txn);
    assert.equal(ok.status, 200);
    assert.equal(ok.body, ANSWER);
    const call = calls[0]!;
    assert.equal(call.dialled, '*89');
    assert.equal(call.fromUser, 'dev1');
    assert.equal(call.account?.username, 'dev1');
    assert.equal(call.contact, 'sip:dev1@127.0.0.1:5062');
    assert.equal(call.offerSdp, OFFER);
    assert.equal(answered, false, 'answer() must wait for the ACK');
    const dialogId = server.dialogOfTxn(txn)!;
    server.inDialog(dialogId, 'ACK');
    await until(() => answered, 'answer() to resolve after the ACK');
    const info1 = server.inDialog(dialogId, 'INFO', { headers: { 'Content-Type': 'application/dtmf-relay' }, body: 'Signal=5\r\nDuration=160\r\n' });
    const info2 = server.inDialog(dialogId, 'INFO', { headers: { 'Content-Type': 'application/dtmf' }, body: '11' });
    const info3 = server.inDialog(dialogId, 'INFO', { headers: { 'Content-Type': 'text/plain' }, body: 'hello' });
    const info4 = server.inDialog(dialogId, 'INFO', { headers: { 'Content-Type': 'application/dtmf-relay' }, body: 'Signal=x' });
    assert.equal((await server.finalResponse(info1)).status, 200);
    assert.equal((await server.finalResponse(info2)).status, 200);
    const unsupported = await server.finalResponse(info3);
    assert.equal(unsupported.status, 415);
    assert.equal(header(unsupported, 'accept'), 'application/dtmf-relay, application/dtmf');
    assert.equal((await server.finalResponse(info4)).status, 400);
    await until(() => digits.length === 2, 'two INFO digits');
    assert.deepEqual(digits, ['5', '#']);
    const bye = server.inDialog(dialogId, 'BYE');
    assert.equal((await server.finalResponse(bye)).status, 200);
    await until(() => ended.length > 0, 'ended');
    assert.deepEqual(ended, ['remote-bye']);
  });

  it('hangs up an answered call with BYE', async () => {
    onCall = async (call) => {
      await call.answer(ANSWER);
      await call.hangup();
    };
    const txn = await authenticatedInvite();
    await server.finalResponse(txn);
    server.inDialog(server.dialogOfTxn(txn)!, 'ACK');
    const bye = await server.waitForAppRequest('BYE');
    assert.equal(header(bye.msg, 'call-id'), header(server.responsesTo(txn)[0]!, 'call-id'));
  });

  it('refuses to answer an INVITE without a Contact (400) instead of leaving a dialog behind', async () => {
    let error: unknown;
    onCall = async (call) => {
      await call.answer(ANSWER).catch((e: unknown) => {
        error = e;
      });
    };
    const uri = 'sip:*89@127.0.0.1';
    const noContact = (extra: Record<string, string>, cseq: number) => {
      const m = phoneRequest('INVITE', uri, { user: 'dev1', callId: 'nc1', cseq, body: OFFER, headers: extra });
      m.headers = m.headers.filter(([n]) => n !== 'Contact');
      return m;
    };
    const challenge = await server.finalResponse(server.fromNetwork(noContact({}, 1)));
    const txn = server.fromNetwork(noContact({ Authorization: authFor(challenge, 'INVITE', uri) }, 2));
    assert.equal((await server.finalResponse(txn)).status, 400);
    await until(() => error !== undefined, 'answer() to fail');
    assert.equal(server.responsesTo(txn).filter((r) => r.status === 200).length, 0);
  });

  it('rejects with the status the handler chooses', async () => {
    onCall = async (call) => call.reject(488, 'Not Acceptable Here');
    const txn = await authenticatedInvite();
    const res = await server.finalResponse(txn);
    assert.equal(res.status, 488);
  });

  it('reports a CANCEL before the answer as remote-cancel', async () => {
    const ended: CallEndReason[] = [];
    onCall = async (call) => {
      call.on('ended', (r) => ended.push(r));
    };
    const callId = 'cancel-me';
    await authenticatedInvite('*89', OFFER, callId);
    await until(() => calls.length === 1, 'the call');
    server.fromNetwork(phoneRequest('CANCEL', 'sip:*89@127.0.0.1', { user: 'dev1', callId, cseq: 2 }));
    await until(() => ended.length === 1, 'ended');
    assert.deepEqual(ended, ['remote-cancel']);
  });

  it('passes an emergency call through drachtio-server as a record-routing proxy', async () => {
    let forwarded = false;
    onCall = async (call) => {
      await call.forward('sip:112@192.0.2.10:5060', { 'X-Papgate-Emergency': 'dev1' }, { kind: 'device', username: 'dev1' });
      forwarded = true;
    };
    await authenticatedInvite('112');
    await until(() => forwarded, 'forward() to resolve');
    const p = server.proxied[0]!;
    assert.deepEqual(p.destinations, ['sip:112@192.0.2.10:5060']);
    assert.equal(p.remainInDialog, true);
    assert.ok(p.headers.some(([n, v]) => n === 'X-Papgate-Emergency' && v === 'dev1'));
    assert.ok(
      p.headers.some(([n, v]) => n.toLowerCase() === 'p-asserted-identity' && v === '<sip:dev1@papgate.invalid>'),
      JSON.stringify(p.headers),
    );
  });

  it('lets an emergency call through without credentials when the store is down', async () => {
    await sig.stop();
    sig = new DrachtioSignalling({
      host: '127.0.0.1',
      port: PORT,
      secret: 'cymru',
      gate: makeGate(true),
      clock: { now: () => Date.now() },
      log: silentLogger,
    });
    let account: SipAccount | null | undefined;
    await sig.start({
      handle: async (call) => {
        account = call.account;
        await call.forward('sip:112@192.0.2.10', {}, { kind: 'unverified' });
      },
    });
    await server.waitForRoutes(['invite']);
    server.fromNetwork(phoneRequest('INVITE', 'sip:112@127.0.0.1', { user: 'dev1', body: OFFER }));
    await until(() => server.proxied.length === 1, 'the proxy');
    assert.equal(account, null);
    const headers = new Map(server.proxied[0]!.headers.map(([n, v]) => [n.toLowerCase(), v]));
    assert.match(headers.get('from') ?? '', /^<sip:unverified@papgate\.invalid>(;tag=[^;]+)?$/, "papgate's own From replaces the caller's");
    assert.equal(headers.get('p-asserted-identity'), '<sip:unverified@papgate.invalid>');
  });

  it('challenges an emergency INVITE with forged credentials while the store answers', async () => {
    const uri = 'sip:112@127.0.0.1';
    const forged = 'Digest username="nobody", realm="papgate.test", nonce="bm9uc2Vuc2U", uri="sip:112@127.0.0.1", response="00000000000000000000000000000000"';
    const txn = server.fromNetwork(
      phoneRequest('INVITE', uri, { user: 'dev1', body: OFFER, headers: { 'Content-Type': 'application/sdp', Authorization: forged } }),
    );
    assert.equal((await server.finalResponse(txn)).status, 401);
    assert.equal(server.proxied.length, 0);
    assert.equal(calls.length, 0);
  });

  it('sends check-sync NOTIFY and resolves with the final status (0 without one)', async () => {
    const status = await sig.notify({ uri: 'sip:dev1@127.0.0.1:5062', username: 'dev1' }, 'check-sync');
    assert.equal(status, 200);
    const n = server.requestsFromApp('NOTIFY')[0]!;
    assert.equal(n.msg.uri, 'sip:dev1@127.0.0.1:5062');
    assert.equal(header(n.msg, 'event'), 'check-sync');
    assert.match(header(n.msg, 'to') ?? '', /sip:dev1@127\.0\.0\.1/);
    server.onAppRequest = () => null;
    const via = { address: '198.51.100.7', port: 6000, transport: 'udp' as const };
    assert.equal(await sig.notify({ uri: 'sip:dev1@10.0.0.5:5060', username: 'dev1', via }, 'check-sync'), 0);
    assert.equal(server.requestsFromApp('NOTIFY')[1]!.proxy, 'sip:198.51.100.7:6000;transport=udp');
  });

  it('reconnects after the server restarts and handles calls again', async () => {
    server.dropConnections();
    await until(() => !sig.isReady(), 'not ready');
    await server.waitForRoutes(['register', 'invite'], 8000);
    await until(() => sig.isReady(), 'ready again');
    assert.equal(server.authentications, 2);
    onCall = async (call) => call.reject(486);
    const txn = await authenticatedInvite();
    assert.equal((await server.finalResponse(txn)).status, 486);
  });

  it('fails start() when drachtio-server refuses the secret', async () => {
    const other = new DrachtioSignalling({
      host: '127.0.0.1',
      port: PORT,
      secret: 'wrong',
      gate: makeGate(),
      clock: { now: () => Date.now() },
      log: silentLogger,
    });
    await assert.rejects(other.start({ handle: async () => undefined }), /refused the secret/);
    assert.equal(other.isReady(), false);
  });
});
