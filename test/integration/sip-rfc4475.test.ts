import assert from 'node:assert/strict';
import net from 'node:net';
import { ALL_CASES, wireText, type TortureCase } from '../fixtures/rfc4475/messages';
import { startHarness, type Harness } from '../helpers/sip-embedded-harness';
import { RawPeer, header, statusOf } from '../helpers/sip-raw-peer';
import { portLayout } from '../helpers/ports';

/**
 * Every message of RFC 4475 section 3, sent over UDP and over TCP to a real
 * embedded stack, must get the answer the RFC expects of a registrar/UAS that
 * challenges (see the fixtures for the expectations and why).
 */

/** How long "no answer" is listened for; a bound, not a timing assertion. */
const QUIET_MS = 600;

const finalOf = (texts: string[]) => texts.find((t) => (statusOf(t) ?? 0) >= 200);

async function overUdp(peer: RawPeer, c: TortureCase, suffix: string): Promise<string | undefined> {
  // answers are matched by Call-ID (insuf has none: its 400 has none either)
  const mine = (m: string) => (header(m, 'Call-ID') ?? header(m, 'i'))?.endsWith(`.${suffix}`) ?? c.name.startsWith('insuf');
  peer.send(wireText(c, suffix), PORT);
  if (c.expect === 'silence') {
    await peer.take(mine, QUIET_MS).then(
      (m) => assert.fail(`expected silence, got:\n${m}`),
      () => undefined,
    );
    return undefined;
  }
  return peer.take((m) => (statusOf(m) ?? 0) >= 200 && mine(m), 5000, `the final answer to ${c.name}`);
}

/** Sends on a fresh connection; resolves with what came back once a final answer arrived, the peer closed, or all was quiet. */
function overTcp(c: TortureCase, suffix: string, expectSilence: boolean, untilClosed = false): Promise<{ texts: string[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(PORT, '127.0.0.1');
    let got = '';
    let closed = false;
    const finish = () => {
      clearTimeout(guard);
      sock.destroy();
      resolve({ texts: got.split(/(?=SIP\/2\.0 \d{3} )/).filter(Boolean), closed });
    };
    const guard = setTimeout(finish, expectSilence ? QUIET_MS : 5000);
    sock.on('data', (d) => {
      got += d.toString('latin1');
      if (!expectSilence && !untilClosed && finalOf(got.split(/(?=SIP\/2\.0 \d{3} )/))) setImmediate(finish);
    });
    sock.on('close', () => {
      closed = true;
      finish();
    });
    sock.on('error', (e) => (got || closed ? undefined : reject(e)));
    sock.on('connect', () => sock.write(wireText(c, suffix)));
  });
}

let PORT = 0; // from portLayout() in the suite's first hook

describe('RFC 4475 torture messages (section 3) against the embedded stack', function () {
  before(async () => {
    ({ PORT } = await portLayout({ PORT: 0 }));
  });
  this.timeout(30_000);
  let h: Harness;
  let peer: RawPeer;
  before(async () => {
    h = await startHarness({ port: PORT, udp: true, tcp: true });
    peer = await RawPeer.open();
  });
  after(async () => {
    await peer?.close();
    await h?.stop();
  });

  for (const [i, c] of ALL_CASES.entries()) {
    if (c.only !== 'tcp') {
      it(`UDP ${c.section} ${c.name} -> ${c.expect}`, async () => {
        const answer = await overUdp(peer, c, `udp${i}`);
        if (c.expect === 'silence') return;
        assert.equal(statusOf(answer!), c.expect, answer);
        if (c.expect === 420) assert.match(header(answer!, 'Unsupported') ?? '', /nothingSupportsThis/);
        if (c.name.startsWith('dblreq'))
          await peer
            .take((m) => /CSeq: 8 INVITE/.test(m), QUIET_MS)
            .then(
              () => assert.fail('answered the trailing octets'),
              () => undefined,
            );
      });
    }
    if (c.only !== 'udp') {
      const expected = c.tcpExpect ?? c.expect;
      it(`TCP ${c.section} ${c.name} -> ${expected}`, async () => {
        const broken = (expected === 400 || expected === 505) && !c.wellFormed;
        const r = await overTcp(c, `tcp${i}`, expected === 'silence', broken);
        const answer = finalOf(r.texts);
        if (expected === 'silence') return assert.equal(answer, undefined, answer);
        assert.equal(statusOf(answer ?? ''), expected, r.texts.join('\n---\n') || '(nothing)');
        // a message that cannot be framed or parsed closes the stream: nothing after it can be trusted
        if (broken) assert.equal(r.closed, true, 'the connection is closed after a broken message');
      });
    }
  }

  it('still answers OPTIONS over both transports after all of them', async () => {
    const c: TortureCase = ALL_CASES.find((x) => x.name.startsWith('lwsdisp'))!;
    assert.equal(statusOf((await overUdp(peer, c, 'after'))!), 200);
    assert.equal(statusOf(finalOf((await overTcp(c, 'after-tcp', false)).texts) ?? ''), 200);
  });
});
