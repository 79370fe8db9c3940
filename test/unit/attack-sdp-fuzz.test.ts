import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import fc from 'fast-check';
import { PapgateError } from '../../src/domain/errors';
import { NoCommonCodec } from '../../src/ports/media';
import { buildAnswer, negotiate, parseSdp } from '../../src/media/embedded/sdp';
import { FUZZ_SEED, fuzzedOffer } from '../helpers/fuzz-sdp';

// Seeded mutational fuzzing of the SDP offer parser, negotiation and answer:
// a bad offer is refused with the errors the call handler turns into 400/488,
// anything else gives a well-formed answer aimed at a real address and port.

const RUNS = 20_000;

describe('attack: SDP offers (seeded mutational fuzzer)', function () {
  this.timeout(60_000);

  it(`refuses bad offers only with "invalid" or NoCommonCodec, and answers the rest well-formed (${RUNS} offers)`, () => {
    const tally = { offers: 0, answered: 0, srtp: 0, invalid: 0, noCodec: 0, crashes: 0 };
    fc.assert(
      fc.property(fuzzedOffer, (text) => {
        tally.offers++;
        let answer: string;
        let remote: { address: string; port: number };
        try {
          const offer = parseSdp(text);
          const negotiated = negotiate(offer);
          remote = { address: negotiated.remoteAddress, port: negotiated.remotePort };
          const crypto = negotiated.srtp ? { crypto: `${negotiated.srtp.tag} ${negotiated.srtp.suite} inline:${'QUJD'.repeat(10)}` } : {};
          answer = buildAnswer({ offer, negotiated, address: '127.0.0.1', port: 20000, sessionId: '1', ...crypto });
          if (negotiated.srtp) tally.srtp++;
        } catch (err) {
          if (err instanceof PapgateError && err.code === 'invalid' && err.field === 'sdp') tally.invalid++;
          else if (err instanceof NoCommonCodec) tally.noCodec++;
          else {
            tally.crashes++;
            throw err;
          }
          return;
        }
        tally.answered++;
        assert.ok(isIP(remote.address) !== 0, `remote address ${remote.address}`);
        assert.ok(Number.isInteger(remote.port) && remote.port > 0 && remote.port <= 65535, `remote port ${remote.port}`);
        const lines = answer.split('\r\n');
        assert.equal(lines.pop(), '', 'the answer ends with CRLF');
        for (const line of lines) assert.match(line, /^[a-z]=[\x20-\x7e]*$/, `answer line ${JSON.stringify(line)}`);
        parseSdp(answer); // our own answer reads back
      }),
      { seed: FUZZ_SEED, numRuns: RUNS },
    );
    console.log(`      SDP fuzzer (seed ${FUZZ_SEED}): ${JSON.stringify(tally)}`);
    assert.equal(tally.crashes, 0);
    assert.ok(tally.answered > 100 && tally.invalid > 100 && tally.srtp > 10, `the mix covers both outcomes: ${JSON.stringify(tally)}`);
  });
});
