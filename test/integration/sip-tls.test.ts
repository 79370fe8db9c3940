import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { ACCOUNTS, REALM, startHarness, type Harness } from '../helpers/sip-embedded-harness';
import { authorization, header, nonceOf, OFFER_SDP, sipRequest, statusOf, tagOf } from '../helpers/sip-raw-peer';
import { TcpSipClient } from '../helpers/sip-tcp-client';
import { issue, makeCa, type TestCa } from '../helpers/test-certificates';

/**
 * SIP over TLS on the embedded stack, with a raw TLS client (node:tls) that
 * trusts only a CA made here: digest REGISTER, a call whose BYE and a
 * check-sync NOTIFY come back over the phone's own connection, an
 * emergency call without credentials, and attacks on the TLS listener.
 */

const dev = ACCOUNTS[0]!;
const asTls = (text: string) => text.replace('SIP/2.0/UDP', 'SIP/2.0/TLS');

/** Splits what a client received into messages (responses and requests). */
const messages = (text: string) => text.split(/(?=^(?:SIP\/2\.0 \d{3} |[A-Z]+ \S+ SIP\/2\.0\r\n))/m);

/** The first response with this status to this CSeq ("2 INVITE"), waiting for it (bounded). */
async function responseTo(c: TcpSipClient, status: number, cseq: string): Promise<string> {
  const find = () => messages(c.text).find((m) => statusOf(m) === status && header(m, 'CSeq') === cseq);
  assert.ok(await c.until(() => find() !== undefined || c.closed), `${status} to ${cseq}; got:\n${c.text}`);
  const found = find();
  assert.ok(found, `${status} to ${cseq}; got:\n${c.text}`);
  return found;
}

/** An INVITE over TLS answered with digest credentials; resolves with the 200. */
async function inviteWithDigest(c: TcpSipClient, number: string, callId: string): Promise<{ ok: string; invite: Parameters<typeof sipRequest>[0] }> {
  const uri = `sip:${number}@127.0.0.1`;
  const invite = {
    method: 'INVITE',
    uri,
    callId,
    fromTag: 'ct1',
    cseq: 1,
    from: `sip:${dev.username}@${REALM}`,
    viaHost: 'phone.invalid:5061',
    contact: `sip:${dev.username}@phone.invalid:5061;transport=tls`,
    body: OFFER_SDP,
  };
  await c.write(asTls(sipRequest(invite)));
  const challenge = await responseTo(c, 401, '1 INVITE');
  await c.write(asTls(sipRequest({ ...invite, method: 'ACK', body: '', toTag: tagOf(header(challenge, 'To')) })));
  const auth = authorization({ username: dev.username, password: dev.password, realm: REALM, nonce: nonceOf(challenge), uri, method: 'INVITE' });
  const answered = { ...invite, cseq: 2, extra: [auth] };
  await c.write(asTls(sipRequest(answered)));
  return { ok: await responseTo(c, 200, '2 INVITE'), invite: answered };
}

async function register(c: TcpSipClient, callId: string): Promise<string> {
  const base = {
    method: 'REGISTER',
    uri: 'sip:127.0.0.1',
    callId,
    fromTag: 'rt1',
    from: `sip:${dev.username}@${REALM}`,
    to: `sip:${dev.username}@${REALM}`,
    viaHost: 'phone.invalid:5061',
    contact: `sip:${dev.username}@phone.invalid:5061;transport=tls`,
  };
  await c.write(asTls(sipRequest({ ...base, cseq: 1 })));
  const challenge = await c.response(401);
  assert.ok(challenge, `401 over TLS; got:\n${c.text}`);
  const auth = authorization({ username: dev.username, password: dev.password, realm: REALM, nonce: nonceOf(challenge), uri: base.uri, method: 'REGISTER' });
  await c.write(asTls(sipRequest({ ...base, cseq: 2, extra: [auth] })));
  const ok = await c.response(200);
  assert.ok(ok, `200 to the authenticated REGISTER; got:\n${c.text}`);
  return ok;
}

