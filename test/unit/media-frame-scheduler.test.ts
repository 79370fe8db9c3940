import assert from 'node:assert/strict';
import { FRAME_MS, FrameScheduler, type FrameClient } from '../../src/media/embedded/frame-scheduler';

/** A member that only records what the scheduler asks of it. */
class Recorder implements FrameClient {
  frames = 0;
  rephases: number[] = [];
  onFrame(): boolean {
    this.frames++;
    return false;
  }
  onSkippedFrame(): void {}
  onHousekeeping(): void {}
  onRephase(earlierMs: number): void {
    this.rephases.push(earlierMs);
  }
}

describe('media frame scheduler: startNow', () => {
  let scheduler: FrameScheduler;
  beforeEach(() => {
    scheduler = new FrameScheduler((e) => {
      throw e;
    });
  });
  afterEach(() => scheduler.stop());

  it('serves the frame at once and moves the grid (and the media clock) back by less than a frame', () => {
    scheduler.add(new Recorder()); // the first member's phase is 0
    const member = new Recorder();
    scheduler.add(member); // the second one's is 0.618 of a frame
    assert.equal(member.frames, 0);
    scheduler.startNow(member);
    assert.equal(member.frames, 1, 'the frame went out inside startNow');
    assert.equal(member.rephases.length, 1);
    assert.ok(member.rephases[0]! > 0 && member.rephases[0]! <= FRAME_MS, `moved ${member.rephases[0]} ms`);
  });

  it('leaves a member alone that is due now anyway, and ignores one it does not hold', () => {
    const due = new Recorder();
    scheduler.add(due); // phase 0: due at once, the timer serves it
    scheduler.startNow(due);
    assert.deepEqual(due.rephases, []);
    const stranger = new Recorder();
    scheduler.startNow(stranger);
    assert.equal(stranger.frames, 0);
    assert.deepEqual(stranger.rephases, []);
  });
});
