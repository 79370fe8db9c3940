import assert from 'node:assert/strict';
import { PapgateError } from '../../src/domain/errors';
import { NoCommonCodec } from '../../src/ports/media';
import { buildAnswer, negotiate, parseSdp } from '../../src/media/embedded/sdp';

const sdp = (...lines: string[]) => lines.join('\r\n') + '\r\n';
const head = ['v=0', 'o=phone 1 1 IN IP4 192.0.2.10', 's=call', 'c=IN IP4 192.0.2.10', 't=0 0'];

function answerFor(text: string) {
  const offer = parseSdp(text);
  const negotiated = negotiate(offer);
  return { negotiated, answer: buildAnswer({ offer, negotiated, address: '198.51.100.1', port: 16000, sessionId: '42' }) };
}

function assertInvalidSdp(text: string, messagePart?: RegExp) {
  assert.throws(
    () => negotiate(parseSdp(text)),
    (e: unknown) => {
      assert.ok(e instanceof PapgateError, `expected PapgateError, got ${String(e)}`);
      assert.equal(e.code, 'invalid');
      assert.equal(e.field, 'sdp');
      if (messagePart) assert.match(e.message, messagePart);
      return true;
    },
  );
}

describe('media SDP offer/answer', () => {
  it('prefers PCMU even when PCMA is listed first, and answers one codec plus telephone-event', () => {
    const { negotiated, answer } = answerFor(
      sdp(
        ...head,
        'm=audio 4000 RTP/AVP 8 0 101',
        'a=rtpmap:8 PCMA/8000',
        'a=rtpmap:0 PCMU/8000',
        'a=rtpmap:101 telephone-event/8000',
        'a=fmtp:101 0-16',
        'a=ptime:30',
      ),
    );
    assert.equal(negotiated.codec, 'PCMU');
    assert.equal(negotiated.payloadType, 0);
    assert.equal(negotiated.telephoneEventPt, 101);
    assert.equal(negotiated.remoteAddress, '192.0.2.10');
    assert.equal(negotiated.remotePort, 4000);
    assert.equal(negotiated.remotePtime, 30);
    assert.match(answer, /\r\nm=audio 16000 RTP\/AVP 0 101\r\n/);
    assert.match(answer, /a=rtpmap:0 PCMU\/8000\r\n/);
    assert.match(answer, /a=rtpmap:101 telephone-event\/8000\r\na=fmtp:101 0-15\r\n/);
    assert.match(answer, /c=IN IP4 198\.51\.100\.1\r\n/);
    assert.doesNotMatch(answer, /PCMA/);
    assert.match(answer, /a=sendrecv\r\n$/);
  });

  it('falls back to PCMA when PCMU is not offered', () => {
    const { negotiated, answer } = answerFor(sdp(...head, 'm=audio 4000 RTP/AVP 18 8', 'a=rtpmap:18 G729/8000'));
    assert.equal(negotiated.codec, 'PCMA');
    assert.equal(negotiated.payloadType, 8);
    assert.equal(negotiated.telephoneEventPt, undefined);
    assert.match(answer, /m=audio 16000 RTP\/AVP 8\r\n/);
    assert.doesNotMatch(answer, /telephone-event/);
  });

  it('accepts static payload types 0 and 8 without rtpmap', () => {
    const { negotiated } = answerFor(sdp(...head, 'm=audio 4000 RTP/AVP 0'));
    assert.equal(negotiated.codec, 'PCMU');
  });

  for (const pt of [96, 97, 101]) {
    it(`uses telephone-event on payload type ${pt} as offered`, () => {
      const { negotiated, answer } = answerFor(sdp(...head, `m=audio 4000 RTP/AVP 0 ${pt}`, `a=rtpmap:${pt} telephone-event/8000`));
      assert.equal(negotiated.telephoneEventPt, pt);
      assert.match(answer, new RegExp(`m=audio 16000 RTP/AVP 0 ${pt}\\r\\n`));
      assert.match(answer, new RegExp(`a=rtpmap:${pt} telephone-event/8000`));
    });
  }

  it('picks telephone-event/8000 when /16000 is offered on another type', () => {
    const { negotiated, answer } = answerFor(
      sdp(...head, 'm=audio 4000 RTP/AVP 9 0 101 97', 'a=rtpmap:9 G722/8000', 'a=rtpmap:101 telephone-event/16000', 'a=rtpmap:97 telephone-event/8000'),
    );
    assert.equal(negotiated.telephoneEventPt, 97);
    assert.match(answer, /m=audio 16000 RTP\/AVP 0 97\r\n/);
    assert.doesNotMatch(answer, /101/);
  });

  it('offers with only telephone-event/16000 get no telephone-event (in-band DTMF only)', () => {
    const { negotiated } = answerFor(sdp(...head, 'm=audio 4000 RTP/AVP 0 101', 'a=rtpmap:101 telephone-event/16000'));
    assert.equal(negotiated.telephoneEventPt, undefined);
  });

  it('throws NoCommonCodec when no G.711 is offered', () => {
    assert.throws(
      () =>
        negotiate(
          parseSdp(sdp(...head, 'm=audio 4000 RTP/AVP 9 18 101', 'a=rtpmap:9 G722/8000', 'a=rtpmap:18 G729/8000', 'a=rtpmap:101 telephone-event/8000')),
        ),
      (e: unknown) => e instanceof NoCommonCodec && /G722/.test(e.message),
    );
  });

  it('throws NoCommonCodec for SRTP-only audio', () => {
    assert.throws(() => negotiate(parseSdp(sdp(...head, 'm=audio 4000 RTP/SAVP 0'))), NoCommonCodec);
  });

  it('ignores PCMU when its rtpmap says another clock rate', () => {
    assert.throws(() => negotiate(parseSdp(sdp(...head, 'm=audio 4000 RTP/AVP 96', 'a=rtpmap:96 PCMU/16000'))), NoCommonCodec);
  });

  it('prefers the media-level c= over the session-level one', () => {
    const { negotiated } = answerFor(sdp(...head, 'm=audio 4000 RTP/AVP 0', 'c=IN IP4 203.0.113.7'));
    assert.equal(negotiated.remoteAddress, '203.0.113.7');
  });

  it('reads c= at session level only', () => {
    const { negotiated } = answerFor(sdp('v=0', 'o=- 1 1 IN IP4 10.0.0.1', 's=-', 'c=IN IP4 10.1.2.3/127', 't=0 0', 'm=audio 5004 RTP/AVP 0'));
    assert.equal(negotiated.remoteAddress, '10.1.2.3');
  });

  it('takes the first audio stream with a non-zero port and rejects the other m= lines', () => {
    const { negotiated, answer } = answerFor(
      sdp(...head, 'm=audio 0 RTP/AVP 0', 'm=video 5000 RTP/AVP 99', 'a=rtpmap:99 H264/90000', 'm=audio 6000 RTP/AVP 8', 'a=sendonly'),
    );
    assert.equal(negotiated.remotePort, 6000);
    assert.equal(negotiated.mediaIndex, 2);
    assert.equal(negotiated.direction, 'recvonly');
    const mLines = answer.split('\r\n').filter((l) => l.startsWith('m='));
    assert.deepEqual(mLines, ['m=audio 0 RTP/AVP 0', 'm=video 0 RTP/AVP 99', 'm=audio 16000 RTP/AVP 8']);
  });

  it('mirrors direction attributes from session level', () => {
    const { negotiated } = answerFor(sdp(...head, 'a=recvonly', 'm=audio 4000 RTP/AVP 0'));
    assert.equal(negotiated.direction, 'sendonly');
  });

  it('accepts LF line endings and IPv6', () => {
    const { negotiated, answer } = answerFor(['v=0', 'o=- 1 1 IN IP6 ::1', 's=-', 'c=IN IP6 2001:db8::5', 't=0 0', 'm=audio 4000 RTP/AVP 0', ''].join('\n'));
    assert.equal(negotiated.remoteAddress, '2001:db8::5');
    assert.match(answer, /m=audio 16000/);
  });

  describe('malformed offers', () => {
    it('rejects an offer without m=audio', () => assertInvalidSdp(sdp(...head, 'm=video 5000 RTP/AVP 99'), /m=audio/));
    it('rejects an offer whose only audio port is 0', () => assertInvalidSdp(sdp(...head, 'm=audio 0 RTP/AVP 0'), /m=audio/));
    it('rejects a missing c=', () => assertInvalidSdp(sdp('v=0', 's=-', 't=0 0', 'm=audio 4000 RTP/AVP 0'), /c= line/));
    it('rejects a bad c= address', () => assertInvalidSdp(sdp('v=0', 'c=IN IP4 999.1.1.1', 'm=audio 4000 RTP/AVP 0'), /c=/));
    it('rejects c= with a wrong address family', () => assertInvalidSdp(sdp('v=0', 'c=IN IP6 10.0.0.1', 'm=audio 4000 RTP/AVP 0')));
    it('rejects a c= line that is not "IN IP4 x"', () => assertInvalidSdp(sdp('v=0', 'c=foo', 'm=audio 4000 RTP/AVP 0')));
    it('rejects garbage', () => assertInvalidSdp('hello, I am not SDP'));
    it('rejects binary junk', () => assertInvalidSdp(Buffer.from([0, 1, 2, 255, 13, 10, 7]).toString('latin1')));
    it('rejects an empty body', () => assertInvalidSdp(''));
    it('rejects a bad m= port', () => assertInvalidSdp(sdp(...head, 'm=audio 70000 RTP/AVP 0'), /port/));
    it('rejects a bad payload type', () => assertInvalidSdp(sdp(...head, 'm=audio 4000 RTP/AVP 0 300')));
    it('rejects a bad rtpmap', () => assertInvalidSdp(sdp(...head, 'm=audio 4000 RTP/AVP 0', 'a=rtpmap:0 PCMU')));
    it('rejects more than 8 KiB', () => {
      const big = sdp(...head, 'm=audio 4000 RTP/AVP 0', ...Array.from({ length: 400 }, (_, i) => `a=x-filler:${i}-padding-padding`));
      assert.ok(big.length > 8192);
      assertInvalidSdp(big, /8192/);
    });
  });
});