/** Opens raw TCP connections from `localAddress` to the TLS port. */
function rawConnect(port: number, localAddress = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress });
    s.on('error', () => undefined); // the server resets what it drops
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

const closedWithin = (s: net.Socket, ms: number) =>
  new Promise<boolean>((resolve) => {
    if (s.destroyed || s.readableEnded) return resolve(true);
    const t = setTimeout(() => resolve(false), ms);
    s.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });

describe('SIP over TLS (embedded stack)', function () {
  this.timeout(60_000);
  let ca: TestCa;
  let pair: { cert: Buffer; key: Buffer };
  let h: Harness | undefined;
  const clients: TcpSipClient[] = [];
  const raw: net.Socket[] = [];

  before(() => {
    ca = makeCa(mkdtempSync(join(tmpdir(), 'papgate-siptls-')));
    const issued = issue(ca, 'sip', 'sip.test');
    pair = { cert: readFileSync(issued.certPath), key: readFileSync(issued.keyPath) };
  });
  after(() => rmSync(ca.dir, { recursive: true, force: true }));
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const s of raw.splice(0)) s.destroy();
    await h?.stop();
    h = undefined;
  });

  const start = async (extra: Partial<Parameters<typeof startHarness>[0]> = {}) => {
    h = await startHarness({ port: 0, udp: true, tcp: false, tls: { port: 0, ...pair, handshakeMs: 10_000 }, ...extra });
    assert.ok(h.sig.tlsPort && h.sig.tlsPort !== h.sig.port, 'a TLS port of its own');
    return h.sig.tlsPort;
  };
  const connect = async (port: number, localAddress?: string) => {
    const c = await TcpSipClient.connectTls(port, ca.pem, { localAddress });
    clients.push(c);
    return c;
  };

  it('REGISTER with digest over TLS; the binding remembers the TLS connection and a check-sync NOTIFY comes back over it', async () => {
    const port = await start();
    const c = await connect(port);
    const ok = await register(c, 'tls-reg-1');
    assert.match(header(ok, 'Via') ?? '', /^SIP\/2\.0\/TLS /);
    const reg = await h!.sig.registration(dev.username);
    assert.ok(reg);
    assert.equal(reg.source.transport, 'tls');
    assert.equal(reg.source.port, (c.socket as tls.TLSSocket).localPort);

    const status = h!.sig.notify({ uri: reg.contact, via: reg.source, username: dev.username }, 'check-sync');
    assert.ok(await c.until(() => c.text.includes('NOTIFY ')), `NOTIFY over the phone's TLS connection; got:\n${c.text}`);
    const notify = messages(c.text).find((m) => m.startsWith('NOTIFY '))!;
    assert.match(header(notify, 'Via') ?? '', new RegExp(`^SIP/2\\.0/TLS 127\\.0\\.0\\.1:${port};`));
    assert.match(header(notify, 'Contact') ?? '', new RegExp(`sip:papgate@127\\.0\\.0\\.1:${port};transport=tls`));
    assert.equal(header(notify, 'Event'), 'check-sync');
    await c.write(
      `SIP/2.0 200 OK\r\n${['Via', 'From', 'To', 'Call-ID', 'CSeq'].map((n) => `${n}: ${header(notify, n)}`).join('\r\n')}\r\nContent-Length: 0\r\n\r\n`,
    );
    assert.equal(await status, 200);
  });

  it("a call over TLS: 200 with a TLS Contact, and papgate's BYE arrives over the same connection", async () => {
    const port = await start();
    const c = await connect(port);
    await register(c, 'tls-reg-2');
    const { ok, invite } = await inviteWithDigest(c, '*89', 'tls-call-1');
    assert.match(header(ok, 'Contact') ?? '', new RegExp(`<sip:papgate@127\\.0\\.0\\.1:${port};transport=tls>`));
    await c.write(asTls(sipRequest({ ...invite, method: 'ACK', extra: [], body: '', toTag: tagOf(header(ok, 'To')) })));
    const seen = await h!.nthCall(1);
    assert.equal(seen.call.source.transport, 'tls');
    await seen.answered;
    void seen.call.hangup();
    assert.ok(await c.until(() => c.text.includes('BYE ')), `BYE over the phone's TLS connection; got:\n${c.text}`);
    const bye = messages(c.text).find((m) => m.startsWith('BYE '))!;
    assert.match(header(bye, 'Via') ?? '', /^SIP\/2\.0\/TLS /);
    assert.equal(header(bye, 'Call-ID'), 'tls-call-1');
  });

  it('an emergency call over TLS goes through (digest answered at once, as a provisioned phone does)', async () => {
    const port = await start();
    const c = await connect(port);
    await inviteWithDigest(c, '112', 'tls-sos-1');
    const seen = await h!.nthCall(1);
    assert.equal(seen.call.dialled, '112');
    assert.equal(seen.call.source.transport, 'tls');
  });

  it('handshakes that stall are dropped after the handshake timeout, and do not keep another client out', async () => {
    const port = await start({ tls: { port: 0, ...pair, handshakeMs: 500 }, tcpLimits: { maxConnectionsPerSource: 8 } });
    // An attacker on 127.0.0.2 opens more connections than it may, and never says a word.
    const stalled = await Promise.all(Array.from({ length: 12 }, () => rawConnect(port, '127.0.0.2').catch(() => undefined)));
    for (const s of stalled) if (s) raw.push(s);
    // Another one starts a handshake and stops half-way: the first bytes of a ClientHello.
    const half = await rawConnect(port, '127.0.0.3');
    raw.push(half);
    half.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]));
    // Meanwhile a phone registers.
    const c = await connect(port);
    await register(c, 'tls-reg-3');
    for (const s of [...stalled.filter((s): s is net.Socket => !!s), half]) {
      assert.ok(await closedWithin(s, 20_000), 'a stalled handshake is closed by papgate');
    }
    assert.ok(!c.closed, 'the phone keeps its connection');
  });

  it('garbage and plain SIP sent to the TLS port get no SIP answer and are closed; TLS clients still work', async () => {
    const port = await start();
    for (const bytes of [
      Buffer.from(sipRequest({ method: 'OPTIONS', uri: 'sip:127.0.0.1', callId: 'plain-1', fromTag: 'p', cseq: 1, viaHost: 'x.invalid' }), 'latin1'),
      Buffer.alloc(4096, 0x99),
    ]) {
      const s = await rawConnect(port);
      raw.push(s);
      let got = '';
      s.on('data', (d: Buffer) => {
        got += d.toString('latin1');
      });
      s.write(bytes);
      assert.ok(await closedWithin(s, 10_000), 'connection closed');
      assert.ok(!got.includes('SIP/2.0'), 'no SIP answered in clear text');
    }
    const c = await connect(port);
    await register(c, 'tls-reg-4');
  });

  it('a client that does not trust the certificate fails its handshake; the listener takes the next one', async () => {
    const port = await start();
    await assert.rejects(
      new Promise((resolve, reject) => {
        const s = tls.connect({ port, host: '127.0.0.1', servername: 'sip.test' }); // system CAs only
        s.once('secureConnect', () => {
          s.destroy();
          resolve(undefined);
        });
        s.once('error', reject);
      }),
      /self[- ]signed|unable to (get|verify)|certificate/i,
    );
    await register(await connect(port), 'tls-reg-5');
  });

  it('a TLS phone whose connection is gone is not reached: the NOTIFY fails, nothing is sent in clear text', async () => {
    const port = await start({ notifyTimeoutMs: 3000 });
    const c = await connect(port);
    await register(c, 'tls-reg-6');
    const reg = (await h!.sig.registration(dev.username))!;
    c.close();
    await c.until(() => c.closed);
    // 0 when papgate already saw the close, 503 when the write to the closing socket fails first
    const status = await h!.sig.notify({ uri: reg.contact, via: reg.source, username: dev.username }, 'check-sync');
    assert.ok(status === 0 || status === 503, `NOTIFY not delivered (status ${status})`);
  });
});
