import assert from 'node:assert/strict';
import { classifyRefusal, offersG711 } from '../../src/media/freeswitch/refusal';

const sdp = (m: string, extra = '') => `v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n${m}\r\n${extra}`;

describe('FreeSWITCH refusals', () => {
  it('a 488 for an offer with PCMU or PCMA is RTP port exhaustion, not a codec mismatch', () => {
    assert.equal(classifyRefusal(488, sdp('m=audio 4000 RTP/AVP 0 101')), 'no-rtp-ports');
    assert.equal(classifyRefusal(488, sdp('m=audio 4000 RTP/AVP 8')), 'no-rtp-ports');
    assert.equal(classifyRefusal(488, sdp('m=audio 4000 RTP/AVP 96', 'a=rtpmap:96 PCMA/8000\r\n')), 'no-rtp-ports');
  });

  it('a 488 for an offer without G.711 is a codec mismatch', () => {
    assert.equal(classifyRefusal(488, sdp('m=audio 4000 RTP/AVP 18 101', 'a=rtpmap:18 G729/8000\r\n')), 'no-common-codec');
    assert.equal(classifyRefusal(415, sdp('m=audio 4000 RTP/AVP 9')), 'no-common-codec');
    assert.equal(offersG711(sdp('m=video 4000 RTP/AVP 0')), false, 'PCMU on a video line is no audio');
  });

  it('503 (max-sessions) is busy; anything else is an error', () => {
    assert.equal(classifyRefusal(503, sdp('m=audio 4000 RTP/AVP 0')), 'busy');
    assert.equal(classifyRefusal(500, sdp('m=audio 4000 RTP/AVP 0')), 'error');
    assert.equal(classifyRefusal(undefined, ''), 'error');
  });
});
