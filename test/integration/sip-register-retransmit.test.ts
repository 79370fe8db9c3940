import assert from 'node:assert/strict';
import { ACCOUNTS, REALM, startHarness } from '../helpers/sip-embedded-harness';
import type { Harness } from '../helpers/sip-embedded-harness';
import { RawPeer, authorization, header, nonceOf, sipRequest, statusOf } from '../helpers/sip-raw-peer';
import { portLayout } from '../helpers/ports';

// REGISTER is answered without a transaction of the `sip` package: a
// retransmitted REGISTER (same branch, same source) must get the very same
// answer again and be handled once, as RFC 3261 17.2.2 asks of a server transaction.
const dev1 = ACCOUNTS[0]!;
let seq = 0;
const uniq = (p: string) => `${p}-${process.pid}-${++seq}`;

describe('REGISTER retransmissions over UDP', function () {
  this.timeout(15_000);
  let PORT = 0;
  let h: Harness | undefined;
  const peers: RawPeer[] = [];

  before(async () => {
    ({ PORT } = await portLayout({ PORT: 0 }));
  });
  afterEach(async () => {
    await h?.stop();
    h = undefined;
    await Promise.all(peers.splice(0).map((p) => p.close()));
  });

  const open = async (host?: string) => {
    const p = await RawPeer.open(host);
    peers.push(p);
    return p;
  };

  const register = (phone: RawPeer, callId: string, cseq: number, branch: string, extra: string[] = []) =>
    sipRequest({
      method: 'REGISTER',
      uri: `sip:127.0.0.1:${PORT}`,
      callId,
      fromTag: 'r1',
      cseq,
      branch,
      to: 'sip:dev1@papgate.test',
      from: 'sip:dev1@papgate.test',
      viaHost: `127.0.0.1:${phone.port}`,
      contact: `sip:dev1@127.0.0.1:${phone.port}`,
      extra: ['Expires: 300', ...extra],
    });

  /** OPTIONS and its 200: on loopback, whatever was answered before it has arrived by then. */
  const roundTrip = async (phone: RawPeer) => {
    phone.send(
      sipRequest({ method: 'OPTIONS', uri: `sip:papgate@127.0.0.1:${PORT}`, callId: uniq('opt'), fromTag: 'o', cseq: 1, viaHost: `127.0.0.1:${phone.port}` }),
      PORT,
    );
    await phone.response(200, 'OPTIONS');
  };

  /** REGISTER, 401, REGISTER with credentials (sent as `second`), 200. */
  async function registered(phone: RawPeer) {
    const callId = uniq('reg');
    const first = register(phone, callId, 1, `z9hG4bK${uniq('a')}`);
    phone.send(first, PORT);
    const challenge = await phone.response(401, 'REGISTER');
    const auth = authorization({
      username: dev1.username,
      password: dev1.password,
      realm: REALM,
      nonce: nonceOf(challenge),
      uri: `sip:127.0.0.1:${PORT}`,
      method: 'REGISTER',
    });
    const second = register(phone, callId, 2, `z9hG4bK${uniq('b')}`, [auth]);
    phone.send(second, PORT);
    const ok = await phone.response(200, 'REGISTER');
    return { first, challenge, second, ok };
  }

  it('answers a retransmitted REGISTER with the same bytes, and registers once', async () => {
    h = await startHarness({ port: PORT });
    const events: number[] = [];
    h.sig.on('register', (e) => events.push(e.status));
    const phone = await open();
    const { first, challenge, second, ok } = await registered(phone);

    phone.send(second, PORT); // the 200 was "lost": the phone sends the same request again
    assert.equal(await phone.response(200, 'REGISTER'), ok);
    phone.send(first, PORT); // and the first one, late
    assert.equal(await phone.response(401, 'REGISTER'), challenge, 'the same challenge, same nonce');
    await roundTrip(phone);
    assert.deepEqual(phone.drain(), [], 'one answer per retransmission, nothing more');
    assert.deepEqual(events, [401, 200], 'each request handled once');
    assert.ok(await h.sig.registration(dev1.username));
  });

  it('gives the kept answer only to the source that sent the request', async () => {
    h = await startHarness({ port: PORT });
    const phone = await open();
    const { second } = await registered(phone);
    const stranger = await open('127.0.0.2');
    // the same bytes (same branch, same credentials) from elsewhere are a new request: a replayed nonce
    stranger.send(second, PORT);
    const answer = await stranger.take((m) => statusOf(m) !== undefined);
    assert.equal(statusOf(answer), 401);
    assert.match(header(answer, 'WWW-Authenticate') ?? '', /stale=true/);
  });

  it('still answers a REGISTER whose branch lacks the RFC 3261 cookie (through the transaction layer)', async () => {
    h = await startHarness({ port: PORT });
    const phone = await open();
    const old = register(phone, uniq('old'), 1, `old${uniq('x')}`);
    phone.send(old, PORT);
    const challenge = await phone.response(401, 'REGISTER');
    phone.send(old, PORT);
    assert.equal(await phone.response(401, 'REGISTER'), challenge, 'the transaction layer answers its retransmission too');
  });
});
