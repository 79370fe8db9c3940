import assert from 'node:assert/strict';
import net from 'node:net';
import { silentLogger } from '../../src/ports/logger';
import { EmbeddedSignalling } from '../../src/sip/embedded';
import { ACCOUNTS, ANSWER_SDP, FakeClock, REALM, startHarness } from '../helpers/sip-embedded-harness';
import type { Harness, HarnessOptions, SeenCall } from '../helpers/sip-embedded-harness';
import { OFFER_SDP, RawPeer, authorization, header, nonceOf, sipRequest, statusOf, tagOf } from '../helpers/sip-raw-peer';
import { portLayout } from '../helpers/ports';

// What a raw UDP socket sees of the embedded stack (127.0.0.1, a free port):
// robustness, 2xx retransmission, BYE routing, NAT, NOTIFY.
const dev1 = ACCOUNTS[0]!;
let seq = 0;
const uniq = (p: string) => `${p}-${process.pid}-${++seq}`;

let PORT = 0; // from portLayout() in the suite's first hook

describe('embedded SIP stack on the wire', function () {
  before(async () => {
    ({ PORT } = await portLayout({ PORT: 0 }));
  });
  this.timeout(15_000);
  let h: Harness | undefined;
  let phone: RawPeer;

  beforeEach(async () => {
    phone = await RawPeer.open();
  });
  afterEach(async () => {
    await h?.stop();
    h = undefined;
    await phone.close();
  });
  const start = async (o: Partial<HarnessOptions> = {}) => (h = await startHarness({ port: PORT, ...o }));

  const options = (callId = uniq('opt')) =>
    sipRequest({ method: 'OPTIONS', uri: `sip:papgate@127.0.0.1:${PORT}`, callId, fromTag: 'o1', cseq: 1, viaHost: `127.0.0.1:${phone.port}` });

  /** INVITE, 401, ACK, INVITE with credentials; resolves with the call the handler got. */
  async function authenticatedInvite(o: { dial?: string; viaHost?: string; contact?: string; extra?: string[] } = {}) {
    const callId = uniq('call');
    const uri = `sip:${o.dial ?? '5000'}@127.0.0.1:${PORT}`;
    const base = {
      method: 'INVITE',
      uri,
      callId,
      fromTag: 'ph1',
      viaHost: o.viaHost ?? `127.0.0.1:${phone.port}`,
      contact: o.contact ?? `sip:dev1@127.0.0.1:${phone.port}`,
      body: OFFER_SDP,
      extra: o.extra,
    };
    phone.send(sipRequest({ ...base, cseq: 1, branch: 'z9hG4bKfirst' + callId }), PORT);
    const challenge = await phone.response(401, 'INVITE');
    phone.send(
      sipRequest({
        method: 'ACK',
        uri,
        callId,
        fromTag: 'ph1',
        toTag: tagOf(header(challenge, 'To')),
        cseq: 1,
        viaHost: base.viaHost,
        branch: 'z9hG4bKfirst' + callId,
      }),
      PORT,
    );
    const auth = authorization({ username: dev1.username, password: dev1.password, realm: REALM, nonce: nonceOf(challenge), uri, method: 'INVITE' });
    phone.send(sipRequest({ ...base, cseq: 2, extra: [...(o.extra ?? []), auth] }), PORT);
    return { callId, uri, viaHost: base.viaHost };
  }

  const ackFor = (ok: string, callId: string, uri: string, viaHost: string) =>
    sipRequest({ method: 'ACK', uri, callId, fromTag: 'ph1', toTag: tagOf(header(ok, 'To')), cseq: 2, viaHost });

  it('survives garbage, truncated and broken requests, answering 400 where it can, then still answers OPTIONS', async () => {
    await start();
    phone.send(Buffer.from([0, 1, 2, 3, 255, 254, 13, 10, 13, 10, 0]), PORT);
    phone.send('\r\n\r\n', PORT);
    phone.send('NOT SIP AT ALL\r\n\r\n', PORT);
    const truncated = options(uniq('trunc')).replace('Content-Length: 0', 'Content-Length: 500') + 'v=0\r\n';
    phone.send(truncated, PORT);
    const bad = await phone.take((m) => statusOf(m) === 400, 3000, '400 for the truncated request');
    assert.match(header(bad, 'Warning') ?? '', /truncated/);
    phone.send(options(uniq('nocseq')).replace(/CSeq: .*\r\n/, 'CSeq: lots\r\n'), PORT);
    assert.match(header(await phone.take((m) => statusOf(m) === 400), 'Warning') ?? '', /CSeq/);
    phone.send(options(uniq('nocolon')).replace('Max-Forwards: 70', 'this line has no colon'), PORT);
    await phone.take((m) => statusOf(m) === 400, 3000, '400 for a header line without colon');
    phone.send(`SIP/2.0 200 OK\r\nVia: garbage\r\n\r\n`, PORT); // a stray broken response: dropped
    phone.send(options(), PORT);
    await phone.response(200, 'OPTIONS');
  });

  it('closes a TCP connection that sends garbage (the stream cannot be framed again) and serves the next one', async () => {
    await start({ tcp: true });
    const opt = () => options(uniq('tcp')).replace('SIP/2.0/UDP', 'SIP/2.0/TCP');
    const exchange = async (text: string) => {
      const sock = net.connect(PORT, '127.0.0.1');
      try {
        let got = '';
        let closed = false;
        sock.on('data', (d) => {
          got += d.toString('latin1');
        });
        sock.on('close', () => {
          closed = true;
        });
        sock.on('error', () => undefined); // a reset after the close is expected
        await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
        sock.write(text);
        for (let i = 0; i < 150 && !closed && !/^SIP\/2\.0 200 OK/m.test(got); i++) await new Promise((r) => setTimeout(r, 20));
        return { got, closed };
      } finally {
        sock.destroy();
      }
    };
    const garbage = await exchange('\u0000\u0001garbage\r\nno colon here\r\n\r\n' + opt());
    assert.equal(garbage.closed, true);
    assert.doesNotMatch(garbage.got, /200 OK/);
    assert.match((await exchange(opt())).got, /^SIP\/2\.0 200 OK/m);
  });

  it('refuses to start on a port that is taken, with a clear error', async () => {
    await start();
    const clash = new EmbeddedSignalling({
      address: '127.0.0.1',
      port: PORT,
      udp: true,
      tcp: false,
      gate: h!.gate,
      log: silentLogger,
      clock: { now: () => 0 },
    });
    await assert.rejects(clash.start({ handle: async () => undefined }), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${PORT}`));
  });

  it('retransmits the 200 OK until the ACK; answer() resolves on the ACK', async () => {
    await start({ t1Ms: 100 });
    const { callId, uri, viaHost } = await authenticatedInvite();
    const first = await phone.response(200, 'INVITE');
    const again = await phone.response(200, 'INVITE');
    assert.equal(again, first, 'the retransmission is the same response');
    assert.match(first, /m=audio 15999 RTP\/AVP 0 101/);
    assert.ok(header(first, 'Contact')?.includes(`sip:papgate@127.0.0.1:${PORT}`));
    const seen = await h!.nthCall(1);
    let settled = false;
    void seen.answered!.then(() => {
      settled = true;
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false, 'answer() waits for the ACK');
    phone.send(ackFor(first, callId, uri, viaHost), PORT);
    await seen.answered;
  });

  it('gives up after 64*T1 without ACK: BYE to the phone, answer() rejects, ended "timeout"', async () => {
    await start({ t1Ms: 20 });
    const { callId } = await authenticatedInvite();
    const ok = await phone.response(200, 'INVITE');
    const seen = await h!.nthCall(1);
    await assert.rejects(seen.answered!, /no ACK/);
    assert.equal(await seen.ended, 'timeout');
    const bye = await phone.request('BYE');
    assert.equal(header(bye, 'Call-ID'), callId);
    assert.equal(tagOf(header(bye, 'From')), tagOf(header(ok, 'To')));
  });

  it('hangup() sends BYE along the route set, tags swapped, to the real source of a phone behind NAT', async () => {
    await start();
    const natted = '10.20.30.40:5062';
    const { callId, uri } = await authenticatedInvite({
      viaHost: natted,
      contact: `sip:dev1@${natted}`,
      extra: ['Record-Route: <sip:edge.example.invalid;lr>'],
    });
    const ok = await phone.response(200, 'INVITE'); // reached us although the Via names 10.20.30.40
    assert.match(header(ok, 'Via') ?? '', new RegExp(`received=127\\.0\\.0\\.1`));
    assert.match(header(ok, 'Via') ?? '', new RegExp(`rport=${phone.port}`));
    assert.match(header(ok, 'Record-Route') ?? '', /edge\.example\.invalid/);
    phone.send(ackFor(ok, callId, uri, natted), PORT);
    const seen: SeenCall = await h!.nthCall(1);
    await seen.answered;
    assert.deepEqual(seen.call.source, { transport: 'udp', address: '127.0.0.1', port: phone.port });
    const hungUp = seen.call.hangup();
    const bye = await phone.request('BYE');
    assert.match(bye, new RegExp(`^BYE sip:dev1@${natted} SIP/2.0`));
    assert.match(header(bye, 'Route') ?? '', /<sip:edge\.example\.invalid;lr>/);
    assert.equal(tagOf(header(bye, 'From')), tagOf(header(ok, 'To')));
    assert.equal(tagOf(header(bye, 'To')), 'ph1');
    assert.match(header(bye, 'CSeq') ?? '', /^1 BYE$/);
    phone.send(
      bye
        .split('\r\n\r\n')[0]!
        .replace(/^BYE .*$/m, 'SIP/2.0 200 OK')
        .split('\r\n')
        .filter((l) => /^(SIP|Via|From|To|Call-ID|CSeq)/.test(l))
        .join('\r\n') + '\r\nContent-Length: 0\r\n\r\n',
      PORT,
    );
    await hungUp;
    assert.equal(await seen.ended, 'local-hangup');
  });

  it('refuses a replayed Authorization (same nonce and nc) with a stale challenge', async () => {
    await start();
    const callId = uniq('reg');
    const uri = `sip:127.0.0.1:${PORT}`;
    const register = (cseq: number, extra: string[] = []) =>
      sipRequest({
        method: 'REGISTER',
        uri,
        callId,
        fromTag: 'r1',
        cseq,
        to: 'sip:dev1@papgate.test',
        from: 'sip:dev1@papgate.test',
        viaHost: `127.0.0.1:${phone.port}`,
        contact: `sip:dev1@127.0.0.1:${phone.port}`,
        extra: ['Expires: 300', ...extra],
      });
    phone.send(register(1), PORT);
    const auth = authorization({
      username: dev1.username,
      password: dev1.password,
      realm: REALM,
      nonce: nonceOf(await phone.response(401, 'REGISTER')),
      uri,
      method: 'REGISTER',
    });
    phone.send(register(2, [auth]), PORT);
    const ok = await phone.response(200, 'REGISTER');
    assert.match(header(ok, 'Contact') ?? '', /expires=300/);
    phone.send(register(3, [auth]), PORT); // the same credentials again
    const replay = await phone.response(401, 'REGISTER');
    assert.match(header(replay, 'WWW-Authenticate') ?? '', /stale=true/);
  });

  it('answers an expired nonce with 401 stale=true', async () => {
    const clock = new FakeClock();
    await start({ clock, nonceTtlMs: 60_000 });
    const callId = uniq('stale');
    const uri = `sip:127.0.0.1:${PORT}`;
    const register = (cseq: number, extra: string[] = []) =>
      sipRequest({
        method: 'REGISTER',
        uri,
        callId,
        fromTag: 'r1',
        cseq,
        to: 'sip:dev1@papgate.test',
        from: 'sip:dev1@papgate.test',
        viaHost: `127.0.0.1:${phone.port}`,
        contact: `sip:dev1@127.0.0.1:${phone.port}`,
        extra,
      });
    phone.send(register(1), PORT);
    const nonce = nonceOf(await phone.response(401, 'REGISTER'));
    clock.advance(60_001);
    phone.send(register(2, [authorization({ username: dev1.username, password: dev1.password, realm: REALM, nonce, uri, method: 'REGISTER' })]), PORT);
    assert.match(header(await phone.response(401, 'REGISTER'), 'WWW-Authenticate') ?? '', /stale=true/);
    assert.equal(await h!.sig.registration(dev1.username), undefined);
  });

  it('sends NOTIFY with the Event header and returns the status the phone answers', async () => {
    await start();
    const status = h!.sig.notify({ uri: `sip:dev1@127.0.0.1:${phone.port}`, username: 'dev1' }, 'check-sync');
    const notify = await phone.request('NOTIFY');
    assert.match(notify, new RegExp(`^NOTIFY sip:dev1@127.0.0.1:${phone.port} SIP/2.0`));
    assert.equal(header(notify, 'Event'), 'check-sync');
    assert.equal(header(notify, 'Subscription-State'), 'terminated');
    assert.equal(header(notify, 'Content-Length'), '0');
    assert.match(header(notify, 'To') ?? '', /sip:dev1@127\.0\.0\.1/);
    phone.send(
      notify
        .split('\r\n\r\n')[0]!
        .split('\r\n')
        .filter((l) => /^(Via|From|To|Call-ID|CSeq)/.test(l))
        .map((l) => (l.startsWith('To') ? `${l};tag=p1` : l))
        .join('\r\n')
        .replace(/^/, 'SIP/2.0 202 Accepted\r\n') + '\r\nContent-Length: 0\r\n\r\n',
      PORT,
    );
    assert.equal(await status, 202);
  });

  it('sends NOTIFY to `via` rather than the URI, and resolves 0 when nobody answers', async () => {
    await start({ notifyTimeoutMs: 300 });
    const status = h!.sig.notify(
      {
        uri: 'sip:dev1@192.168.1.50:5060',
        username: 'dev1',
        via: { transport: 'udp', address: '127.0.0.1', port: phone.port },
      },
      'check-sync;reboot=false',
    );
    const notify = await phone.request('NOTIFY');
    assert.match(notify, /^NOTIFY sip:dev1@192\.168\.1\.50:5060 SIP\/2\.0/);
    assert.equal(header(notify, 'Event'), 'check-sync;reboot=false');
    assert.equal(await status, 0);
  });

  it('refuses an Event value that would break the message', async () => {
    await start();
    await assert.rejects(h!.sig.notify({ uri: `sip:dev1@127.0.0.1:${phone.port}`, username: 'dev1' }, 'check-sync\r\nX: y'), /invalid Event/);
  });

  it('answers a re-INVITE with the current SDP and an in-dialog OPTIONS with 200', async () => {
    await start();
    const { callId, uri, viaHost } = await authenticatedInvite();
    const ok = await phone.response(200, 'INVITE');
    phone.send(ackFor(ok, callId, uri, viaHost), PORT);
    const seen = await h!.nthCall(1);
    await seen.answered;
    const toTag = tagOf(header(ok, 'To'));
    const inDialog = (method: string, cseq: number, body?: string) =>
      sipRequest({ method, uri: `sip:papgate@127.0.0.1:${PORT}`, to: uri, callId, fromTag: 'ph1', toTag, cseq, viaHost, body });
    phone.send(inDialog('OPTIONS', 3), PORT);
    await phone.response(200, 'OPTIONS');
    phone.send(inDialog('INVITE', 4, OFFER_SDP), PORT);
    const reOk = await phone.response(200, 'INVITE');
    assert.ok(reOk.endsWith(ANSWER_SDP));
    phone.send(sipRequest({ method: 'ACK', uri, callId, fromTag: 'ph1', toTag, cseq: 4, viaHost }), PORT);
    phone.send(inDialog('BYE', 5), PORT);
    await phone.response(200, 'BYE');
    assert.equal(await seen.ended, 'remote-bye');
  });
});
