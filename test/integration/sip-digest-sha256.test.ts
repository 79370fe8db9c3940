import assert from 'node:assert/strict';
import type { DeviceView } from '../../src/app/device-view';
import { buildAuthorization, type DigestAlgorithm } from '../../src/domain/digest';
import { startPapgateHarness, type PapgateHarness } from '../helpers/papgate-harness';
import { OFFER_SDP, RawPeer, header, sipRequest, statusOf, tagOf } from '../helpers/sip-raw-peer';

// Digest with SHA-256 on the wire (SIPp only speaks MD5): papgate in-process,
// PAPGATE_SIP_DIGEST_ALGORITHMS=SHA-256,MD5, with the embedded stack on an OS-assigned UDP port; a raw UDP phone reads
// both challenges and answers the SHA-256 one for REGISTER, the IVR call
// and an emergency call (forwarded to a raw UDP "gateway").

/** Every WWW-Authenticate line of a response, in order. */
const challengesOf = (m: string): string[] => [...m.split('\r\n\r\n', 1)[0]!.matchAll(/^WWW-Authenticate\s*:\s*(.*)$/gim)].map((x) => x[1]!.trim());

describe('SIP digest with SHA-256 (embedded stack, raw UDP)', function () {
  this.timeout(60_000);
  let h: PapgateHarness;
  let gateway: RawPeer;
  let phone: RawPeer;
  let device: DeviceView;
  let port: number;
  let seq = 0;

  before(async () => {
    gateway = await RawPeer.open();
    h = await startPapgateHarness({
      gatewayPort: gateway.port,
      env: { PAPGATE_SIP_DIGEST_ALGORITHMS: 'SHA-256,MD5', PAPGATE_SIP_PORT: '0' },
    });
    port = h.instance.sipPort!;
    device = await h.addDevice();
  });
  after(async () => {
    await h?.stop();
    await gateway?.close();
  });
  beforeEach(async () => {
    phone = await RawPeer.open();
  });
  afterEach(async () => {
    await phone.close();
  });

  const base = (method: string, uri: string, callId: string) => ({
    method,
    uri,
    callId,
    fromTag: `f${seq}`,
    from: `sip:${device.sipUsername}@127.0.0.1`,
    viaHost: `127.0.0.1:${phone.port}`,
    contact: `sip:${device.sipUsername}@127.0.0.1:${phone.port}`,
  });

  const finalFor = (callId: string) =>
    phone.take((m) => (statusOf(m) ?? 0) >= 200 && header(m, 'Call-ID') === callId, 10_000, `a final response for ${callId}`);

  /** Sends the request without credentials, then with a response of `algorithm` to the matching challenge. */
  async function challengeAndAnswer(
    method: 'REGISTER' | 'INVITE',
    uri: string,
    algorithm: DigestAlgorithm | 'MD5-sess',
    o: { to?: string; body?: string } = {},
  ): Promise<{ challenge: string; final: string; callId: string }> {
    const callId = `sha-${++seq}-${process.pid}`;
    const spec = { ...base(method, uri, callId), to: o.to, body: o.body, extra: method === 'REGISTER' ? ['Expires: 60'] : [] };
    phone.send(sipRequest({ ...spec, cseq: 1, branch: `z9hG4bKa${callId}` }), port);
    const challenge = await finalFor(callId);
    assert.equal(statusOf(challenge), 401);
    if (method === 'INVITE') {
      phone.send(sipRequest({ ...base('ACK', uri, callId), to: o.to, toTag: tagOf(header(challenge, 'To')), cseq: 1, branch: `z9hG4bKa${callId}` }), port);
    }
    const offered = challengesOf(challenge).find((c) => c.includes(`algorithm=${algorithm === 'MD5-sess' ? 'SHA-256' : algorithm}`));
    assert.ok(offered, `a ${algorithm} challenge in:\n${challenge}`);
    const nonce = /nonce="([^"]+)"/.exec(offered)![1]!;
    let auth = buildAuthorization({
      username: device.sipUsername,
      password: device.sipPassword,
      realm: h.config.sipRealm,
      nonce,
      uri,
      method,
      cnonce: 'c0ffee',
      nc: 1,
      algorithm: algorithm === 'MD5-sess' ? 'SHA-256' : algorithm,
    });
    if (algorithm === 'MD5-sess') auth = auth.replace('algorithm=SHA-256', 'algorithm=MD5-sess');
    phone.send(sipRequest({ ...spec, cseq: 2, extra: [...spec.extra, `Authorization: ${auth}`] }), port);
    return { challenge, final: await finalFor(callId), callId };
  }

  it('challenges with SHA-256 first, then MD5, each in its own header line', async () => {
    const callId = `sha-plain-${process.pid}`;
    phone.send(sipRequest({ ...base('REGISTER', `sip:127.0.0.1:${port}`, callId), to: `sip:${device.sipUsername}@127.0.0.1`, cseq: 1 }), port);
    const challenge = await finalFor(callId);
    const lines = challengesOf(challenge);
    assert.equal(lines.length, 2, challenge);
    assert.match(lines[0]!, /^Digest realm="[^"]+", nonce="[^"]+", algorithm=SHA-256, qop="auth"$/);
    assert.match(lines[1]!, /algorithm=MD5/);
  });

  it('registers with a SHA-256 response, and with an MD5 one', async () => {
    for (const algorithm of ['SHA-256', 'MD5'] as const) {
      const { final } = await challengeAndAnswer('REGISTER', `sip:127.0.0.1:${port}`, algorithm, { to: `sip:${device.sipUsername}@127.0.0.1` });
      assert.equal(statusOf(final), 200, `${algorithm}:\n${final}`);
      assert.match(header(final, 'Contact') ?? '', new RegExp(`${phone.port}`));
    }
  });

  it('refuses a REGISTER whose algorithm was not offered (MD5-sess) with 403', async () => {
    const { final } = await challengeAndAnswer('REGISTER', `sip:127.0.0.1:${port}`, 'MD5-sess', { to: `sip:${device.sipUsername}@127.0.0.1` });
    assert.equal(statusOf(final), 403, final);
  });

  it('admits the IVR call (*89) with a SHA-256 response: the IVR answers', async () => {
    const uri = `sip:*89@127.0.0.1:${port}`;
    const { final, callId } = await challengeAndAnswer('INVITE', uri, 'SHA-256', { body: OFFER_SDP });
    assert.equal(statusOf(final), 200, `${final}\n${h.logTail()}`);
    const toTag = tagOf(header(final, 'To'));
    phone.send(sipRequest({ ...base('ACK', uri, callId), toTag, cseq: 2 }), port);
    phone.send(sipRequest({ ...base('BYE', uri, callId), toTag, cseq: 3 }), port);
    await phone.take((m) => statusOf(m) === 200 && header(m, 'CSeq') === '3 BYE', 10_000, '200 for the BYE');
    await h.mediaIdle();
  });

  it('forwards an emergency call proven with SHA-256 as the device', async () => {
    const uri = `sip:112@127.0.0.1:${port}`;
    const pending = challengeAndAnswer('INVITE', uri, 'SHA-256', { body: OFFER_SDP });
    const atGateway = await gateway.take((m) => m.startsWith('INVITE '), 10_000, 'the INVITE at the gateway');
    assert.match(header(atGateway, 'From') ?? '', new RegExp(device.sipUsername));
    // The gateway refuses; the caller hears of it, and the call is over.
    const h2 = (n: string) => header(atGateway, n) ?? '';
    gateway.send(
      [
        `SIP/2.0 486 Busy Here`,
        `Via: ${h2('Via')}`,
        `From: ${h2('From')}`,
        `To: ${h2('To')};tag=gw`,
        `Call-ID: ${h2('Call-ID')}`,
        `CSeq: ${h2('CSeq')}`,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
      Number(/:(\d+)/.exec(h2('Via'))?.[1] ?? port),
    );
    const { final } = await pending;
    assert.equal(statusOf(final), 486, final);
  });
});
