import assert from 'node:assert/strict';
import type { Logger } from '../../src/ports/logger';
import { parseMessage } from '../../src/sip/embedded/message/parse';
import { VALID, wireText } from '../fixtures/rfc4475/messages';
import { ACCOUNTS, REALM, startHarness, type Harness } from '../helpers/sip-embedded-harness';
import { mutate, prng } from '../helpers/sip-mutator';
import { OFFER_SDP, RawPeer, authorization, nonceOf, sipRequest } from '../helpers/sip-raw-peer';
import { TcpSipClient, registerOverTcp } from '../helpers/sip-tcp-client';
import { portLayout } from '../helpers/ports';

/**
 * Seeded mutational fuzzing of the embedded stack's SIP input, over UDP and
 * TCP, against a real in-process stack. After every batch the stack must
 * still answer OPTIONS and a real digest REGISTER. Every answer it gave to a
 * fuzzed message must be well-formed, and none may let a REGISTER or INVITE
 * through without credentials (2xx) or show a failed handler (500).
 * Replay a run with PAPGATE_FUZZ_SEED=<seed>.
 */

const BATCHES = 22;
const PER_BATCH = 500; // half over UDP (those over 65,000 bytes are not datagrams: skipped), half over TCP: > 10,000 a run
const SEED = Number(process.env.PAPGATE_FUZZ_SEED ?? 20260601);

function seeds(): Buffer[] {
  const base = { callId: 'fz', fromTag: 'ft', viaHost: '10.1.2.3:5060', contact: 'sip:dev1@10.1.2.3' };
  const texts = [
    sipRequest({ ...base, method: 'OPTIONS', uri: 'sip:papgate@127.0.0.1', cseq: 1 }),
    sipRequest({ ...base, method: 'REGISTER', uri: 'sip:127.0.0.1', to: 'sip:dev1@papgate.test', cseq: 2, extra: ['Expires: 600'] }),
    sipRequest({ ...base, method: 'INVITE', uri: 'sip:*89@127.0.0.1', cseq: 3, body: OFFER_SDP }),
    sipRequest({ ...base, method: 'BYE', uri: 'sip:papgate@127.0.0.1', toTag: 'tt', cseq: 4 }),
    sipRequest({
      ...base,
      method: 'INFO',
      uri: 'sip:papgate@127.0.0.1',
      toTag: 'tt',
      cseq: 5,
      body: 'Signal=5\r\nDuration=160\r\n',
      contentType: 'application/dtmf-relay',
    }),
    sipRequest({ ...base, method: 'CANCEL', uri: 'sip:*89@127.0.0.1', cseq: 3 }),
    sipRequest({ ...base, method: 'ACK', uri: 'sip:*89@127.0.0.1', toTag: 'tt', cseq: 3 }),
    'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: r\r\nCSeq: 1 NOTIFY\r\nContent-Length: 0\r\n\r\n',
  ].map((t) => Buffer.from(t, 'latin1'));
  return [...texts, ...VALID.map((c, i) => wireText(c, `seed${i}`))];
}

/** Why an answer papgate gave to a fuzzed message is wrong, or undefined. */
function wrongAnswer(text: string): string | undefined {
  const r = parseMessage(text);
  if (!r.ok || r.message.status === undefined) return `malformed answer (${r.ok ? 'not a response' : r.problem})`;
  const method = r.message.headers.cseq?.method;
  if (r.message.status >= 200 && r.message.status < 300 && (method === 'REGISTER' || method === 'INVITE'))
    return `${r.message.status} to ${method} without credentials`;
  if (r.message.status === 500) return '500: a handler failed';
  return undefined;
}

let PORT = 0; // from portLayout() in the suite's first hook

