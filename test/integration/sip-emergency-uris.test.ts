import assert from 'node:assert/strict';
import { ACCOUNTS, REALM, startHarness, type Harness } from '../helpers/sip-embedded-harness';
import { RawPeer, authorization, nonceOf, sipRequest, statusOf } from '../helpers/sip-raw-peer';
import { registerOverTcp } from '../helpers/sip-tcp-client';
import { portLayout } from '../helpers/ports';

/**
 * An emergency number is the dialled number whatever the URI form: an IPv6
 * host (sip:112@[::1]) or a tel: URI. The embedded stack must hand the call
 * over with `dialled` = 112; what is done with it is the gate's business.
 */

const dev = ACCOUNTS[0]!;

/** INVITE, 401, INVITE with credentials; resolves with the dialled number of the call that arrives. */
async function dial(h: Harness, peer: RawPeer, ruri: string, viaHost: string, n: number): Promise<string> {
  const base = {
    method: 'INVITE',
    uri: ruri,
    callId: `em-${n}-${Math.random().toString(36).slice(2)}`,
    fromTag: `f${n}`,
    from: `sip:${dev.username}@${REALM}`,
    to: ruri,
    viaHost,
    contact: `sip:${dev.username}@${viaHost}`,
  };
  peer.send(sipRequest({ ...base, cseq: 1 }), PORT);
  const challenge = await peer.response(401, 'INVITE');
  peer.send(
    sipRequest({
      ...base,
      cseq: 2,
      extra: [authorization({ username: dev.username, password: dev.password, realm: REALM, nonce: nonceOf(challenge), uri: ruri, method: 'INVITE' })],
    }),
    PORT,
  );
  return (await h.nthCall(n)).call.dialled;
}

let PORT = 0; // from portLayout() in the suite's first hook

describe('emergency numbers in IPv6 and tel: Request-URIs (embedded stack)', function () {
  before(async () => {
    ({ PORT } = await portLayout({ PORT: 0 }));
  });
  this.timeout(30_000);
  let h: Harness | undefined;
  let peer: RawPeer | undefined;
  afterEach(async () => {
    await peer?.close();
    await h?.stop();
    peer = h = undefined;
  });

  it('over IPv4: sip:112@[::1] and tel:112 are both calls to 112', async () => {
    h = await startHarness({ port: PORT, onCall: () => undefined });
    peer = await RawPeer.open();
    assert.equal(await dial(h, peer, 'sip:112@[::1]', `127.0.0.1:${peer.port}`, 1), '112');
    assert.equal(await dial(h, peer, 'tel:112', `127.0.0.1:${peer.port}`, 2), '112');
    assert.equal(await dial(h, peer, 'tel:+49-911;phone-context=example.com', `127.0.0.1:${peer.port}`, 3), '+49911');
  });

  it('over IPv6 (listening on ::1): INVITE sip:112@[::1] reaches the stack as 112, and REGISTER works over UDP and TCP', async () => {
    h = await startHarness({ port: PORT, address: '::1', tcp: true, onCall: () => undefined });
    peer = await RawPeer.open('::1');
    assert.equal(await dial(h, peer, 'sip:112@[::1]', `[::1]:${peer.port}`, 1), '112');
    assert.equal(await dial(h, peer, `sip:112@[::1]:${PORT};user=phone`, `[::1]:${peer.port}`, 2), '112');
    const opt = sipRequest({ method: 'OPTIONS', uri: 'sip:[::1]', callId: 'v6-opt', fromTag: 'o', cseq: 1, viaHost: `[::1]:${peer.port}` });
    peer.send(opt, PORT);
    assert.equal(statusOf(await peer.response(200, 'OPTIONS')), 200);
    assert.equal(await registerOverTcp(PORT, { username: dev.username, password: dev.password, host: '::1' }), 200);
  });

  it('still refuses tel: where no number is dialled (REGISTER, OPTIONS) with 416', async () => {
    h = await startHarness({ port: PORT });
    peer = await RawPeer.open();
    peer.send(sipRequest({ method: 'OPTIONS', uri: 'tel:112', callId: 'tel-opt', fromTag: 'o', cseq: 1, viaHost: `127.0.0.1:${peer.port}` }), PORT);
    assert.equal(statusOf(await peer.response(416, 'OPTIONS')), 416);
  });
});
