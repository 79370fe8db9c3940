import { strict as assert } from 'node:assert';
import { TypedEmitter } from '../../src/ports/events';
import type { MediaSession, MediaSessionEvents } from '../../src/ports/media';
import type { CallEvents, InboundCall, Signalling } from '../../src/ports/signalling';

/**
 * The ports' event maps. The @ts-expect-error lines are the type-level test:
 * `tsc` (run by `npm test`) fails when a misspelt event name or a wrong
 * listener signature compiles, because the directive is then unused.
 */

class Session extends TypedEmitter<MediaSessionEvents> {
  fire<K extends keyof MediaSessionEvents & string>(event: K, ...args: MediaSessionEvents[K]): boolean {
    return this.emit(event, ...args);
  }
}

// Compiled, never run: only the types matter here.
export function misspeltEventsDoNotCompile(call: InboundCall, session: MediaSession, signalling: Signalling): void {
  call.on('dtmf', (digit: string) => digit);
  // @ts-expect-error 'dtfm' is not an event of a call
  call.on('dtfm', () => undefined);
  // @ts-expect-error 'ended' hands a reason string, not a number
  call.on('ended', (reason: number) => reason);
  session.on('digit', (digit, source) => `${digit}${source}`);
  // @ts-expect-error 'playbackFinish' is not an event of a media session
  session.on('playbackFinish', () => undefined);
  signalling.on('register', (o) => o.status);
  // @ts-expect-error 'registered' is not an event of a signalling stack
  signalling.on('registered', () => undefined);
  const s = new Session();
  // @ts-expect-error an emitter's users cannot emit: only the adapter itself does
  s.emit('inactive');
  // @ts-expect-error 'digit' needs its digit and source
  s.fire('digit', '5');
  const events: CallEvents = { dtmf: ['1'], ended: ['remote-bye'] };
  void events;
}

describe('typed events (TypedEmitter over node:events)', () => {
  it('delivers each event to its listeners with the arguments the map names', () => {
    const s = new Session();
    const got: string[] = [];
    s.on('digit', (digit, source) => got.push(`${digit}/${source}`));
    s.once('inactive', () => got.push('inactive'));
    s.fire('digit', '7', 'rfc4733');
    s.fire('inactive');
    s.fire('inactive');
    assert.deepEqual(got, ['7/rfc4733', 'inactive']);
  });

  it('off() removes a listener; listenerCount() sees it go', () => {
    const s = new Session();
    const listener = (): void => assert.fail('removed listener was called');
    s.on('playbackFinished', listener);
    assert.equal(s.listenerCount('playbackFinished'), 1);
    s.off('playbackFinished', listener);
    assert.equal(s.listenerCount('playbackFinished'), 0);
    assert.equal(s.fire('playbackFinished', false), false, 'nobody listened');
  });

  it('a listener that throws is reported, not thrown into the emitting code', () => {
    const failures: string[] = [];
    class Reporting extends TypedEmitter<MediaSessionEvents> {
      constructor() {
        super((event, err) => failures.push(`${event}: ${(err as Error).message}`));
      }
      fire(): boolean {
        return this.emit('inactive');
      }
    }
    const r = new Reporting();
    r.on('inactive', () => {
      throw new Error('boom');
    });
    assert.doesNotThrow(() => r.fire());
    assert.deepEqual(failures, ['inactive: boom']);
  });

  it('without a failure report, a throwing listener throws to the emitter (node:events semantics)', () => {
    const s = new Session();
    s.on('inactive', () => {
      throw new Error('boom');
    });
    assert.throws(() => s.fire('inactive'), /boom/);
  });
});
