import assert from 'node:assert/strict';
import { PapgateError } from '../../src/domain/errors';
import { NoCommonCodec, type DtmfSource, type MediaSession } from '../../src/ports/media';
import { RtpPhone, until, type MediaRig } from './media-rig';

/**
 * The behaviour every MediaEngine adapter must show, written once and run
 * against each engine (test/contract/media.test.ts). `makeRig` gets the
 * phone's RTP socket and returns a started rig.
 */
export function mediaContract(name: string, makeRig: (phone: RtpPhone) => Promise<MediaRig>): void {
  describe(`MediaEngine contract: ${name}`, function () {
    this.timeout(20_000);
    let phone: RtpPhone;
    let rig: MediaRig;
    let sessions: MediaSession[];
    const session = async () => {
      const s = await rig.engine.createSession({ callId: `c${sessions.length}`, offerSdp: rig.offer('pcmu'), signallingAddress: '127.0.0.1' });
      sessions.push(s);
      return s;
    };

    beforeEach(async () => {
      phone = await RtpPhone.open();
      rig = await makeRig(phone);
      sessions = [];
    });
    afterEach(async () => {
      for (const s of sessions) await s.close();
      await rig.stop();
      await phone.close();
    });

    it('answers an offer with PCMU and telephone-event on a real port', async () => {
      const s = await session();
      const m = /^m=audio (\d+) RTP\/AVP ([\d ]+)$/m.exec(s.answerSdp);
      assert.ok(m, s.answerSdp);
      assert.ok(Number(m[1]) > 0);
      assert.equal(m[2]!.split(' ')[0], '0', 'PCMU first');
      assert.match(s.answerSdp, /a=rtpmap:101 telephone-event\/8000/);
    });

    it('refuses an offer without a common codec (NoCommonCodec) and a malformed one (invalid sdp)', async () => {
      await assert.rejects(rig.engine.createSession({ callId: 'x', offerSdp: rig.offer('no-common-codec') }), NoCommonCodec);
      await assert.rejects(
        rig.engine.createSession({ callId: 'y', offerSdp: 'hello' }),
        (e: unknown) => e instanceof PapgateError && e.code === 'invalid' && e.field === 'sdp',
      );
    });

    it('plays a prompt to the phone and reports its end once, not interrupted', async () => {
      const s = await session();
      const finished: boolean[] = [];
      s.on('playbackFinished', (interrupted) => finished.push(interrupted));
      s.play([rig.shortPrompt]);
      await rig.playing(s, rig.shortPrompt);
      rig.letPromptEnd(s);
      await until(() => finished.length === 1, 'playbackFinished');
      assert.deepEqual(finished, [false]);
    });

    it('stopPlayback() cuts a prompt (barge-in) and reports it interrupted, once', async () => {
      const s = await session();
      const finished: boolean[] = [];
      s.on('playbackFinished', (interrupted) => finished.push(interrupted));
      s.play([rig.longPrompt]);
      await rig.playing(s, rig.longPrompt);
      s.stopPlayback();
      await until(() => finished.length === 1, 'playbackFinished');
      assert.deepEqual(finished, [true]);
    });

    it('collects the digits the phone sends as RFC 4733 events, once per key, in order', async () => {
      const s = await session();
      const digits: [string, DtmfSource][] = [];
      s.on('digit', (d, source) => digits.push([d, source]));
      for (const key of ['1', '2', '#']) {
        phone.press(s.answerSdp, key);
        await until(() => digits.length === ['1', '2', '#'].indexOf(key) + 1, `digit ${key}`);
      }
      assert.deepEqual(digits, [
        ['1', 'rfc4733'],
        ['2', 'rfc4733'],
        ['#', 'rfc4733'],
      ]);
    });

    it('close() on hangup ends a running prompt (interrupted) and releases what the session held', async () => {
      const s = await session();
      const finished: boolean[] = [];
      s.on('playbackFinished', (interrupted) => finished.push(interrupted));
      s.play([rig.longPrompt]);
      await rig.playing(s, rig.longPrompt);
      await s.close();
      await until(() => finished.length === 1, 'playbackFinished after close');
      assert.deepEqual(finished, [true]);
      await rig.released(s);
    });

    it('play() after close() plays nothing and fires nothing (the call is over)', async () => {
      const s = await session();
      const finished: boolean[] = [];
      s.on('playbackFinished', (interrupted) => finished.push(interrupted));
      await s.close();
      s.play([rig.longPrompt]);
      await new Promise((r) => setTimeout(r, 100)); // an event would come at once (FreeSWITCH) or with the first frame (embedded)
      assert.deepEqual(finished, []);
      await rig.released(s);
    });

    it("reports 'inactive' when the far end's media is gone", async () => {
      const s = await session();
      let inactive = 0;
      s.on('inactive', () => {
        inactive += 1;
      });
      rig.farEndGone(s);
      await until(() => inactive === 1, 'inactive');
    });
  });
}