describe('SIP fuzzing (seeded, UDP and TCP)', function () {
  before(async () => {
    ({ PORT } = await portLayout({ PORT: 0 }));
  });
  this.timeout(180_000);
  let h: Harness;
  let fuzzPeer: RawPeer;
  let healthPeer: RawPeer;
  /** Error lines: a handler or parser that threw (caught by the transport, which must never happen on input). */
  const crashes: string[] = [];
  const log: Logger = {
    debug() {},
    info() {},
    warn() {},
    error(obj, msg) {
      crashes.push(`${msg ?? ''} ${JSON.stringify(obj)}`);
    },
    child() {
      return log;
    },
  };
  before(async () => {
    h = await startHarness({ port: PORT, udp: true, tcp: true, log, onCall: (seen) => void seen.call.hangup() });
    fuzzPeer = await RawPeer.open();
    healthPeer = await RawPeer.open();
  });
  after(async () => {
    await fuzzPeer?.close();
    await healthPeer?.close();
    await h?.stop();
  });

  /** OPTIONS and a digest REGISTER, over UDP (and TCP on odd batches); false when one does not get its answer. */
  async function healthy(batch: number): Promise<boolean> {
    const dev = ACCOUNTS[batch % ACCOUNTS.length]!;
    const base = { callId: `health-${batch}`, fromTag: 'h', viaHost: `127.0.0.1:${healthPeer.port}` };
    try {
      healthPeer.send(sipRequest({ ...base, method: 'OPTIONS', uri: 'sip:papgate@127.0.0.1', cseq: 1 }), PORT);
      await healthPeer.response(200, 'OPTIONS', 5000);
      const reg = {
        ...base,
        callId: `health-reg-${batch}`,
        method: 'REGISTER',
        uri: 'sip:127.0.0.1',
        from: `sip:${dev.username}@${REALM}`,
        to: `sip:${dev.username}@${REALM}`,
        contact: `sip:${dev.username}@127.0.0.1:${healthPeer.port}`,
      };
      healthPeer.send(sipRequest({ ...reg, cseq: 1 }), PORT);
      const challenge = await healthPeer.response(401, 'REGISTER', 5000);
      healthPeer.send(
        sipRequest({
          ...reg,
          cseq: 2,
          extra: [authorization({ username: dev.username, password: dev.password, realm: REALM, nonce: nonceOf(challenge), uri: reg.uri, method: 'REGISTER' })],
        }),
        PORT,
      );
      await healthPeer.response(200, 'REGISTER', 5000);
      if (batch % 2 === 1) return (await registerOverTcp(PORT, { username: dev.username, password: dev.password })) === 200;
      return true;
    } catch {
      return false; // a missing answer is counted as a hang by the caller
    }
  }

  it('>= 10,000 mutated messages: no crash, no hang, no wrong answer', async () => {
    const random = prng(SEED);
    const corpus = seeds();
    const wrong: string[] = [];
    let udpTried = 0;
    let tcpTried = 0;
    let tcpClosedByPapgate = 0;
    let hangs = 0;
    const started = Date.now();
    const check = (texts: string[]) => {
      for (const t of texts) {
        const why = wrongAnswer(t);
        if (why) wrong.push(`${why}:\n${t.slice(0, 400)}`);
      }
    };
    for (let batch = 0; batch < BATCHES; batch++) {
      for (let i = 0; i < PER_BATCH / 2; i++) {
        const m = mutate(corpus[Math.floor(random() * corpus.length)]!, random);
        if (m.length > 65_000) continue; // not a datagram
        fuzzPeer.send(m, PORT);
        udpTried++;
        if (i % 25 === 0) await new Promise((r) => setImmediate(r)); // let the stack read them (the socket buffer is finite)
      }
      let c = await TcpSipClient.connect(PORT);
      const connections = [c];
      for (let i = 0; i < PER_BATCH / 2; i++) {
        if (c.closed) {
          tcpClosedByPapgate++;
          c = await TcpSipClient.connect(PORT);
          connections.push(c);
        }
        await c.write(mutate(corpus[Math.floor(random() * corpus.length)]!, random));
        tcpTried++;
        await new Promise((r) => setImmediate(r));
      }
      if (!(await healthy(batch))) hangs++;
      for (const x of connections) {
        check(x.text.split(/(?=SIP\/2\.0 \d{3} )/).filter((t) => t.includes('\r\n\r\n')));
        x.close();
      }
      check(await drain(fuzzPeer));
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      `      [figure] SIP fuzz seed=${SEED}: ${udpTried + tcpTried} messages tried (UDP ${udpTried}, TCP ${tcpTried}; ${tcpClosedByPapgate} TCP connections closed by papgate), crashes ${crashes.length}, hangs ${hangs}, wrong answers ${wrong.length}, ${seconds} s`,
    );
    assert.ok(udpTried + tcpTried >= 10_000, 'enough messages were tried');
    assert.equal(hangs, 0, 'a batch left the stack unable to answer OPTIONS or REGISTER');
    assert.deepEqual(crashes.slice(0, 5), []);
    assert.deepEqual(wrong.slice(0, 5), []);
  });
});

/** The answers the fuzzing peer has received so far (bounded: challenged INVITEs keep retransmitting their 401s). */
async function drain(peer: RawPeer): Promise<string[]> {
  const out: string[] = [];
  for (const deadline = Date.now() + 500; Date.now() < deadline;) {
    const m = await peer.take(() => true, 50).catch(() => undefined);
    if (m === undefined) return out;
    out.push(m);
  }
  return out;
}
