import assert from 'node:assert/strict';
import { ACCOUNTS, REALM, startHarness, type Harness } from '../helpers/sip-embedded-harness';
import { OFFER_SDP, RawPeer, authorization, header, nonceOf, sipRequest } from '../helpers/sip-raw-peer';
import { portLayout } from '../helpers/ports';

// The embedded stack behind a SIP proxy, on the wire: one raw UDP socket
// plays the proxy (its Via on top, the phone's below, a Path it added), so
// the test sees exactly what papgate sends back towards the proxy.
const PHONE = '192.0.2.50:5062'; // never reached directly: everything goes through the proxy
const dev1 = ACCOUNTS[0]!;
let seq = 0;
const uniq = (p: string) => `${p}-${process.pid}-${++seq}`;

let PORT = 0; // from portLayout() in the suite's first hook

describe('embedded SIP stack behind a proxy: Path and the phone address', function () {
  before(async () => {
    ({ PORT } = await portLayout({ PORT: 0 }));
  });
  this.timeout(15_000);
  let h: Harness | undefined;
  let proxy: RawPeer;

  beforeEach(async () => {
    proxy = await RawPeer.open();
  });
  afterEach(async () => {
    await h?.stop();
    h = undefined;
    await proxy.close();
  });

  const pathUri = () => `sip:127.0.0.1:${proxy.port};lr;received=sip:${PHONE}`;
  const phoneVia = `Via: SIP/2.0/UDP ${PHONE};branch=z9hG4bKphone${seq};rport=5062;received=198.51.100.7`;

  async function register(extra: string[]): Promise<string> {
    const uri = `sip:127.0.0.1:${PORT}`;
    const base = {
      method: 'REGISTER',
      uri,
      callId: uniq('reg'),
      fromTag: 'r1',
      viaHost: `127.0.0.1:${proxy.port}`,
      from: `sip:${dev1.username}@papgate.test`,
      to: `sip:${dev1.username}@papgate.test`,
      contact: `sip:${dev1.username}@${PHONE}`,
    };
    proxy.send(sipRequest({ ...base, cseq: 1, extra: [phoneVia, `Path: <${pathUri()}>`, 'Expires: 300', ...extra] }), PORT);
    const challenge = await proxy.response(401, 'REGISTER');
    const auth = authorization({ username: dev1.username, password: dev1.password, realm: REALM, nonce: nonceOf(challenge), uri, method: 'REGISTER' });
    proxy.send(sipRequest({ ...base, cseq: 2, extra: [phoneVia, `Path: <${pathUri()}>`, 'Expires: 300', ...extra, auth] }), PORT);
    return proxy.response(200, 'REGISTER');
  }

  it('stores the Path, says Supported: path, repeats the Path for a phone that supports it, and accepts Require: path', async () => {
    h = await startHarness({ port: PORT });
    const ok = await register(['Supported: path', 'Require: path']);
    assert.match(header(ok, 'Supported') ?? '', /\bpath\b/);
    assert.equal(header(ok, 'Path'), `<${pathUri()}>`);
    const reg = await h.sig.registration(dev1.username);
    assert.deepEqual(reg?.path, [pathUri()]);
    assert.equal(reg?.contact, `sip:${dev1.username}@${PHONE}`);
  });

  it('does not repeat the Path to a phone that did not say it supports path (but still stores it)', async () => {
    h = await startHarness({ port: PORT });
    const ok = await register([]);
    assert.equal(header(ok, 'Path'), undefined);
    assert.deepEqual((await h.sig.registration(dev1.username))?.path, [pathUri()]);
  });

  it('sends the check-sync NOTIFY to the first Path hop with the Path as Route set', async () => {
    h = await startHarness({ port: PORT });
    await register([]);
    const reg = (await h.sig.registration(dev1.username))!;
    const status = h.sig.notify({ uri: reg.contact, route: reg.path, username: dev1.username }, 'check-sync');
    const notify = await proxy.request('NOTIFY');
    assert.ok(notify.startsWith(`NOTIFY sip:${dev1.username}@${PHONE} SIP/2.0`), "Request-URI: the phone's Contact");
    assert.equal(header(notify, 'Route'), `<${pathUri()}>`);
    const lines = notify.split('\r\n');
    const response = ['SIP/2.0 200 OK', ...lines.filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l)), 'Content-Length: 0', '', ''].join('\r\n');
    proxy.send(response, PORT);
    assert.equal(await status, 200);
  });

  it('takes the phone address from the Via below a trusted proxy, and only from a trusted proxy', async () => {
    const received = async (trustedProxies: string[]) => {
      h = await startHarness({ port: PORT, trustedProxies, onCall: () => undefined });
      const uri = `sip:5000@127.0.0.1:${PORT}`;
      const base = {
        method: 'INVITE',
        uri,
        callId: uniq('call'),
        fromTag: 'ph1',
        viaHost: `127.0.0.1:${proxy.port}`,
        contact: `sip:dev1@${PHONE}`,
        body: OFFER_SDP,
      };
      proxy.send(sipRequest({ ...base, cseq: 1, extra: [phoneVia] }), PORT);
      const challenge = await proxy.response(401, 'INVITE');
      const auth = authorization({ username: dev1.username, password: dev1.password, realm: REALM, nonce: nonceOf(challenge), uri, method: 'INVITE' });
      proxy.send(sipRequest({ ...base, cseq: 2, extra: [phoneVia, auth] }), PORT);
      const seen = await h.nthCall(1);
      const address = seen.call.clientAddress;
      await h.stop();
      h = undefined;
      return address;
    };
    assert.equal(await received(['127.0.0.1']), '198.51.100.7', "the received= of the phone's Via");
    assert.equal(await received([]), undefined, 'no proxy configured: the Vias mean nothing');
    assert.equal(await received(['10.0.0.0/8']), undefined, 'a packet from elsewhere: the Vias mean nothing');
  });
});
