import { strict as assert } from 'node:assert';
import { shutdownOnce } from '../../src/shutdown';

/** The serve command's signal handler: every stop runs once, a failing stop is reported and exits 1, nothing rejects unhandled. */
describe('shutdown on a signal', () => {
  const settle = async (exits: number[]) => {
    for (let i = 0; i < 100 && exits.length === 0; i++) await new Promise((r) => setImmediate(r));
  };

  it('runs every stop in order, once, and exits 0', async () => {
    const ran: string[] = [];
    const exits: number[] = [];
    const handler = shutdownOnce(
      [
        async () => {
          ran.push('pool');
        },
        async () => {
          ran.push('app');
        },
      ],
      (c) => exits.push(c),
      () => assert.fail('no report'),
    );
    handler();
    handler(); // a second SIGTERM while stopping
    await settle(exits);
    assert.deepEqual(ran, ['pool', 'app']);
    assert.deepEqual(exits, [0]);
  });

  it('a failing stop is reported, the later stops still run, and the exit code is 1', async () => {
    const ran: string[] = [];
    const exits: number[] = [];
    const reports: string[] = [];
    const rejections: unknown[] = [];
    const onRejection = (e: unknown) => rejections.push(e);
    process.on('unhandledRejection', onRejection);
    try {
      const handler = shutdownOnce(
        [
          async () => {
            throw new Error('pool would not stop');
          },
          async () => {
            ran.push('app');
          },
        ],
        (c) => exits.push(c),
        (m) => reports.push(m),
      );
      handler();
      await settle(exits);
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('unhandledRejection', onRejection);
    }
    assert.deepEqual(ran, ['app']);
    assert.deepEqual(reports, ['error while stopping: pool would not stop']);
    assert.deepEqual(exits, [1]);
    assert.deepEqual(rejections, []);
  });
});
